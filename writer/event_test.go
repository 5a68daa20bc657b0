package writer

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sealog/sealog/parse"
)

func fv(s string) parse.Field { return parse.Field{Value: []byte(s)} }

var testTime = time.Date(2026, 11, 22, 10, 15, 0, 123456789, time.UTC)

// rfc5424 returns a well-formed RFC 5424 message with the given MSG.
func rfc5424(msg string) parse.Message {
	return parse.Message{
		Format:    parse.FormatRFC5424,
		PRI:       34,
		Timestamp: fv("2026-11-22T10:14:59.003Z"),
		Hostname:  fv("web01.example.org"),
		AppName:   fv("sshd"),
		ProcID:    fv("4242"),
		MsgID:     fv("ID47"),
		SD:        fv(`[exampleSDID@32473 iut="3" eventSource="Application"]`),
		Msg:       fv(msg),
	}
}

var eventTests = []struct {
	name string
	meta EventMeta
	msg  parse.Message
}{
	{"rfc5424 with SD and BOM", EventMeta{Peer: "192.0.2.10:50514", Auth: "web01.example.org", TLS: "TLS1.3/TLS_AES_128_GCM_SHA256"},
		rfc5424("\xEF\xBB\xBFAn application event")},
	{"rfc5424 NILVALUEs and no MSG", EventMeta{Peer: "[2001:db8::1]:6514", TLS: "TLS1.2/TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		parse.Message{Format: parse.FormatRFC5424, PRI: 0, Timestamp: parse.Absent, Hostname: parse.Absent, AppName: parse.Absent,
			ProcID: parse.Absent, MsgID: parse.Absent, SD: parse.Absent, Msg: parse.Absent}},
	{"rfc5424 empty MSG", EventMeta{Peer: "192.0.2.10:50514", TLS: "tcp"},
		func() parse.Message { m := rfc5424(""); m.SD = parse.Absent; return m }()},
	{"newline and forged line", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"},
		rfc5424("login failed\n61\t2026-11-22T10:15:00.000000Z\tloghost-x-1\t10.0.0.1:1\t-\ttcp\trfc5424\t38\t-\t-\t-\t-\t-\t-\tlogin ok")},
	{"ANSI colour", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"}, rfc5424("\x1b[31mALERT\x1b[0m \x1b[2J")},
	{"ANSI cursor save restore", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"}, rfc5424("\x1b7\x1b[1;1Hall good\x1b8 \x1b[s\x1b[A\x1b[u")},
	{"backspace", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"}, rfc5424("user root\b\b\b\bguest logged in")},
	{"NUL", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"}, rfc5424("before\x00after")},
	{"TAB in hostname and MSG", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"},
		func() parse.Message { m := rfc5424("a\tb"); m.Hostname = fv("web\t01"); return m }()},
	{"U+202E right-to-left override", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"}, rfc5424("uploaded invoice\u202Efdp.exe")},
	{"Cyrillic homoglyph admin", EventMeta{Peer: "192.0.2.66:4000", Auth: "\u0430dmin", TLS: "TLS1.3/TLS_AES_256_GCM_SHA384"},
		func() parse.Message { m := rfc5424("login \u0430dmin"); m.AppName = fv("\u0430dmin"); return m }()},
	{"literal %41", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"},
		func() parse.Message { m := rfc5424("100% sure: %41"); m.ProcID = fv("%41"); return m }()},
	{"literal dash", EventMeta{Peer: "192.0.2.66:4000", Auth: "-", TLS: "tcp"},
		parse.Message{Format: parse.FormatRFC3164, PRI: 13, Timestamp: fv("Nov 22 10:15:00"), Hostname: fv("-"), AppName: fv("-"),
			ProcID: parse.Absent, MsgID: parse.Absent, SD: parse.Absent, Msg: fv("-")}},
	{"rfc3164", EventMeta{Peer: "198.51.100.7:514", TLS: "udp"},
		parse.Message{Format: parse.FormatRFC3164, PRI: 86, Timestamp: fv("Nov 22 10:15:00"), Hostname: fv("fw1"), AppName: fv("sshd"),
			ProcID: fv("812"), MsgID: parse.Absent, SD: parse.Absent, Msg: fv("Nov 22 10:15:00 fw1 sshd[812]: Accepted publickey for ops")}},
	{"raw without PRI, truncated and partial", EventMeta{Peer: "198.51.100.7:40000", TLS: "tcp", TruncSize: 70000, Partial: true},
		parse.Message{Format: parse.FormatRaw, PRI: -1, Timestamp: parse.Absent, Hostname: parse.Absent, AppName: parse.Absent,
			ProcID: parse.Absent, MsgID: parse.Absent, SD: parse.Absent, Msg: fv("\xff\xfe garbage \x80\x00")}},
	{"raw with PRI", EventMeta{Peer: "198.51.100.7:40000", TLS: "tcp"},
		parse.Message{Format: parse.FormatRaw, PRI: 191, Timestamp: parse.Absent, Hostname: parse.Absent, AppName: parse.Absent,
			ProcID: parse.Absent, MsgID: parse.Absent, SD: parse.Absent, Msg: fv("not syslog at all")}},
	{"server strings with line breakers", EventMeta{Peer: "[fe80::1%eth0]:514", TLS: "TLS1.3\t\n/x"}, rfc5424("zone id in peer")},
	{"CR LF", EventMeta{Peer: "192.0.2.66:4000", TLS: "tcp"}, rfc5424("line\r\n")},
	{"relp via a balancer", EventMeta{Peer: "192.0.2.5:40001", TLS: "TLS1.3/TLS_AES_128_GCM_SHA256", RELP: true, Via: "10.0.0.9:51000", TruncSize: 70000},
		rfc5424("acknowledged once on disk")},
}

// eventLines returns the lines of eventTests, numbered from one ID
// generator with a fixed start.
func eventLines(t testing.TB) [][]byte {
	g, err := newIDGen("loghost", time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), [4]byte{0x9f, 0x3a, 0x61, 0xc0})
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for i, tt := range eventTests {
		meta := tt.meta
		meta.Time = testTime.Add(time.Duration(i) * time.Millisecond)
		meta.ID = g.AppendID(nil, g.Next())
		lines = append(lines, AppendEvent(nil, &meta, &tt.msg))
	}
	return lines
}

func TestAppendEventGolden(t *testing.T) {
	lines := eventLines(t)
	for i, tt := range eventTests {
		t.Run(tt.name, func(t *testing.T) {
			checkEventLine(t, lines[i], &tt.meta, &tt.msg)
		})
	}
	golden(t, "events.golden", bytes.Join(lines, nil))
}

// checkEventLine checks every invariant of docs/format.md §3.3 on one line.
func checkEventLine(t *testing.T, line []byte, meta *EventMeta, msg *parse.Message) {
	t.Helper()
	if len(line) == 0 || line[len(line)-1] != '\n' {
		t.Fatalf("line %q does not end in LF", line)
	}
	body := line[:len(line)-1]
	if bytes.IndexByte(body, '\n') >= 0 {
		t.Fatalf("line %q has an LF inside", line)
	}
	if err := CheckLine(body, EventColumns); err != nil {
		t.Fatalf("CheckLine(%q): %v", line, err)
	}
	cols := splitColumns(body)
	if n, _ := strconv.Atoi(string(cols[0])); n != len(body)-len(cols[0])-1 {
		t.Fatalf("LEN %s, want %d", cols[0], len(body)-len(cols[0])-1)
	}
	if got, want := string(cols[1]), string(AppendTime(nil, meta.Time)); meta.Time != (time.Time{}) && got != want {
		t.Errorf("TIME: got %q, want %q", got, want)
	}
	if meta.Auth == "" {
		if string(cols[4]) != "-" {
			t.Errorf("AUTH: got %q, want -", cols[4])
		}
	} else if got := decodeColumn(t, cols[4]); got == nil || string(got) != meta.Auth {
		t.Errorf("AUTH: got %q, want %q", got, meta.Auth)
	}
	flags := msg.Format.String()
	if meta.TruncSize > 0 {
		flags += ",trunc=" + strconv.FormatInt(meta.TruncSize, 10)
	}
	if meta.Partial {
		flags += ",partial"
	}
	if meta.RELP {
		flags += ",relp"
	}
	if meta.Via != "" {
		flags += ",via=" + meta.Via
	}
	if string(cols[6]) != flags {
		t.Errorf("FLAGS: got %q, want %q", cols[6], flags)
	}
	pri := "-"
	if msg.PRI >= 0 {
		pri = strconv.Itoa(msg.PRI)
	}
	if string(cols[7]) != pri {
		t.Errorf("PRI: got %q, want %q", cols[7], pri)
	}
	fields := []parse.Field{msg.Timestamp, msg.Hostname, msg.AppName, msg.ProcID, msg.MsgID, msg.SD, msg.Msg}
	for k, f := range fields {
		col := cols[8+k]
		got := decodeColumn(t, col)
		if f.Nil {
			if got != nil {
				t.Errorf("column %d: got %q, want - (absent)", 9+k, col)
			}
			continue
		}
		if got == nil || !bytes.Equal(got, f.Value) {
			t.Errorf("column %d: %q decodes to %q, want %q", 9+k, col, got, f.Value)
		}
	}
}

// decodeColumn decodes a client column; nil means absent ("-").
func decodeColumn(t *testing.T, col []byte) []byte {
	t.Helper()
	if string(col) == "-" {
		return nil
	}
	d, err := Decode([]byte{}, col)
	if err != nil {
		t.Fatalf("Decode(%q): %v", col, err)
	}
	return d
}

// TestAppendEventLenDigits crosses every LEN digit boundary, where the
// body has to move after LEN was guessed.
func TestAppendEventLenDigits(t *testing.T) {
	meta := EventMeta{Time: testTime, ID: []byte("h-1"), Peer: "1.2.3.4:5", TLS: "tcp"}
	for _, n := range []int{0, 1, 5, 50, 80, 90, 900, 990, 9900, 9990, 99000} {
		for _, fill := range []string{"a", "\x00", "a\x00"} {
			msg := parse.Message{Format: parse.FormatRaw, PRI: -1, Timestamp: parse.Absent, Hostname: parse.Absent, AppName: parse.Absent,
				ProcID: parse.Absent, MsgID: parse.Absent, SD: parse.Absent, Msg: fv(string(bytes.Repeat([]byte(fill), n)[:n]))}
			for _, prefix := range [][]byte{nil, []byte("previous line\n")} {
				line := AppendEvent(append([]byte(nil), prefix...), &meta, &msg)
				if !bytes.HasPrefix(line, prefix) {
					t.Fatalf("dst prefix overwritten: got %q", line[:len(prefix)])
				}
				checkEventLine(t, line[len(prefix):], &meta, &msg)
			}
		}
	}
}

func TestAppendEventAllocs(t *testing.T) {
	meta, msg := benchEvent(1024)
	dst := make([]byte, 0, 8192)
	if n := testing.AllocsPerRun(100, func() { dst = AppendEvent(dst[:0], meta, msg) }); n != 0 {
		t.Errorf("got %v allocations per event, want 0", n)
	}
}

func FuzzAppendEvent(f *testing.F) {
	for _, tt := range eventTests {
		m := tt.msg
		f.Add(tt.meta.Auth, m.PRI, int64(tt.meta.TruncSize), tt.meta.Partial, uint8(m.Format),
			m.Timestamp.Value, m.Hostname.Value, m.AppName.Value, m.ProcID.Value, m.MsgID.Value, m.SD.Value, m.Msg.Value, uint8(0))
	}
	f.Fuzz(func(t *testing.T, auth string, pri int, trunc int64, partial bool, format uint8,
		ts, host, app, proc, msgid, sd, msgv []byte, nils uint8) {
		field := func(v []byte, bit uint) parse.Field { return parse.Field{Value: v, Nil: nils&(1<<bit) != 0} }
		msg := parse.Message{Format: parse.Format(format % 3), PRI: pri,
			Timestamp: field(ts, 0), Hostname: field(host, 1), AppName: field(app, 2), ProcID: field(proc, 3),
			MsgID: field(msgid, 4), SD: field(sd, 5), Msg: field(msgv, 6)}
		meta := EventMeta{Time: testTime, ID: []byte("loghost-x-1"), Peer: "192.0.2.1:1", Auth: auth, TLS: "tcp", TruncSize: trunc, Partial: partial}
		line := AppendEvent([]byte("x"), &meta, &msg)[1:]
		checkEventLine(t, line, &meta, &msg)
	})
}

func ExampleAppendEvent() {
	meta := &EventMeta{
		Time: time.Date(2026, 11, 22, 10, 15, 0, 123456000, time.UTC),
		ID:   []byte("loghost-20261122T101500Z.9f3a61c0-1"),
		Peer: "192.0.2.10:50514",
		Auth: "web01",
		TLS:  "TLS1.3/TLS_AES_128_GCM_SHA256",
	}
	msg := &parse.Message{
		Format:    parse.FormatRFC5424,
		PRI:       34,
		Timestamp: parse.Field{Value: []byte("2026-11-22T10:14:59Z")},
		Hostname:  parse.Field{Value: []byte("web01")},
		AppName:   parse.Field{Value: []byte("su")},
		ProcID:    parse.Absent,
		MsgID:     parse.Field{Value: []byte("ID47")},
		SD:        parse.Absent,
		Msg:       parse.Field{Value: []byte("'su root' failed\n\x1b[31mforged")},
	}
	fmt.Printf("%q\n", AppendEvent(nil, meta, msg))
	// Output: "199\t2026-11-22T10:15:00.123456Z\tloghost-20261122T101500Z.9f3a61c0-1\t192.0.2.10:50514\tweb01\tTLS1.3/TLS_AES_128_GCM_SHA256\trfc5424\t34\t2026-11-22T10:14:59Z\tweb01\tsu\t-\tID47\t-\t'su root' failed%0A%1B[31mforged\n"
}

// benchEvent returns a typical RFC 5424 event whose frame is about size
// bytes.
func benchEvent(size int) (*EventMeta, *parse.Message) {
	meta := &EventMeta{Time: testTime, ID: []byte("loghost-20261122T101500Z.9f3a61c0-123456"),
		Peer: "192.0.2.10:50514", Auth: "web01.example.org", TLS: "TLS1.3/TLS_AES_128_GCM_SHA256"}
	m := rfc5424("")
	frame := 4 + 1 + len("1 ") + len(m.Timestamp.Value) + len(m.Hostname.Value) + len(m.AppName.Value) +
		len(m.ProcID.Value) + len(m.MsgID.Value) + len(m.SD.Value) + 7
	text := bytes.Repeat([]byte("user=ops action=login result=ok src=203.0.113.5 "), size/40+1)
	m.Msg = parse.Field{Value: text[:max(size-frame, 10)]}
	return meta, &m
}

func BenchmarkAppendEvent(b *testing.B) {
	for _, size := range []int{200, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			meta, msg := benchEvent(size)
			dst := make([]byte, 0, 8192)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				dst = AppendEvent(dst[:0], meta, msg)
			}
		})
	}
}

// A connection reuses one EventMeta for all its events, and AppendEvent
// keeps the formatted TIME and PEER/AUTH/TLS in it: every change of those
// values must show in the next line exactly as for a fresh meta.
func TestAppendEventReusedMeta(t *testing.T) {
	msg := rfc5424("reused")
	reused := &EventMeta{Time: testTime, ID: []byte("i-1"), Peer: "192.0.2.1:514", Auth: "fw1", TLS: "TLS1.3/TLS_AES_128_GCM_SHA256"}
	steps := []func(m *EventMeta){
		func(m *EventMeta) {},
		func(m *EventMeta) { m.Time = m.Time.Add(time.Microsecond) },
		func(m *EventMeta) { m.ID = []byte("i-2") },
		func(m *EventMeta) { m.Peer = "[2001:db8::1]:6514" },
		func(m *EventMeta) { m.Auth = "" },
		func(m *EventMeta) { m.Auth = "-" },
		func(m *EventMeta) { m.TLS = "tcp" },
		func(m *EventMeta) { m.Time = time.Time{} },
		func(m *EventMeta) { m.Peer, m.Auth, m.TLS = "", "cn\x1b", "" },
	}
	for i, step := range steps {
		step(reused)
		fresh := &EventMeta{Time: reused.Time, ID: reused.ID, Peer: reused.Peer, Auth: reused.Auth, TLS: reused.TLS}
		got, want := AppendEvent(nil, reused, &msg), AppendEvent(nil, fresh, &msg)
		if !bytes.Equal(got, want) {
			t.Fatalf("step %d: reused meta wrote\n%q\nfresh meta writes\n%q", i, got, want)
		}
		checkEventLine(t, got, fresh, &msg)
	}
}
