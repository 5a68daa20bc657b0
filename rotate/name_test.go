package rotate

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFormatStamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 22, 10, 15, 0, 123456789, time.UTC), "20261122T101500.123Z"},
		{time.Date(2026, 11, 22, 10, 15, 0, 999999999, time.UTC), "20261122T101500.999Z"}, // truncated, never rounded up
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "20260102T030405.000Z"},
		{time.Date(2026, 11, 22, 12, 15, 0, 1e6, time.FixedZone("CEST", 2*3600)), "20261122T101500.001Z"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := FormatStamp(tc.in); got != tc.want {
				t.Errorf("FormatStamp(%s): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		opened time.Time
		ok     bool
	}{
		{"events-20261122T101500.123Z.log", "events", time.Date(2026, 11, 22, 10, 15, 0, 123e6, time.UTC), true},
		{"security-20261231T235959.999Z.log", "security", time.Date(2026, 12, 31, 23, 59, 59, 999e6, time.UTC), true},
		{"other-20000229T000000.000Z.log", "other", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"seals.log", "", time.Time{}, false},
		{".sealog-probe-123", "", time.Time{}, false},
		{"events-20261122T101500.123Z.log.tmp", "", time.Time{}, false},
		{"events-20261122T101500.123Z", "", time.Time{}, false},
		{"events-20261122T101500Z.log", "", time.Time{}, false},
		{"events-20261122T101500.1234Z.log", "", time.Time{}, false},
		{"events-20261122t101500.123Z.log", "", time.Time{}, false},
		{"events-20261122T101500,123Z.log", "", time.Time{}, false},
		{"events-20261122T101500.123z.log", "", time.Time{}, false},
		{"events-20261322T101500.123Z.log", "", time.Time{}, false}, // month 13
		{"events-20260230T101500.123Z.log", "", time.Time{}, false}, // 30 February
		{"events-20261122T246000.000Z.log", "", time.Time{}, false},
		{"events-2026112+T101500.123Z.log", "", time.Time{}, false},
		{"events- 0261122T101500.123Z.log", "", time.Time{}, false},
		{"-20261122T101500.123Z.log", "", time.Time{}, false},
		{"events20261122T101500.123Z.log", "", time.Time{}, false},
		{"Events-20261122T101500.123Z.log", "", time.Time{}, false},
		{"ev-ents-20261122T101500.123Z.log", "", time.Time{}, false},
		{"../events-20261122T101500.123Z.log", "", time.Time{}, false},
		{"x/events-20261122T101500.123Z.log", "", time.Time{}, false},
		{"", "", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, opened, ok := ParseName(tc.name)
			if ok != tc.ok || stream != tc.stream || !opened.Equal(tc.opened) {
				t.Errorf("ParseName(%q): got (%q, %s, %v), want (%q, %s, %v)", tc.name, stream, opened, ok, tc.stream, tc.opened, tc.ok)
			}
			if ok && opened.Location() != time.UTC {
				t.Errorf("ParseName(%q): got location %s, want UTC", tc.name, opened.Location())
			}
		})
	}
}

func FuzzParseName(f *testing.F) {
	f.Add("events-20261122T101500.123Z.log")
	f.Add("security-20261231T235959.999Z.log")
	f.Add("events-20260230T101500.123Z.log")
	f.Add("seals.log")
	f.Fuzz(func(t *testing.T, name string) {
		stream, opened, ok := ParseName(name)
		if !ok {
			return
		}
		// Round trip: an accepted name is exactly what Create would make.
		if got := string(appendName(nil, stream, opened)); got != name {
			t.Fatalf("ParseName(%q) = (%q, %s), which formats as %q", name, stream, opened, got)
		}
		if !validStream(stream) || strings.ContainsAny(name, "/\x00") {
			t.Fatalf("ParseName(%q) accepted stream %q", name, stream)
		}
	})
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"events-20261122T101500.123Z.log":   "a\n",
		"security-20261122T101500.000Z.log": "bb\n",
		"events-20261121T000000.000Z.log":   "",
		"security-20261122T101500.123Z.log": "cccc",
		"events-20261123T000000.000Z.log":   "d\n",
		// Not ours:
		"seals.log":                           "x",
		"other-20261122T101500.123Z.log":      "x",
		"events-20261122T101500.123Z.log.tmp": "x",
		"events.log":                          "x",
		".sealog-probe-12345":                 "",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "events-20261124T000000.000Z.log"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("events-20261122T101500.123Z.log", filepath.Join(dir, "events-20261125T000000.000Z.log")); err != nil {
		t.Fatal(err)
	}
	got, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts := func(s string) time.Time { _, v, _ := ParseName("x-" + s + ".log"); return v }
	want := []Found{
		{"events-20261121T000000.000Z.log", "events", ts("20261121T000000.000Z"), 0},
		{"security-20261122T101500.000Z.log", "security", ts("20261122T101500.000Z"), 3},
		{"events-20261122T101500.123Z.log", "events", ts("20261122T101500.123Z"), 2},
		{"security-20261122T101500.123Z.log", "security", ts("20261122T101500.123Z"), 4},
		{"events-20261123T000000.000Z.log", "events", ts("20261123T000000.000Z"), 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan:\ngot  %v\nwant %v", got, want)
	}
	if _, err := Scan(filepath.Join(dir, "missing")); err == nil {
		t.Error("Scan of a missing directory: got nil error, want one")
	}
}

func TestSummarize(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef0123456789abcde\n"), 40000) // > read buffer
	tests := []struct {
		name  string
		data  []byte
		lines int64
		torn  bool
	}{
		{"empty", nil, 0, false},
		{"one line", []byte("a\n"), 1, false},
		{"two lines", []byte("a\nb\n"), 2, false},
		{"torn last line", []byte("a\nb"), 1, true},
		{"no LF at all", []byte("abc"), 0, true},
		{"only LF", []byte("\n"), 1, false},
		{"large", big, 40000, false},
		{"large torn", append(big[:len(big):len(big)], 'x'), 40000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, tc.data, 0o640); err != nil {
				t.Fatal(err)
			}
			size, lines, sum, torn, err := Summarize(path)
			if err != nil {
				t.Fatal(err)
			}
			if size != int64(len(tc.data)) || lines != tc.lines || sum != linesRoot(tc.data) || torn != tc.torn {
				t.Errorf("got (%d, %d, %x, %v), want (%d, %d, %x, %v)", size, lines, sum, torn,
					len(tc.data), tc.lines, linesRoot(tc.data), tc.torn)
			}
		})
	}
	t.Run("refuses non-regular", func(t *testing.T) {
		dir := t.TempDir()
		link := filepath.Join(dir, "link")
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("f", link); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{dir, link, filepath.Join(dir, "missing")} {
			if _, _, _, _, err := Summarize(p); err == nil {
				t.Errorf("Summarize(%s): got nil error, want one", p)
			}
		}
	})
}
