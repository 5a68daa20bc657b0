package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/writer"
)

// batch carries encoded lines from one connection to the pipeline. Lines
// of one connection arrive in order because a connection submits its
// batches in order and the pipeline consumes them in order.
//
// Concurrency: a batch has one owner at a time. The goroutine that took
// it from getBatch fills it alone; submit hands it over, and from then on
// only the holder of the pipeline's mu reads it, until accept gives it
// back to the pool. Nobody may touch a batch after submitting it.
type batch struct {
	events []byte // whole event lines, LF-terminated
	lines  int    // number of lines in events
	// leaves[i] is the leaf hash of the i-th line of events (docs/format.md
	// §4 ROOT), made by the connection goroutine that made the line, so
	// that the writer only adds them to the file's tree. A producer that
	// does not hash leaves this empty and the pipeline hashes them.
	leaves   []tlog.Hash
	security []byte // whole security lines
	// durable, when not nil, is closed once the events are fsynced: a
	// RELP session acknowledges them then (durable.go).
	durable chan struct{}
}

// maxPooledBatch keeps a single huge frame from pinning a huge buffer in
// the pool for ever.
const maxPooledBatch = 1 << 20

var batchPool = sync.Pool{New: func() any { return &batch{events: make([]byte, 0, 32<<10)} }}

func getBatch() *batch { return batchPool.Get().(*batch) }

func putBatch(b *batch) {
	if cap(b.events) > maxPooledBatch || cap(b.security) > maxPooledBatch || cap(b.leaves) > maxPooledBatch/32 {
		return
	}
	b.events, b.lines, b.security, b.durable = b.events[:0], 0, b.security[:0], nil
	b.leaves = b.leaves[:0]
	batchPool.Put(b)
}

// queueDepth bounds the batches waiting for the pipeline. With batches of
// at most ~64 KiB of lines (plus one maximum-size frame), this caps the
// memory between readers and the disk; when it is full, readers block and
// TCP pushes back on senders (docs/format.md §5).
const queueDepth = 64

// pipeline owns the files, their rotation and the seal chain: it takes
// batches from the connections in queue order and writes them to the two
// streams. See doc.go for how it fits with the connections and the
// syncer.
//
// Concurrency: one goroutine at a time does the pipeline's work, whoever
// holds mu — the pipeline goroutine (run) or a submitter that found mu
// free (submit). The fields below mu and both streams with their files
// are touched only under mu (before run starts, New uses them alone); a
// file is fsynced and sealed on the syncer only while a job of it is in
// flight. submit and close may be called from any goroutine;
// nothing may be submitted after close. The syncer goroutine gets work
// only through syncJobs and hands results back through the syncer's done
// channel, which only the holder of mu reads.
type pipeline struct {
	in   chan *batch
	done chan struct{} // closed when run has finished
	// kick: a submitter found mu held; the pipeline goroutine drains once
	// it gets mu. Kicks coalesce.
	kick   chan struct{}
	syncer *syncer
	cfg    *Config
	policy rotate.Policy
	chattr bool
	chain  *seal.Chain
	ids    *writer.IDGen
	log    *slog.Logger
	stderr io.Writer

	mu         sync.Mutex // held by whoever does the pipeline's work; guards everything below
	state      pipeState
	flushTimer *time.Timer
	flushArmed bool

	events, security *stream

	written   int64 // event lines written since start, for the stop event
	health    health
	failSince time.Time // when the current failure began
	failErr   string
	failFile  string
	scratch   []byte
	// leafHasher hashes the lines of a batch that came without leaves.
	leafHasher tlog.LeafHasher
	now        func() time.Time
	// laterFinals: final jobs that finished while the holder waited for
	// another stream's job; finalized at the next top-level step.
	laterFinals []*finalJob
	// ckpt: failed writes of DIR/checkpoint, reported as security events
	// at the pipeline goroutine's next turn (nil without a log key).
	ckpt *checkpointHealth
	// durableWaiters: accepted batches waiting for their events to be
	// fsynced, in queue order (durable.go).
	durableWaiters []durableWaiter
}

