package tests

// Suite TestExport*: `sealog export [--json] FILE...` (docs/format.md §1)
// on files a real server wrote from hostile frames [T 13, thesis §5.5;
// BSI: analysis happens read-only and nothing in an entry executes].
// Golden files hold the output with the server-set TIME, ID, PEER and
// TLS columns replaced by their names; -update-export rewrites them.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sealog/sealog/devpki"
)

var updateExport = flag.Bool("update-export", false, "rewrite tests/testdata/export/*.golden")

// exportHostileCN is the client certificate's CN: it reaches the AUTH column of
// every event and security line of the connection.
const exportHostileCN = "evil\x1b[31m\u202e<b>\n\"cn\""

const exportHdr = "<34>1 2026-11-22T10:15:00.000001Z host app 42 ID47 "

// exportFrames are sent in this order on one connection; msg is the MSG
// column's bytes as the client sent them (for RFC 3164 and raw frames,
// everything after the PRI).
var exportFrames = []struct {
	name, frame, msg string
}{
	{"newline injection", exportHdr + "- line1\n2026-11-22T10:15:00.000000Z\tforged\tevent", "line1\n2026-11-22T10:15:00.000000Z\tforged\tevent"},
	{"terminal escapes", exportHdr + "- \x1b[2J\x1b[1;31mred\x1b[0m\x1b7hidden\x1b8\x1b]0;title\x07", "\x1b[2J\x1b[1;31mred\x1b[0m\x1b7hidden\x1b8\x1b]0;title\x07"},
	{"backspaces", exportHdr + "- admin\b\b\b\b\broot", "admin\b\b\b\b\broot"},
	{"right-to-left override", exportHdr + "- file\u202etxt.exe", "file\u202etxt.exe"},
	{"homoglyph", exportHdr + "- user \u0430dmin logged in", "user \u0430dmin logged in"},
	{"markup", exportHdr + `- <script>alert(1)</script>&amp;"q"\`, `<script>alert(1)</script>&amp;"q"\`},
	{"NUL and invalid UTF-8", exportHdr + "- a\x00b\xffc\xc3", "a\x00b\xffc\xc3"},
	{"literal dash", exportHdr + "- -", "-"},
	{"literal null", exportHdr + "- null", "null"},
	{"empty MSG", exportHdr + "- ", ""},
	{"BOM", exportHdr + "- \xef\xbb\xbfbom text", "\xef\xbb\xbfbom text"},
	{"tab", exportHdr + "- a\tb", "a\tb"},
	{"line separators", exportHdr + "- a\u2028b\u2029c\u0085d", "a\u2028b\u2029c\u0085d"},
	{"emoji", exportHdr + "- \U0001F600", "\U0001F600"},
	{"percent", exportHdr + "- 100%0A sure %", "100%0A sure %"},
	{"structured data", `<191>1 2026-11-22T10:15:00Z host app 42 ID47 [ex@32473 k="v\"<x>\]"] max pri`, "max pri"},
	{"rfc3164", "<13>Nov 22 10:15:00 host tag[99]: 3164 \x1b[31m msg", "Nov 22 10:15:00 host tag[99]: 3164 \x1b[31m msg"},
	{"raw without PRI", "\x1b]0;title\x07 raw frame %41", "\x1b]0;title\x07 raw frame %41"},
}

// exportFiles holds the files a server wrote for exportFrames.
type exportFiles struct {
	s        *Sealog
	events   []string
	security []string
}

// exportHostileRun starts a server, sends exportFrames with the hostile client
// certificate, stops the server (so every file is final and, with
// chattr, immutable) and returns the files.
func exportHostileRun(t *testing.T) *exportFiles {
	t.Helper()
	s := startSealog(t)
	cert, key := s.PKI.Issue(t, "hostile", devpki.CertSpec{CN: exportHostileCN})
	c, err := s.DialTLS(s.PKI.ClientTLS(t, cert, key))
	if err != nil {
		t.Fatalf("dial with hostile CN: %v", err)
	}
	var b bytes.Buffer
	for _, f := range exportFrames {
		fmt.Fprintf(&b, "%d %s", len(f.frame), f.frame)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	closeAndDrain(c)
	s.WaitEvents(t, len(exportFrames))
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	return &exportFiles{s: s, events: s.files("events"), security: s.files("security")}
}

// exportOK runs `sealog export` and fails unless it exits 0.
func exportOK(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runSealog(t, "", append([]string{"export"}, args...)...)
	if code != 0 {
		t.Fatalf("export %v: exit %d, stderr %q", args, code, errOut)
	}
	return exportDropHeaders(out)
}

// exportDropHeaders removes the "# TIME ..." lines that name the columns
// in text output (no exported line starts with '#').
func exportDropHeaders(out string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if !strings.HasPrefix(l, "# ") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// exportCheckPrintable: every byte printable ASCII or LF; TAB only where allowed.
func exportCheckPrintable(t *testing.T, what, out string, allowTab bool) {
	t.Helper()
	for i := 0; i < len(out); i++ {
		c := out[i]
		if (c >= 0x20 && c <= 0x7E) || c == '\n' || (allowTab && c == '\t') {
			continue
		}
		t.Fatalf("%s: byte %#02x at offset %d, want printable ASCII only", what, c, i)
	}
}

var (
	exportServerColsRE = regexp.MustCompile(`"(time|id|peer|tls)":"[^"]*"`)
	exportDetailLastRE = regexp.MustCompile(`"detail":\{.*\}\}$`)
)

