package server

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/writer"
)

// sealed takes the result of a seal the syncer made of snap of file. A
// failed seal is made again here, under p.mu, which holds clients back
// until it succeeds (the chain finishes a seal line it began); so is the
// save of an evolved key state that failed after a seal (see sealFile).
func (p *pipeline) sealed(file *rotate.File, kind seal.Kind, snap snapshot, rec seal.Record, err error) seal.Record {
	if err == nil {
		return rec
	}
	if errors.Is(err, seal.ErrKeyPersist) {
		p.saveKeyRetrying(err)
		return rec
	}
	return p.sealFile(file, kind, snap)
}

// saveKeyRetrying saves the evolved key state until it is on disk,
// holding clients back meanwhile: sealog does not go on sealing with a key
// the disk does not know (fail closed, docs/format.md §10.2). The failure
// is a write error naming the key file.
func (p *pipeline) saveKeyRetrying(err error) {
	for err != nil {
		p.fail(p.cfg.KeyPath, "save key state", err)
		err = p.chain.SaveKeyState()
	}
	p.recovered()
}

// sealFile asks the chain for a seal of the prefix snap of file, which
// the caller made durable first (docs/format.md §4, order on disk).
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
			// saved. Nothing is sealed until it is.
			p.saveKeyRetrying(err)
			break
		}
		if errors.Is(err, seal.ErrKeyUnsaved) {
			p.fail(p.cfg.KeyPath, "save key state", err)
			continue
		}
		p.fail("seals.log", "seal", err)
	}
	p.recovered()
	return rec
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

// reportFinal writes what a final seal of st's file left to say into the
// security file. The seal event goes to the security stream — except for
// the security file's own final seal, which only seals.log can record
// (docs/format.md §3.4).
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
// (checkpoints live in seals.log alone, docs/format.md §3.4).
func (p *pipeline) sealEvent(rec seal.Record) {
	var d writer.Detail
	d.Str("file", rec.File)
	d.Int("seq", int64(rec.Seq))
	d.Str("kind", string(rec.Kind))
	d.Int("bytes", rec.Bytes)
	d.Int("lines", rec.Lines)
	d.Str("root", hex.EncodeToString(rec.Root[:]))
	p.securityEvent("seal", "success", &d)
}
