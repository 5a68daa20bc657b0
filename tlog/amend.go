package tlog

import (
	"bytes"
	"fmt"
)

// Amend replaces DIR/checkpoint with f(note) while the latest checkpoint
// published is still the one whose note text is text; this is how
// witness cosignatures, further signature lines of the same note, are
// added (docs/format.md §7.3). f gets the latest note as written (with
// the cosignatures added so far) and must keep its text. Amend reports
// whether it wrote: once a newer checkpoint is out, a late cosignature
// of an older one is dropped, as it does not sign the file's text.
func (p *Publisher) Amend(text []byte, f func(note []byte) ([]byte, error)) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.signed == nil || !bytes.Equal(p.last.Text(), text) {
		return false, nil
	}
	msg, err := f(p.signed)
	if err != nil {
		return false, err
	}
	if !bytes.HasPrefix(msg, append(append([]byte(nil), text...), '\n')) {
		return false, fmt.Errorf("amend checkpoint %d: the note text changed", p.last.Size)
	}
	if len(msg) > MaxCheckpoint {
		return false, fmt.Errorf("amend checkpoint %d: %w: larger than %d bytes", p.last.Size, ErrCheckpoint, MaxCheckpoint)
	}
	if err := WriteFile(p.dir, msg); err != nil {
		return false, err
	}
	p.signed = msg
	return true, nil
}
