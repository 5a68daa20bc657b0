package parse

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// FuzzDatagramFrame checks the UDP framing (RFC 5426 §3.1, docs/format.md §2)
// against the stream reader's rules: a datagram is one frame; Size is its
// full length; Data is its first min(len, maxSize) bytes and aliases the
// datagram; Truncated exactly when it is longer than maxSize, and then
// SHA256 is the hash of the whole datagram; never Partial.
func FuzzDatagramFrame(f *testing.F) {
	f.Add([]byte("<13>1 2026-11-22T10:15:00Z h app - - - hello"), 10240)
	f.Add([]byte(""), 1)
	f.Add([]byte("abc"), 0)
	f.Add(bytes.Repeat([]byte("x"), 300), 256)
	f.Add([]byte("12345 not octet counted in UDP"), 5)
	f.Fuzz(func(t *testing.T, b []byte, maxSize int) {
		maxSize = maxSize % (1 << 20) // keep the arithmetic below in range
		fr := DatagramFrame(b, maxSize)
		limit := max(maxSize, 1)
		keep := min(len(b), limit)
		if fr.Size != int64(len(b)) {
			t.Fatalf("Size: got %d, want %d", fr.Size, len(b))
		}
		if !bytes.Equal(fr.Data, b[:keep]) || (keep > 0 && &fr.Data[0] != &b[0]) {
			t.Fatalf("Data: got %d bytes, want the first %d of the datagram, aliased", len(fr.Data), keep)
		}
		if fr.Truncated != (len(b) > limit) || fr.Partial {
			t.Fatalf("got Truncated=%v Partial=%v for %d bytes with max %d", fr.Truncated, fr.Partial, len(b), maxSize)
		}
		var zero [32]byte
		if fr.Truncated && fr.SHA256 != sha256.Sum256(b) || !fr.Truncated && fr.SHA256 != zero {
			t.Fatalf("SHA256: got %x for truncated=%v", fr.SHA256, fr.Truncated)
		}
		// The stream reader on the same bytes as one LF frame agrees on
		// what is kept (when the datagram holds no LF to split on).
		if len(b) > 0 && bytes.IndexByte(b, '\n') < 0 && (b[0] < '0' || b[0] > '9') {
			r := NewReader(bytes.NewReader(append(append([]byte(nil), b...), '\n')), maxSize)
			sf, err := r.Next()
			if err != nil || !bytes.Equal(sf.Data, fr.Data) || sf.Size != fr.Size || sf.Truncated != fr.Truncated || sf.SHA256 != fr.SHA256 {
				t.Fatalf("stream reader: got %q size %d trunc %v err %v; datagram %q size %d trunc %v",
					sf.Data, sf.Size, sf.Truncated, err, fr.Data, fr.Size, fr.Truncated)
			}
		}
	})
}
