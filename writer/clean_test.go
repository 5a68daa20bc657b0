package writer

import (
	"bytes"
	"testing"
)

// cleanBlocksByte is cleanBlocks' contract one byte at a time: the
// definition both the AVX2 and the SWAR scans must match.
func cleanBlocksByte(b []byte) int {
	n := 0
	for ; len(b)-n >= 32; n += 32 {
		for _, c := range b[n : n+32] {
			if needsEscape[c] {
				return n
			}
		}
	}
	return n
}

// TestCleanBlocksEveryByteEveryOffset puts each of the 256 byte values at
// each offset of clean buffers of every length up to 130 (two 64-byte
// steps and a 32-byte tail), and checks that the scan in use, the SWAR
// scan and the definition agree.
func TestCleanBlocksEveryByteEveryOffset(t *testing.T) {
	if !haveAVX2 {
		t.Log("no AVX2 on this CPU: cleanBlocks is the SWAR scan, checked against the definition")
	}
	buf := make([]byte, 130)
	for n := 0; n <= len(buf); n++ {
		b := buf[:n]
		for p := 0; p < n; p++ {
			for c := 0; c < 256; c++ {
				for i := range b {
					b[i] = 'a' + byte(i%26)
				}
				b[p] = byte(c)
				want := cleanBlocksByte(b)
				if got := cleanBlocks(b); got != want {
					t.Fatalf("cleanBlocks(len %d, byte %#02x at %d) = %d, want %d", n, c, p, got, want)
				}
				if got := cleanBlocksSWAR(b); got != want {
					t.Fatalf("cleanBlocksSWAR(len %d, byte %#02x at %d) = %d, want %d", n, c, p, got, want)
				}
			}
		}
	}
}

// TestCleanBlocksUnaligned runs the scan from every start offset of a
// buffer, so the vector loads see every alignment.
func TestCleanBlocksUnaligned(t *testing.T) {
	buf := bytes.Repeat([]byte("0123456789abcdef"), 40)
	buf[600] = '%'
	for off := 0; off < 64; off++ {
		b := buf[off:]
		if got, want := cleanBlocks(b), cleanBlocksByte(b); got != want {
			t.Fatalf("offset %d: cleanBlocks = %d, want %d", off, got, want)
		}
	}
}

func FuzzCleanBlocks(f *testing.F) {
	f.Add(bytes.Repeat([]byte("a"), 100))
	f.Add(append(bytes.Repeat([]byte("a"), 70), 0x80))
	f.Fuzz(func(t *testing.T, b []byte) {
		want := cleanBlocksByte(b)
		if got := cleanBlocks(b); got != want {
			t.Fatalf("cleanBlocks(%q) = %d, want %d", b, got, want)
		}
		if got := cleanBlocksSWAR(b); got != want {
			t.Fatalf("cleanBlocksSWAR(%q) = %d, want %d", b, got, want)
		}
	})
}

func BenchmarkCleanBlocks(b *testing.B) {
	src := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 23)[:1024]
	for _, bc := range []struct {
		name string
		fn   func([]byte) int
	}{{"used", cleanBlocks}, {"swar", cleanBlocksSWAR}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if bc.fn(src) != 1024 {
					b.Fatal("not clean")
				}
			}
		})
	}
}
