package writer

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestDetail(t *testing.T) {
	tests := []struct {
		name  string
		build func(d *Detail)
		want  string
	}{
		{"empty", func(d *Detail) {}, `{}`},
		{"str", func(d *Detail) { d.Str("reason", "unknown_ca") }, `{"reason":"unknown_ca"}`},
		{"numbers and bool", func(d *Detail) { d.Int("messages", 12); d.Int("neg", -3); d.Bool("torn", true) },
			`{"messages":12,"neg":-3,"torn":true}`},
		{"quote backslash control", func(d *Detail) { d.Str("error", "a\"b\\c\td\ne\x00\x1b\x7f") },
			`{"error":"a\"b\\c\u0009d\u000ae\u0000\u001b\u007f"}`},
		{"html", func(d *Detail) { d.Str("error", "<script>&</script>") },
			`{"error":"\u003cscript\u003e\u0026\u003c/script\u003e"}`},
		{"non-ASCII BMP", func(d *Detail) { d.Str("subject", "CN=\u0430dmin\u202E\u2028") },
			`{"subject":"CN=\u0430dmin\u202e\u2028"}`},
		{"surrogate pair", func(d *Detail) { d.Str("s", "\U0001F600") }, `{"s":"\ud83d\ude00"}`},
		{"invalid UTF-8", func(d *Detail) { d.Str("s", "a\xffb\xc3") }, `{"s":"a\ufffdb\ufffd"}`},
		{"client percent-encoded", func(d *Detail) { d.Client("host", []byte("evil\n\"x\"\\%41<b>\u0430")) },
			`{"host":"evil%0A\"x\"\\%2541\u003cb\u003e%D0%B0"}`},
		{"client dash", func(d *Detail) { d.Client("v", []byte("-")) }, `{"v":"-"}`},
		{"strs", func(d *Detail) {
			d.Strs("listeners", []string{"tls :6514", "tcp :514 (unencrypted)"})
			d.Strs("none", nil)
		},
			`{"listeners":["tls :6514","tcp :514 (unencrypted)"],"none":[]}`},
		{"object", func(d *Detail) {
			var sub Detail
			sub.Int("tls_handshake_failed", 40)
			sub.Int("parse_failed", 2)
			d.Str("source", "192.0.2.66")
			d.Int("count", 42)
			d.Object("counts", &sub)
			d.Object("empty", nil)
		}, `{"source":"192.0.2.66","count":42,"counts":{"tls_handshake_failed":40,"parse_failed":2},"empty":{}}`},
		{"time", func(d *Detail) { d.Time("not_after", time.Date(2027, 1, 2, 3, 4, 5, 6000, time.UTC)) },
			`{"not_after":"2027-01-02T03:04:05.000006Z"}`},
		{"reset", func(d *Detail) { d.Str("a", "b"); d.Bytes(); d.Reset(); d.Int("c", 1) }, `{"c":1}`},
		{"bytes then add", func(d *Detail) { d.Bytes(); d.Int("c", 1) }, `{"c":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Detail
			tt.build(&d)
			got := d.Bytes()
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if !isPrintable(got) {
				t.Errorf("got %q: not printable ASCII", got)
			}
			if !json.Valid(got) {
				t.Errorf("got %s: not valid JSON", got)
			}
		})
	}
}

// TestDetailRoundTrip: a JSON decoder reads back the server strings
// (valid UTF-8) exactly.
func TestDetailRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x01\x1f\x7f", "\u0430\u202e\u2028\u2029", "\U0001F600\U0010FFFF", "<>&"} {
		var d Detail
		d.Str("k", s)
		var got map[string]string
		if err := json.Unmarshal(d.Bytes(), &got); err != nil || got["k"] != s {
			t.Errorf("Str(%q): JSON %s reads back as %q, %v", s, d.Bytes(), got["k"], err)
		}
	}
}

var securityTests = []struct {
	name string
	ev   SecurityEvent
	det  func(d *Detail)
}{
	{"start", SecurityEvent{Action: "start", Result: "success"}, func(d *Detail) {
		d.Str("version", "v0.1.0")
		d.Str("instance", "loghost")
		d.Strs("listeners", []string{"tls 0.0.0.0:6514", "tcp 0.0.0.0:514 unencrypted"})
		d.Str("config_sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	}},
	{"connect with certificate", SecurityEvent{Peer: "192.0.2.10:50514", Auth: "web01", TLS: "TLS1.3/TLS_AES_128_GCM_SHA256", Action: "connect", Result: "success"},
		func(d *Detail) {
			d.Str("subject", "CN=web01,O=Example")
			d.Str("issuer", "CN=Example CA")
			d.Str("serial", "1a2b3c")
			d.Time("not_after", time.Date(2027, 11, 22, 0, 0, 0, 0, time.UTC))
			d.Str("fingerprint_sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
		}},
	{"handshake failed, hostile error text", SecurityEvent{Peer: "192.0.2.66:4000", Action: "tls_handshake_failed", Result: "failure"},
		func(d *Detail) {
			d.Str("reason", "not_tls")
			d.Str("error", "tls: first record does not look like a TLS handshake\n\x1b[31m\u202e")
		}},
	{"hostile auth", SecurityEvent{Peer: "192.0.2.66:4000", Auth: "\u0430dmin\n-", TLS: "TLS1.2/TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Action: "peer_denied", Result: "failure"},
		func(d *Detail) {
			d.Str("reason", "peer_not_permitted")
			d.Client("cn", []byte("\u0430dmin\n\"<x>\""))
		}},
	{"dash auth", SecurityEvent{Peer: "192.0.2.66:4000", Auth: "-", TLS: "tcp", Action: "disconnect", Result: "success"},
		func(d *Detail) { d.Int("messages", 3); d.Int("bytes", 1234); d.Int("duration_ms", 52) }},
	{"suppressed", SecurityEvent{Action: "suppressed", Result: "success"}, func(d *Detail) {
		var sub Detail
		sub.Int("tls_handshake_failed", 31)
		d.Str("source", "192.0.2.66")
		d.Int("count", 31)
		d.Object("counts", &sub)
	}},
	{"recover", SecurityEvent{Action: "recover", Result: "success"}, func(d *Detail) {
		d.Str("file", "events-20261122T101500.123Z.log")
		d.Int("seq", 17)
		d.Int("bytes_past_checkpoint", 402)
		d.Bool("torn", true)
	}},
	{"nil detail and empty strings", SecurityEvent{}, nil},
}

func securityLines(t testing.TB) [][]byte {
	g, err := newIDGen("loghost", time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), [4]byte{0x9f, 0x3a, 0x61, 0xc0})
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for i, tt := range securityTests {
		ev := tt.ev
		ev.Time = testTime.Add(time.Duration(i) * time.Second)
		ev.ID = g.AppendID(nil, 1000+uint64(i))
		if tt.det != nil {
			ev.Detail = new(Detail)
			tt.det(ev.Detail)
		}
		lines = append(lines, AppendSecurity(nil, &ev))
	}
	return lines
}

func TestAppendSecurityGolden(t *testing.T) {
	lines := securityLines(t)
	for i, tt := range securityTests {
		t.Run(tt.name, func(t *testing.T) {
			line := lines[i]
			if line[len(line)-1] != '\n' {
				t.Fatalf("line %q does not end in LF", line)
			}
			body := line[:len(line)-1]
			if err := CheckLine(body, SecurityColumns); err != nil {
				t.Fatalf("CheckLine(%q): %v", line, err)
			}
			cols := splitColumns(body)
			wantAuth := tt.ev.Auth
			if wantAuth == "" {
				if string(cols[4]) != "-" {
					t.Errorf("AUTH: got %q, want -", cols[4])
				}
			} else if got := decodeColumn(t, cols[4]); string(got) != wantAuth {
				t.Errorf("AUTH: got %q, want %q", got, wantAuth)
			}
			for k, want := range []string{tt.ev.Peer, "", tt.ev.TLS, tt.ev.Action, tt.ev.Result} {
				if k == 1 {
					continue
				}
				if want == "" {
					want = "-"
				}
				if string(cols[3+k]) != want {
					t.Errorf("column %d: got %q, want %q", 4+k, cols[3+k], want)
				}
			}
			var obj map[string]any
			if err := json.Unmarshal(cols[8], &obj); err != nil {
				t.Errorf("DETAIL %s: %v", cols[8], err)
			}
		})
	}
	golden(t, "security.golden", bytes.Join(lines, nil))
}

func TestAppendSecurityAllocs(t *testing.T) {
	var d Detail
	ev := SecurityEvent{Time: testTime, ID: []byte("loghost-x-1"), Peer: "192.0.2.1:1", TLS: "tcp", Action: "disconnect", Result: "success", Detail: &d}
	dst := make([]byte, 0, 1024)
	n := testing.AllocsPerRun(100, func() {
		d.Reset()
		d.Int("messages", 3)
		d.Str("reason", "eof")
		dst = AppendSecurity(dst[:0], &ev)
	})
	if n != 0 {
		t.Errorf("got %v allocations per security event, want 0", n)
	}
}
