// Package sumdbref is the independent reference the tests check sealog's
// Merkle trees against: the ROOT of docs/format.md §4 computed with
// golang.org/x/mod/sumdb/tlog, code other than ours. Only tests import it;
// it lives in one place so that every package's tests compare against the
// same reference rather than copies that could drift apart.
package sumdbref

import (
	"bytes"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// LinesRoot is the ROOT of docs/format.md §4 for b: each line without its
// LF is a leaf, a last line without LF one more.
func LinesRoot(b []byte) [32]byte {
	var stored Stored
	r := &stored
	lines := bytes.SplitAfter(b, []byte("\n"))
	var n int64
	for _, l := range lines {
		if len(l) == 0 {
			continue // SplitAfter's empty last piece after a final LF
		}
		hs, _ := sumtlog.StoredHashes(n, bytes.TrimSuffix(l, []byte("\n")), r)
		stored = append(stored, hs...)
		n++
	}
	h, _ := sumtlog.TreeHash(n, r)
	return h
}

// Stored is a tree's stored hashes in sumdb's layout, as
// sumtlog.StoredHashes returns them to append; a *Stored is the
// sumtlog.HashReader that reads them back.
type Stored []sumtlog.Hash

// ReadHashes returns the stored hashes at the indexes idx.
func (s *Stored) ReadHashes(idx []int64) ([]sumtlog.Hash, error) {
	out := make([]sumtlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = (*s)[x]
	}
	return out, nil
}
