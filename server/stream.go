package server

import (
	"bytes"
	"time"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
)

// flushThreshold: pending bytes are handed to the kernel once this many
// have accumulated, or whenever the queue runs dry.
const flushThreshold = 256 << 10

// writeBehind: once this many bytes were written since the last time, the
// kernel is asked to start writing them to disk (rotate.File.StartWriteback),
// so that the fsync every --fsync-interval finds little left to do.
const writeBehind = 8 << 20

// stream is one of the two output streams (events, security): the active
// file, the bytes not yet handed to the kernel, and how far the file is
// durable and sealed. The bytes of the active file pass four marks, each
// at most the next:
//
//	sealed ≤ durable.size ≤ file.Size() ≤ size()
//
// sealed is what the last seal covers, durable what the last finished
// fsync made durable, file.Size() what was handed to the kernel, and
// size() adds pending, the bytes still in memory.
//
// Concurrency: a stream belongs to its pipeline and only the holder of
// the pipeline's mu calls its methods or reads its fields (New uses it
// alone before run starts). The syncer goroutine never touches a stream:
// it gets a job with the file and a snapshot, and the stream learns the
// result when the holder of mu takes the finished job (see syncJob). So
// while a job of the active file is in flight, the file is written here
// and fsynced there, which rotate.File allows.
type stream struct {
	p       *pipeline
	name    string // "events" or "security": the file name prefix
	file    *rotate.File
	pending []byte
	// leaves are the leaf hashes of pending's lines, when its lines come
	// with them (the events stream); nil: the file hashes the lines.
	leaves   []tlog.Hash
	deadline time.Time // next UTC-aligned rotation; zero: none
	sealed   int64     // bytes of file covered by its last seal
	durable  snapshot  // the prefix of file a finished fsync made durable
	// inFlight is the set of this stream's jobs running on the syncer:
	// at most one of each kind (see jobKind).
	inFlight jobKind
}

// snapshot is a prefix of a file as a seal covers it (docs/format.md §4
// BYTES, LINES, ROOT).
type snapshot struct {
	size, lines int64
	sum         [32]byte // ROOT
}

func snapshotOf(f *rotate.File) snapshot { return snapshot{f.Size(), f.Lines(), f.Root()} }

// size is the active file's size once pending is written.
func (st *stream) size() int64 { return st.file.Size() + int64(len(st.pending)) }

// busy reports whether a job of kind k of this stream is on the syncer.
func (st *stream) busy(k jobKind) bool { return st.inFlight&k != 0 }

// appendLines adds whole lines to the stream, rotating on size before a
// line that would take the file past --rotate-size (docs/format.md §3.1).
// The common case — the batch fits — costs one copy; only a batch that
// crosses the size limit is walked line by line.
func (st *stream) appendLines(lines []byte, leaves []tlog.Hash) {
	policy := &st.p.policy
	// Not Fits here: it lets an empty file take anything, which is right
	// for one line but would put a whole multi-line batch into a fresh
	// file past --rotate-size.
	if policy.MaxSize <= 0 || st.size()+int64(len(lines)) <= policy.MaxSize {
		st.appendPending(lines, leaves)
		return
	}
	for i := 0; len(lines) > 0; i++ {
		n := bytes.IndexByte(lines, '\n') + 1
		if n == 0 {
			n = len(lines) // cannot happen: lines always end in LF
		}
		if !policy.Fits(st.size(), int64(n)) {
			st.rotate("size")
		}
		if leaves != nil {
			st.appendPending(lines[:n], leaves[i:i+1])
		} else {
			st.appendPending(lines[:n], nil)
		}
		lines = lines[n:]
	}
}

// appendPending adds lines and, when the stream's lines come hashed,
// their leaves (one per line).
func (st *stream) appendPending(b []byte, leaves []tlog.Hash) {
	st.pending = append(st.pending, b...)
	if leaves != nil {
		st.leaves = append(st.leaves, leaves...)
	}
	if len(st.pending) >= flushThreshold {
		st.flush()
	}
}

