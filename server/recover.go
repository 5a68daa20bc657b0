package server

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/writer"
)

// recover final-seals, as found, every file a previous run left without a
// final seal (a crash, a kill -9, a power cut), and makes it immutable
// (docs/format.md §5). A torn last line is sealed as it is, never repaired: the
// file is append-only and rewriting it would destroy evidence.
func (p *pipeline) recover(found []rotate.Found) error {
	for _, f := range found {
		if f.Name == p.events.file.Name() || f.Name == p.security.file.Name() {
			continue
		}
		path := filepath.Join(p.cfg.Dir, f.Name)
		last, sealed := p.chain.Last(f.Name)
		if sealed && last.Kind == seal.KindPruned {
			continue // a prune a crash cut short: the pruner finishes it
		}
		if sealed && (last.Kind == seal.KindFinal || last.Kind == seal.KindRecovered) {
			// Finished earlier; a crash may have come between the final
			// seal and chattr +i, so make sure it is immutable.
			if p.chattr {
				if err := rotate.SetImmutable(path); err != nil {
					return fmt.Errorf("make %s immutable: %w", f.Name, err)
				}
			}
			continue
		}
		size, lines, sum, torn, err := rotate.Summarize(path)
		if err != nil {
			return fmt.Errorf("recover %s: %w", f.Name, err)
		}
		var past int64 = size
		if sealed {
			past = size - last.Bytes
		}
		seq, _ := p.chain.Head()
		var d writer.Detail
		d.Str("file", f.Name)
		d.Int("seq", int64(seq+1)) // the seal it is about to get
		d.Int("bytes", size)
		d.Int("lines", lines)
		d.Int("bytes_past_checkpoint", past)
		d.Bool("torn", torn)
		// The event is on disk before the seal: a crash between the two
		// makes the next start recover the file again (a second recover
		// event), instead of leaving a recovered seal that no event explains.
		p.securityEvent("recover", "success", &d)
		p.security.flush()
		p.security.sync()
		rec, err := p.chain.Seal(seal.KindRecovered, f.Name, size, lines, sum)
		if err != nil && !errors.Is(err, seal.ErrKeyPersist) {
			return fmt.Errorf("recover %s: %w", f.Name, err)
		}
		if p.chattr {
			if err := rotate.SetImmutable(path); err != nil {
				return fmt.Errorf("make %s immutable: %w", f.Name, err)
			}
		}
		p.sealEvent(rec)
		tornNote := ""
		if torn {
			tornNote = ", its last line torn"
		}
		fmt.Fprintf(p.stderr, "sealog: recovered %s, which the last run left without a final seal (%d bytes, %d lines%s, %d bytes after its last checkpoint): sealed it as recovered, seal %d\n",
			f.Name, size, lines, tornNote, past, rec.Seq)
	}
	return nil
}
