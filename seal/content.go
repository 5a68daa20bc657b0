package seal

import "github.com/sealog/sealog/tlog"

// Column 8 of a seal line, ROOT, commits to the content of the range it
// covers (docs/format.md §4): the RFC 9162 Merkle tree hash of its lines,
// each without its LF, bytes after the last LF being one more leaf.
// Everything verify knows about how that commitment is computed is here,
// behind contentDigest and contentMatches.

// contentColumn names column 8 in verify's report.
const contentColumn = "ROOT"

// contentDigest computes column 8 over a file's bytes as scan reads them.
type contentDigest interface {
	// Write takes the file's next bytes, in order, in chunks of any size.
	Write(p []byte)
	// Snapshot writes column 8 of all bytes written so far to dst and
	// leaves the digest able to go on.
	Snapshot(dst *[32]byte)
}

func newContentDigest() contentDigest {
	return &rootDigest{t: tlog.NewParallelLineHasher(contentWorkers)}
}

// contentWorkers is the number of goroutines that hash a file's tree
// (0: one per CPU); TestVerifySpeed compares with 1.
var contentWorkers = 0

// rootDigest builds the tree of lines as a frontier: one pass over the
// bytes, a node hash per line, and a root at any offset without
// disturbing it. The leaves and the subtrees over them are hashed on
// every core (tlog.ParallelLineHasher): for short lines the tree costs
// about three SHA-256 passes' worth, and verify is meant to keep up with
// sha256sum.
type rootDigest struct{ t *tlog.ParallelLineHasher }

func (d *rootDigest) Write(p []byte)         { d.t.Write(p) }
func (d *rootDigest) Snapshot(dst *[32]byte) { *dst = d.t.Root() }

// contentMatches reports whether the scan's snapshot at a seal's offset
// matches the seal's column 8.
func contentMatches(t *target, s *fileSeal) bool { return t.sum == s.sum }
