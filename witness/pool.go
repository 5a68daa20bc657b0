package witness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// DefaultTimeout bounds one add-checkpoint request when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Reasons of a witness failure, the DETAIL "reason" of a `witness` security
// event (docs/format.md §3.4 and §7.3).
const (
	ReasonTimeout        = "timeout"         // no complete reply within the time bound
	ReasonUnreachable    = "unreachable"     // no connection, or it broke
	ReasonStatus         = "http_status"     // an HTTP status other than 200 and 409
	ReasonBadResponse    = "bad_response"    // a reply that is not the protocol, or too large
	ReasonBadCosignature = "bad_cosignature" // no valid cosignature by the witness's key
	ReasonConflict       = "conflict"        // the witness holds a different tree at the same size, or the resync did not settle
	ReasonAhead          = "ahead"           // the witness holds a larger tree than this log: a rollback or a fork
	ReasonProof          = "proof"           // this log could not make the consistency proof
)

// Config says what a Pool asks and whom, and where the results go. The
// callbacks are called on the Pool's goroutines, one per witness, so
// calls about different witnesses may run at the same time; they must
// not block for long (a slow Cosigned delays only its own witness).
type Config struct {
	Witnesses []Witness
	// Proof returns the RFC 9162 consistency proof from old to size of
	// the log's tree (sizes the log has published); required.
	Proof func(old, size uint64) ([]Hash, error)
	// Cosigned receives each verified cosignature with the checkpoint
	// note it signs; the server adds it to DIR/checkpoint.
	Cosigned func(w Witness, checkpoint []byte, c Cosignature)
	// Changed receives an Event when a witness's state changes: its first
	// result, and each change from success to failure and back. It is
	// not called for repeats (one security event per change of state).
	Changed func(Event)
	// Result receives every outcome, repeats included (for metrics).
	Result func(w Witness, ok bool)
	// Timeout bounds each HTTP request [DefaultTimeout].
	Timeout time.Duration
}

// Event is a change of a witness's state.
type Event struct {
	Witness Witness
	OK      bool
	Reason  string // a Reason* constant when !OK
	Size    uint64 // the size of the checkpoint asked for
	Err     error  // what failed, when !OK
}

// Pool asks every witness of its Config for a cosignature of each
// checkpoint Submit hands it, in the background: one goroutine per
// witness with at most one request in flight, and one pending checkpoint
// (the newest; an older one not yet sent is dropped, as a cosignature of
// the newer one vouches for the older tree too). A failure is retried
// with the next checkpoint, never in a loop.
//
// Submit may be called from any goroutine and never blocks; Stop is
// called once, after the last Submit.
type Pool struct {
	cfg     Config
	client  *Client
	workers []*worker
	wg      sync.WaitGroup
	stop    chan struct{}      // closed by Stop: send what is pending, then end
	ctx     context.Context    // the requests' parent; cancelled when Stop's time is up
	cancel  context.CancelFunc // cancels ctx
}

// worker is one witness's state. mu guards pending; the rest belongs to
// the worker's goroutine.
type worker struct {
	w    Witness
	wake chan struct{} // capacity 1: "pending may have changed"

	mu      sync.Mutex
	pending []byte // the newest checkpoint not yet taken, or nil
	size    uint64 // its size

	held  uint64 // the size the witness holds, as far as known (0 at first: a 409 tells)
	state state
}

type state int

const (
	stateUnknown state = iota // no result yet
	stateOK                   // the last request was cosigned
	stateFailing              // the last request failed
)

// Start starts one goroutine per witness and returns the Pool.
func Start(cfg Config) *Pool {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{cfg: cfg, client: NewClient(cfg.Timeout), stop: make(chan struct{}), ctx: ctx, cancel: cancel}
	for _, w := range cfg.Witnesses {
		wk := &worker{w: w, wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, wk)
		p.wg.Add(1)
		go p.run(wk)
	}
	return p
}

// Submit hands every witness the signed checkpoint note of a tree of
// size leaves. It copies the note and returns at once.
func (p *Pool) Submit(size uint64, checkpoint []byte) {
	for _, wk := range p.workers {
		cp := append([]byte(nil), checkpoint...)
		wk.mu.Lock()
		if wk.pending == nil || size >= wk.size {
			wk.pending, wk.size = cp, size
		}
		wk.mu.Unlock()
		select {
		case wk.wake <- struct{}{}:
		default: // already woken
		}
	}
}

// Stop sends what is still pending (the final checkpoint of a graceful
// stop), waits for the witnesses until ctx is done, then cancels what is
// still in flight and returns when every goroutine has ended.
func (p *Pool) Stop(ctx context.Context) {
	close(p.stop)
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		p.cancel()
		<-done
	}
	p.cancel()
	p.client.CloseIdle()
}

func (p *Pool) run(wk *worker) {
	defer p.wg.Done()
	for {
		select {
		case <-wk.wake:
		case <-p.stop:
		}
		wk.mu.Lock()
		cp, size := wk.pending, wk.size
		wk.pending = nil
		wk.mu.Unlock()
		if cp == nil {
			select {
			case <-p.stop:
				return
			default:
				continue
			}
		}
		p.ask(wk, size, cp)
	}
}

// ask gets one cosignature of cp from wk's witness, resyncing on 409, and
// reports the outcome.
func (p *Pool) ask(wk *worker, size uint64, cp []byte) {
	reason, err := p.exchange(wk, size, cp)
	ok := err == nil
	if p.cfg.Result != nil {
		p.cfg.Result(wk.w, ok)
	}
	next := stateOK
	if !ok {
		next = stateFailing
	}
	if next != wk.state {
		wk.state = next
		if p.cfg.Changed != nil {
			p.cfg.Changed(Event{Witness: wk.w, OK: ok, Reason: reason, Size: size, Err: err})
		}
	}
}

// exchange runs the requests of one checkpoint: from the size the witness
// is believed to hold, and after a 409 once more from the size it says
// it holds (C2SP tlog-witness). It returns a Reason and the error, or "", nil.
func (p *Pool) exchange(wk *worker, size uint64, cp []byte) (string, error) {
	old := wk.held
	for attempt := 0; attempt < 3; attempt++ {
		if old > size {
			return ReasonAhead, fmt.Errorf("the witness holds %d seals, this log's checkpoint only %d", old, size)
		}
		proof, err := p.cfg.Proof(old, size)
		if err != nil {
			return ReasonProof, fmt.Errorf("consistency proof from %d to %d: %w", old, size, err)
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
		c, err := p.client.AddCheckpoint(ctx, wk.w, old, proof, cp)
		cancel()
		var conflict *ConflictError
		if errors.As(err, &conflict) {
			if conflict.Size == old {
				return ReasonConflict, fmt.Errorf("the witness holds a different tree at size %d", old)
			}
			old = conflict.Size
			wk.held = old
			continue
		}
		if err != nil {
			return reasonOf(err), err
		}
		wk.held = size
		if p.cfg.Cosigned != nil {
			p.cfg.Cosigned(wk.w, cp, c)
		}
		return "", nil
	}
	return ReasonConflict, fmt.Errorf("the witness's size kept changing (409 three times)")
}

// reasonOf maps an AddCheckpoint error to its Reason.
func reasonOf(err error) string {
	var st *StatusError
	var ne net.Error
	switch {
	case errors.As(err, &st):
		return ReasonStatus
	case errors.Is(err, ErrCosignature):
		return ReasonBadCosignature
	case errors.Is(err, ErrResponse), errors.Is(err, ErrTooLarge):
		return ReasonBadResponse
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	default:
		return ReasonUnreachable
	}
}
