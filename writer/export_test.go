package writer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// mkLine builds a line (with LF) from columns 2.., computing LEN.
func mkLine(cols ...string) string {
	body := strings.Join(cols, "\t")
	return strconv.Itoa(len(body)) + "\t" + body + "\n"
}

// ev and sec are the columns of a plausible events or security line after
// LEN, with column i (1-based, as in docs/format.md §3.3) replaced.
func ev(col int, v string) string {
	c := []string{"2026-11-22T10:15:00.123456Z", "loghost-20261122T100000Z.9f3a61c0-7", "192.0.2.66:4000", "-", "tcp", "rfc5424", "34",
		"2026-11-22T10:14:59Z", "web01", "sshd", "42", "ID47", "-", "hello"}
	if col > 0 {
		c[col-2] = v
	}
	return mkLine(c...)
}

func sec(col int, v string) string {
	c := []string{"2026-11-22T10:15:00.123456Z", "loghost-20261122T100000Z.9f3a61c0-8", "192.0.2.66:4000", "-", "-", "tls_handshake_failed", "failure", `{"reason":"eof"}`}
	if col > 0 {
		c[col-2] = v
	}
	return mkLine(c...)
}

// hostileInput is a file of lines an attacker with write access, a torn
// write or a bug could leave: some are well-formed but hostile, most are
// malformed and must be reported without stopping the export.
func hostileInput() []byte {
	lines := []string{
		ev(0, ""), // line 1: fine
		ev(15, "%1B]0;pwned%07%1B[2J%E2%80%A8<script>alert(1)</script>&amp;"), // 2: OSC title, clear screen, U+2028, HTML
		ev(15, "%C3%28 invalid %FF UTF-8"),                                    // 3: percent form + msg_encoding
		ev(10, "%zz"),                                                         // 4: bad escape
		ev(10, "%1b"),                                                         // 5: lowercase escape
		ev(8, "999"),                                                          // 6: PRI out of range
		ev(8, "034"),                                                          // 7: PRI with leading zero
		ev(5, "%2D"),                                                          // 8: AUTH literal "-"
		sec(9, "not json"),                                                    // 9: DETAIL not JSON
		sec(9, "[1,2]"),                                                       // 10: DETAIL not an object
		sec(9, `{"error":"<b>&</b>","cn":"%0A"}`),                             // 11: fine, escaped in JSON
		"5\tabc\n",                                                            // 12: bad LEN and columns
		"\n",                                                                  // 13: empty line
		ev(15, "\x1b[31mred"),                                                 // 14: raw ESC (LEN right)
		ev(15, "hello\r"),                                                     // 15: CR before LF (LEN right)
		mkLine("a", "b", "c"),                                                 // 16: 4 columns
		sec(0, ""),                                                            // 17: fine, after all the bad ones
		sec(4, "[2001:db8::1]:6514"),                                          // 18: fine
		strings.TrimSuffix(ev(15, "torn line"), "ne\n"), // 19: torn last line, no LF
	}
	return []byte(strings.Join(lines, ""))
}

func goodInput(t testing.TB) []byte {
	return append(bytes.Join(eventLines(t), nil), bytes.Join(securityLines(t), nil)...)
}

func TestExportGolden(t *testing.T) {
	tests := []struct {
		name    string
		input   []byte
		wantErr bool
	}{
		{"good", goodInput(t), false},
		{"hostile", hostileInput(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "export_"+tt.name+".log", tt.input)
			for _, jsonOut := range []bool{false, true} {
				var out bytes.Buffer
				err := Export(&out, bytes.NewReader(tt.input), "export_"+tt.name+".log", ExportOptions{JSON: jsonOut})
				ext := ".txt"
				if jsonOut {
					ext = ".jsonl"
				}
				golden(t, "export_"+tt.name+ext+".golden", out.Bytes())
				checkExportOutput(t, out.Bytes(), jsonOut)
				if !tt.wantErr {
					if err != nil {
						t.Fatalf("json=%v: got %v, want nil", jsonOut, err)
					}
					continue
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("json=%v: got %v, want an error wrapping ErrMalformed", jsonOut, err)
				}
				golden(t, "export_"+tt.name+".err.golden", []byte(err.Error()+"\n"))
			}
		})
	}
}

