package parse

import (
	"bytes"
	"testing"

	"github.com/influxdata/go-syslog/v3/rfc5424"
)

// validateSeeds are frames at the edges of the grammar, added to the
// corpus for the differential fuzz targets.
var validateSeeds = []string{
	"<0>1 2024-02-29T23:59:59.999999+23:59 h a p m -",
	"<0>1 2023-02-29T00:00:00Z h a p m -",
	"<0>1 2023-04-31T00:00:00Z h a p m -",
	"<191>999 2023-12-31T24:00:00Z h a p m - x",
	"<1>1 0000-01-01T00:00:00.1234567Z - - - - -",
	"<1>1 - - - - - [a][b][a]",
	"<1>1 - - - - - [a b=\"\\\\\\\"\\]\" c=\"\xc3\xa9\"] \xef\xbb\xbf\xed\xa0\x80",
	"<1>1 - - - - - [abcdefghijklmnopqrstuvwxyz0123456 a=\"\"]",
	"<13>Feb 29 10:15:00 host x",
	"<13>Feb 30 10:15:00 host x",
	"<13>Apr 31 10:15:00 host x",
	"<13>Nov  9 23:59:59 host app[1]: \x80",
	"<13>2024-02-29T10:15:00-00:00 host x",
	"<13>2023-02-29T10:15:00Z host x",
	"<13>Nov 22 10:15:00 host \x7f",
	"<13>Nov 22 10:15:00 host  ",
	// go-syslog's fail state jumps back to main at CR/LF: no restart may
	// turn a failed frame into an accepted one.
	"<13>bad\r<13>Nov 22 10:15:00 host x",
	"<13>1 bad\n<13>1 - - - - - -",
	"<13>1 - - - - - [\n<13>1 - - - - - -",
	"<0>Nov 10 00:00:00 0 0[\x06]: 0",
}

func validateCorpus(f *testing.F) {
	for _, e := range corpus(f) {
		f.Add(e.frame)
	}
	for _, s := range validateSeeds {
		f.Add([]byte(s))
	}
}

// FuzzValidate5424 proves accept5424 accepts exactly what go-syslog's
// rfc5424 machine accepts (the performance work allows our validator only so).
func FuzzValidate5424(f *testing.F) {
	validateCorpus(f)
	m := rfc5424.NewMachine()
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := m.Parse(b)
		want := err == nil && msg != nil
		if got := accept5424(b); got != want {
			t.Errorf("accept5424(%q) = %v, go-syslog: %v (%v)", b, got, want, err)
		}
	})
}

// FuzzValidate3164 proves accept3164 accepts exactly what go-syslog's
// rfc3164 machine (current year, WithRFC3339) returns a message for.
func FuzzValidate3164(f *testing.F) {
	validateCorpus(f)
	m := newMachine3164()
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := m.Parse(b)
		want := err == nil && msg != nil
		if got := accept3164(b); got != want {
			t.Errorf("accept3164(%q) = %v, go-syslog: %v (%v)", b, got, want, err)
		}
	})
}

// BenchmarkGoSyslog5424 is the reference cost of go-syslog's machine on
// the header and SD that accept5424 judges in BenchmarkParse5424/sd.
func BenchmarkGoSyslog5424(b *testing.B) {
	hdr := []byte(`<165>1 2026-11-22T10:15:00.123456Z web01.example.com myapp 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]`)
	m := rfc5424.NewMachine()
	b.ReportAllocs()
	for b.Loop() {
		m.Parse(hdr)
	}
}

// accept3164 is go-syslog's verdict on a whole RFC 3164 frame, built on
// the parser's header3164. The parser itself needs only the header (docs/format.md
// §2 keeps TAB, ESC or NUL content as rfc3164, where go-syslog would say
// nil); this adds go-syslog's content rule so that FuzzValidate3164 can
// compare header3164 with the real machine.
//
// isVisible is go-syslog rfc3164's visible: print | 0x80..0xFF.
func isVisible(c byte) bool { return c >= ' ' && c != 0x7f }

// It reports whether go-syslog's rfc3164 machine (WithRFC3339)
// returns a message for b: a header, then
//
//	msg        = (tag content? ':' sp)? mex
//	content    = '[' contentval ']'
//	contentval = !alnum print*
//	mex        = visible+
//
// mex alone matches any non-empty run of visible bytes. The other path
// matters only for content with other bytes: "!alnum" is every string but
// a single alphanumeric, so contentval is any byte string, and the
// content is TAG "[" anything "]: " and then visible bytes.
func accept3164(b []byte) bool {
	_, i := header3164(b)
	if i < 0 || i == len(b) {
		return false
	}
	c := b[i:]
	last := -1 // last byte that is not visible
	for k, x := range c {
		if !isVisible(x) {
			last = k
		}
	}
	if last < 0 {
		return true
	}
	t := 0
	for t < len(c) && t < 33 && isTagChar(c[t]) {
		t++
	}
	if t == 0 || t > 32 || t >= len(c) || c[t] != '[' || last <= t {
		return false
	}
	k := bytes.Index(c[last+1:], []byte("]: "))
	return k >= 0 && last+1+k+3 < len(c)
}
