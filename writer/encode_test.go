package writer

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/sealog/sealog/parse"
)

var encodeTests = []struct {
	name, in, want string
}{
	{"empty", "", ""},
	{"plain", "hello world", "hello world"},
	{"percent", "100%", "100%25"},
	{"literal %41", "%41", "%2541"},
	{"newline and forged line", "ok\n12\tforged", "ok%0A12%09forged"},
	{"CR LF", "a\r\nb", "a%0D%0Ab"},
	{"ANSI colour", "\x1b[31mred\x1b[0m", "%1B[31mred%1B[0m"},
	{"cursor save restore", "\x1b7\x1b[1;1Hx\x1b8", "%1B7%1B[1;1Hx%1B8"},
	{"backspace", "root\b\b\b\bguest", "root%08%08%08%08guest"},
	{"NUL", "a\x00b", "a%00b"},
	{"DEL", "a\x7fb", "a%7Fb"},
	{"U+202E", "exe\u202Etxt", "exe%E2%80%AEtxt"},
	{"Cyrillic a", "\u0430dmin", "%D0%B0dmin"},
	{"invalid UTF-8", "\xff\xfe", "%FF%FE"},
	{"long clean run", "abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123456789"},
	{"escape after a clean word", "abcdefgh\x01ijklmnop%", "abcdefgh%01ijklmnop%25"},
	{"printable edges", " ~!\"#$&'()*+,-./:;<=>?@[\\]^_`{|}", " ~!\"#$&'()*+,-./:;<=>?@[\\]^_`{|}"},
}

func TestAppendEncoded(t *testing.T) {
	for _, tt := range encodeTests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendEncoded([]byte("prefix:"), []byte(tt.in))
			if want := "prefix:" + tt.want; string(got) != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if s := string(appendEncoded(nil, tt.in)); s != tt.want {
				t.Errorf("string form: got %q, want %q", s, tt.want)
			}
			dec, err := Decode(nil, []byte(tt.want))
			if err != nil || string(dec) != tt.in {
				t.Errorf("Decode(%q): got %q, %v, want %q", tt.want, dec, err, tt.in)
			}
		})
	}
}

// TestAppendEncodedAllBytes checks every byte value alone and at every
// offset of a word, so the word-at-a-time skip cannot miss one.
func TestAppendEncodedAllBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := string(rune(c))
		if c < 0x20 || c == '%' || c >= 0x7F {
			want = fmt.Sprintf("%%%02X", c)
		}
		for off := 0; off < 17; off++ {
			src := append(bytes.Repeat([]byte{'a'}, off), byte(c))
			src = append(src, "bcdefghij"...)
			got := AppendEncoded(nil, src)
			wantAll := string(src[:off]) + want + "bcdefghij"
			if string(got) != wantAll {
				t.Fatalf("byte 0x%02X at offset %d: got %q, want %q", c, off, got, wantAll)
			}
			if !isPrintable(got) {
				t.Fatalf("byte 0x%02X: output %q is not printable ASCII", c, got)
			}
			dec, err := Decode(nil, got)
			if err != nil || !bytes.Equal(dec, src) {
				t.Fatalf("byte 0x%02X: round trip got %q, %v, want %q", c, dec, err, src)
			}
		}
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	enc := AppendEncoded(nil, all)
	if !isPrintable(enc) {
		t.Fatalf("output %q is not printable ASCII", enc)
	}
	if dec, err := Decode(nil, enc); err != nil || !bytes.Equal(dec, all) {
		t.Fatalf("round trip of all 256 bytes: got %q, %v", dec, err)
	}
}

func TestWordIsSafe(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			w := []byte("aaaaaaaa")
			w[pos] = byte(c)
			if got, want := wordIsSafe(load64(w)), !needsEscape[c]; got != want {
				t.Fatalf("byte 0x%02X at %d: got %v, want %v", c, pos, got, want)
			}
			if got, want := wordIsPrintable(load64(w)), c >= 0x20 && c <= 0x7E; got != want {
				t.Fatalf("printable, byte 0x%02X at %d: got %v, want %v", c, pos, got, want)
			}
		}
	}
}

