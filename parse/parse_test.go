package parse

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	syslog "github.com/influxdata/go-syslog/v3"
	"github.com/influxdata/go-syslog/v3/rfc3164"
	"github.com/influxdata/go-syslog/v3/rfc5424"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

type corpusEntry struct {
	name  string
	frame []byte
}

// corpus reads testdata/frames.txt.
func corpus(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "frames.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, quoted, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("frames.txt:%d: no TAB", n)
		}
		frame, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("frames.txt:%d: %v", n, err)
		}
		out = append(out, corpusEntry{name, []byte(frame)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func fieldText(f Field) string {
	if f.Nil {
		return "-"
	}
	return strconv.Quote(string(f.Value))
}

// columns renders a Message as the golden files show it.
func columns(frame []byte, m Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "frame:     %q\n", frame)
	fmt.Fprintf(&b, "format:    %s\n", m.Format)
	fmt.Fprintf(&b, "pri:       %d\n", m.PRI)
	for _, c := range []struct {
		name string
		f    Field
	}{
		{"timestamp", m.Timestamp}, {"hostname", m.Hostname}, {"app_name", m.AppName},
		{"procid", m.ProcID}, {"msgid", m.MsgID}, {"sd", m.SD}, {"msg", m.Msg},
	} {
		fmt.Fprintf(&b, "%-10s %s\n", c.name+":", fieldText(c.f))
	}
	return b.String()
}

func TestParseGolden(t *testing.T) {
	p := NewParser()
	var out bytes.Buffer
	for _, e := range corpus(t) {
		t.Run(e.name, func(t *testing.T) {
			m := p.Parse(e.frame)
			checkMessage(t, e.frame, m)
			fmt.Fprintf(&out, "## %s\n%s\n", e.name, columns(e.frame, m))
		})
	}
	golden := filepath.Join("testdata", "frames.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := out.String(); got != string(want) {
		// Report the first differing case, not a wall of text.
		g, w := strings.Split(got, "\n## "), strings.Split(string(want), "\n## ")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("golden mismatch:\ngot:\n%s\nwant:\n%s", g[i], w[i])
			}
		}
		t.Fatalf("golden mismatch: got %d cases, want %d", len(g), len(w))
	}
}

// sanitize replaces the bytes go-syslog's rfc3164 content rule rejects
// (everything but 0x20–0x7E and 0x80–0xFF) with '.'.
func sanitize(b []byte) []byte {
	out := bytes.Clone(b)
	for i, c := range out {
		if c < 0x20 || c == 0x7f {
			out[i] = '.'
		}
	}
	return out
}

func eqPtr(f Field, s *string) bool {
	if s == nil {
		return f.Nil || len(f.Value) == 0
	}
	return !f.Nil && string(f.Value) == *s
}

// checkMessage checks what must hold for every frame: the fields rebuild
// the frame byte for byte, and go-syslog agrees with the Format.
func checkMessage(t *testing.T, frame []byte, m Message) {
	t.Helper()
	if got := m.AppendFrame(nil); !bytes.Equal(got, frame) {
		t.Errorf("AppendFrame: got %q, want %q", got, frame)
	}
	if m.PRI < -1 || m.PRI > 191 {
		t.Errorf("PRI %d out of range", m.PRI)
	}
	if m.Msg.Nil && m.Format != FormatRFC5424 {
		t.Errorf("%v message with Nil Msg", m.Format)
	}
	if m.Format != FormatRFC5424 && (!m.MsgID.Nil || !m.SD.Nil) {
		t.Errorf("%v message with MsgID or SD", m.Format)
	}

	full5424, err5424 := rfc5424.NewMachine().Parse(frame)
	switch m.Format {
	case FormatRFC5424:
		hdr := m
		hdr.Msg = Absent
		if _, err := rfc5424.NewMachine().Parse(hdr.AppendFrame(nil)); err != nil {
			t.Errorf("format rfc5424 but go-syslog rejects the header: %v", err)
		}
	case FormatRFC3164:
		if msg, err := newMachine3164().Parse(sanitize(frame)); msg == nil || err != nil {
			t.Errorf("format rfc3164 but go-syslog rejects the frame with control bytes replaced: %v", err)
		}
	}
	// No false negatives: what go-syslog accepts whole is ours too.
	if err5424 == nil && full5424 != nil && bytes.HasPrefix(frame[max(0, bytes.IndexByte(frame, '>')+1):], []byte("1 ")) {
		if m.Format != FormatRFC5424 {
			t.Errorf("go-syslog accepts the frame as RFC 5424 version 1, got format %v", m.Format)
		} else {
			g := full5424.(*rfc5424.SyslogMessage)
			if !eqPtr(m.Hostname, g.Hostname) || !eqPtr(m.AppName, g.Appname) || !eqPtr(m.ProcID, g.ProcID) ||
				!eqPtr(m.MsgID, g.MsgID) || !eqPtr(m.Msg, g.Message) || int(*g.Priority) != m.PRI {
				t.Errorf("fields differ from go-syslog's: got %s", columns(frame, m))
			}
		}
	}
	if m.Format != FormatRFC5424 {
		if msg, err := newMachine3164().Parse(frame); msg != nil && err == nil && m.Format != FormatRFC3164 {
			t.Errorf("go-syslog accepts the frame as RFC 3164, got format %v", m.Format)
		}
	}
}

func newMachine3164() syslog.Machine {
	return rfc3164.NewMachine(rfc3164.WithYear(rfc3164.CurrentYear{}), rfc3164.WithRFC3339())
}

// FuzzParse checks that Parse never panics, that AppendFrame rebuilds
// every frame byte for byte whatever its format, and that go-syslog
// agrees with the format chosen (checkMessage).
func FuzzParse(f *testing.F) {
	for _, e := range corpus(f) {
		f.Add(e.frame)
	}
	p := NewParser()
	f.Fuzz(func(t *testing.T, frame []byte) {
		checkMessage(t, frame, p.Parse(frame))
	})
}

// TestParseAllocs holds Parse to zero allocations for every corpus
// frame (at most 2 per event on the whole path).
func TestParseAllocs(t *testing.T) {
	p := NewParser()
	for _, e := range corpus(t) {
		if n := testing.AllocsPerRun(20, func() { p.Parse(e.frame) }); n != 0 {
			t.Errorf("%s: got %v allocs, want 0", e.name, n)
		}
	}
}

func benchParse(b *testing.B, frame string) {
	p := NewParser()
	fb := []byte(frame)
	b.SetBytes(int64(len(fb)))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(fb)
	}
}

func BenchmarkParse5424(b *testing.B) {
	msg := strings.Repeat("x", 900)
	b.Run("nosd", func(b *testing.B) {
		benchParse(b, "<165>1 2026-11-22T10:15:00.123456Z web01.example.com myapp 1234 ID47 - "+msg)
	})
	b.Run("sd", func(b *testing.B) {
		benchParse(b, `<165>1 2026-11-22T10:15:00.123456Z web01.example.com myapp 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] `+msg)
	})
}

func BenchmarkParse3164(b *testing.B) {
	benchParse(b, "<34>Nov 22 10:15:00 web01 sshd[1234]: "+strings.Repeat("x", 900))
}

func BenchmarkParseRaw(b *testing.B) {
	benchParse(b, "<189>date=2026-11-22 time=10:15:00 devname=\"FGT60E\" "+strings.Repeat("x", 900))
}
