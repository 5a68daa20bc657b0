package server

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealog/sealog/metrics"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/writer"
)

// checkpointHealth turns failed writes of DIR/checkpoint into write_error
// and write_recovered security events, once per episode: the first
// checkpoint (or cosignature) that cannot be written begins one, the next
// one written ends it. Seals are not held up meanwhile (the next seal
// writes a newer checkpoint, docs/format.md §7.2), so, unlike the write
// stage's own failures, write_error is recorded as soon as the write
// stage can, not only at the recovery.
//
// Concurrency: note is called by whoever wrote the checkpoint — inside
// seal.Chain.Seal with the chain's lock held, on the syncer goroutine, a
// holder of pipeline.mu or the pruner, and by witness goroutines. So it
// only takes its own lock and writes stderr: it never submits, sends on a
// channel or waits for the write stage, which may itself be waiting for
// the syncer or the chain (a deadlock), or be finished (a send on a closed
// queue at shutdown). The holder of pipeline.mu takes what note recorded
// with report and writes the events.
type checkpointHealth struct {
	stderr  io.Writer
	metrics *metrics.Metrics
	// changed: pending holds something; lets report skip the lock.
	changed atomic.Bool

	mu      sync.Mutex // guards the fields below
	failing bool
	since   time.Time
	// pending: episode starts and ends not yet in the security file, in
	// order; at most maxPendingCheckpointEvents (stderr has every one).
	pending []checkpointChange
}

// checkpointChange is the start (ok false) or end of a failure episode.
type checkpointChange struct {
	ok    bool
	at    time.Time
	since time.Time // the episode's start
	size  uint64    // of the checkpoint that failed or was written
	err   string
}

// maxPendingCheckpointEvents bounds pending while the write stage cannot
// take it (it retries a failed write of its own under pipeline.mu).
const maxPendingCheckpointEvents = 32

func newCheckpointHealth(stderr io.Writer, m *metrics.Metrics) *checkpointHealth {
	return &checkpointHealth{stderr: stderr, metrics: m}
}

// note records the outcome of a write of the checkpoint of size seals;
// op says what was written ("checkpoint", "cosignature of checkpoint").
func (h *checkpointHealth) note(size uint64, op string, err error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	switch {
	case err != nil && !h.failing:
		h.failing, h.since = true, now
		msg := fmt.Sprintf("%s %d: %v", op, size, err)
		fmt.Fprintf(h.stderr, "sealog: write error: %s; seals go on, the next one writes %s again\n", msg, tlog.CheckpointName)
		h.metrics.WriteError()
		h.add(checkpointChange{at: now, since: now, size: size, err: msg})
	case err == nil && h.failing:
		h.failing = false
		fmt.Fprintf(h.stderr, "sealog: write recovered: %s written again (%d seals) after %s\n",
			tlog.CheckpointName, size, now.Sub(h.since).Round(time.Millisecond))
		h.add(checkpointChange{ok: true, at: now, since: h.since, size: size})
	}
}

func (h *checkpointHealth) add(c checkpointChange) {
	if len(h.pending) < maxPendingCheckpointEvents {
		h.pending = append(h.pending, c)
		h.changed.Store(true)
	}
}

// take returns the changes not yet reported.
func (h *checkpointHealth) take() []checkpointChange {
	if h == nil || !h.changed.Load() {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.pending
	h.pending = nil
	h.changed.Store(false)
	return out
}

// reportCheckpoint writes the checkpoint's write_error and write_recovered
// events that note recorded since the last call. p.mu is held (or New has
// the pipeline alone).
func (p *pipeline) reportCheckpoint() {
	for _, c := range p.ckpt.take() {
		var d writer.Detail
		d.Str("file", tlog.CheckpointName)
		d.Int("size", int64(c.size))
		if !c.ok {
			d.Str("error", c.err)
			d.Str("since", string(writer.AppendTime(nil, c.since)))
			p.securityEvent("write_error", "error", &d)
			continue
		}
		d.Int("duration_ms", c.at.Sub(c.since).Milliseconds())
		p.securityEvent("write_recovered", "success", &d)
	}
}
