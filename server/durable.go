package server

import "github.com/sealog/sealog/rotate"

// A RELP sender's message may be acknowledged only once it is on disk
// (docs/format.md §9.1). A batch that carries a durable channel is such
// a batch: the pipeline closes the channel once every event line of the
// batch has been fsynced.
//
// The commit is a group commit: once a drain has accepted batches that
// wait, the pipeline hands the events file to the syncer at once
// (commitDurable) instead of at the next --fsync-interval tick. While
// that fsync runs, more batches of any session join the next one; so a
// sender's window, and every session at once, share an fsync, and the
// writing itself never waits for the disk.

// durableWaiter is a batch waiting for its lines to be durable: the file
// its last line went to and that file's size just after it.
type durableWaiter struct {
	file *rotate.File
	size int64
	ch   chan struct{}
	// finalized: file was rotated out and its final fsync is done.
	finalized bool
}

// submitDurable hands b to the pipeline like submit and returns a
// channel that is closed once b's events are fsynced.
func (p *pipeline) submitDurable(b *batch) <-chan struct{} {
	ch := make(chan struct{})
	b.durable = ch
	p.submit(b)
	return ch
}

// waitDurable records an accepted batch's durable channel. p.mu is held.
func (p *pipeline) waitDurable(ch chan struct{}) {
	p.durableWaiters = append(p.durableWaiters, durableWaiter{file: p.events.file, size: p.events.size(), ch: ch})
}

// commitDurable answers the waiters whose lines are durable and, if any
// are left, has the syncer fsync the events file now. p.mu is held.
func (p *pipeline) commitDurable() {
	p.releaseDurable()
	if len(p.durableWaiters) == 0 {
		return
	}
	p.events.flush()
	p.events.startSync() // no-op while one runs: its done comes back here
}

// releaseDurable closes the channels of the waiters, in order, whose
// lines are durable: in the active file up to the durable mark (and no
// older file still waiting for its final fsync, where the batch's first
// lines may be), or in a file rotated out and finalized since. p.mu is
// held.
func (p *pipeline) releaseDurable() {
	st := p.events
	n := 0
	for _, w := range p.durableWaiters {
		ok := w.finalized ||
			(w.file == st.file && w.size <= st.durable.size && !st.busy(jobFinal))
		if !ok {
			break
		}
		close(w.ch)
		n++
	}
	if n > 0 {
		p.durableWaiters = append(p.durableWaiters[:0], p.durableWaiters[n:]...)
	}
}

// fileFinalized notes that f's final fsync is done: its waiters are
// durable. p.mu is held.
func (p *pipeline) fileFinalized(f *rotate.File) {
	for i := range p.durableWaiters {
		if p.durableWaiters[i].file == f {
			p.durableWaiters[i].finalized = true
		}
	}
	p.releaseDurable()
}

// releaseAllDurable answers every waiter: at the end of finish both
// files are final-sealed, so everything accepted is durable.
func (p *pipeline) releaseAllDurable() {
	for _, w := range p.durableWaiters {
		close(w.ch)
	}
	p.durableWaiters = nil
}
