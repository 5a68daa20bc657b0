package server

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/writer"
)

// batch carries encoded lines from one connection to the pipeline. Lines
// of one connection arrive in order because a connection submits its
// batches in order and the pipeline consumes them in order.
type batch struct {
	events   []byte // whole event lines, LF-terminated
	lines    int    // number of lines in events
	security []byte // whole security lines
}

// maxPooledBatch keeps a single huge frame from pinning a huge buffer in
// the pool for ever.
const maxPooledBatch = 1 << 20

var batchPool = sync.Pool{New: func() any { return &batch{events: make([]byte, 0, 32<<10)} }}

func getBatch() *batch { return batchPool.Get().(*batch) }

func putBatch(b *batch) {
	if cap(b.events) > maxPooledBatch || cap(b.security) > maxPooledBatch {
		return
	}
	b.events, b.lines, b.security = b.events[:0], 0, b.security[:0]
	batchPool.Put(b)
}

// queueDepth bounds the batches waiting for the pipeline. With batches of
// at most ~64 KiB of lines (plus one maximum-size frame), this caps the
// memory between readers and the disk; when it is full, readers block and
// TCP pushes back on senders (SPEC §5).
const queueDepth = 64

// flushThreshold: pending bytes are handed to the kernel once this many
// have accumulated, or whenever the queue runs dry.
const flushThreshold = 256 << 10

// writeBehind: once this many bytes were written since the last time, the
// kernel is asked to start writing them to disk (rotate.File.StartWriteback),
// so that the fsync every --fsync-interval finds little left to do.
const writeBehind = 8 << 20

// stream is one of the two output streams (events, security): the active
// file plus the bytes not yet handed to the kernel.
type stream struct {
	name     string // "events" or "security": the file name prefix
	file     *rotate.File
	pending  []byte
	deadline time.Time // next UTC-aligned rotation; zero: none
	sealed   int64     // bytes of file covered by its last seal
	durable  snapshot  // the prefix of file a finished fsync made durable
	syncing  bool      // an fsync of file is running on the syncer
	// finalPending: the file rotated out before this one waits on the
	// syncer for its final fsync, then for its final seal (finalized).
	finalPending bool
	sealing      bool // a checkpoint seal of file is running on the syncer
}

func (st *stream) size() int64 { return st.file.Size() + int64(len(st.pending)) }

// snapshot is a prefix of a file as a seal covers it (SPEC §4 BYTES,
// LINES, SHA256).
type snapshot struct {
	size, lines int64
	sum         [32]byte
}

func snapshotOf(f *rotate.File) snapshot { return snapshot{f.Size(), f.Lines(), f.Sum()} }

// syncJob is one fsync run by the syncer goroutine, so the pipeline keeps
// writing while the kernel flushes. snap is what was written when the job
// was made: once the fsync returns, exactly that prefix is durable, and
// only such a prefix is ever checkpoint-sealed (SPEC §4 order on disk).
type syncJob struct {
	st   *stream
	file *rotate.File
	snap snapshot
	// dropTo is what the previous fsync made durable: once this one has
	// succeeded, the syncer drops that prefix from the page cache. Lagging
	// one interval behind keeps what a tail -f or a forwarder reads soon
	// after it was written in memory.
	dropTo int64
	err    error
	// kind, when set, is the seal the syncer makes of snap, off p.mu:
	// each seal fsyncs seals.log and the key state, and on ext4 such an
	// fsync waits for the journal, which waits for the events file's data
	// (issue 7). KindFinal: file was rotated out and gets no more bytes;
	// the syncer fsyncs it, seals it, and finalized closes it (its rotate
	// event names next and reason). KindCheckpoint: snap is already
	// durable, so there is no fsync, only the seal. rec and sealErr are
	// the seal's result.
	kind         seal.Kind
	next, reason string
	rec          seal.Record
	sealErr      error
}

func (j *syncJob) final() bool    { return j.kind == seal.KindFinal }
func (j *syncJob) sealOnly() bool { return j.kind == seal.KindCheckpoint }

