package seal

import (
	"errors"
	"fmt"
)

// ErrNotFinal: Prune was asked for a file whose last seal is not a final
// or recovered one (an active file, a file never sealed, or one pruned
// already).
var ErrNotFinal = errors.New("file has no final seal to prune")

// Prune appends the `pruned` seal of file (docs/format.md §8): BYTES,
// LINES and ROOT repeat the file's final or recovered seal, so the
// chain says under the MAC which file left, what it held, and when. The
// caller deletes the file only after Prune returned a Record (the seal is
// durable then, as for Seal; an ErrKeyPersist error still comes with a
// valid Record).
func (c *Chain) Prune(file string) (Record, error) {
	last, ok := c.Last(file)
	if !ok || !last.Kind.final() {
		return Record{}, fmt.Errorf("prune %s: %w", file, ErrNotFinal)
	}
	return c.Seal(KindPruned, file, last.Bytes, last.Lines, last.Root)
}

// Lasts returns the last seal of every file the chain names, in no
// particular order: a copy the caller may keep (retention picks its
// candidates from it, start-up finishes interrupted prunes with it).
func (c *Chain) Lasts() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Record, 0, len(c.last))
	for _, r := range c.last {
		out = append(out, r)
	}
	return out
}
