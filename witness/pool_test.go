package witness

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// poolRecorder collects what a Pool reports.
type poolRecorder struct {
	mu       sync.Mutex
	events   []Event
	results  []bool
	cosigned map[uint64][]byte // size → cosignature line
	cond     *sync.Cond
}

func newRecorder() *poolRecorder {
	r := &poolRecorder{cosigned: map[uint64][]byte{}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *poolRecorder) config(l *testLog, ws ...Witness) Config {
	return Config{
		Witnesses: ws,
		Proof:     l.proof,
		Cosigned: func(w Witness, cp []byte, c Cosignature) {
			text, _, _ := SplitNote(cp)
			if !w.Key.Verify(text, mustSig(c.Line)) {
				panic("Cosigned got a cosignature that does not verify")
			}
			r.mu.Lock()
			r.cosigned[sizeOf(cp)] = c.Line
			r.mu.Unlock()
		},
		Changed: func(e Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() },
		Result: func(w Witness, ok bool) {
			r.mu.Lock()
			r.results = append(r.results, ok)
			r.cond.Broadcast()
			r.mu.Unlock()
		},
		Timeout: 500 * time.Millisecond,
	}
}

// wait waits until n results are in.
func (r *poolRecorder) wait(t *testing.T, n int) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		r.mu.Lock()
		for len(r.results) < n {
			r.cond.Wait()
		}
		r.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %d results", n)
	}
}

func mustSig(line []byte) []byte {
	s, err := ParseSignatures(line)
	if err != nil {
		panic(err)
	}
	return s[0].Sig
}

func sizeOf(cp []byte) uint64 {
	var origin string
	var n uint64
	fmtSscan(string(cp), &origin, &n)
	return n
}

// TestPoolStates: a witness that works, fails several times, and works
// again gives exactly three events (success, failure, success), a result
// for every checkpoint, and cosignatures only for what it signed; the
// resync after the outage goes through a 409 from the size it holds.
func TestPoolStates(t *testing.T) {
	before := runtime.NumGoroutine()
	l := newTestLog(t, "example.com/log")
	f := newFakeWitness(t, l)
	rec := newRecorder()
	p := Start(rec.config(l, f.witness()))
	n := 0
	submit := func() uint64 {
		size, cp := l.grow(2)
		p.Submit(size, cp)
		n++
		rec.wait(t, n)
		return size
	}
	first := submit()
	if f.held() != int64(first) {
		t.Fatalf("witness holds %d, want %d", f.held(), first)
	}
	f.set(func(w http.ResponseWriter, r *http.Request) bool { http.Error(w, "down", 503); return true })
	for i := 0; i < 3; i++ {
		submit()
	}
	f.set(nil)
	// Meanwhile the witness lost its state (restored from an old backup):
	// sealog's guess of its size is wrong, the 409 tells the truth.
	f.mu.Lock()
	f.size, f.root = 0, [32]byte{}
	f.mu.Unlock()
	last := submit()
	p.Stop(context.Background())

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var got []bool
	for _, e := range rec.events {
		got = append(got, e.OK)
	}
	if len(got) != 3 || !got[0] || got[1] || !got[2] {
		t.Fatalf("events %v, want [true false true]", got)
	}
	if e := rec.events[1]; e.Reason != ReasonStatus || e.Size == 0 || e.Witness.Key != f.signer.key {
		t.Errorf("failure event %+v", e)
	}
	if len(rec.results) != 5 {
		t.Errorf("%d results, want 5", len(rec.results))
	}
	if rec.cosigned[first] == nil || rec.cosigned[last] == nil || len(rec.cosigned) != 2 {
		t.Errorf("cosigned sizes %v, want %d and %d", keys(rec.cosigned), first, last)
	}
	if f.held() != int64(last) {
		t.Errorf("witness holds %d, want %d", f.held(), last)
	}
	waitGoroutines(t, before)
}

// TestPoolNewestWins: while a request hangs, later checkpoints replace
// each other; only the newest is sent next, and Submit never blocks.
func TestPoolNewestWins(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	f := newFakeWitness(t, l)
	gate := make(chan struct{})
	f.set(func(w http.ResponseWriter, r *http.Request) bool { <-gate; return false })
	rec := newRecorder()
	cfg := rec.config(l, f.witness())
	cfg.Timeout = 5 * time.Second
	p := Start(cfg)
	size, cp := l.grow(1)
	p.Submit(size, cp)
	time.Sleep(100 * time.Millisecond) // the first request is in flight
	var sizes []uint64
	var cps [][]byte
	for i := 0; i < 50; i++ {
		size, cp := l.grow(1)
		sizes, cps = append(sizes, size), append(cps, cp)
	}
	newest := sizes[len(sizes)-1]
	start := time.Now()
	for i := range sizes {
		p.Submit(sizes[i], cps[i])
	}
	// The request in flight hangs for seconds; Submit must not wait for it.
	if took := time.Since(start); took > time.Second {
		t.Errorf("50 Submits took %v while a witness hangs", took)
	}
	close(gate)
	rec.wait(t, 2)
	p.Stop(context.Background())
	f.mu.Lock()
	requests := f.requests
	f.mu.Unlock()
	if requests != 2 || f.held() != int64(newest) {
		t.Errorf("%d requests, witness at %d; want 2 requests and the newest size %d", requests, f.held(), newest)
	}
}

// TestPoolStop: Stop sends the pending final checkpoint, and a witness
// that hangs holds Stop no longer than its context allows.
func TestPoolStop(t *testing.T) {
	before := runtime.NumGoroutine()
	l := newTestLog(t, "example.com/log")
	good := newFakeWitness(t, l)
	hung := newFakeWitness(t, l)
	release := make(chan struct{})
	defer close(release)
	hung.set(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	rec := newRecorder()
	cfg := rec.config(l, good.witness(), hung.witness())
	cfg.Timeout = time.Minute
	p := Start(cfg)
	size, cp := l.grow(7)
	p.Submit(size, cp)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	p.Stop(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %v with a 300ms grace", took)
	}
	if good.held() != int64(size) {
		t.Errorf("the final checkpoint did not reach the working witness (it holds %d, want %d)", good.held(), size)
	}
	rec.mu.Lock()
	var failed bool
	for _, e := range rec.events {
		if e.Witness.Key == hung.signer.key && !e.OK && e.Reason == ReasonTimeout {
			failed = true
		}
	}
	rec.mu.Unlock()
	if !failed {
		t.Errorf("no timeout event for the hung witness: %+v", rec.events)
	}
	waitGoroutines(t, before)
}

func keys(m map[uint64][]byte) []uint64 {
	var out []uint64
	for k := range m {
		out = append(out, k)
	}
	return out
}

// waitGoroutines fails when goroutines started by the test are still
// there after a while (keep-alive connections of httptest end on Close).
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+4 { // httptest's own listeners
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