// pipeline owns the files, their rotation and the seal chain. One
// goroutine at a time touches them: whoever holds mu.
type pipeline struct {
	in   chan *batch
	done chan struct{}
	// mu is held by whoever does the pipeline's work: the pipeline
	// goroutine, or a submitter that found it free (see submit). The
	// fields below, the files and the chain are touched only under it
	// (before run starts, New uses them alone).
	mu         sync.Mutex
	kick       chan struct{} // a submitter found mu held: drain when free
	syncNote   chan struct{} // the syncer finished a job: takeSynced
	flushTimer *time.Timer
	flushArmed bool
	closed     bool // the queue was closed: finish
	// syncReq and syncDone talk to the syncer goroutine. Per stream at
	// most five jobs are in flight — a periodic fsync and a checkpoint
	// seal of a rotated-out file, its final fsync and seal, a periodic
	// fsync and a checkpoint seal of the new one — so buffers of 16 never
	// block.
	syncReq  chan syncJob
	syncDone chan syncJob
	cfg      *Config
	policy   rotate.Policy
	chattr   bool
	chain    *seal.Chain
	ids      *writer.IDGen
	log      *slog.Logger
	stderr   io.Writer

	events, security *stream

	written   int64     // event lines written since start, for the stop event
	failing   bool      // a write or fsync is failing; clients are held back
	failSince time.Time // when the current failure began
	failErr   string
	failFile  string
	scratch   []byte
	now       func() time.Time
	// laterFinals: final jobs that finished while the holder waited for
	// another stream's fsync; finalized at the next top-level step.
	laterFinals []syncJob
}

