package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sealog/sealog/relp"
	"github.com/sealog/sealog/rotate"
)

// relpServer runs a Server with a plain RELP listener on loopback.
func relpServer(t *testing.T, edit func(*Config)) (*Server, string) {
	t.Helper()
	cfg, l := testConfig(t, "relptest")
	cfg.ListenRELPTCP = []string{l.Addr().String()}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, nil, nil, &lockedBuffer{})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	go s.ServeRELPPlain(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, l.Addr().String()
}

type relpClient struct {
	t    *testing.T
	c    net.Conn
	r    *relp.Reader
	txnr int
}

func dialRELP(t *testing.T, addr string) *relpClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &relpClient{t: t, c: c, r: relp.NewReader(c, 1<<20), txnr: 1}
}

func (rc *relpClient) send(cmd, data string) int {
	n := rc.txnr
	rc.txnr++
	if _, err := rc.c.Write(relp.AppendFrame(nil, n, cmd, []byte(data))); err != nil {
		rc.t.Fatal(err)
	}
	return n
}

// answer reads the next frame the server sends (TXNR 0 frames, such as
// serverclose, included).
func (rc *relpClient) answer(within time.Duration) relp.Command {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(within))
	cmd, err := rc.r.Next()
	if err != nil {
		rc.t.Fatalf("reading the server's answer: %v", err)
	}
	cmd.Data = append([]byte(nil), cmd.Data...)
	return cmd
}

const relpOffers = "relp_version=0\nrelp_software=test\ncommands=syslog"

