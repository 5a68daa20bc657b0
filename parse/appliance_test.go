package parse

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The appliance corpus: message shapes of network
// appliances and log forwarders, each written from the vendor's public
// documented format, in testdata/appliance/VENDOR.txt. The columns an
// operator expects (format, host, app, pid where the format has them)
// are in VENDOR.golden, reviewed by hand; `go test ./parse -run
// TestApplianceCorpus -update` rewrites them from the parser, after
// which the diff must be read, not just committed.

type applianceEntry struct {
	vendor, title string
	frame         []byte
}

// applianceCorpus reads every testdata/appliance/*.txt: "#" comments and
// "title<TAB>Go-quoted frame" lines.
func applianceCorpus(t testing.TB) map[string][]applianceEntry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "appliance", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no appliance corpus: %v", err)
	}
	out := make(map[string][]applianceEntry)
	for _, name := range files {
		vendor := strings.TrimSuffix(filepath.Base(name), ".txt")
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if line == "" || line[0] == '#' {
				continue
			}
			title, quoted, ok := strings.Cut(line, "\t")
			if !ok {
				t.Fatalf("%s:%d: no TAB", name, n)
			}
			frame, err := strconv.Unquote(quoted)
			if err != nil {
				t.Fatalf("%s:%d: %v", name, n, err)
			}
			out[vendor] = append(out[vendor], applianceEntry{vendor, title, []byte(frame)})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// applianceColumns renders what an operator sees of a parsed frame: the
// columns 7–15 of docs/format.md §3.3 before encoding ("-" absent, else quoted).
func applianceColumns(e applianceEntry, m Message) string {
	var b strings.Builder
	b.WriteString("## " + e.title + "\n")
	b.WriteString("frame:     " + strconv.Quote(string(e.frame)) + "\n")
	b.WriteString("format:    " + m.Format.String() + "\n")
	b.WriteString("pri:       " + strconv.Itoa(m.PRI) + "\n")
	for _, c := range []struct {
		name string
		f    Field
	}{
		{"timestamp", m.Timestamp}, {"hostname", m.Hostname}, {"app_name", m.AppName},
		{"procid", m.ProcID}, {"msgid", m.MsgID}, {"sd", m.SD}, {"msg", m.Msg},
	} {
		v := "-"
		if !c.f.Nil {
			v = strconv.Quote(string(c.f.Value))
		}
		b.WriteString(c.name + ":" + strings.Repeat(" ", 10-len(c.name)) + v + "\n")
	}
	return b.String()
}

// TestApplianceCorpus parses every appliance frame, compares the columns
// with the golden file and checks that AppendFrame gives back the
// frame's bytes (the original stays reproducible, docs/format.md §3.3).
func TestApplianceCorpus(t *testing.T) {
	for vendor, entries := range applianceCorpus(t) {
		t.Run(vendor, func(t *testing.T) {
			goldenFile := filepath.Join("testdata", "appliance", vendor+".golden")
			var got strings.Builder
			p := NewParser()
			for _, e := range entries {
				m := p.Parse(e.frame)
				if back := m.AppendFrame(nil); !bytes.Equal(back, e.frame) {
					t.Errorf("%s: AppendFrame got %q, want %q", e.title, back, e.frame)
				}
				got.WriteString(applianceColumns(e, m))
				got.WriteString("\n")
			}
			if *update {
				if err := os.WriteFile(goldenFile, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			gotBlocks := strings.Split(got.String(), "\n\n")
			wantBlocks := strings.Split(string(want), "\n\n")
			for i := 0; i < len(gotBlocks) || i < len(wantBlocks); i++ {
				var g, w string
				if i < len(gotBlocks) {
					g = gotBlocks[i]
				}
				if i < len(wantBlocks) {
					w = wantBlocks[i]
				}
				if g != w {
					t.Errorf("entry %d:\ngot:\n%s\nwant:\n%s", i+1, g, w)
				}
			}
		})
	}
}

// TestApplianceOperatorColumns states, for the shapes of that corpus, the
// columns an operator relies on, independently of the golden files (so
// an -update cannot quietly accept a regression in them).
func TestApplianceOperatorColumns(t *testing.T) {
	all := applianceCorpus(t)
	find := func(vendor, title string) []byte {
		for _, e := range all[vendor] {
			if e.title == title {
				return e.frame
			}
		}
		t.Fatalf("no %s entry %q", vendor, title)
		return nil
	}
	abs := "-"
	tests := []struct {
		vendor, title                       string
		format                              Format
		pri                                 int
		timestamp, host, app, procid, msgid string
	}{
		// A message without PRI is raw, whole, with no PRI.
		{"journald-rsyslog", "no PRI (local socket line relayed as is)", FormatRaw, -1, abs, abs, abs, abs, abs},
		// A year in the timestamp is not RFC 3164: raw, PRI taken.
		{"cisco-asa", "year and device-id", FormatRaw, 164, abs, abs, abs, abs, abs},
		// A timezone: RFC 5424 keeps the offset in TIMESTAMP.
		{"juniper", "SRX session create, structured, timezone", FormatRFC5424, 14, "2026-11-22T10:15:00.123+01:00", "srx01", "RT_FLOW", abs, "RT_FLOW_SESSION_CREATE"},
		// No hostname: the TAG is not taken for a host.
		{"pfsense", "pfSense BSD, no hostname", FormatRFC3164, 134, "Nov 22 10:15:00", abs, "filterlog", "12345", abs},
		{"cisco-asa", "RFC 3164 header from a relay, no hostname", FormatRFC3164, 166, "Nov 22 10:15:03", abs, "%ASA-6-302013", abs, abs},
		{"cisco-asa", "RFC 3164 header from a relay, device-id", FormatRFC3164, 166, "Nov 22 10:15:02", "asa01", "%ASA-6-305011", abs, abs},
		// Non-ASCII bytes stay in MSG (UTF-8 after a BOM, and Latin-1).
		{"windows-nxlog", "failed logon 4625, German, non-ASCII", FormatRFC5424, 13, "2026-11-22T10:15:01.000000+01:00", "WIN-DC01", "Microsoft-Windows-Security-Auditing", "636", abs},
		{"journald-rsyslog", "non-UTF-8 byte (Latin-1)", FormatRFC3164, 13, "Nov 22 10:15:04", "web01", "legacy-app", "99", abs},
		{"journald-rsyslog", "TraditionalForward", FormatRFC3164, 30, "Nov 22 10:15:00", "web01", "systemd", "1", abs},
		{"journald-rsyslog", "TraditionalForward of an RFC 5424 message", FormatRFC3164, 38, "Nov 22 10:15:01", "web01", "sshd", "4242", abs},
		{"journald-rsyslog", "single-digit day", FormatRFC3164, 13, "Nov  2 10:15:05", "web01", "CRON", "1234", abs},
		{"juniper", "SD value with escaped quote and bracket", FormatRFC5424, 189, "2026-11-22T10:15:02.000Z", "mx01", "mgd", "12345", "UI_CMDLINE_READ_LINE"},
		{"juniper", "standard format (BSD)", FormatRFC3164, 28, "Nov 22 10:15:03", "mx01", "mib2d", "1234", abs},
		{"mikrotik", "bsd-syslog", FormatRFC3164, 30, "Nov 22 10:15:00", "MikroTik", abs, abs, abs},
		{"paloalto", "traffic, BSD", FormatRFC3164, 14, "Nov 22 10:15:00", "PA-VM", abs, abs, abs},
		{"f5", "iRule log", FormatRFC3164, 182, "Nov 22 10:15:00", "bigip1", abs, abs, abs},
		{"fortigate", "traffic forward", FormatRaw, 189, abs, abs, abs, abs, abs},
		{"cisco-ios", "sequence number, timezone, no hostname", FormatRaw, 189, abs, abs, abs, abs, abs},
	}
	col := func(f Field) string {
		if f.Nil {
			return "-"
		}
		return string(f.Value)
	}
	p := NewParser()
	for _, tt := range tests {
		t.Run(tt.vendor+"/"+tt.title, func(t *testing.T) {
			frame := find(tt.vendor, tt.title)
			m := p.Parse(frame)
			if m.Format != tt.format {
				t.Errorf("got format %s, want %s", m.Format, tt.format)
			}
			if m.PRI != tt.pri {
				t.Errorf("got PRI %d, want %d", m.PRI, tt.pri)
			}
			for _, c := range []struct{ name, got, want string }{
				{"timestamp", col(m.Timestamp), tt.timestamp}, {"hostname", col(m.Hostname), tt.host},
				{"app_name", col(m.AppName), tt.app}, {"procid", col(m.ProcID), tt.procid}, {"msgid", col(m.MsgID), tt.msgid},
			} {
				if c.got != c.want {
					t.Errorf("got %s %q, want %q", c.name, c.got, c.want)
				}
			}
			// RFC 3164 and raw keep the whole frame after the PRI in MSG.
			if m.Format != FormatRFC5424 {
				rest := frame
				if m.PRI >= 0 {
					rest = frame[bytes.IndexByte(frame, '>')+1:]
				}
				if !bytes.Equal(m.Msg.Value, rest) {
					t.Errorf("got MSG %q, want %q", m.Msg.Value, rest)
				}
			}
		})
	}
}

// FuzzApplianceParse starts from the appliance corpus. For any input,
// AppendFrame rebuilds the frame exactly, and every present field is a
// piece of the frame (the columns are verbatim, docs/format.md §3.3).
func FuzzApplianceParse(f *testing.F) {
	for _, entries := range applianceCorpus(f) {
		for _, e := range entries {
			f.Add(e.frame)
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m := NewParser().Parse(frame)
		if back := m.AppendFrame(nil); !bytes.Equal(back, frame) {
			t.Fatalf("AppendFrame got %q, want %q", back, frame)
		}
		for _, fl := range []Field{m.Timestamp, m.Hostname, m.AppName, m.ProcID, m.MsgID, m.SD, m.Msg} {
			if !fl.Nil && !bytes.Contains(frame, fl.Value) {
				t.Fatalf("field %q is not in frame %q", fl.Value, frame)
			}
		}
		if m.Format != FormatRFC5424 && (!m.MsgID.Nil || !m.SD.Nil) {
			t.Fatalf("%s frame with MSGID or SD: %q", m.Format, frame)
		}
	})
}