// pipeState is where a pipeline is in its life. It only moves forward,
// under mu.
type pipeState uint8

const (
	// pipeNew: New opens the files, recovers what a previous run left and
	// writes the start events, alone; run has not started.
	pipeNew pipeState = iota
	// pipeRunning: the run loop and submitters take turns under mu.
	pipeRunning
	// pipeClosed: the queue was closed (close); the holder of mu writes
	// what is left and finishes.
	pipeClosed
	// pipeFinished: both files are final-sealed, closed and immutable;
	// run returns and closes done.
	pipeFinished
)

func newPipeline(cfg *Config, chain *seal.Chain, ids *writer.IDGen, chattr bool, log *slog.Logger, stderr io.Writer) *pipeline {
	return &pipeline{
		in:         make(chan *batch, queueDepth),
		done:       make(chan struct{}),
		kick:       make(chan struct{}, 1),
		flushTimer: func() *time.Timer { t := time.NewTimer(time.Hour); t.Stop(); return t }(),
		syncer:     newSyncer(chain),
		cfg:        cfg,
		policy:     rotate.Policy{MaxSize: cfg.RotateSize, Interval: cfg.RotateInterval},
		chattr:     chattr,
		chain:      chain,
		ids:        ids,
		log:        log,
		stderr:     stderr,
		now:        time.Now,
	}
}

// open creates the two active files. The security file comes first so
// that everything said at start-up (start, recover) has a place.
func (p *pipeline) open() error {
	now := p.now()
	var err error
	p.security, err = p.openStream("security", now)
	if err != nil {
		return err
	}
	p.events, err = p.openStream("events", now)
	return err
}

func (p *pipeline) openStream(name string, now time.Time) (*stream, error) {
	f, err := rotate.Create(p.cfg.Dir, name, now, p.chattr)
	if err != nil {
		return nil, fmt.Errorf("open %s file: %w", name, err)
	}
	// An empty file is durable as it is: its seal covers 0 bytes with the
	// SHA-256 of nothing.
	return &stream{p: p, name: name, file: f, deadline: p.policy.Deadline(f.Opened()), durable: snapshotOf(f)}, nil
}

// submit hands a batch to the pipeline. It blocks while the queue is full:
// that is the back-pressure that makes TCP push back on senders.
//
// Then the submitter does the pipeline's work itself if no one else is
// doing it (p.mu is free): it drains the queue on its own goroutine.
// Otherwise it kicks the pipeline goroutine, which drains as soon as the
// holder is done. So the serial stage — hash and write, in queue order —
// runs on whichever thread has a batch at hand, instead of waiting for
// one goroutine to be woken and scheduled: on 2 shared cores that wait
// was 17 % of the pipeline goroutine's time, and it cost 5–13 % of the
// rate (tests/bench --receivers sealog,sealog-base).
func (p *pipeline) submit(b *batch) {
	select {
	case p.in <- b:
	default:
		// The queue is full: this connection is held back until the
		// writer catches up (sealog_backpressure_seconds_total).
		t0 := time.Now()
		p.in <- b
		p.cfg.Metrics.Backpressure(time.Since(t0))
	}
	if !p.mu.TryLock() {
		p.kickRun()
		return
	}
	defer p.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			// A bug in the pipeline, on a connection's goroutine: crash as
			// the pipeline goroutine would, rather than let the
			// connection recover and leave p.mu held and the server hung.
			go panic(r)
			select {}
		}
	}()
	p.drainQueued()
}

// kickRun asks the pipeline goroutine to drain once it gets p.mu. Kicks
// coalesce: one pending kick drains everything queued before it.
func (p *pipeline) kickRun() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// close ends the input: the pipeline goroutine writes what is queued and
// finishes. No one may submit after it.
func (p *pipeline) close() {
	close(p.in)
	p.kickRun()
}