// TestRELPAckOnlyWhenDurable: with an --fsync-interval of an hour, a
// window of syslog commands is still answered at once (the group
// commit), and when an answer arrives the events file is durable at
// least up to its event. Rotations in the middle change nothing.
func TestRELPAckOnlyWhenDurable(t *testing.T) {
	s, addr := relpServer(t, func(c *Config) {
		c.FsyncInterval = time.Hour
		c.RotateSize = 8192 // several rotations during the test
	})
	rc := dialRELP(t, addr)
	rc.r = relp.NewReader(rc.c, 1<<20)
	rc.send("open", relpOffers)
	if a := rc.answer(5 * time.Second); a.Name != "rsp" || !strings.HasPrefix(string(a.Data), "200 OK\n") {
		t.Fatalf("open: got %s %q", a.Name, a.Data)
	}
	// The server's reader checks our TXNRs; ours, reading answers, must
	// not check the server's (they echo ours).
	for window := 0; window < 5; window++ {
		var sent []int
		for i := 0; i < 128; i++ {
			sent = append(sent, rc.send("syslog", fmt.Sprintf("<13>1 - host app - - - window %d message %d %s", window, i, strings.Repeat("x", 100))))
		}
		start := time.Now()
		for _, n := range sent {
			a := rc.answer(10 * time.Second)
			if a.Txnr != n || a.Name != "rsp" || string(a.Data) != "200 OK" {
				t.Fatalf("got %d %s %q, want %d rsp \"200 OK\"", a.Txnr, a.Name, a.Data, n)
			}
		}
		// The window's last answer came, and nothing is sent until the
		// next window: the whole events file must be durable, no older
		// file may be waiting for its final fsync.
		p := s.pipe
		p.mu.Lock()
		durable, written, pending, final := p.events.durable.size, p.events.file.Size(), len(p.events.pending), p.events.busy(jobFinal)
		p.mu.Unlock()
		if durable != written || pending != 0 || final {
			t.Fatalf("window %d answered with the events file not durable: %d of %d bytes durable, %d pending, final fsync pending %v", window, durable, written, pending, final)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("window %d took %v: the answers waited for the fsync interval", window, d)
		}
	}
	n := rc.send("close", "")
	if a := rc.answer(5 * time.Second); a.Txnr != n || a.Name != "rsp" || len(a.Data) != 0 {
		t.Fatalf("close: got %d %s %q", a.Txnr, a.Name, a.Data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.Shutdown(ctx)
	events := readLines(t, s.Dir(), "events")
	if len(events) != 5*128 {
		t.Fatalf("got %d events, want %d", len(events), 5*128)
	}
	for _, e := range events {
		if e[6] != "rfc5424,relp" {
			t.Fatalf("FLAGS %q, want rfc5424,relp", e[6])
		}
	}
}

// TestRELPProtocolErrors: what breaks the protocol is a frame_error and
// ends the session with serverclose, after what came before it was
// written and acknowledged.
func TestRELPProtocolErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		frames func(rc *relpClient) []int // returns the TXNRs that must be acknowledged 200 OK first
		reason string
	}{
		{"syslog before open", func(rc *relpClient) []int { rc.send("syslog", "<13>1 - - - - - - early"); return nil }, "bad_command"},
		{"unknown command", func(rc *relpClient) []int {
			rc.send("open", relpOffers)
			n := rc.send("syslog", "<13>1 - - - - - - kept")
			rc.send("starttls", "")
			return []int{n}
		}, "bad_command"},
		{"txnr out of sequence", func(rc *relpClient) []int {
			rc.send("open", relpOffers)
			n := rc.send("syslog", "<13>1 - - - - - - kept")
			rc.txnr += 5
			rc.send("syslog", "<13>1 - - - - - - never")
			return []int{n}
		}, "txnr_sequence"},
		{"txnr 0 from the client", func(rc *relpClient) []int {
			rc.send("open", relpOffers)
			n := rc.send("syslog", "<13>1 - - - - - - kept")
			// 0 is the server's own number (serverclose): a client that
			// sends it is out of sequence, however often it repeats it.
			rc.c.Write([]byte("0 syslog 5 never\n0 syslog 5 never\n"))
			return []int{n}
		}, "txnr_sequence"},
		{"malformed", func(rc *relpClient) []int {
			rc.send("open", relpOffers)
			n := rc.send("syslog", "<13>1 - - - - - - kept")
			rc.c.Write([]byte("3 syslog 5 toolong-no-trailer\n"))
			return []int{n}
		}, "malformed_frame"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, addr := relpServer(t, nil)
			rc := dialRELP(t, addr)
			want := tt.frames(rc)
			var got []string
			for {
				rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
				a, err := rc.r.Next()
				if err != nil {
					break
				}
				got = append(got, fmt.Sprintf("%d %s %s", a.Txnr, a.Name, strings.SplitN(string(a.Data), "\n", 2)[0]))
			}
			if len(got) == 0 || got[len(got)-1] != "0 serverclose " {
				t.Fatalf("got %q, want it to end in serverclose", got)
			}
			for _, n := range want {
				if !contains(got, fmt.Sprintf("%d rsp 200 OK", n)) {
					t.Errorf("got %q, want %d acknowledged before the end", got, n)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s.Shutdown(ctx)
			if n := len(readLines(t, s.Dir(), "events")); n != len(want) {
				t.Errorf("got %d events, want %d", n, len(want))
			}
			found := false
			for _, l := range readLines(t, s.Dir(), "security") {
				if l[6] == "frame_error" && strings.Contains(l[8], `"reason":"`+tt.reason+`"`) {
					found = true
				}
			}
			if !found {
				t.Errorf("no frame_error with reason %s", tt.reason)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRELPOversize: a syslog command over --max-message-size is kept
// (cut, flagged, recorded) and acknowledged, and the session goes on.
func TestRELPOversize(t *testing.T) {
	s, addr := relpServer(t, nil)
	rc := dialRELP(t, addr)
	rc.send("open", relpOffers)
	rc.answer(5 * time.Second)
	big := "<13>1 - - - - - - " + strings.Repeat("y", 100000)
	n1 := rc.send("syslog", big)
	n2 := rc.send("syslog", "<13>1 - - - - - - after")
	for _, n := range []int{n1, n2} {
		if a := rc.answer(10 * time.Second); a.Txnr != n || string(a.Data) != "200 OK" {
			t.Fatalf("got %d %q, want %d 200 OK", a.Txnr, a.Data, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.Shutdown(ctx)
	ev := readLines(t, s.Dir(), "events")
	if len(ev) != 2 || ev[0][6] != fmt.Sprintf("rfc5424,trunc=%d,relp", len(big)) || ev[1][14] != "after" {
		t.Fatalf("got %q", ev)
	}
}

// TestRELPGracefulStop: a stop answers what was received, then tells an
// open session serverclose.
func TestRELPGracefulStop(t *testing.T) {
	s, addr := relpServer(t, func(c *Config) { c.ShutdownGrace = 200 * time.Millisecond })
	rc := dialRELP(t, addr)
	rc.send("open", relpOffers)
	rc.answer(5 * time.Second)
	n := rc.send("syslog", "<13>1 - - - - - - before the stop")
	if a := rc.answer(5 * time.Second); a.Txnr != n || string(a.Data) != "200 OK" {
		t.Fatalf("got %d %q", a.Txnr, a.Data)
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stopped <- s.Shutdown(ctx)
	}()
	if a := rc.answer(10 * time.Second); a.Txnr != 0 || a.Name != "serverclose" {
		t.Fatalf("got %d %s %q, want serverclose", a.Txnr, a.Name, a.Data)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if ev := readLines(t, s.Dir(), "events"); len(ev) != 1 {
		t.Fatalf("got %d events, want 1", len(ev))
	}
}

// TestRELPUnreadAnswersBounded is a sender that never reads its answers
// and sends commands whose answers are five times their size (open
// again and again, each answered "connection already open"). The answers
// waiting for the socket must stay within a bound per session whatever
// the sender sends, and once the sender has not taken them for
// --handshake-timeout plus --shutdown-grace, the session ends
// (reply_failed) even though the sender then goes quiet.
func TestRELPUnreadAnswersBounded(t *testing.T) {
	s, addr := relpServer(t, func(c *Config) {
		c.HandshakeTimeout = 3 * time.Second
		c.ShutdownGrace = 0
	})
	// A tiny receive buffer: the answers stay on the server's side.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var in []byte
	in = relp.AppendFrame(in, 1, "open", []byte(relpOffers))
	for n := 2; len(in) < 4<<20; n++ {
		in = relp.AppendFrame(in, n, "open", nil)
	}
	// Live heap only: two collections empty the pools' victim caches too.
	liveHeap := func() int64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	before := liveHeap()
	go c.Write(in) // blocks once the server stops reading; ends with c.Close
	// The replier is stuck on its write and the reader on the full queue
	// well before the write deadline.
	time.Sleep(2 * time.Second)
	grew := liveHeap() - before
	runtime.KeepAlive(in) // live in both measurements, written or not
	t.Logf("heap grew by %d KiB while the session was stalled", grew>>10)
	if grew > 2<<20 {
		t.Errorf("one session that does not read its answers holds %d KiB of heap, want at most 2 MiB (a few hundred KiB of answers)", grew>>10)
	}
	// The sender stays connected and sends nothing more: the session must
	// still end.
	deadline := time.Now().Add(20 * time.Second)
	for {
		found := false
		for _, l := range readLines(t, s.Dir(), "security") {
			if l[6] == "disconnect" && strings.Contains(l[8], `"reason":"reply_failed"`) {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no disconnect with reason reply_failed: the session outlived a sender that takes no answers")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRELPAckWaitsForFsync holds the events file's fsync back: the
// event is written (in the kernel's page cache, where a crash of the
// machine would lose it) but not durable, and no answer may come until
// the fsync is let go; then it comes at once. Both ways of syncing: the
// group commit (--fsync-interval 1h) and a sync of every write batch
// (--fsync-interval 0).
func TestRELPAckWaitsForFsync(t *testing.T) {
	for _, interval := range []time.Duration{time.Hour, 0} {
		t.Run(fmt.Sprintf("fsync-interval %v", interval), func(t *testing.T) {
			var hold atomic.Bool
			release := make(chan struct{})
			testHookSync = func(f *rotate.File) {
				if hold.Load() && strings.HasPrefix(filepath.Base(f.Name()), "events") {
					<-release
				}
			}
			t.Cleanup(func() { testHookSync = nil }) // after the server's own cleanup
			s, addr := relpServer(t, func(c *Config) { c.FsyncInterval = interval })
			var once sync.Once
			free := func() { once.Do(func() { hold.Store(false); close(release) }) }
			t.Cleanup(free) // before the server's cleanup stops it
			rc := dialRELP(t, addr)
			rc.send("open", relpOffers)
			rc.answer(5 * time.Second)
			hold.Store(true)
			n := rc.send("syslog", "<13>1 - - - - - - held back")
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if ev := readLines(t, s.Dir(), "events"); len(ev) == 1 && ev[0][14] == "held back" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the event was not written")
				}
			}
			rc.c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
			if a, err := rc.r.Next(); err == nil {
				t.Fatalf("answered %d %s %q before the fsync of its event", a.Txnr, a.Name, a.Data)
			}
			free()
			if a := rc.answer(5 * time.Second); a.Txnr != n || string(a.Data) != "200 OK" {
				t.Fatalf("got %d %s %q, want %d 200 OK", a.Txnr, a.Name, a.Data, n)
			}
		})
	}
}

// TestRELPGroupCommitAcrossSessions: eight senders' windows wait for
// fsyncs that take 100 ms each (held by the test hook); they must share
// them, a few fsyncs for the forty windows, not one (or more) each.
func TestRELPGroupCommitAcrossSessions(t *testing.T) {
	var fsyncs atomic.Int64
	testHookSync = func(f *rotate.File) {
		if strings.HasPrefix(filepath.Base(f.Name()), "events") {
			fsyncs.Add(1)
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Cleanup(func() { testHookSync = nil })
	_, addr := relpServer(t, func(c *Config) { c.FsyncInterval = time.Hour })
	const sessions, windows, window = 8, 5, 32
	var clients []*relpClient
	for i := 0; i < sessions; i++ {
		rc := dialRELP(t, addr)
		rc.send("open", relpOffers)
		rc.answer(5 * time.Second)
		clients = append(clients, rc)
	}
	before := fsyncs.Load()
	errs := make(chan error, sessions)
	for i, rc := range clients {
		go func() {
			for w := 0; w < windows; w++ {
				var frames []byte
				first := rc.txnr
				for j := 0; j < window; j++ {
					frames = relp.AppendFrame(frames, rc.txnr, "syslog", fmt.Appendf(nil, "<13>1 - h a - - - session %d window %d message %d", i, w, j))
					rc.txnr++
				}
				if _, err := rc.c.Write(frames); err != nil {
					errs <- err
					return
				}
				for j := 0; j < window; j++ {
					rc.c.SetReadDeadline(time.Now().Add(20 * time.Second))
					a, err := rc.r.Next()
					if err != nil || a.Txnr != first+j || string(a.Data) != "200 OK" {
						errs <- fmt.Errorf("session %d: got %d %q, %v; want %d 200 OK", i, a.Txnr, a.Data, err, first+j)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	n := fsyncs.Load() - before
	t.Logf("%d windows of %d sessions acknowledged after %d fsyncs of the events file", sessions*windows, sessions, n)
	if n > sessions*windows/2 {
		t.Errorf("%d fsyncs for %d windows: the sessions did not share them", n, sessions*windows)
	}
}
