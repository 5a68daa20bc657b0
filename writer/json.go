package writer

import (
	"unicode/utf8"
)

// appendJSONString appends s as a JSON string (RFC 8259 §7) made only of
// printable ASCII: '"' and '\\' get their short escapes, every other
// byte below 0x20, DEL, '<', '>', '&' and every non-ASCII rune become
// \uXXXX (a surrogate pair above the BMP), and invalid UTF-8 becomes
// \ufffd. So the text can stand in a sealog line (CheckLine allows no
// control or non-ASCII byte), on a terminal, and inside HTML.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendJSONBody(dst, s)
	return append(dst, '"')
}

// jsonSafe[c] is true for ASCII bytes written as they are inside a JSON
// string by appendJSONBody.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x7F; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

func appendJSONBody[T string | []byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		size := 1
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c < utf8.RuneSelf:
			dst = appendU(dst, rune(c))
		default:
			// At most 4 bytes: a conversion this small does not allocate.
			r, n := utf8.DecodeRune([]byte(s[i:min(i+utf8.UTFMax, len(s))]))
			size = n
			if r >= 0x10000 {
				r -= 0x10000
				dst = appendU(dst, 0xD800+(r>>10))
				dst = appendU(dst, 0xDC00+(r&0x3FF))
			} else {
				dst = appendU(dst, r) // RuneError for invalid UTF-8: \ufffd
			}
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

func appendU(dst []byte, r rune) []byte {
	const lowerHex = "0123456789abcdef"
	return append(dst, '\\', 'u', lowerHex[r>>12&0xF], lowerHex[r>>8&0xF], lowerHex[r>>4&0xF], lowerHex[r&0xF])
}