// drainQueued accepts what is queued, at most one queue's worth so that
// the timers waiting for p.mu get their turn under constant load (the
// pipeline goroutine is kicked to go on). With --fsync-interval 0 the
// lines are then written and synced at once; otherwise they are handed to
// the kernel by the flush timer, unless a full flushThreshold went
// already. A closed queue moves the pipeline to pipeClosed. p.mu is held.
func (p *pipeline) drainQueued() {
	for i := 0; i < queueDepth; i++ {
		select {
		case b, ok := <-p.in:
			if !ok {
				p.state = pipeClosed
				return
			}
			p.accept(b)
		default:
			p.queueDry()
			return
		}
	}
	p.kickRun()
	p.queueDry()
}

// queueDry is what follows a drain: the sync of every write batch with
// --fsync-interval 0, else the flush timer, armed once, so that lines
// reach the kernel flushDelay after they were accepted at the latest,
// even if nothing follows them (a tail -f sees them).
func (p *pipeline) queueDry() {
	if p.cfg.FsyncInterval == 0 {
		p.flushAll()
		p.events.sync()
		p.security.sync()
		p.releaseDurable()
		return
	}
	p.commitDurable()
	if p.flushArmed || (len(p.events.pending) == 0 && len(p.security.pending) == 0) {
		return
	}
	p.flushArmed = true
	p.flushTimer.Reset(flushDelay)
}

// flushDelay is how long accepted lines may wait in memory for more to
// join them in one write(2). Under load a flushThreshold fills first.
const flushDelay = 2 * time.Millisecond

// accept appends a batch's lines to the streams, rotating on size before
// a line that would take the file past --rotate-size (docs/format.md
// §3.1), and gives the batch back to the pool.
func (p *pipeline) accept(b *batch) {
	if len(b.events) > 0 {
		if len(b.leaves) != b.lines {
			b.leaves = p.hashLeaves(b.leaves[:0], b.events)
		}
		p.events.appendLines(b.events, b.leaves)
		p.written += int64(b.lines)
	}
	if b.durable != nil {
		p.waitDurable(b.durable)
	}
	if len(b.security) > 0 {
		p.security.appendLines(b.security, nil)
	}
	putBatch(b)
}

// hashLeaves appends the leaf hash of every line of lines to dst: the
// fallback for a batch whose producer did not hash its lines.
func (p *pipeline) hashLeaves(dst []tlog.Hash, lines []byte) []tlog.Hash {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 0 {
			break // cannot happen: lines always end in LF
		}
		dst = append(dst, p.leafHasher.Sum(lines[:i]))
		lines = lines[i+1:]
	}
	return dst
}

// securityEvent appends one of sealog's own events to the security stream.
// Only the holder of p.mu calls it.
func (p *pipeline) securityEvent(action, result string, d *writer.Detail) {
	ev := writer.SecurityEvent{
		Time:   p.now(),
		ID:     p.ids.AppendID(nil, p.ids.Next()),
		Action: action,
		Result: result,
		Detail: d,
	}
	line := writer.AppendSecurity(p.scratch[:0], &ev)
	// appendLines may rotate the security file, and rotate writes an event
	// of its own through here: it must not reuse the buffer that line
	// still points into.
	p.scratch = nil
	p.security.appendLines(line, nil)
	p.scratch = line[:0]
}

// flushAll hands both streams' pending bytes to the kernel.
func (p *pipeline) flushAll() {
	p.events.flush()
	p.security.flush()
}

