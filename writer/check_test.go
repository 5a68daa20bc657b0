package writer

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestCheckLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		cols int
		ok   bool
	}{
		{"good", "5\ta\tb\tc", 4, true},
		{"empty columns", "2\t\t\t", 4, true},
		{"long clean run", "39\t" + strings.Repeat("x", 13) + "\t" + strings.Repeat("y", 13) + "\t" + strings.Repeat("z", 11), 4, true},
		{"LEN too small", "4\ta\tb\tc", 4, false},
		{"LEN too big", "6\ta\tb\tc", 4, false},
		{"LEN leading zero", "05\ta\tb\tc", 4, false},
		{"LEN empty", "\ta\tb\tc", 4, false},
		{"LEN not decimal", "5x\ta\tb\tc", 4, false},
		{"LEN 11 digits", "12345678901\tx", 2, false},
		{"no TAB", "12345", 1, false},
		{"empty line", "", 1, false},
		{"too few columns", "3\ta\tb", 4, false},
		{"too many columns", "7\ta\tb\tc\td", 4, false},
		{"LF inside", "5\ta\n\tb\tc", 4, false},
		{"CR", "6\ta\tb\tc\r", 4, false},
		{"ESC in a word", "20\tabcdefgh\x1bijklmno\tb\tc", 4, false},
		{"DEL", "5\ta\t\x7f\tc", 4, false},
		{"non-ASCII", "6\ta\t\xc3\xa9\tc", 4, false},
		{"NUL at the end of a long line", "22\t" + strings.Repeat("a", 17) + "\tb\tc\x00", 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLine([]byte(tt.line), tt.cols)
			if tt.ok && err != nil {
				t.Errorf("got %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrLineFormat) {
				t.Errorf("got %v, want an error wrapping ErrLineFormat", err)
			}
		})
	}
}

// TestCheckLineAllBytes puts every byte value at every offset of a word.
func TestCheckLineAllBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		for off := 0; off < 16; off++ {
			body := []byte(strings.Repeat("a", off) + string([]byte{byte(c)}) + strings.Repeat("b", 20))
			line := append([]byte(strconv.Itoa(len(body))+"\t"), body...)
			err := CheckLine(line, 2)
			switch {
			case c == '\t':
				if err == nil {
					t.Fatalf("TAB at %d: got nil, want a column count error", off)
				}
			case c >= 0x20 && c <= 0x7E:
				if err != nil {
					t.Fatalf("byte 0x%02X at %d: got %v, want nil", c, off, err)
				}
			default:
				if err == nil {
					t.Fatalf("byte 0x%02X at %d: got nil, want an error", c, off)
				}
			}
		}
	}
}

func FuzzCheckLine(f *testing.F) {
	for _, l := range eventLines(f) {
		f.Add(l[:len(l)-1], uint8(EventColumns))
	}
	for _, l := range securityLines(f) {
		f.Add(l[:len(l)-1], uint8(SecurityColumns))
	}
	f.Add([]byte("5\ta\tb\tc"), uint8(4))
	f.Fuzz(func(t *testing.T, line []byte, cols uint8) {
		err := CheckLine(line, int(cols))
		if err == nil {
			// Accepted lines hold what the format promises.
			if !isPrintable(bytes.ReplaceAll(line, []byte{'\t'}, []byte{' '})) {
				t.Fatalf("accepted %q with a non-printable byte", line)
			}
			if n := bytes.Count(line, []byte{'\t'}) + 1; n != int(cols) {
				t.Fatalf("accepted %q with %d columns, want %d", line, n, cols)
			}
			lenCol, rest, _ := bytes.Cut(line, []byte{'\t'})
			if strconv.Itoa(len(rest)) != string(lenCol) {
				t.Fatalf("accepted %q whose LEN is not %d", line, len(rest))
			}
		}
		// Every line AppendEvent makes from these bytes passes.
		msg := rfc5424(string(line))
		msg.Hostname.Value = line
		meta := EventMeta{Time: testTime, ID: []byte("x-1"), Peer: "192.0.2.1:1", Auth: string(line), TLS: "tcp"}
		ev := AppendEvent(nil, &meta, &msg)
		if err := CheckLine(ev[:len(ev)-1], EventColumns); err != nil {
			t.Fatalf("AppendEvent line %q rejected: %v", ev, err)
		}
	})
}

// BenchmarkCheckLine runs over 1 KiB events lines; compare its MB/s with
// BenchmarkSHA256 (verify at 80 % of sha256sum's throughput).
func BenchmarkCheckLine(b *testing.B) {
	meta, msg := benchEvent(1024)
	line := AppendEvent(nil, meta, msg)
	line = line[:len(line)-1]
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := CheckLine(line, EventColumns); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSHA256(b *testing.B) {
	meta, msg := benchEvent(1024)
	line := AppendEvent(nil, meta, msg)
	b.SetBytes(int64(len(line)))
	h := sha256.New()
	for b.Loop() {
		h.Write(line)
	}
}