// checkExportOutput checks the promises of Export's output on every line.
func checkExportOutput(t *testing.T, out []byte, jsonOut bool) {
	t.Helper()
	for i, line := range bytes.Split(bytes.TrimSuffix(out, []byte{'\n'}), []byte{'\n'}) {
		if len(out) == 0 {
			break
		}
		if !jsonOut {
			if !isPrintable(bytes.ReplaceAll(line, []byte{'\t'}, []byte{' '})) {
				t.Fatalf("text line %d %q is not printable ASCII", i+1, line)
			}
			continue
		}
		if !isPrintable(line) {
			t.Fatalf("JSON line %d %q is not printable ASCII", i+1, line)
		}
		if bytes.ContainsAny(line, "<>&") {
			t.Fatalf("JSON line %d %q holds a raw '<', '>' or '&'", i+1, line)
		}
		if !json.Valid(line) {
			t.Fatalf("JSON line %d %q is not valid JSON", i+1, line)
		}
	}
}

// TestExportTextRoundTrip: in the text output, every client column of an
// events line unquotes (strconv.Unquote) to the exact bytes the client
// sent, and "-" is exactly an absent value.
func TestExportTextRoundTrip(t *testing.T) {
	var out bytes.Buffer
	if err := Export(&out, bytes.NewReader(bytes.Join(eventLines(t), nil)), "events", ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(eventTests) {
		t.Fatalf("got %d lines, want %d", len(lines), len(eventTests))
	}
	for i, tt := range eventTests {
		t.Run(tt.name, func(t *testing.T) {
			cols := strings.Split(lines[i], "\t")
			if len(cols) != EventColumns-1 {
				t.Fatalf("got %d columns, want %d", len(cols), EventColumns-1)
			}
			m := tt.msg
			for k, f := range []struct {
				v   []byte
				nil bool
			}{{m.Timestamp.Value, m.Timestamp.Nil}, {m.Hostname.Value, m.Hostname.Nil}, {m.AppName.Value, m.AppName.Nil},
				{m.ProcID.Value, m.ProcID.Nil}, {m.MsgID.Value, m.MsgID.Nil}, {m.SD.Value, m.SD.Nil}, {m.Msg.Value, m.Msg.Nil}} {
				col := cols[7+k]
				if f.nil {
					if col != "-" {
						t.Errorf("column %d: got %q, want - (absent)", 9+k, col)
					}
					continue
				}
				got, err := strconv.Unquote(`"` + col + `"`)
				if err != nil || got != string(f.v) {
					t.Errorf("column %d: %q unquotes to %q, %v, want %q", 9+k, col, got, err, f.v)
				}
			}
		})
	}
}

// TestExportJSONValues decodes the JSON output of the good lines and
// compares with what was written.
func TestExportJSONValues(t *testing.T) {
	var out bytes.Buffer
	if err := Export(&out, bytes.NewReader(goodInput(t)), "good", ExportOptions{JSON: true}); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	eventKeys := "time id peer auth tls flags pri facility severity timestamp hostname app_name procid msgid sd msg"
	securityKeys := "time id peer auth tls action result detail"
	for i := 0; dec.More(); i++ {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		keys := eventKeys
		if i >= len(eventTests) {
			keys = securityKeys
		}
		for _, k := range strings.Fields(keys) {
			if _, ok := obj[k]; !ok {
				t.Errorf("line %d: key %q missing", i+1, k)
			}
		}
		if i >= len(eventTests) {
			tt := securityTests[i-len(eventTests)]
			if _, ok := obj["detail"].(map[string]any); !ok {
				t.Errorf("line %d: detail is %T, want an object", i+1, obj["detail"])
			}
			if tt.ev.Auth != "" && obj["auth"] != tt.ev.Auth {
				t.Errorf("line %d: auth got %q, want %q", i+1, obj["auth"], tt.ev.Auth)
			}
			continue
		}
		tt := eventTests[i]
		if len(obj) != len(strings.Fields(keys))+countEncoding(obj) {
			t.Errorf("line %d: got keys %v, want exactly %s", i+1, obj, keys)
		}
		m := tt.msg
		if m.PRI < 0 {
			if obj["pri"] != nil || obj["facility"] != nil || obj["severity"] != nil {
				t.Errorf("line %d: pri/facility/severity got %v/%v/%v, want null", i+1, obj["pri"], obj["facility"], obj["severity"])
			}
		} else if obj["pri"] != float64(m.PRI) || obj["facility"] != facilityNames[m.PRI/8] || obj["severity"] != severityNames[m.PRI%8] {
			t.Errorf("line %d: pri/facility/severity got %v/%v/%v", i+1, obj["pri"], obj["facility"], obj["severity"])
		}
		if fl, ok := obj["flags"].([]any); !ok || fl[0] != m.Format.String() {
			t.Errorf("line %d: flags got %v, want an array starting with %q", i+1, obj["flags"], m.Format.String())
		}
		for key, f := range map[string][]byte{"timestamp": m.Timestamp.Value, "hostname": m.Hostname.Value, "app_name": m.AppName.Value,
			"procid": m.ProcID.Value, "msgid": m.MsgID.Value, "sd": m.SD.Value, "msg": m.Msg.Value} {
			nilv := map[string]bool{"timestamp": m.Timestamp.Nil, "hostname": m.Hostname.Nil, "app_name": m.AppName.Nil,
				"procid": m.ProcID.Nil, "msgid": m.MsgID.Nil, "sd": m.SD.Nil, "msg": m.Msg.Nil}[key]
			switch {
			case nilv:
				if obj[key] != nil {
					t.Errorf("line %d: %s got %q, want null", i+1, key, obj[key])
				}
			case utf8.Valid(f):
				if obj[key] != string(f) || obj[key+"_encoding"] != nil {
					t.Errorf("line %d: %s got %q, want %q", i+1, key, obj[key], f)
				}
			default:
				if obj[key] != string(AppendEncoded(nil, f)) || obj[key+"_encoding"] != "percent" {
					t.Errorf("line %d: %s got %q (%v), want the percent form %q", i+1, key, obj[key], obj[key+"_encoding"], AppendEncoded(nil, f))
				}
			}
		}
	}
}

func countEncoding(obj map[string]any) int {
	n := 0
	for k := range obj {
		if strings.HasSuffix(k, "_encoding") {
			n++
		}
	}
	return n
}

func TestAppendGoEscaped(t *testing.T) {
	for _, s := range []string{"", "plain", `a"b\c`, "\a\b\f\n\r\t\v\x00\x1b\x7f", "\u202e\u0430\u2028", "\U0001F600",
		"\xff\xfe\xc3", "\xef\xbf\xbd", "\u0080\u009f", "%41 -"} {
		q := strconv.QuoteToASCII(s)
		if got, want := string(appendGoEscaped(nil, []byte(s))), q[1:len(q)-1]; got != want {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	}
}

func TestExportLongLine(t *testing.T) {
	defer func(n int) { maxExportLine = n }(maxExportLine)
	maxExportLine = 180
	in := ev(15, strings.Repeat("x", 300)) + ev(0, "")
	var out bytes.Buffer
	err := Export(&out, iotest.OneByteReader(strings.NewReader(in)), "long.log", ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "long.log:1: line longer than 180 bytes") {
		t.Errorf("got %v, want a report of line 1 being too long", err)
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("got %d lines of output, want 1 (the second line)", n)
	}
}

func TestExportIOErrors(t *testing.T) {
	boom := errors.New("boom")
	err := Export(io.Discard, iotest.ErrReader(boom), "r.log", ExportOptions{})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "r.log") {
		t.Errorf("read error: got %v, want it wrapped with the file name", err)
	}
	err = Export(failWriter{boom}, bytes.NewReader(goodInput(t)), "w.log", ExportOptions{JSON: true})
	if !errors.Is(err, boom) {
		t.Errorf("write error: got %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestExportTooManyProblems(t *testing.T) {
	in := strings.Repeat("junk\n", maxReported+5)
	err := Export(io.Discard, strings.NewReader(in), "junk.log", ExportOptions{})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	msg := err.Error()
	if n := strings.Count(msg, "\n") + 1; n != maxReported+1 {
		t.Errorf("got %d lines of error, want %d", n, maxReported+1)
	}
	if !strings.HasSuffix(msg, "junk.log: 15 malformed lines (first 10 listed)") {
		t.Errorf("got summary %q", msg[strings.LastIndexByte(msg, '\n')+1:])
	}
}

func FuzzExport(f *testing.F) {
	for _, l := range eventLines(f) {
		f.Add(l)
	}
	for _, l := range securityLines(f) {
		f.Add(l)
	}
	for _, l := range strings.SplitAfter(string(hostileInput()), "\n") {
		f.Add([]byte(l))
	}
	f.Add([]byte(sealLine("2026-11-22T10:15:00.123456Z", "7", "final", "events-20261122T100000.000Z.log")))
	f.Add([]byte(sealLine("2026-11-22T10:15:00.123456Z", "18446744073709551616", "pruned", "x")))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, jsonOut := range []bool{false, true} {
			var out bytes.Buffer
			err := Export(&out, bytes.NewReader(in), "fuzz", ExportOptions{JSON: jsonOut, Header: true,
				Since: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
			checkExportOutput(t, out.Bytes(), jsonOut)
			if err != nil && !isPrintable(bytes.ReplaceAll([]byte(err.Error()), []byte{'\n'}, []byte{' '})) {
				t.Fatalf("error %q is not printable ASCII", err)
			}
			// The reader cannot fail, so the only error is the report of
			// malformed lines.
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want nil or ErrMalformed", err)
			}
		}
		// Whatever bytes a client sends, the line made of them exports.
		msg := rfc5424(string(in))
		meta := EventMeta{Time: testTime, ID: []byte("x-1"), Peer: "192.0.2.1:1", Auth: string(in), TLS: "tcp"}
		line := AppendEvent(nil, &meta, &msg)
		for _, jsonOut := range []bool{false, true} {
			var out bytes.Buffer
			if err := Export(&out, bytes.NewReader(line), "fuzz", ExportOptions{JSON: jsonOut}); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			checkExportOutput(t, out.Bytes(), jsonOut)
		}
	})
}

func BenchmarkExport(b *testing.B) {
	var in []byte
	for len(in) < 1<<20 {
		in = append(in, goodInput(b)...)
	}
	for _, jsonOut := range []bool{false, true} {
		b.Run(map[bool]string{false: "text", true: "json"}[jsonOut], func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Export(io.Discard, bytes.NewReader(in), "bench", ExportOptions{JSON: jsonOut}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// withLen prefixes rest (the columns after LEN) with its LEN column.
func withLen(rest string) string {
	return fmt.Sprintf("%d\t%s\n", len(rest), rest)
}

func sealLine(time, seq, kind, file string) string {
	return withLen(strings.Join([]string{time, seq, kind, file, "4096", "12",
		strings.Repeat("ab", 32), strings.Repeat("0", 64), strings.Repeat("cd", 32)}, "\t"))
}

// TestExportSeals: seal lines export like the other kinds, so that
// `export DIR/*.log` takes seals.log too; a seal line with a non-number
// where a number belongs is refused.
func TestExportSeals(t *testing.T) {
	in := sealLine("2026-11-22T10:15:00.123456Z", "7", "final", "events-20261122T100000.000Z.log")
	var text, js bytes.Buffer
	if err := Export(&text, strings.NewReader(in), "seals.log", ExportOptions{Header: true}); err != nil {
		t.Fatal(err)
	}
	want := "# TIME\tSEQ\tKIND\tFILE\tBYTES\tLINES\tROOT\tPREV\tMAC\n" +
		"2026-11-22T10:15:00.123456Z\t7\tfinal\tevents-20261122T100000.000Z.log\t4096\t12\t" +
		strings.Repeat("ab", 32) + "\t" + strings.Repeat("0", 64) + "\t" + strings.Repeat("cd", 32) + "\n"
	if text.String() != want {
		t.Errorf("text:\n got %q\nwant %q", text.String(), want)
	}
	if err := Export(&js, strings.NewReader(in), "seals.log", ExportOptions{JSON: true, Header: true}); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, js.String())
	}
	if m["seq"] != 7.0 || m["kind"] != "final" || m["bytes"] != 4096.0 || m["lines"] != 12.0 || m["mac"] != strings.Repeat("cd", 32) {
		t.Errorf("JSON: %v", m)
	}
	bad := sealLine("2026-11-22T10:15:00.123456Z", "07", "final", "x.log")
	if err := Export(io.Discard, strings.NewReader(bad), "seals.log", ExportOptions{}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "SEQ") {
		t.Errorf("leading zero in SEQ: got %v", err)
	}
}

// TestExportHeaderOnKindChange: one header per run of lines of one kind,
// across calls of one Exporter, and none in JSON.
func TestExportHeaderOnKindChange(t *testing.T) {
	ev := eventLines(t)
	seal := sealLine("2026-11-22T10:15:00.123456Z", "1", "checkpoint", "a.log")
	in := string(ev[0]) + string(ev[1]) + seal + string(ev[2])
	e := NewExporter(ExportOptions{Header: true})
	var out bytes.Buffer
	for _, part := range []string{in, string(ev[3])} {
		if err := e.Export(&out, strings.NewReader(part), "mixed"); err != nil {
			t.Fatal(err)
		}
	}
	var heads []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "# ") {
			heads = append(heads, strings.SplitN(l, "\t", 3)[1])
		}
	}
	if strings.Join(heads, ",") != "ID,SEQ,ID" {
		t.Errorf("headers before kinds %v, want ID (events), SEQ (seals), ID (events):\n%s", heads, out.String())
	}
	var js bytes.Buffer
	if err := Export(&js, strings.NewReader(in), "mixed", ExportOptions{JSON: true, Header: true}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(js.String(), "\n") {
		if strings.HasPrefix(l, "#") {
			t.Errorf("header in JSON output: %q", l)
		}
	}
}

// TestExportTimeBounds: --since is inclusive, --until exclusive, both
// compared with the TIME column at microsecond precision.
func TestExportTimeBounds(t *testing.T) {
	var in strings.Builder
	for _, ts := range []string{"2026-11-22T09:59:59.999999Z", "2026-11-22T10:00:00.000000Z", "2026-11-22T10:30:00.000000Z", "2026-11-22T11:00:00.000000Z"} {
		in.WriteString(sealLine(ts, "1", "checkpoint", "a.log"))
	}
	since := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	until := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		opts ExportOptions
		want []string
	}{
		{ExportOptions{Since: since}, []string{"10:00:00.000000", "10:30:00", "11:00:00"}},
		{ExportOptions{Until: until}, []string{"09:59:59", "10:00:00.000000", "10:30:00"}},
		{ExportOptions{Since: since, Until: until}, []string{"10:00:00.000000", "10:30:00"}},
	} {
		var out bytes.Buffer
		if err := Export(&out, strings.NewReader(in.String()), "seals.log", c.opts); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != len(c.want) {
			t.Fatalf("%+v: got %d lines, want %d:\n%s", c.opts, len(lines), len(c.want), out.String())
		}
		for i, w := range c.want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("%+v: line %d %q lacks %q", c.opts, i, lines[i], w)
			}
		}
	}
}
