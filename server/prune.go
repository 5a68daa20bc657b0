package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sealog/sealog/retain"
	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/writer"
)

// pruneEvery is how often retention looks at the directory: a file is
// pruned within pruneEvery+pruneGrace of becoming eligible, well inside
// the minute docs/format.md §8 allows. A look is one directory listing.
const pruneEvery = 5 * time.Second

// pruneGrace: a file is pruned only once its final seal is this old, so
// that the pipeline, which closes a file (and makes it immutable) just
// after its final seal, is done with it. With attributes in use the
// file must also be immutable already.
const pruneGrace = 5 * time.Second

// pruner carries out retention (docs/format.md §8) on a goroutine of its
// own, started by Server.start and stopped before the pipeline closes.
// It touches only files the pipeline is finished with and the chain,
// which is safe for concurrent use; its events go through the pipeline
// like any other server event. Nothing else in the server deletes files.
type pruner struct {
	s      *Server
	policy retain.Policy
	// reasons holds why a file was pruned while its removal is still to
	// be retried; only the pruner goroutine touches it.
	reasons map[string]string
}

func newPruner(s *Server) *pruner {
	return &pruner{
		s:       s,
		policy:  retain.Policy{MaxAge: s.cfg.Retain, MaxBytes: s.cfg.RetainSize},
		reasons: map[string]string{},
	}
}

// run looks at the directory every pruneEvery until ctx ends.
func (pr *pruner) run(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		pr.once(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once prunes what the policy picks now, and finishes every prune whose
// file is still there (a removal that failed, or one a crash cut short).
func (pr *pruner) once(now time.Time) {
	s := pr.s
	found, err := rotate.Scan(s.cfg.Dir)
	if err != nil {
		fmt.Fprintf(s.stderr, "sealog: retention: %v\n", err)
		return
	}
	lasts := map[string]seal.Record{}
	for _, r := range s.chain.Lasts() {
		lasts[r.File] = r
	}
	files := make([]retain.File, 0, len(found))
	for _, f := range found {
		r, ok := lasts[f.Name]
		if ok && r.Kind == seal.KindPruned {
			pr.finish(f.Name, r, pr.reasonFor(f.Name), s.serverEvent)
			continue
		}
		done := ok && (r.Kind == seal.KindFinal || r.Kind == seal.KindRecovered) && now.Sub(r.Time) >= pruneGrace
		files = append(files, retain.File{Name: f.Name, Size: f.Size, Done: done, Sealed: r.Time})
	}
	for _, d := range pr.policy.Plan(files, now) {
		path := filepath.Join(s.cfg.Dir, d.Name)
		if !s.cfg.NoChattr {
			if imm, err := rotate.Immutable(path); err != nil || !imm {
				continue // not closed yet: the next look takes it
			}
		}
		rec, err := s.chain.Prune(d.Name)
		if err != nil && !errors.Is(err, seal.ErrKeyPersist) {
			var det writer.Detail
			det.Str("file", d.Name)
			det.Str("reason", d.Reason)
			det.Str("error", err.Error())
			s.serverEvent("prune", "failure", &det)
			fmt.Fprintf(s.stderr, "sealog: retention: %v\n", err)
			continue
		}
		if err != nil {
			fmt.Fprintf(s.stderr, "sealog: warning: %v\n", err)
		}
		pr.reasons[d.Name] = d.Reason
		pr.finish(d.Name, rec, d.Reason, s.serverEvent)
	}
}

func (pr *pruner) reasonFor(name string) string {
	if r, ok := pr.reasons[name]; ok {
		return r
	}
	return retain.ReasonRecovered
}

// finish removes a file whose pruned seal rec is durable, then writes
// the prune event. A removal that fails is reported and retried at the
// next look (the file keeps its pruned seal, so verify flags it until
// then).
func (pr *pruner) finish(name string, rec seal.Record, reason string, emit func(action, result string, d *writer.Detail)) {
	s := pr.s
	err := rotate.Remove(filepath.Join(s.cfg.Dir, name))
	var d writer.Detail
	d.Str("file", name)
	d.Int("seq", int64(rec.Seq))
	d.Int("bytes", rec.Bytes)
	d.Str("reason", reason)
	if err != nil {
		d.Str("error", err.Error())
		emit("prune", "failure", &d)
		fmt.Fprintf(s.stderr, "sealog: retention: %v; retrying\n", err)
		return
	}
	delete(pr.reasons, name)
	emit("prune", "success", &d)
	s.cfg.Metrics.Pruned(reason)
	fmt.Fprintf(s.stderr, "sealog: pruned %s (%s, seal %d)\n", name, reason, rec.Seq)
}

// finishInterrupted completes, at start-up, every prune a crash cut
// short between its pruned seal and the removal of the file
// (docs/format.md §8: reason "recovered"). It runs in New, before the
// pipeline goroutine, so its events go straight to the security stream.
func (pr *pruner) finishInterrupted(found []rotate.Found) {
	for _, f := range found {
		if r, ok := pr.s.chain.Last(f.Name); ok && r.Kind == seal.KindPruned {
			pr.finish(f.Name, r, retain.ReasonRecovered, pr.s.pipe.securityEvent)
		}
	}
}

// countSeal is the chain's OnSeal hook: every seal, whoever made it.
func (s *Server) countSeal(r seal.Record) {
	s.cfg.Metrics.Sealed(string(r.Kind), r.Time)
}