// run is the pipeline goroutine: the timers (flush, fsync, seal,
// rotation), the syncer's results, and the drains that submitters kicked
// to it. It starts the syncer goroutine and ends it. It returns after the
// input channel is closed and everything is written, final-sealed and
// made immutable.
func (p *pipeline) run() {
	defer close(p.done)
	go p.syncer.run()
	defer close(p.syncer.req) // finish waited for every job in flight
	var fsyncC, sealC <-chan time.Time
	if p.cfg.FsyncInterval > 0 {
		t := time.NewTicker(p.cfg.FsyncInterval)
		defer t.Stop()
		fsyncC = t.C
	}
	if p.cfg.SealInterval > 0 {
		t := time.NewTicker(p.cfg.SealInterval)
		defer t.Stop()
		sealC = t.C
	}
	rotateTimer := time.NewTimer(time.Hour)
	defer rotateTimer.Stop()
	p.mu.Lock()
	if p.state == pipeNew {
		p.state = pipeRunning
	}
	p.resetRotateTimer(rotateTimer)
	p.mu.Unlock()

	for {
		var ev runEvent
		select {
		case <-p.kick:
			ev = evKick
		case <-p.flushTimer.C:
			ev = evFlush
		case <-fsyncC:
			ev = evFsync
		case <-p.syncer.note:
			ev = evSynced
		case <-sealC:
			ev = evSeal
		case <-rotateTimer.C:
			ev = evRotate
		}
		p.mu.Lock()
		p.handle(ev, rotateTimer)
		p.finalizeLater()
		p.reportCheckpoint()
		if p.state == pipeClosed {
			for b := range p.in { // closed: what is left, then the end
				p.accept(b)
			}
			p.finish()
			p.state = pipeFinished
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// runEvent is what woke the pipeline goroutine.
type runEvent int

const (
	evKick   runEvent = iota // a submitter found p.mu held: drain
	evFlush                  // flushDelay passed since lines were accepted
	evFsync                  // --fsync-interval: hand fsyncs to the syncer
	evSynced                 // the syncer finished a job
	evSeal                   // --seal-interval: checkpoint seals
	evRotate                 // a stream's --rotate-interval deadline
)

// handle does what ev asks for. p.mu is held.
func (p *pipeline) handle(ev runEvent, rotateTimer *time.Timer) {
	switch ev {
	case evKick:
		p.drainQueued()
	case evFlush:
		p.flushArmed = false
		p.flushAll()
		p.drainQueued()
	case evFsync:
		p.flushAll()
		p.events.startSync()
		p.security.startSync()
	case evSynced:
		p.takeSynced()
		p.commitDurable() // the waiters that came during that fsync
	case evSeal:
		p.events.checkpoint()
		p.security.checkpoint()
	case evRotate:
		now := p.now()
		for _, st := range []*stream{p.events, p.security} {
			// Rotate even an empty file: a file holds exactly the
			// events of its interval, so its name says when they came.
			if !st.deadline.IsZero() && !now.Before(st.deadline) {
				st.rotate("interval")
			}
		}
		p.resetRotateTimer(rotateTimer)
	}
}

func (p *pipeline) resetRotateTimer(t *time.Timer) {
	next := time.Now().Add(time.Hour)
	for _, st := range []*stream{p.events, p.security} {
		if !st.deadline.IsZero() && st.deadline.Before(next) {
			next = st.deadline
		}
	}
	t.Reset(time.Until(next))
}

// finish is the graceful end (docs/format.md §5): stop event, final seal
// of the events file (recorded in the security file), then of the
// security file.
func (p *pipeline) finish() {
	var d writer.Detail
	d.Int("messages", p.written)
	p.securityEvent("stop", "success", &d)
	// The chain's last seals of both files come after every seal the
	// syncer still makes of them.
	p.events.waitFinal()
	p.events.await(jobCheckpoint)
	rec, immErr := p.events.finalize()
	p.reportFinal(p.events, rec, immErr)
	// The last checkpoint failures the security file can hold: that of
	// its own final seal is on stderr only.
	p.reportCheckpoint()
	p.security.waitFinal()
	p.security.await(jobCheckpoint)
	p.security.finalize() // its own final seal lives in seals.log only
	p.releaseAllDurable()
}
