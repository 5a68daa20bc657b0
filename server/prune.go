package server

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
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
	files := make([]retain.File, 0, len(found))
	for _, f := range found {
		// One lookup per file present (bounded by the retention itself),
		// not a copy of every seal the chain remembers since seal 1.
		r, ok := s.chain.Last(f.Name)
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
// short (docs/format.md §8: reason "recovered"): a file still present
// after its pruned seal is removed, then its prune event written; lost
// are prunes whose file went but whose event did not (see lostEvents).
// It runs in New, before the pipeline goroutine, so its events go
// straight to the security stream.
func (pr *pruner) finishInterrupted(found []rotate.Found, lost []seal.Record) {
	for _, f := range found {
		if r, ok := pr.s.chain.Last(f.Name); ok && r.Kind == seal.KindPruned {
			pr.finish(f.Name, r, retain.ReasonRecovered, pr.s.pipe.securityEvent)
		}
	}
	for _, r := range lost {
		var d writer.Detail
		d.Str("file", r.File)
		d.Int("seq", int64(r.Seq))
		d.Int("bytes", r.Bytes)
		d.Str("reason", retain.ReasonRecovered)
		pr.s.pipe.securityEvent("prune", "success", &d)
		pr.s.cfg.Metrics.Pruned(retain.ReasonRecovered)
		fmt.Fprintf(pr.s.stderr, "sealog: pruned %s (recovered: its prune event was lost in a crash, seal %d)\n", r.File, r.Seq)
	}
}

// lostEvents finds prunes a crash cut short after the file was deleted
// and before its prune event was written. Only a run that crashed can
// have lost one, and its event would be in that run's security file,
// which has no final seal yet (recover is about to seal it): every
// pruned seal of a file that is gone, made after that file was opened,
// needs a prune event with its SEQ there. Reading the crashed file
// costs what its recovery costs anyway (one sequential read).
func (pr *pruner) lostEvents(found []rotate.Found) []seal.Record {
	var crashed []rotate.Found
	present := map[string]bool{}
	for _, f := range found {
		present[f.Name] = true
		if f.Stream != rotate.StreamSecurity {
			continue
		}
		if r, ok := pr.s.chain.Last(f.Name); !ok || r.Kind == seal.KindCheckpoint {
			crashed = append(crashed, f)
		}
	}
	if len(crashed) == 0 {
		return nil
	}
	since := crashed[0].Opened
	var candidates []seal.Record
	for _, r := range pr.s.chain.Lasts() {
		if r.Kind == seal.KindPruned && !present[r.File] && !r.Time.Before(since) {
			candidates = append(candidates, r)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	written := map[uint64]bool{}
	for _, f := range crashed {
		if err := prunedSeqs(filepath.Join(pr.s.cfg.Dir, f.Name), written); err != nil {
			fmt.Fprintf(pr.s.stderr, "sealog: retention: %v\n", err)
		}
	}
	var lost []seal.Record
	for _, r := range candidates {
		if !written[r.Seq] {
			lost = append(lost, r)
		}
	}
	slices.SortFunc(lost, func(a, b seal.Record) int { return cmp.Compare(a.Seq, b.Seq) })
	return lost
}

// prunedSeqs adds to seqs the `seq` of every successful prune event in
// the security file at path.
func prunedSeqs(path string, seqs map[uint64]bool) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	mark := []byte("\tprune\tsuccess\t")
	key := []byte(`"seq":`)
	for {
		line, err := br.ReadSlice('\n')
		if i := bytes.Index(line, mark); i >= 0 {
			if j := bytes.Index(line[i:], key); j >= 0 {
				rest := line[i+j+len(key):]
				n := 0
				for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
					n++
				}
				if v, perr := strconv.ParseUint(string(rest[:n]), 10, 64); perr == nil {
					seqs[v] = true
				}
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			// A line longer than the buffer is read on in pieces; a
			// prune event is short and never split so.
		case errors.Is(err, io.EOF):
			return nil
		default:
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// countSeal is the chain's OnSeal hook: every seal, whoever made it.
func (s *Server) countSeal(r seal.Record) {
	s.cfg.Metrics.Sealed(string(r.Kind), r.Time)
}
