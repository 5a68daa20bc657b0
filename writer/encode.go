package writer

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sealog/sealog/parse"
)

// ErrEncoding is wrapped by every error Decode returns.
var ErrEncoding = errors.New("bad percent-encoding")

const upperHex = "0123456789ABCDEF"

// needsEscape[c] is true for the bytes docs/format.md §3.2 percent-encodes:
// 0x00–0x1F, '%' and 0x7F–0xFF.
var needsEscape = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 || c == '%' || c >= 0x7F
	}
	return t
}()

// SWAR constants: one byte value repeated in every byte of a word.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// wordIsSafe reports whether none of the 8 bytes of x needs escaping.
// The tests are the "has less / has more / has zero byte" word tricks;
// each is exact about whether some byte matches (not about which), which
// is all we need to skip a clean word in one step.
func wordIsSafe(x uint64) bool { return unsafeBits(x)&msb == 0 }

// unsafeBits has the top bit of some byte set when some byte of x needs
// escaping; only those top bits (msb) mean anything, so several words are
// tested at once by OR-ing their results and masking once.
func unsafeBits(x uint64) uint64 {
	outside := x | (x + lsb) | ((x - lsb*0x20) &^ x) // some byte > 0x7E or < 0x20
	y := x ^ (lsb * '%')
	return outside | ((y - lsb) &^ y) // or some byte == '%'
}

// AppendEncoded appends src to dst with the bytes 0x00–0x1F, '%' and
// 0x7F–0xFF written as %XX in uppercase hex and every other byte as it is
// (docs/format.md §3.2). The output is printable ASCII only (0x20–0x7E) and Decode
// restores src exactly.
func AppendEncoded(dst, src []byte) []byte {
	return appendEncoded(dst, src)
}

// appendEncoded is AppendEncoded for strings and byte slices alike, so
// that server strings (AUTH) are encoded without a conversion.
func appendEncoded[T string | []byte](dst []byte, src T) []byte {
	start := 0 // first byte of src not yet appended
	// Clean text first, in whole 32-byte blocks (a 1 KiB
	// message is mostly this scan); the first block that holds a byte to
	// escape falls through to the word and byte loops below.
	i := skipClean32(src)
	for i < len(src) {
		// Skip clean words 8 bytes at a time: typical messages are
		// printable ASCII, so this test does most of the work. A word
		// that is not clean is then done byte by byte.
		end := len(src)
		if i+8 <= len(src) {
			if wordIsSafe(load64(src[i : i+8])) {
				i += 8
				continue
			}
			end = i + 8
		}
		for ; i < end; i++ {
			if c := src[i]; needsEscape[c] {
				dst = append(dst, src[start:i]...)
				dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xF])
				start = i + 1
			}
		}
	}
	return append(dst, src[start:]...)
}

// skipClean32 returns the length of the longest prefix of src made of
// whole 32-byte blocks that need no escaping. Messages are []byte and go
// to cleanBlocks; strings (server values, a few bytes) skip it.
func skipClean32[T string | []byte](src T) int {
	if b, ok := any(src).([]byte); ok {
		return cleanBlocks(b)
	}
	return 0
}

// cleanBlocksSWAR is cleanBlocks 32 bytes a step with word tricks. A
// loop of its own on a concrete type keeps its constants and index in
// registers (the generic shape spilled them).
func cleanBlocksSWAR(b []byte) int {
	i := 0
	for ; len(b)-i >= 32; i += 32 {
		w := b[i : i+32 : i+32]
		if (unsafeBits(binary.LittleEndian.Uint64(w[0:]))|unsafeBits(binary.LittleEndian.Uint64(w[8:]))|
			unsafeBits(binary.LittleEndian.Uint64(w[16:]))|unsafeBits(binary.LittleEndian.Uint64(w[24:])))&msb != 0 {
			break
		}
	}
	return i
}

// load64 reads 8 bytes little-endian; the compiler turns it into one load
// for both instantiations.
func load64[T string | []byte](b T) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// AppendField appends one client column (docs/format.md §3.2 placeholders): an
// absent value (f.Nil) is "-", a value that is exactly "-" is "%2D" so it
// cannot be mistaken for absence, an empty value is nothing (an empty
// column), anything else is AppendEncoded.
func AppendField(dst []byte, f parse.Field) []byte {
	return appendField(dst, f.Value, f.Nil)
}

func appendField[T string | []byte](dst []byte, v T, absent bool) []byte {
	switch {
	case absent:
		return append(dst, '-')
	case len(v) == 1 && v[0] == '-':
		return append(dst, "%2D"...)
	default:
		return appendEncoded(dst, v)
	}
}

// Decode appends to dst the bytes src encodes (the strict inverse of
// AppendEncoded): every '%' must be followed by two uppercase hex digits,
// and a byte outside 0x20–0x7E (TAB and LF included) is an error, since
// AppendEncoded never writes one. Any %XX is accepted, not only those
// AppendEncoded would write, because the placeholder rule writes a lone
// "-" as %2D. On error dst is returned as far as it got.
//
// Decode does not know placeholders: a column "-" decodes to "-"; the
// caller decides whether the column meant "absent".
func Decode(dst, src []byte) ([]byte, error) {
	start := 0
	for i := 0; i < len(src); {
		c := src[i]
		if c != '%' {
			if c < 0x20 || c > 0x7E {
				return append(dst, src[start:i]...), decodeError(i, "byte 0x"+hex2(c)+" is not printable ASCII")
			}
			i++
			continue
		}
		if len(src)-i < 3 {
			return append(dst, src[start:i]...), decodeError(i, "'%' is not followed by two hex digits")
		}
		hi, ok1 := unhex(src[i+1])
		lo, ok2 := unhex(src[i+2])
		if !ok1 || !ok2 {
			return append(dst, src[start:i]...), decodeError(i, "'%' is not followed by two uppercase hex digits")
		}
		dst = append(dst, src[start:i]...)
		dst = append(dst, hi<<4|lo)
		i += 3
		start = i
	}
	return append(dst, src[start:]...), nil
}

func decodeError(off int, what string) error {
	return fmt.Errorf("%w: offset %d: %s", ErrEncoding, off, what)
}

func hex2(c byte) string { return string([]byte{upperHex[c>>4], upperHex[c&0xF]}) }

// unhex accepts only uppercase hex digits: AppendEncoded writes no other,
// so "%2d" in a file is not ours.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
