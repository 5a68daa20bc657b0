package tlog

import (
	"bytes"
	"crypto/sha256"
	"hash"
)

// LineHasher builds the tree of a byte stream's lines (docs/format.md §4
// ROOT): each LF-terminated line, without its LF, is one leaf; bytes
// after the last LF are a line not yet complete. Write takes the stream
// in pieces of any size; a line may span many. Root is the tree of the
// stream so far, in which an incomplete last line, when there is one, is
// one more leaf (a recovered seal's torn tail). Reading and hashing is one
// pass over the bytes, plus one node hash per line on average.
//
// It is not safe for concurrent use: the goroutine that reads the stream
// owns it. It allocates only on its first Write.
type LineHasher struct {
	front Frontier
	h     hash.Hash // the current line's leaf hash, 0x00 already written
	open  bool      // h holds bytes of a line not yet ended by LF
	out   Hash      // scratch for Sum
}

// Write hashes p, which continues the stream. It never fails.
func (l *LineHasher) Write(p []byte) (int, error) {
	n := len(p)
	if l.h == nil {
		l.h = sha256.New()
	}
	for len(p) > 0 {
		if !l.open {
			l.h.Reset()
			l.h.Write(leafPrefix)
			l.open = true
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.h.Write(p)
			break
		}
		l.h.Write(p[:i])
		l.h.Sum(l.out[:0])
		l.front.Append(l.out)
		l.open = false
		p = p[i+1:]
	}
	return n, nil
}

// Lines is the number of complete (LF-terminated) lines written.
func (l *LineHasher) Lines() uint64 { return l.front.Size() }

// Torn reports whether bytes follow the last LF.
func (l *LineHasher) Torn() bool { return l.open }

// Size is the number of leaves Root covers: Lines, plus one when Torn.
func (l *LineHasher) Size() uint64 {
	if l.open {
		return l.front.Size() + 1
	}
	return l.front.Size()
}

// Root is the tree hash of the lines written so far, the incomplete last
// line (if any) as one more leaf. Hashing goes on undisturbed.
func (l *LineHasher) Root() Hash {
	if !l.open {
		return l.front.Root()
	}
	f := l.front
	l.h.Sum(l.out[:0]) // Sum does not change the running state
	f.Append(l.out)
	return f.Root()
}
