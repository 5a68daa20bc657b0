package server

import (
	"fmt"
	"slices"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/writer"
)

// syncer runs the fsyncs and seals handed to it, one at a time and in
// order, on its own goroutine, off p.mu: a write-back of many megabytes,
// or a seal's fsync that waits for one, must not stall writing. On ext4 a
// seal's fsync of seals.log and the key state waits for the journal,
// which waits for the events file's data, so seals are made here too.
// Each seal follows the fsync of the bytes it covers (docs/format.md §4,
// order on disk), because a job's seal comes after its own fsync or after
// an earlier job's, and jobs run in order.
//
// Concurrency: only the holder of p.mu sends on req and receives from
// done, so a goroutine waiting on done under p.mu (stream.await) never
// has its job taken by another. A job belongs to the syncer goroutine from
// the send on req until it comes back on done; run touches only the job,
// its file's Sync, SyncDir and DropCache, and the chain, which has a lock
// of its own. Per stream at most five jobs are in flight — an fsync and a
// checkpoint of a rotated-out file, its final job, an fsync and a
// checkpoint of the new one — so buffers of 16 never block. Closing req
// ends the goroutine; the pipeline does that once finish has waited for
// every job in flight.
type syncer struct {
	chain *seal.Chain
	req   chan syncJob
	done  chan syncJob
	// note wakes the pipeline goroutine to take finished jobs
	// (takeSynced); notes coalesce.
	note chan struct{}
}

func newSyncer(chain *seal.Chain) *syncer {
	return &syncer{
		chain: chain,
		req:   make(chan syncJob, 16),
		done:  make(chan syncJob, 16),
		note:  make(chan struct{}, 1),
	}
}

// run is the syncer goroutine.
func (s *syncer) run() {
	for j := range s.req {
		j.run(s.chain)
		s.done <- j
		select {
		case s.note <- struct{}{}:
		default:
		}
	}
}

// A syncJob is one piece of slow disk work for the syncer. Each carries
// the snapshot of its file taken when it was made: once its fsync
// returns, exactly that prefix is durable, and only such a prefix is ever
// sealed (docs/format.md §4, order on disk).
type syncJob interface {
	// run does the work, on the syncer goroutine.
	run(chain *seal.Chain)
	// done takes the result, on the holder of p.mu: the stream's state
	// moves on, and a failure is retried there, holding clients back.
	done()
}

// jobKind names the kinds of syncJob. A stream's inFlight holds one bit
// per kind, set when the job is handed to the syncer and cleared when
// its result is taken.
type jobKind uint8

const (
	// jobFsync: the periodic fsync of the active file (fsyncJob).
	jobFsync jobKind = 1 << iota
	// jobCheckpoint: a checkpoint seal of the active file's durable
	// prefix (checkpointJob).
	jobCheckpoint
	// jobFinal: the final fsync and seal of the file rotated out before
	// the active one (finalJob).
	jobFinal
)

// fsyncJob makes what was written of the active file durable, every
// --fsync-interval.
type fsyncJob struct {
	st   *stream
	file *rotate.File
	snap snapshot
	// dropTo is what the previous fsync made durable: once this one has
	// succeeded, the syncer drops that prefix from the page cache. Lagging
	// one interval behind keeps what a tail -f or a forwarder reads soon
	// after it was written in memory.
	dropTo int64
	err    error
}

func (j *fsyncJob) run(*seal.Chain) { j.err = syncAndDrop(j.file, j.dropTo) }

// done moves the stream's durable mark. A failed fsync is retried at once
// under p.mu, which holds clients back until it succeeds (fail closed,
// docs/format.md §5).
func (j *fsyncJob) done() {
	st := j.st
	if j.file != st.file {
		return // a rotated-out file's: its final job covers it
	}
	st.inFlight &^= jobFsync
	if j.err != nil {
		st.sync()
		return
	}
	if j.snap.size > st.durable.size {
		st.durable = j.snap
	}
	if st == st.p.events {
		st.p.releaseDurable()
	}
}

// checkpointJob seals a prefix of the active file that an fsync already
// made durable, every --seal-interval: no fsync, only the seal.
type checkpointJob struct {
	st   *stream
	file *rotate.File
	snap snapshot
	rec  seal.Record
	err  error // the seal's
}