// flush hands pending bytes to the kernel. On failure it does not drop
// anything and does not return until the write succeeded: the pipeline
// stops, the queue fills, readers block, and TCP pushes back
// (docs/format.md §5). A short write is continued from where the kernel
// stopped, so no line is ever written half.
func (st *stream) flush() {
	lines, size := st.file.Lines(), st.file.Size()
	rest, leaves := st.pending, st.leaves
	if len(leaves) == 0 {
		leaves = nil // the file hashes these lines itself
	}
	for len(rest) > 0 {
		n, used, err := st.file.WriteLines(rest, leaves)
		rest = rest[n:]
		if leaves != nil {
			leaves = leaves[used:]
		}
		if err != nil {
			st.p.fail(st.file.Name(), "write", err)
		}
	}
	// Counted once per write(2), from the file's own tallies: the
	// metrics cost nothing per line.
	st.p.cfg.Metrics.Written(st.name, st.file.Lines()-lines, st.file.Size()-size)
	_ = st.file.StartWriteback(writeBehind)
	// Reuse the buffer from its start: reslicing st.pending itself would
	// shrink its capacity and make every flush allocate a new one.
	st.pending, st.leaves = st.pending[:0], st.leaves[:0]
	if cap(st.pending) > 4*flushThreshold {
		st.pending, st.leaves = nil, nil // one huge burst must not pin its buffer
	}
	st.p.recovered()
}

// startSync hands the stream's written bytes to the syncer, unless a sync
// of it is already running or nothing new was written.
func (st *stream) startSync() {
	if st.busy(jobFsync) || st.file.Size() == st.durable.size {
		return
	}
	st.inFlight |= jobFsync
	st.p.syncer.req <- &fsyncJob{st: st, file: st.file, snap: snapshotOf(st.file), dropTo: st.durable.size}
}

// sync makes all the stream's written bytes durable now, retrying like
// flush.
func (st *stream) sync() {
	st.await(jobFsync) // no fsync of the file on the syncer
	if st.durable.size == st.file.Size() {
		return
	}
	snap := snapshotOf(st.file)
	st.p.syncRetrying(st.file)
	st.durable = snap
}

// checkpoint seals the durable prefix of the active file if it grew since
// its last seal (docs/format.md §4: unchanged files are not sealed again).
// With --fsync-interval 0 everything written is made durable first;
// otherwise the seal covers what the last finished fsync made durable.
func (st *stream) checkpoint() {
	if st.p.cfg.FsyncInterval == 0 {
		st.flush()
		st.sync()
	}
	if st.durable.size > st.sealed && !st.busy(jobCheckpoint) {
		st.inFlight |= jobCheckpoint
		st.sealed = st.durable.size
		st.p.syncer.req <- &checkpointJob{st: st, file: st.file, snap: st.durable}
	}
}

// rotate opens the stream's next file and hands the full one to the
// syncer for its final fsync; finalJob.done seals and closes it once that
// is done. Writing goes on into the new file meanwhile: with the default
// --rotate-size of 128 MiB a busy server rotates every few hundred
// milliseconds, and waiting for each final fsync under p.mu was a quarter
// of the time the pipeline was busy. At most one file per stream waits
// for its final seal.
func (st *stream) rotate(reason string) {
	p := st.p
	st.waitFinal()
	st.flush()
	old := st.file
	snap := snapshotOf(old)
	for {
		next, err := p.openStream(st.name, p.now())
		if err == nil {
			// This clears inFlight too: the old file's fsync and
			// checkpoint jobs still on the syncer are ignored when they
			// come back (see their done), and waitFinal took its
			// predecessor's final job.
			*st = *next
			break
		}
		p.fail(st.name, "create", err)
	}
	p.recovered()
	st.inFlight |= jobFinal
	p.syncer.req <- &finalJob{st: st, file: old, snap: snap, dropTo: snap.size, next: st.file.Name(), reason: reason}
}

// finalize final-seals and closes the active file and makes it immutable:
// the graceful end. It returns the error of making the file immutable,
// which the caller reports once the security stream can take lines again
// (see pipeline.reportFinal).
func (st *stream) finalize() (rec seal.Record, immutableErr error) {
	p := st.p
	st.flush()
	st.sync()
	// The file is complete and durable: nothing of it needs to stay in
	// memory (see rotate.File.DropCache).
	_ = st.file.DropCache(st.durable.size)
	rec = p.sealFile(st.file, seal.KindFinal, st.durable)
	st.sealed = st.durable.size
	return rec, p.closeSealed(st.file)
}