// exportNormalizeText replaces the columns that differ from run to run.
func exportNormalizeText(out string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if l == "" {
			continue
		}
		cols := strings.Split(strings.TrimSuffix(l, "\n"), "\t")
		if len(cols) == 14 {
			cols[0], cols[1], cols[2], cols[4] = "TIME", "ID", "PEER", "TLS"
		}
		b.WriteString(strings.Join(cols, "\t") + "\n")
	}
	return b.String()
}

func exportNormalizeJSON(out string) string {
	return exportServerColsRE.ReplaceAllString(out, `"$1":"X"`)
}

func exportGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "export", name)
	if *updateExport {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tests -run TestExport -update-export)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s line %d:\ngot  %s\nwant %s", name, i+1, g, w)
			}
		}
	}
}

// exportJSONKeys returns the top-level keys of one JSON object, in order.
func exportJSONKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %q (%v)", line, err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	return keys
}

// exportWantKeys checks keys against the docs/format.md §1 order, where each client key
// may be followed by "<key>_encoding".
func exportWantKeys(t *testing.T, got, spec []string, client map[string]bool) {
	t.Helper()
	i := 0
	for _, k := range spec {
		if i >= len(got) || got[i] != k {
			t.Fatalf("got keys %q, want %q (plus *_encoding)", got, spec)
		}
		i++
		if client[k] && i < len(got) && got[i] == k+"_encoding" {
			i++
		}
	}
	if i != len(got) {
		t.Fatalf("got keys %q, want %q (plus *_encoding)", got, spec)
	}
}

var (
	exportEventKeys    = []string{"time", "id", "peer", "auth", "tls", "flags", "pri", "facility", "severity", "timestamp", "hostname", "app_name", "procid", "msgid", "sd", "msg"}
	exportSecurityKeys = []string{"time", "id", "peer", "auth", "tls", "action", "result", "detail"}
	exportClientKeys   = map[string]bool{"auth": true, "timestamp": true, "hostname": true, "app_name": true, "procid": true, "msgid": true, "sd": true, "msg": true}
)

