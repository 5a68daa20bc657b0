package proxyproto

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
)

var (
	src4 = netip.MustParseAddrPort("192.0.2.7:40001")
	dst4 = netip.MustParseAddrPort("10.0.0.1:6514")
	src6 = netip.MustParseAddrPort("[2001:db8::7]:40001")
	dst6 = netip.MustParseAddrPort("[2001:db8::1]:6514")
)

var readTests = []struct {
	name   string
	in     string
	want   Header
	errMsg string // substring of the error; "" = success
}{
	{"v1 tcp4", "PROXY TCP4 192.0.2.7 10.0.0.1 40001 6514\r\n", Header{Version: 1, Source: src4, Dest: dst4}, ""},
	{"v1 tcp6", "PROXY TCP6 2001:db8::7 2001:db8::1 40001 6514\r\n", Header{Version: 1, Source: src6, Dest: dst6}, ""},
	{"v1 unknown", "PROXY UNKNOWN\r\n", Header{Version: 1, Local: true}, ""},
	{"v1 unknown with addresses", "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", Header{Version: 1, Local: true}, ""},
	{"v2 tcp4", string(AppendV2(nil, Header{Source: src4, Dest: dst4})), Header{Version: 2, Source: src4, Dest: dst4}, ""},
	{"v2 tcp6", string(AppendV2(nil, Header{Source: src6, Dest: dst6})), Header{Version: 2, Source: src6, Dest: dst6}, ""},
	{"v2 local", string(AppendV2(nil, Header{Local: true})), Header{Version: 2, Local: true}, ""},
	{"v2 tcp4 with TLVs", string(v2With(0x21, 0x11, append(addr4(), 0x04, 0x00, 0x02, 'h', '2'))), Header{Version: 2, Source: src4, Dest: dst4}, ""},
	{"v2 unspec", string(v2With(0x21, 0x00, nil)), Header{Version: 2, Local: true}, ""},

	{"missing: TLS hello", "\x16\x03\x01\x00\xa5", Header{}, "no PROXY header"},
	{"missing: syslog", "<13>1 - - - - - - hi\n", Header{}, "no PROXY header"},
	{"v1 no CRLF", "PROXY TCP4 192.0.2.7 10.0.0.1 40001 6514\n", Header{}, "CRLF"},
	{"v1 too long", "PROXY TCP4 " + strings.Repeat("1", 200) + "\r\n", Header{}, "longer than"},
	{"v1 not PROXY", "PROXI TCP4 192.0.2.7 10.0.0.1 40001 6514\r\n", Header{}, "PROXY"},
	{"v1 v6 in TCP4", "PROXY TCP4 2001:db8::7 10.0.0.1 40001 6514\r\n", Header{}, "address"},
	{"v1 v4 in TCP6", "PROXY TCP6 192.0.2.7 2001:db8::1 40001 6514\r\n", Header{}, "address"},
	{"v1 zone", "PROXY TCP6 fe80::1%eth0 2001:db8::1 40001 6514\r\n", Header{}, "address"},
	{"v1 port too big", "PROXY TCP4 192.0.2.7 10.0.0.1 65536 6514\r\n", Header{}, "port"},
	{"v1 port leading zero", "PROXY TCP4 192.0.2.7 10.0.0.1 040001 6514\r\n", Header{}, "port"},
	{"v1 double space", "PROXY TCP4  192.0.2.7 10.0.0.1 40001 6514\r\n", Header{}, "fields"},
	{"v1 udp", "PROXY UDP4 192.0.2.7 10.0.0.1 40001 6514\r\n", Header{}, "protocol"},
	{"v1 cut", "PROXY TCP4 192.0.2.7", Header{}, "unexpected EOF"},
	{"v2 bad signature", "\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c", Header{}, "signature"},
	{"v2 version 1", string(v2With(0x11, 0x11, addr4())), Header{}, "version"},
	{"v2 command 2", string(v2With(0x22, 0x11, addr4())), Header{}, "command"},
	{"v2 udp", string(v2With(0x21, 0x12, addr4())), Header{}, "family"},
	{"v2 unix", string(v2With(0x21, 0x31, make([]byte, 216))), Header{}, "family"},
	{"v2 short addresses", string(v2With(0x21, 0x11, addr4()[:8])), Header{}, "12 bytes"},
	{"v2 too long", string(v2With(0x21, 0x11, make([]byte, 2000))), Header{}, "more than"},
	{"v2 cut", string(AppendV2(nil, Header{Source: src4, Dest: dst4}))[:20], Header{}, "unexpected EOF"},
}

func addr4() []byte {
	b := AppendV2(nil, Header{Source: src4, Dest: dst4})
	return b[16:]
}

func v2With(verCmd, fam byte, addr []byte) []byte {
	b := append([]byte{}, v2Sig...)
	b = append(b, verCmd, fam, byte(len(addr)>>8), byte(len(addr)))
	return append(b, addr...)
}

func TestProxyRead(t *testing.T) {
	for _, tt := range readTests {
		t.Run(tt.name, func(t *testing.T) {
			// What follows the header must be left unread.
			const after = "\x16\x03\x01next"
			r := strings.NewReader(tt.in + after)
			h, err := Read(oneByteReader{r})
			if tt.errMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMsg) {
					t.Fatalf("got %+v, %v; want an error with %q", h, err, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h != tt.want {
				t.Errorf("got %+v, want %+v", h, tt.want)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != after {
				t.Errorf("left %q unread, want %q", rest, after)
			}
		})
	}
}

func TestProxyEmpty(t *testing.T) {
	if _, err := Read(strings.NewReader("")); err != io.EOF {
		t.Errorf("got %v, want io.EOF", err)
	}
}

func TestProxyRoundTrip(t *testing.T) {
	for _, h := range []Header{{Source: src4, Dest: dst4}, {Source: src6, Dest: dst6}, {Local: true}} {
		for v, b := range map[int][]byte{1: AppendV1(nil, h), 2: AppendV2(nil, h)} {
			got, err := Read(bytes.NewReader(b))
			h.Version = v
			if err != nil || got != h {
				t.Errorf("v%d %+v: got %+v, %v", v, h, got, err)
			}
		}
	}
}

// oneByteReader hands out one byte per Read, as a slow socket can: the
// header reader must still not read past the header.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func FuzzRead(f *testing.F) {
	for _, tt := range readTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		h, err := Read(r)
		used := len(in) - r.Len()
		if used > MaxV2Size {
			t.Fatalf("read %d bytes, more than any header", used)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if !h.Local && (!h.Source.IsValid() || !h.Dest.IsValid()) {
			t.Fatalf("accepted header without addresses: %+v", h)
		}
		// What was accepted is written back the same way.
		if !h.Local {
			var again []byte
			if h.Version == 1 {
				again = AppendV1(nil, h)
			} else {
				again = AppendV2(nil, h)
			}
			g, err := Read(bytes.NewReader(again))
			if err != nil || g.Source != h.Source || g.Dest != h.Dest {
				t.Fatalf("round trip of %+v: %+v, %v", h, g, err)
			}
		}
	})
}
