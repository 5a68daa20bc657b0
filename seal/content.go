package seal

import (
	"crypto/sha256"
	"hash"
)

// Column 8 of a seal line commits to the content of the range it covers
// (docs/format.md §4). Everything verify knows about how that commitment
// is computed is here, behind contentDigest and contentMatches, so that a
// new commitment replaces this file and nothing else in verify.

// contentColumn names column 8 in verify's report.
const contentColumn = "SHA-256"

// contentDigest computes column 8 over a file's bytes as scan reads them.
type contentDigest interface {
	// Write takes the file's next bytes, in order, in chunks of any size.
	Write(p []byte)
	// Snapshot writes column 8 of all bytes written so far to dst and
	// leaves the digest able to go on.
	Snapshot(dst *[32]byte)
}

func newContentDigest() contentDigest { return sha256Digest{sha256.New()} }

type sha256Digest struct{ h hash.Hash }

func (d sha256Digest) Write(p []byte)         { d.h.Write(p) }
func (d sha256Digest) Snapshot(dst *[32]byte) { d.h.Sum(dst[:0]) }

// contentMatches reports whether the scan's snapshot at a seal's offset
// matches the seal's column 8.
func contentMatches(t *target, s *fileSeal) bool { return t.sum == s.sum }