func TestExportHostile(t *testing.T) {
	r := exportHostileRun(t)
	if len(r.events) == 0 || len(r.security) == 0 {
		t.Fatalf("got %d events and %d security files, want some of each", len(r.events), len(r.security))
	}
	sums := map[string][32]byte{}
	for _, f := range append(append([]string{}, r.events...), r.security...) {
		sums[f] = sha256.Sum256(reloadReadFile(t, f))
	}

	text := exportOK(t, r.events...)
	jsonOut := exportOK(t, append([]string{"--json"}, r.events...)...)

	t.Run("text", func(t *testing.T) {
		exportCheckPrintable(t, "text export", text, true)
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if len(lines) != len(exportFrames) {
			t.Fatalf("got %d lines, want %d", len(lines), len(exportFrames))
		}
		for i, l := range lines {
			f := exportFrames[i]
			cols := strings.Split(l, "\t")
			// 14 columns exactly: no client TAB or LF got through raw.
			if len(cols) != 14 {
				t.Fatalf("%s: got %d columns, want 14: %q", f.name, len(cols), l)
			}
			// Escaped Go-style: Unquote gives back the client's bytes.
			wantMsg := f.msg
			msg, err := strconv.Unquote(`"` + cols[13] + `"`)
			if f.msg == "-" {
				if cols[13] != `\x2d` {
					t.Errorf("%s: got MSG %q, want \\x2d (a literal dash is not absent)", f.name, cols[13])
				}
			} else if err != nil || msg != wantMsg {
				t.Errorf("%s: got MSG %q unquoted to %q (%v), want %q", f.name, cols[13], msg, err, wantMsg)
			}
			if auth, err := strconv.Unquote(`"` + cols[3] + `"`); err != nil || auth != exportHostileCN {
				t.Errorf("%s: got AUTH %q, want %q escaped", f.name, cols[3], exportHostileCN)
			}
		}
		exportGolden(t, "events.txt.golden", exportNormalizeText(text))
	})

	t.Run("json", func(t *testing.T) {
		exportCheckPrintable(t, "JSON export", jsonOut, false)
		lines := strings.Split(strings.TrimSuffix(jsonOut, "\n"), "\n")
		if len(lines) != len(exportFrames) {
			t.Fatalf("got %d lines, want %d", len(lines), len(exportFrames))
		}
		for i, l := range lines {
			f := exportFrames[i]
			exportWantKeys(t, exportJSONKeys(t, l), exportEventKeys, exportClientKeys)
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			if utf8.ValidString(f.msg) {
				if m["msg"] != f.msg || m["msg_encoding"] != nil {
					t.Errorf("%s: got msg %q (encoding %v), want %q", f.name, m["msg"], m["msg_encoding"], f.msg)
				}
			} else {
				s, _ := m["msg"].(string)
				dec, err := pctDecode(s)
				if m["msg_encoding"] != "percent" || err != nil || string(dec) != f.msg {
					t.Errorf("%s: got msg %q with msg_encoding %v, want the percent form of %q and \"percent\"", f.name, s, m["msg_encoding"], f.msg)
				}
			}
			if m["auth"] != exportHostileCN {
				t.Errorf("%s: got auth %q, want %q", f.name, m["auth"], exportHostileCN)
			}
			if _, ok := m["flags"].([]any); !ok {
				t.Errorf("%s: got flags %v, want an array", f.name, m["flags"])
			}
			// Markup cannot reach a browser: < > & only as \u escapes.
			if strings.ContainsAny(l, "<>&") {
				t.Errorf("%s: raw < > or & in %q", f.name, l)
			}
		}
		exportGolden(t, "events.json.golden", exportNormalizeJSON(jsonOut))
	})

	t.Run("json fields", func(t *testing.T) {
		var ms []map[string]any
		for _, l := range strings.Split(strings.TrimSuffix(jsonOut, "\n"), "\n") {
			var m map[string]any
			json.Unmarshal([]byte(l), &m)
			ms = append(ms, m)
		}
		tests := []struct {
			i                  int
			key                string
			want               any
			wantDesc           string
			facility, severity any
			pri                any
		}{
			{0, "hostname", "host", "", "auth", "crit", 34.0},
			{15, "sd", `[ex@32473 k="v\"<x>\]"]`, "", "local7", "debug", 191.0},
			{16, "msgid", nil, "absent (3164)", "user", "notice", 13.0},
			{17, "hostname", nil, "absent (raw)", nil, nil, nil},
			{9, "msg", "", "empty, not absent", "auth", "crit", 34.0},
			{8, "msg", "null", "the text null, not JSON null", "auth", "crit", 34.0},
		}
		for _, tt := range tests {
			m := ms[tt.i]
			if m[tt.key] != tt.want {
				t.Errorf("%s: got %s %#v, want %#v %s", exportFrames[tt.i].name, tt.key, m[tt.key], tt.want, tt.wantDesc)
			}
			if m["facility"] != tt.facility || m["severity"] != tt.severity || m["pri"] != tt.pri {
				t.Errorf("%s: got pri/facility/severity %v/%v/%v, want %v/%v/%v", exportFrames[tt.i].name,
					m["pri"], m["facility"], m["severity"], tt.pri, tt.facility, tt.severity)
			}
		}
	})

	t.Run("security", func(t *testing.T) {
		for _, args := range [][]string{r.security, append([]string{"--json"}, r.security...)} {
			out := exportOK(t, args...)
			isJSON := args[0] == "--json"
			exportCheckPrintable(t, fmt.Sprint("security export ", args[0]), out, !isJSON)
			sawHostile := false
			for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if !isJSON {
					if n := len(strings.Split(l, "\t")); n != 8 {
						t.Fatalf("got %d columns, want 8: %q", n, l)
					}
					continue
				}
				exportWantKeys(t, exportJSONKeys(t, l), exportSecurityKeys, exportClientKeys)
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				if _, ok := m["detail"].(map[string]any); !ok {
					t.Errorf("got detail %v, want an object", m["detail"])
				}
				if m["auth"] == exportHostileCN {
					sawHostile = true
				}
				if !exportDetailLastRE.MatchString(l) {
					t.Errorf("detail is not the last key: %q", l)
				}
			}
			if isJSON && !sawHostile {
				t.Errorf("no security line with auth %q (the connect event)", exportHostileCN)
			}
		}
	})

	// Export only reads: every file is byte for byte what it was.
	for f, sum := range sums {
		if sha256.Sum256(reloadReadFile(t, f)) != sum {
			t.Errorf("%s changed during export", f)
		}
	}
}

