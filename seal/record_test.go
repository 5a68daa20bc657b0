package seal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var sampleRecord = Record{
	Seq:   7,
	Time:  time.Date(2026, 11, 22, 10, 15, 0, 123456000, time.UTC),
	Kind:  KindCheckpoint,
	File:  ev1,
	Bytes: 123456,
	Lines: 789,
	Root:  [32]byte{1, 2, 3},
	Prev:  [32]byte{0xfe},
	MAC:   [32]byte{0xab, 0xcd},
}

// sampleLine is sampleRecord as docs/format.md §4 spells it.
const sampleLine = "278\t2026-11-22T10:15:00.123456Z\t7\tcheckpoint\t" + ev1 + "\t123456\t789\t" +
	"0102030000000000000000000000000000000000000000000000000000000000\t" +
	"fe00000000000000000000000000000000000000000000000000000000000000\t" +
	"abcd000000000000000000000000000000000000000000000000000000000000\n"

func TestAppendLine(t *testing.T) {
	got := string(appendLine([]byte("keep"), &sampleRecord))
	if got != "keep"+sampleLine {
		t.Fatalf("got %q, want %q", got, "keep"+sampleLine)
	}
	r, body, err := parseLine([]byte(strings.TrimSuffix(sampleLine, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if r != sampleRecord {
		t.Fatalf("got %+v, want %+v", r, sampleRecord)
	}
	if want := string(appendBody(nil, &sampleRecord)); string(body) != want {
		t.Fatalf("got body %q, want %q", body, want)
	}
}

// badLines are seal lines parseLine must refuse, each for one reason.
var badLines = []struct{ name, line string }{
	{"empty", ""},
	{"LEN off by one", strings.Replace(sampleLine, "278", "279", 1)},
	{"LEN leading zero", strings.Replace(sampleLine, "278", "0278", 1)},
	{"9 columns", "1\tx"},
	{"11 columns", relen(strings.TrimSuffix(sampleLine, "\n") + "\tx")},
	{"local time", relen(strings.Replace(strings.TrimSuffix(sampleLine, "\n"), "00.123456Z", "00.123456+01:00", 1))},
	{"3 fraction digits", relen(strings.Replace(strings.TrimSuffix(sampleLine, "\n"), "00.123456Z", "00.123Z", 1))},
	{"month 13", strings.Replace(sampleLine, "2026-11", "2026-13", 1)},
	{"SEQ 0", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 3, "0"))},
	{"SEQ leading zero", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 3, "07"))},
	{"SEQ sign", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 3, "+7"))},
	{"SEQ overflow", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 3, "99999999999999999999"))},
	{"KIND", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 4, "Final"))},
	{"FILE with dir", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 5, "x/"+ev1))},
	{"FILE other", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 5, "seals.log"))},
	{"LINES > BYTES", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 7, "123457"))},
	{"BYTES empty", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 6, ""))},
	{"SHA uppercase", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 8, strings.Repeat("AB", 32)))},
	{"PREV short", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 9, strings.Repeat("ab", 31)))},
	{"MAC not hex", relen(setCol(strings.TrimSuffix(sampleLine, "\n"), 10, strings.Repeat("zz", 32)))},
}

func TestParseLineRejects(t *testing.T) {
	for _, tt := range badLines {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseLine([]byte(strings.TrimSuffix(tt.line, "\n")))
			if !errors.Is(err, ErrSealLine) {
				t.Fatalf("got %v, want ErrSealLine", err)
			}
		})
	}
}

func TestFileStream(t *testing.T) {
	tests := []struct {
		name string
		cols int
	}{
		{ev1, eventColumns},
		{sec1, securityColumns},
		{"events-20261122T101500.123Z.log.gz", 0},
		{"events-20261122T101500Z.log", 0},
		{"events-2026112xT101500.123Z.log", 0},
		{"audit-20261122T101500.123Z.log", 0},
		{"seals.log", 0},
	}
	for _, tt := range tests {
		cols, ok := fileStream([]byte(tt.name))
		if cols != tt.cols || ok != (tt.cols != 0) {
			t.Errorf("fileStream(%q): got %d %v, want %d", tt.name, cols, ok, tt.cols)
		}
	}
}

// FuzzParseLine: verify's seal-line reader never panics, accepts only
// canonical lines (formatting what it parsed gives the input back) and
// hands back the exact MAC input.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(strings.TrimSuffix(sampleLine, "\n")))
	for _, b := range badLines {
		f.Add([]byte(strings.TrimSuffix(b.line, "\n")))
	}
	r := sampleRecord
	r.Kind, r.File, r.Bytes, r.Lines, r.Seq = KindRecovered, sec1, 0, 0, 1
	f.Add(bytes.TrimSuffix(appendLine(nil, &r), []byte("\n")))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, body, err := parseLine(line)
		if err != nil {
			if !errors.Is(err, ErrSealLine) {
				t.Fatalf("got error %v not wrapping ErrSealLine", err)
			}
			return
		}
		out := appendLine(nil, &r)
		if string(out) != string(line)+"\n" {
			t.Fatalf("round trip: got %q, want %q", out, line)
		}
		if want := appendBody(nil, &r); !bytes.Equal(body, want) {
			t.Fatalf("body: got %q, want %q", body, want)
		}
		if r.Time.Location() != time.UTC {
			t.Fatalf("got time in %v, want UTC", r.Time.Location())
		}
	})
}

// FuzzHead: ParseHead(FormatHead(x)) == x, and ParseHead never panics.
func FuzzHead(f *testing.F) {
	f.Add(uint64(1), []byte{1, 2, 3}, "1:"+strings.Repeat("0", 64))
	f.Add(uint64(1<<63), []byte{}, "x")
	f.Fuzz(func(t *testing.T, seq uint64, macSeed []byte, s string) {
		var mac [32]byte
		copy(mac[:], macSeed)
		if seq <= 9999999999999999999 {
			gs, gm, err := ParseHead(FormatHead(seq, mac))
			if err != nil || gs != seq || gm != mac {
				t.Fatalf("round trip of %d: got %d %x %v", seq, gs, gm, err)
			}
		}
		if gs, gm, err := ParseHead(s); err == nil && strings.ToLower(FormatHead(gs, gm)) != strings.ToLower(s) {
			t.Fatalf("ParseHead(%q) accepted a non-canonical head: %s", s, FormatHead(gs, gm))
		}
	})
}