func newPipeline(cfg *Config, chain *seal.Chain, ids *writer.IDGen, chattr bool, log *slog.Logger, stderr io.Writer) *pipeline {
	return &pipeline{
		in:         make(chan *batch, queueDepth),
		done:       make(chan struct{}),
		kick:       make(chan struct{}, 1),
		syncNote:   make(chan struct{}, 1),
		flushTimer: func() *time.Timer { t := time.NewTimer(time.Hour); t.Stop(); return t }(),
		syncReq:    make(chan syncJob, 16),
		syncDone:   make(chan syncJob, 16),
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
	return &stream{name: name, file: f, deadline: p.policy.Deadline(f.Opened()), durable: snapshotOf(f)}, nil
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
// rate (issue 7, tests/bench --receivers sealog,sealog-base).
func (p *pipeline) submit(b *batch) {
	p.in <- b
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

// drainQueued accepts what is queued, at most one queue's worth so that
// the timers waiting for p.mu get their turn under constant load (the
// pipeline goroutine is kicked to go on). With --fsync-interval 0 the
// lines are then written and synced at once; otherwise they are handed to
// the kernel by the flush timer, unless a full flushThreshold went
// already. It notes a closed queue in p.closed. p.mu is held.
func (p *pipeline) drainQueued() {
	for i := 0; i < queueDepth; i++ {
		select {
		case b, ok := <-p.in:
			if !ok {
				p.closed = true
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
		p.sync(p.events)
		p.sync(p.security)
		return
	}
	if p.flushArmed || (len(p.events.pending) == 0 && len(p.security.pending) == 0) {
		return
	}
	p.flushArmed = true
	p.flushTimer.Reset(flushDelay)
}

// flushDelay is how long accepted lines may wait in memory for more to
// join them in one write(2). Under load a flushThreshold fills first.
const flushDelay = 2 * time.Millisecond

// run is the pipeline goroutine: the timers (flush, fsync, seal,
// rotation), the syncer's results, and the drains that submitters kicked
// to it. It returns after the input channel is closed and everything is
// written, final-sealed and made immutable.
func (p *pipeline) run() {
	defer close(p.done)
	go p.syncer()
	defer close(p.syncReq) // finish waited for every job in flight
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
		case <-p.syncNote:
			ev = evSynced
		case <-sealC:
			ev = evSeal
		case <-rotateTimer.C:
			ev = evRotate
		}
		p.mu.Lock()
		p.handle(ev, rotateTimer)
		p.finalizeLater()
		if p.closed {
			for b := range p.in { // closed: what is left, then the end
				p.accept(b)
			}
			p.finish()
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// runEvent is what woke the pipeline goroutine.
type runEvent int

const (
	evKick runEvent = iota
	evFlush
	evFsync
	evSynced
	evSeal
	evRotate
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
		p.startSync(p.events)
		p.startSync(p.security)
	case evSynced:
		p.takeSynced()
	case evSeal:
		p.checkpoint(p.events)
		p.checkpoint(p.security)
	case evRotate:
		now := p.now()
		for _, st := range []*stream{p.events, p.security} {
			// Rotate even an empty file: a file holds exactly the
			// events of its interval, so its name says when they came.
			if !st.deadline.IsZero() && !now.Before(st.deadline) {
				p.rotate(st, "interval")
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

// accept appends a batch's lines to the streams, rotating on size before
// a line that would take the file past --rotate-size (SPEC §3.1).
func (p *pipeline) accept(b *batch) {
	if len(b.events) > 0 {
		p.appendLines(p.events, b.events)
		p.written += int64(b.lines)
	}
	if len(b.security) > 0 {
		p.appendLines(p.security, b.security)
	}
	putBatch(b)
}

// appendLines adds whole lines to a stream. The common case — the batch
// fits — costs one copy; only a batch that crosses the size limit is
// walked line by line.
func (p *pipeline) appendLines(st *stream, lines []byte) {
	// Not Fits here: it lets an empty file take anything, which is right
	// for one line but would put a whole multi-line batch into a fresh
	// file past --rotate-size.
	if p.policy.MaxSize <= 0 || st.size()+int64(len(lines)) <= p.policy.MaxSize {
		p.appendPending(st, lines)
		return
	}
	for len(lines) > 0 {
		n := bytes.IndexByte(lines, '\n') + 1
		if n == 0 {
			n = len(lines) // cannot happen: lines always end in LF
		}
		if !p.policy.Fits(st.size(), int64(n)) {
			p.rotate(st, "size")
		}
		p.appendPending(st, lines[:n])
		lines = lines[n:]
	}
}

func (p *pipeline) appendPending(st *stream, b []byte) {
	st.pending = append(st.pending, b...)
	if len(st.pending) >= flushThreshold {
		p.flush(st)
	}
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
	p.appendLines(p.security, line)
	p.scratch = line[:0]
}

// flushAll hands both streams' pending bytes to the kernel.
func (p *pipeline) flushAll() {
	p.flush(p.events)
	p.flush(p.security)
}

// flush hands pending bytes to the kernel. On failure it does not drop
// anything and does not return until the write succeeded: the pipeline
// stops, the queue fills, readers block, and TCP pushes back (SPEC §5).
// A short write is continued from where the kernel stopped, so no line is
// ever written half.
func (p *pipeline) flush(st *stream) {
	rest := st.pending
	for len(rest) > 0 {
		n, err := st.file.Write(rest)
		rest = rest[n:]
		if err != nil {
			p.fail(st.file.Name(), "write", err)
		}
	}
	_ = st.file.StartWriteback(writeBehind)
	// Reuse the buffer from its start: reslicing st.pending itself would
	// shrink its capacity and make every flush allocate a new one.
	st.pending = st.pending[:0]
	if cap(st.pending) > 4*flushThreshold {
		st.pending = nil // one huge burst must not pin its buffer
	}
	p.recovered()
}

// syncer runs the fsyncs and seals handed to it, one at a time and in
// order, off p.mu: a write-back of many megabytes, or a seal's fsync that
// waits for one, must not stall writing. Each seal follows the fsync of
// the bytes it covers (SPEC §4 order on disk).
func (p *pipeline) syncer() {
	for j := range p.syncReq {
		if !j.sealOnly() {
			j.err = j.file.Sync()
			if j.err == nil {
				// Advice only: a kernel that does not take it costs
				// memory, not data.
				_ = j.file.DropCache(j.dropTo)
			}
		}
		if j.err == nil && j.kind != "" {
			// The file's name is durable: this Sync, or the one that
			// made the checkpointed prefix durable, synced its directory.
			j.rec, j.sealErr = p.chain.Seal(j.kind, j.file.Name(), j.snap.size, j.snap.lines, j.snap.sum)
		}
		p.syncDone <- j
		select {
		case p.syncNote <- struct{}{}:
		default:
		}
	}
}

// takeSynced takes the results of the fsyncs that finished. Only the
// holder of p.mu receives from syncDone, so awaitJob, which waits there
// under p.mu, never has its job taken by another goroutine.
func (p *pipeline) takeSynced() {
	for {
		select {
		case j := <-p.syncDone:
			p.synced(j)
		default:
			return
		}
	}
}

// close ends the input: the pipeline goroutine writes what is queued and
// finishes. No one may submit after it.
func (p *pipeline) close() {
	close(p.in)
	p.kickRun()
}

// startSync hands the stream's written bytes to the syncer, unless a sync
// of it is already running or nothing new was written.
func (p *pipeline) startSync(st *stream) {
	if st.syncing || st.file.Size() == st.durable.size {
		return
	}
	st.syncing = true
	p.syncReq <- syncJob{st: st, file: st.file, snap: snapshotOf(st.file), dropTo: st.durable.size}
}

// synced takes a finished job's result. A failed fsync is retried at once
// under p.mu, which holds clients back until it succeeds (fail closed,
// SPEC §5).
func (p *pipeline) synced(j syncJob) {
	if j.final() {
		p.finalized(j)
		return
	}
	if j.sealOnly() {
		if j.file != j.st.file {
			// A checkpoint of a file rotated out since: its final seal,
			// made after this one on the syncer, covers all of it, and a
			// checkpoint made again now would follow the final seal.
			if j.sealErr != nil {
				fmt.Fprintf(p.stderr, "sealog: warning: checkpoint of %s before its final seal: %v\n", j.file.Name(), j.sealErr)
			}
			return
		}
		j.st.sealing = false
		p.sealed(j)
		return
	}
	if j.file != j.st.file {
		return // a rotated-out file's: its final job covers it
	}
	j.st.syncing = false
	if j.err != nil {
		p.sync(j.st)
		return
	}
	if j.snap.size > j.st.durable.size {
		j.st.durable = j.snap
	}
}

// awaitWhile takes finished jobs until *busy, a flag of st that one of
// st's jobs clears (syncing, sealing, finalPending), is false.
func (p *pipeline) awaitWhile(st *stream, busy *bool) {
	for *busy {
		p.awaitJob(st)
	}
}

// awaitJob takes one finished job while the caller waits for one of st's.
// A final job of the other stream is kept in laterFinals instead, so
// that no file is finalized in the middle of another stream's sync or
// rotation.
func (p *pipeline) awaitJob(st *stream) {
	j := <-p.syncDone
	if j.final() && j.st != st {
		p.laterFinals = append(p.laterFinals, j)
		return
	}
	p.synced(j)
}

// sealed takes the result of a seal the syncer made. A failed seal is
// made again here, under p.mu, which holds clients back until it
// succeeds (the chain finishes a seal line it began); an unsaved key
// state is only a warning (see sealFile).
func (p *pipeline) sealed(j syncJob) seal.Record {
	if j.sealErr == nil {
		return j.rec
	}
	if errors.Is(j.sealErr, seal.ErrKeyPersist) {
		fmt.Fprintf(p.stderr, "sealog: warning: %v\n", j.sealErr)
		return j.rec
	}
	return p.sealFile(j.file, j.kind, j.snap)
}

// waitFinal waits until the file rotated out of st is finalized.
func (p *pipeline) waitFinal(st *stream) {
	if i := slices.IndexFunc(p.laterFinals, func(j syncJob) bool { return j.st == st }); i >= 0 {
		j := p.laterFinals[i]
		p.laterFinals = slices.Delete(p.laterFinals, i, i+1)
		p.finalized(j) // at most one final per stream is ever pending
	}
	p.awaitWhile(st, &st.finalPending)
}

// finalizeLater finalizes the files whose final jobs awaitJob kept.
func (p *pipeline) finalizeLater() {
	for len(p.laterFinals) > 0 {
		j := p.laterFinals[0]
		p.laterFinals = p.laterFinals[1:]
		p.finalized(j)
	}
}

// sync makes all the stream's written bytes durable now, retrying like
// flush.
func (p *pipeline) sync(st *stream) {
	p.awaitWhile(st, &st.syncing) // no fsync of the file on the syncer
	if st.durable.size == st.file.Size() {
		return
	}
	snap := snapshotOf(st.file)
	p.syncRetrying(st.file)
	st.durable = snap
}

// syncRetrying fsyncs f until it succeeds, reporting each failure and
// holding clients back meanwhile (fail closed, SPEC §5).
func (p *pipeline) syncRetrying(f *rotate.File) {
	for {
		err := f.Sync()
		if err == nil {
			break
		}
		p.fail(f.Name(), "fsync", err)
	}
	p.recovered()
}

// fail records a write failure: once on stderr and as a write_error event,
// then waits before the caller retries.
func (p *pipeline) fail(file, op string, err error) {
	if !p.failing {
		p.failing = true
		p.failSince = p.now()
		p.failErr = fmt.Sprintf("%s %s: %v", op, file, err)
		p.failFile = file
		fmt.Fprintf(p.stderr, "sealog: write error: %s; holding clients back and retrying\n", p.failErr)
		p.log.Error("write error", "file", file, "op", op, "err", err)
	}
	backoff := time.Since(p.failSince) / 4
	backoff = min(max(backoff, 20*time.Millisecond), 2*time.Second)
	time.Sleep(backoff)
}

// recovered writes write_error and write_recovered once a failure is over.
// Both go to the security file only now, because while the disk fails the
// security file usually cannot be written either; stderr had it at once.
func (p *pipeline) recovered() {
	if !p.failing {
		return
	}
	p.failing = false
	dur := p.now().Sub(p.failSince)
	fmt.Fprintf(p.stderr, "sealog: write recovered after %s\n", dur.Round(time.Millisecond))
	var d writer.Detail
	d.Str("file", p.failFile)
	d.Str("error", p.failErr)
	d.Str("since", string(writer.AppendTime(nil, p.failSince)))
	p.securityEvent("write_error", "error", &d)
	d.Reset()
	d.Str("file", p.failFile)
	d.Int("duration_ms", dur.Milliseconds())
	p.securityEvent("write_recovered", "success", &d)
}

// checkpoint seals the durable prefix of an active file if it grew since
// its last seal (SPEC §4: unchanged files are not sealed again). With
// --fsync-interval 0 everything written is made durable first; otherwise
// the seal covers what the last finished fsync made durable.
func (p *pipeline) checkpoint(st *stream) {
	if p.cfg.FsyncInterval == 0 {
		p.flush(st)
		p.sync(st)
	}
	if st.durable.size > st.sealed && !st.sealing {
		st.sealing = true
		st.sealed = st.durable.size
		p.syncReq <- syncJob{st: st, file: st.file, snap: st.durable, kind: seal.KindCheckpoint}
	}
}

// sealFile asks the chain for a seal of the prefix snap of file, which
// the caller made durable first (SPEC §4 order on disk).
func (p *pipeline) sealFile(file *rotate.File, kind seal.Kind, snap snapshot) seal.Record {
	var rec seal.Record
	for {
		// A file never synced (an empty one) has its name made durable
		// before a seal names it.
		err := file.SyncDir()
		if err == nil {
			rec, err = p.chain.Seal(kind, file.Name(), snap.size, snap.lines, snap.sum)
		}
		if err == nil {
			break
		}
		if errors.Is(err, seal.ErrKeyPersist) {
			// The seal is durable; only the evolved key state is not
			// saved yet. The chain saves it again before the next seal,
			// and a restart evolves past the seal line anyway.
			fmt.Fprintf(p.stderr, "sealog: warning: %v\n", err)
			break
		}
		p.fail("seals.log", "seal", err)
	}
	p.recovered()
	return rec
}

// finalize final-seals and closes a stream's file and makes it immutable.
// The seal event goes to the security stream — except for the security
// file's own final seal, which only seals.log can record (SPEC §3.4).
//
// It returns the error of making the file immutable, which the caller
// reports once the security stream can take lines again.
func (p *pipeline) finalize(st *stream) (rec seal.Record, immutableErr error) {
	p.flush(st)
	p.sync(st)
	// The file is complete and durable: nothing of it needs to stay in
	// memory (see rotate.File.DropCache).
	_ = st.file.DropCache(st.durable.size)
	rec = p.sealFile(st.file, seal.KindFinal, st.durable)
	st.sealed = st.durable.size
	return rec, p.closeSealed(st.file)
}

// closeSealed closes a final-sealed file and makes it immutable. It
// returns the error of the latter, for the caller to report.
func (p *pipeline) closeSealed(f *rotate.File) (immutableErr error) {
	name, path := f.Name(), f.Path()
	if err := f.Close(); err != nil {
		p.log.Error("close", "file", name, "err", err)
	}
	if p.chattr {
		if err := rotate.SetImmutable(path); err != nil {
			immutableErr = err
			fmt.Fprintf(p.stderr, "sealog: cannot make %s immutable: %v\n", name, err)
		}
	}
	return immutableErr
}

// reportFinal writes what a final seal left to say into the security file.
func (p *pipeline) reportFinal(st *stream, rec seal.Record, immutableErr error) {
	if st != p.security {
		p.sealEvent(rec)
	}
	if immutableErr != nil {
		var d writer.Detail
		d.Str("file", rec.File)
		d.Str("error", immutableErr.Error())
		p.securityEvent("write_error", "error", &d)
	}
}

// sealEvent records a final or recovered seal in the security file
// (checkpoints live in seals.log alone, SPEC §3.4).
func (p *pipeline) sealEvent(rec seal.Record) {
	var d writer.Detail
	d.Str("file", rec.File)
	d.Int("seq", int64(rec.Seq))
	d.Str("kind", string(rec.Kind))
	d.Int("bytes", rec.Bytes)
	d.Int("lines", rec.Lines)
	d.Str("sha256", hex.EncodeToString(rec.SHA256[:]))
	p.securityEvent("seal", "success", &d)
}

// rotate opens the stream's next file and hands the full one to the
// syncer for its final fsync; finalized seals and closes it once that is
// done. Writing goes on into the new file meanwhile: with the default
// --rotate-size of 128 MiB a busy server rotates every few hundred
// milliseconds, and waiting for each final fsync under p.mu was a quarter
// of the time the pipeline was busy (issue 7). At most one file per
// stream waits for its final seal.
func (p *pipeline) rotate(st *stream, reason string) {
	p.waitFinal(st)
	p.flush(st)
	old := st.file
	snap := snapshotOf(old)
	for {
		next, err := p.openStream(st.name, p.now())
		if err == nil {
			*st = *next
			break
		}
		p.fail(st.name, "create", err)
	}
	p.recovered()
	st.finalPending = true
	p.syncReq <- syncJob{st: st, file: old, snap: snap, dropTo: snap.size, kind: seal.KindFinal, next: st.file.Name(), reason: reason}
}

// finalized completes a rotated-out file once its final fsync returned:
// the final seal, close, chattr +i, then the seal and rotate events. A
// failed fsync is retried here, holding clients back (SPEC §5).
func (p *pipeline) finalized(j syncJob) {
	j.st.finalPending = false
	var rec seal.Record
	if j.err != nil {
		p.syncRetrying(j.file)
		_ = j.file.DropCache(j.snap.size)
		rec = p.sealFile(j.file, seal.KindFinal, j.snap)
	} else {
		rec = p.sealed(j)
	}
	immErr := p.closeSealed(j.file)
	p.reportFinal(j.st, rec, immErr)
	var d writer.Detail
	d.Str("file", rec.File)
	d.Str("next", j.next)
	d.Str("reason", j.reason)
	d.Int("seq", int64(rec.Seq))
	p.securityEvent("rotate", "success", &d)
}

// finish is the graceful end (SPEC §5): stop event, final seal of the
// events file (recorded in the security file), then of the security file.
func (p *pipeline) finish() {
	var d writer.Detail
	d.Int("messages", p.written)
	p.securityEvent("stop", "success", &d)
	// The chain's last seals of both files come after every seal the
	// syncer still makes of them.
	p.waitFinal(p.events)
	p.awaitWhile(p.events, &p.events.sealing)
	rec, immErr := p.finalize(p.events)
	p.reportFinal(p.events, rec, immErr)
	p.waitFinal(p.security)
	p.awaitWhile(p.security, &p.security.sealing)
	p.finalize(p.security) // its own final seal lives in seals.log only
}
