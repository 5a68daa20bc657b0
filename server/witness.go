package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/sealog/sealog/metrics"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/witness"
	"github.com/sealog/sealog/writer"
)

// witnessing asks the --witness witnesses to cosign every checkpoint the
// server publishes and adds their cosignatures to DIR/checkpoint
// (docs/format.md §7.3). It runs beside the pipeline, never in it: submit
// only hands the note over, the requests run on the witness.Pool's
// goroutines, and a witness that hangs costs one goroutine and one
// pending note, never a client's write.
//
// Its `witness` security events go through the pipeline until the
// security file is about to be final-sealed (closeEvents); after that, in
// the last moments of a graceful stop, they go to stderr.
type witnessing struct {
	pool   *witness.Pool
	pub    *tlog.Publisher
	health *checkpointHealth // a failed write of a cosignature is a write error
	event  func(action, result string, d *writer.Detail)
	stderr io.Writer

	mu     sync.Mutex // guards closed; held while an event is submitted
	closed bool
}

// startWitnessing starts asking ws about the checkpoints pub publishes
// for tree, beginning with the latest one already out (after a restart,
// a witness that missed it, down at the stop, cosigns it now).
func startWitnessing(ws []witness.Witness, pub *tlog.Publisher, health *checkpointHealth, tree *tlog.Tree, m *metrics.Metrics,
	event func(action, result string, d *writer.Detail), stderr io.Writer) *witnessing {
	w := &witnessing{pub: pub, health: health, event: event, stderr: stderr}
	w.pool = witness.Start(witness.Config{
		Witnesses: ws,
		Proof: func(old, size uint64) ([]witness.Hash, error) {
			return tree.ConsistencyProof(old, size)
		},
		Cosigned: w.cosigned,
		Changed:  w.changed,
		Result: func(wt witness.Witness, ok bool) {
			if m != nil {
				m.WitnessRequest(wt.Key.Name(), ok)
			}
		},
	})
	if c, msg := pub.Latest(); msg != nil {
		w.pool.Submit(c.Size, msg)
	}
	return w
}

// submit hands a newly published checkpoint to every witness; it does not
// block.
func (w *witnessing) submit(size uint64, msg []byte) { w.pool.Submit(size, msg) }

// cosigned adds a verified cosignature to DIR/checkpoint, if that still
// holds the checkpoint it signs.
func (w *witnessing) cosigned(wt witness.Witness, cp []byte, c witness.Cosignature) {
	text, _, err := witness.SplitNote(cp)
	if err != nil {
		return // the Pool only has notes the Publisher made
	}
	sigs, err := witness.ParseSignatures(c.Line)
	if err != nil {
		return
	}
	wrote, err := w.pub.Amend(text, func(note []byte) ([]byte, error) { return witness.AddSignatures(note, sigs) })
	if err != nil {
		fmt.Fprintf(w.stderr, "sealog: adding %s's cosignature to the checkpoint: %v\n", wt.Key.Name(), err)
	}
	if wrote || err != nil {
		var size uint64
		if cpc, err := tlog.Peek(cp); err == nil {
			size = cpc.Size
		}
		w.health.note(size, "cosignature of checkpoint", err)
	}
}

// changed writes the `witness` security event of a change of state.
func (w *witnessing) changed(e witness.Event) {
	var d writer.Detail
	d.Str("witness", e.Witness.Key.Name())
	d.Str("url", e.Witness.URL)
	d.Int("size", int64(e.Size))
	result := "success"
	if !e.OK {
		result = "failure"
		d.Str("reason", e.Reason)
		var st *witness.StatusError
		if errors.As(e.Err, &st) {
			d.Int("status", int64(st.Code))
		}
		if e.Err != nil {
			d.Str("error", e.Err.Error())
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.event("witness", result, &d)
		return
	}
	if e.OK {
		fmt.Fprintf(w.stderr, "sealog: witness %s cosigned checkpoint %d\n", e.Witness.Key.Name(), e.Size)
	} else {
		fmt.Fprintf(w.stderr, "sealog: witness %s failed for checkpoint %d (%s): %v\n", e.Witness.Key.Name(), e.Size, e.Reason, e.Err)
	}
}

// closeEvents sends later events to stderr: the security stream is being
// final-sealed.
func (w *witnessing) closeEvents() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// stop asks for what is pending (the final checkpoint) within ctx.
func (w *witnessing) stop(ctx context.Context) { w.pool.Stop(ctx) }