func (j *checkpointJob) run(chain *seal.Chain) {
	// The file's name is durable: the fsync that made snap durable synced
	// its directory.
	j.rec, j.err = chain.Seal(seal.KindCheckpoint, j.file.Name(), j.snap.size, j.snap.lines, j.snap.sum)
}

func (j *checkpointJob) done() {
	st := j.st
	if j.file != st.file {
		// A checkpoint of a file rotated out since: its final seal, made
		// after this one on the syncer, covers all of it, and a
		// checkpoint made again now would follow the final seal.
		if j.err != nil {
			fmt.Fprintf(st.p.stderr, "sealog: warning: checkpoint of %s before its final seal: %v\n", j.file.Name(), j.err)
		}
		return
	}
	st.inFlight &^= jobCheckpoint
	st.p.sealed(j.file, seal.KindCheckpoint, j.snap, j.rec, j.err)
}

// finalJob finishes a file that was rotated out and gets no more bytes:
// the syncer fsyncs and final-seals it, then done closes it, makes it
// immutable and records the seal and rotate events.
type finalJob struct {
	st           *stream
	file         *rotate.File
	snap         snapshot
	dropTo       int64
	next, reason string // for the rotate event
	syncErr      error
	rec          seal.Record
	sealErr      error
}

func (j *finalJob) run(chain *seal.Chain) {
	j.syncErr = syncAndDrop(j.file, j.dropTo)
	if j.syncErr == nil {
		j.rec, j.sealErr = chain.Seal(seal.KindFinal, j.file.Name(), j.snap.size, j.snap.lines, j.snap.sum)
	}
}

// done completes the file: the final seal (made again here if the syncer
// could not), close, chattr +i, then the seal and rotate events. A failed
// fsync is retried here, holding clients back (docs/format.md §5).
func (j *finalJob) done() {
	p := j.st.p
	j.st.inFlight &^= jobFinal
	var rec seal.Record
	if j.syncErr != nil {
		p.syncRetrying(j.file)
		_ = j.file.DropCache(j.snap.size)
		rec = p.sealFile(j.file, seal.KindFinal, j.snap)
	} else {
		rec = p.sealed(j.file, seal.KindFinal, j.snap, j.rec, j.sealErr)
	}
	if j.st == p.events {
		p.fileFinalized(j.file)
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

// syncAndDrop fsyncs f and then drops its first dropTo bytes from the
// page cache. The drop is advice only: a kernel that does not take it
// costs memory, not data.
func syncAndDrop(f *rotate.File, dropTo int64) error {
	if testHookSync != nil {
		testHookSync(f)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	_ = f.DropCache(dropTo)
	return nil
}

// testHookSync, when non-nil, is called before every fsync of a file
// the pipeline writes. It is a test hook only (server/relp_test.go holds
// an fsync back to see that no RELP answer overtakes it); production
// code never sets it.
var testHookSync func(f *rotate.File)

// takeSynced takes the results of the jobs that finished. p.mu is held.
func (p *pipeline) takeSynced() {
	for {
		select {
		case j := <-p.syncer.done:
			j.done()
		default:
			return
		}
	}
}

// await takes finished jobs until none of kind k of st is in flight.
// p.mu is held.
func (st *stream) await(k jobKind) {
	for st.busy(k) {
		st.awaitJob()
	}
}

// awaitJob takes one finished job while the caller waits for one of st's.
// A final job of the other stream is kept in laterFinals instead, so that
// no file is finalized in the middle of another stream's sync or rotation.
func (st *stream) awaitJob() {
	p := st.p
	j := <-p.syncer.done
	if fj, ok := j.(*finalJob); ok && fj.st != st {
		p.laterFinals = append(p.laterFinals, fj)
		return
	}
	j.done()
}

// waitFinal waits until the file rotated out of st is finalized.
func (st *stream) waitFinal() {
	p := st.p
	if i := slices.IndexFunc(p.laterFinals, func(j *finalJob) bool { return j.st == st }); i >= 0 {
		j := p.laterFinals[i]
		p.laterFinals = slices.Delete(p.laterFinals, i, i+1)
		j.done() // at most one final per stream is ever pending
	}
	st.await(jobFinal)
}

// finalizeLater finalizes the files whose final jobs awaitJob kept.
func (p *pipeline) finalizeLater() {
	for len(p.laterFinals) > 0 {
		j := p.laterFinals[0]
		p.laterFinals = p.laterFinals[1:]
		j.done()
	}
}