// TestExportErrors: a missing file is a usage error naming it (exit 2);
// a malformed line is reported as FILE:LINE (exit 1) and the good lines
// around it are still exported; nothing of the bad line reaches stderr.
func TestExportErrors(t *testing.T) {
	s := startSealog(t)
	s.Send(t, "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - good one", "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - good two")
	ev := s.WaitEvents(t, 2)
	good1, good2 := strings.Join(ev[0], "\t"), strings.Join(ev[1], "\t")
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-events.log")
	bad := filepath.Join(dir, "events-bad.log")
	os.WriteFile(bad, []byte(good1+"\n"+"12\tnot\x1b[31m a line\n"+good2+"\n"), 0o644)
	wrongLen := filepath.Join(dir, "events-len.log")
	os.WriteFile(wrongLen, []byte("9"+good1+"\n"), 0o644) // LEN off by a digit

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
		wantLines  int
	}{
		{"missing file", []string{missing}, 2, []string{missing}, 0},
		{"missing among good", []string{bad, missing}, 2, []string{missing}, -1},
		{"no file", nil, 2, []string{"FILE"}, 0},
		{"unknown flag", []string{"--xml", bad}, 2, []string{"xml"}, 0},
		{"malformed line", []string{bad}, 1, []string{bad + ":2:"}, 2},
		{"malformed line json", []string{"--json", bad}, 1, []string{bad + ":2:"}, 2},
		{"bad LEN", []string{wrongLen}, 1, []string{wrongLen + ":1:"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runSealog(t, "", append([]string{"export"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("got exit %d, want %d; stderr %q", code, tt.wantCode, errOut)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("got stderr %q, want it to contain %q", errOut, w)
				}
			}
			exportCheckPrintable(t, "stderr", errOut, false)
			exportCheckPrintable(t, "stdout", out, true)
			if tt.wantLines >= 0 {
				if got := strings.Count(exportDropHeaders(out), "\n"); got != tt.wantLines {
					t.Errorf("got %d output lines, want %d:\n%s", got, tt.wantLines, out)
				}
			}
		})
	}
}

// TestExportImmutable: export reads files the kernel keeps immutable
// (real chattr +i, root only), which an exporter opening them for
// writing could not.
func TestExportImmutable(t *testing.T) {
	s := startSealog(t)
	if !s.Chattr {
		t.Skip("chattr not available here (needs root and a filesystem with FS_IMMUTABLE_FL)")
	}
	s.Send(t, "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - sealed")
	s.WaitEvents(t, 1)
	s.Stop()
	files := s.files("events")
	out := exportOK(t, append([]string{"--json"}, files...)...)
	if !strings.Contains(out, `"msg":"sealed"`) {
		t.Errorf("got %q, want the event", out)
	}
}
