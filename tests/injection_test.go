package tests

// Hostile payloads inside well-formed frames: every byte a client sends
// ends up percent-encoded in its column (docs/format.md §3.2) and cannot
// forge a line, a column or a security event.

import (
	"strings"
	"testing"
	"time"
)

// bbInjection is one hostile payload.
type bbInjection struct {
	name  string
	frame string // whole frame as sent
	flag  string // the format FLAGS must start with
	col   int    // 0-based column to compare with want; 0 = none
	want  string // its expected encoded text
}

func bbInjections() []bbInjection {
	forged := "ok\n" + "200\t2026-11-22T10:15:00.000000Z\ttesthost-forged-1\t10.0.0.1:514\tadmin\tTLS1.3/X\trfc5424\t34\t-\t-\t-\t-\t-\t-\tforged line"
	msgs := []struct{ name, msg string }{
		{"newline and forged line", forged},
		{"ANSI colour", "\x1b[31mRED ALERT\x1b[0m normal"},
		{"cursor save/restore ESC 7 ESC 8", "\x1b7hidden\x1b8visible"},
		{"cursor save/restore CSI s u", "\x1b[shidden\x1b[uvisible"},
		{"backspace", "password: hunter2\b\b\b\b\b\b\b*******"},
		{"NUL", "before\x00after"},
		{"TAB", "col1\tcol2\tcol3"},
		{"CR", "line\rover"},
		{"U+202E right-to-left override", "invoice\u202Efdp.exe"},
		{"Cyrillic homoglyph in admin", "user \u0430dmin logged in"},
		{"literal %41", "%41"},
		{"literal - as MSG", "-"},
		{"DEL and invalid UTF-8", "\x7f\xff\xfe\xc3"},
		{"BOM stays", "\xEF\xBB\xBFwith BOM"},
	}
	var out []bbInjection
	for _, m := range msgs {
		out = append(out, bbInjection{m.name, bbMsg(m.msg), "rfc5424", 14, pctColumn(m.msg)})
	}
	sd := "[ex@32473 a=\"\x1b[31m\u202e%41\" b=\"\u0430dmin\"]"
	out = append(out,
		bbInjection{"hostile SD", "<34>1 2026-11-22T10:15:00Z host app 42 ID47 " + sd + " msg", "rfc5424", 13, pctColumn(sd)},
		bbInjection{"NILVALUE APP-NAME", "<34>1 2026-11-22T10:15:00Z host - 42 ID47 - msg", "rfc5424", 10, "-"},
		bbInjection{"no MSG", "<34>1 - - - - - -", "rfc5424", 14, "-"},
		bbInjection{"empty MSG", "<34>1 - - - - - - ", "rfc5424", 14, ""},
		bbInjection{"literal - as APP-NAME (RFC 3164 TAG)", "<13>Oct 11 22:14:15 host -: dash tag", "rfc3164", 10, "%2D"},
	)
	return out
}

// TestCoreInjection sends each hostile payload in its own frame and checks
// that each arrives as exactly one line of printable ASCII with 15
// columns and a correct LEN, encoded as docs/format.md §3.2 says, and that columns
// 8–15 give back the frame byte for byte (docs/format.md §3.3).
func TestCoreInjection(t *testing.T) {
	s := startSealog(t)
	inj := bbInjections()
	var frames []string
	for _, in := range inj {
		frames = append(frames, in.frame)
	}
	s.Send(t, frames...)
	s.WaitEvents(t, len(inj))
	time.Sleep(200 * time.Millisecond) // a forged extra line would come now
	raw := s.lines("events")
	if len(raw) != len(inj) {
		t.Fatalf("got %d event lines for %d frames:\n%s", len(raw), len(inj), strings.Join(raw, "\n"))
	}
	for i, in := range inj {
		t.Run(in.name, func(t *testing.T) {
			line := raw[i]
			if p := bbCheckLine(line, 15); len(p) > 0 {
				t.Fatalf("line %q: %s", line, strings.Join(p, "; "))
			}
			cols := strings.Split(line, "\t")
			if !strings.HasPrefix(cols[6], in.flag) {
				t.Errorf("got FLAGS %q, want %s", cols[6], in.flag)
			}
			if in.col > 0 && cols[in.col] != in.want {
				t.Errorf("got column %d %q, want %q", in.col+1, cols[in.col], in.want)
			}
			got, err := bbFrame(cols)
			if err != nil {
				t.Fatalf("decode %q: %v", line, err)
			}
			if string(got) != in.frame {
				t.Errorf("columns 8-15 decode to %q, want the frame %q", got, in.frame)
			}
		})
	}
	for _, l := range s.Security() {
		if len(l) == 9 && l[6] == "parse_failed" {
			t.Errorf("parse_failed for a valid frame: %q", l)
		}
	}
}