func TestAppendField(t *testing.T) {
	tests := []struct {
		name string
		f    parse.Field
		want string
	}{
		{"nil", parse.Absent, "-"},
		{"nil wins over a value", parse.Field{Value: []byte("x"), Nil: true}, "-"},
		{"literal dash", parse.Field{Value: []byte("-")}, "%2D"},
		{"two dashes", parse.Field{Value: []byte("--")}, "--"},
		{"empty", parse.Field{Value: []byte{}}, ""},
		{"nil slice, not absent", parse.Field{}, ""},
		{"literal %41", parse.Field{Value: []byte("%41")}, "%2541"},
		{"newline", parse.Field{Value: []byte("a\nb")}, "a%0Ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppendField(nil, tt.f); string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		off      int
	}{
		{"lone percent", "ab%", 2},
		{"one digit", "ab%4", 2},
		{"lowercase hex", "%2d", 0},
		{"non-hex", "x%G0", 1},
		{"TAB", "a\tb", 1},
		{"LF", "a\n", 1},
		{"DEL", "\x7f", 0},
		{"non-ASCII", "\xc3\xa9", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(nil, []byte(tt.in))
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("got %v, want an error wrapping ErrEncoding", err)
			}
			if want := fmt.Sprintf("offset %d:", tt.off); !bytes.Contains([]byte(err.Error()), []byte(want)) {
				t.Errorf("got %q, want it to say %q", err, want)
			}
		})
	}
	// %2D is not what AppendEncoded writes for '-', but the placeholder
	// rule writes it, so Decode must accept it.
	if got, err := Decode(nil, []byte("%2D")); err != nil || string(got) != "-" {
		t.Errorf("Decode(%%2D): got %q, %v, want \"-\"", got, err)
	}
}

// referenceEncode is docs/format.md §3.2 one byte at a time, the definition the
// word-at-a-time encoder must match exactly.
func referenceEncode(src []byte) []byte {
	var out []byte
	for _, c := range src {
		if c < 0x20 || c == '%' || c >= 0x7F {
			out = fmt.Appendf(out, "%%%02X", c)
		} else {
			out = append(out, c)
		}
	}
	return out
}

func FuzzEncodeDecode(f *testing.F) {
	for _, tt := range encodeTests {
		f.Add([]byte(tt.in))
	}
	// Long clean runs with one byte to escape at every offset of the
	// 32-byte fast loop.
	for i := 0; i < 40; i++ {
		p := bytes.Repeat([]byte("a"), 72)
		p[i] = "\x00%\x7f\xff\x1f"[i%5]
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		enc := AppendEncoded(nil, src)
		if want := referenceEncode(src); !bytes.Equal(enc, want) {
			t.Fatalf("AppendEncoded(%q) = %q, want %q", src, enc, want)
		}
		if !isPrintable(enc) {
			t.Fatalf("AppendEncoded(%q) = %q: not printable ASCII", src, enc)
		}
		if s := appendEncoded(nil, string(src)); !bytes.Equal(s, enc) {
			t.Fatalf("string and slice forms differ: %q vs %q", s, enc)
		}
		dec, err := Decode(nil, enc)
		if err != nil || !bytes.Equal(dec, src) {
			t.Fatalf("round trip of %q: got %q, %v", src, dec, err)
		}
		// Decode of arbitrary input never panics and, when it succeeds,
		// its result encodes to a canonical form that decodes the same.
		if d, err := Decode(nil, src); err == nil {
			if d2, err := Decode(nil, AppendEncoded(nil, d)); err != nil || !bytes.Equal(d2, d) {
				t.Fatalf("re-encode of Decode(%q) = %q does not round trip", src, d)
			}
		}
	})
}

func ExampleAppendEncoded() {
	line := AppendEncoded(nil, []byte("user \u0430dmin\x1b[31m 100%\nforged"))
	fmt.Println(string(line))
	// Output: user %D0%B0dmin%1B[31m 100%25%0Aforged
}

func BenchmarkAppendEncoded(b *testing.B) {
	for _, bc := range []struct {
		name string
		src  []byte
	}{
		{"clean-1KiB", bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 23)[:1024]},
		{"utf8-1KiB", bytes.Repeat([]byte("Grüße aus Tallinn, üks kaks kolm. "), 32)[:1024]},
		{"binary-1KiB", func() []byte {
			p := make([]byte, 1024)
			for i := range p {
				p[i] = byte(i * 7)
			}
			return p
		}()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			b.SetBytes(int64(len(bc.src)))
			b.ReportAllocs()
			for b.Loop() {
				dst = AppendEncoded(dst[:0], bc.src)
			}
		})
	}
}
