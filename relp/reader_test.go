package relp

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

type want struct {
	txnr      int
	name      string
	data      string
	size      int64
	truncated bool
	partial   bool
}

var readerTests = []struct {
	name string
	in   string
	max  int
	cmds []want
	err  string // "": clean EOF; "eof": unexpected EOF; else a FrameError reason
}{
	{"open syslog close", "1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n2 syslog 5 hello\n3 close 0\n", 100,
		[]want{{1, "open", "relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog", 86, false, false}, {2, "syslog", "hello", 5, false, false}, {3, "close", "", 0, false, false}}, ""},
	{"data with LF and SP", "1 syslog 7 a b\nc d\n", 100, []want{{1, "syslog", "a b\nc d", 7, false, false}}, ""},
	{"oversize kept and hashed", "1 syslog 10 0123456789\n2 syslog 2 ok\n", 4,
		[]want{{1, "syslog", "0123", 10, true, false}, {2, "syslog", "ok", 2, false, false}}, ""},
	{"txnr 0 not sequenced", "0 hint 0\n1 syslog 1 x\n", 10, []want{{0, "hint", "", 0, false, false}, {1, "syslog", "x", 1, false, false}}, ""},
	{"partial data", "1 syslog 10 01234", 100, []want{{1, "syslog", "01234", 10, false, true}}, ""},
	{"partial oversize", "1 syslog 10 01234", 3, []want{{1, "syslog", "012", 10, false, true}}, ""},
	{"cut in header", "1 sys", 100, nil, "eof"},
	{"cut before trailer", "1 syslog 2 ab", 100, []want{}, "eof"},
	{"out of sequence", "2 syslog 1 x\n", 100, nil, "txnr_sequence"},
	{"repeated txnr", "1 syslog 1 x\n1 syslog 1 y\n", 100, []want{{1, "syslog", "x", 1, false, false}}, "txnr_sequence"},
	{"10-digit txnr", "1234567890 syslog 1 x\n", 100, nil, "malformed_frame"},
	{"10-digit datalen", "1 syslog 1234567890 x\n", 100, nil, "malformed_frame"},
	{"no data separator", "1 syslog 1x\n", 100, nil, "malformed_frame"},
	{"missing trailer", "1 syslog 1 xy", 100, nil, "malformed_frame"},
	{"zero datalen with junk", "1 close 0 \n", 100, nil, "malformed_frame"},
	{"digit in command", "1 sys1og 1 x\n", 100, nil, "malformed_frame"},
	{"empty command", "1  1 x\n", 100, nil, "malformed_frame"},
	{"letter in txnr", "x syslog 1 x\n", 100, nil, "malformed_frame"},
	{"long command", "1 " + strings.Repeat("a", 33) + " 0\n", 100, nil, "malformed_frame"},
	{"octet-counted syslog is not RELP", "12 <13>1 - - - - - -", 100, nil, "malformed_frame"},
}

func TestRELPReader(t *testing.T) {
	for _, tt := range readerTests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), tt.max)
			var i int
			for {
				c, err := r.Next()
				if err != nil {
					checkEnd(t, err, tt.err)
					break
				}
				if i >= len(tt.cmds) {
					t.Fatalf("extra command %+v", c)
				}
				w := tt.cmds[i]
				i++
				if c.Txnr != w.txnr || c.Name != w.name || string(c.Data) != w.data || c.Size != w.size || c.Truncated != w.truncated || c.Partial != w.partial {
					t.Errorf("got {%d %q %q %d trunc=%v partial=%v}, want %+v", c.Txnr, c.Name, c.Data, c.Size, c.Truncated, c.Partial, w)
				}
				if c.Truncated {
					whole := tt.in[strings.Index(tt.in, w.data):][:w.size]
					if c.SHA256 != sha256.Sum256([]byte(whole)) {
						t.Errorf("SHA256 is not the hash of the whole data %q", whole)
					}
				}
			}
			if i != len(tt.cmds) {
				t.Errorf("got %d commands, want %d", i, len(tt.cmds))
			}
		})
	}
}

func checkEnd(t *testing.T, err error, want string) {
	t.Helper()
	var fe *FrameError
	switch {
	case want == "":
		if err != io.EOF {
			t.Errorf("got %v, want a clean io.EOF", err)
		}
	case want == "eof":
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
		}
	case errors.As(err, &fe):
		if fe.Reason != want {
			t.Errorf("got reason %s (%v), want %s", fe.Reason, err, want)
		}
	default:
		t.Errorf("got %v, want a FrameError %s", err, want)
	}
}

func TestRELPTxnrWraps(t *testing.T) {
	r := NewReader(strings.NewReader("999999999 syslog 1 a\n1 syslog 1 b\n"), 10)
	r.next = MaxTxnr
	for _, want := range []int{MaxTxnr, 1} {
		c, err := r.Next()
		if err != nil || c.Txnr != want {
			t.Fatalf("got %d, %v; want %d", c.Txnr, err, want)
		}
	}
}

// A declared length far beyond the maximum costs no memory beyond it.
func TestRELPHugeDatalenBounded(t *testing.T) {
	in := io.MultiReader(strings.NewReader("1 syslog 999999999 "), io.LimitReader(zeros{}, 999999999), strings.NewReader("\n"))
	r := NewReader(in, 1024)
	c, err := r.Next()
	if err != nil || !c.Truncated || len(c.Data) != 1024 || c.Size != 999999999 {
		t.Fatalf("got %d bytes, size %d, truncated %v, %v", len(c.Data), c.Size, c.Truncated, err)
	}
	if cap(r.buf) > 1024 {
		t.Errorf("buffer grew to %d bytes, max 1024", cap(r.buf))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestRELPAppend(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{string(AppendResponse(nil, 7, 200, "OK")), "7 rsp 6 200 OK\n"},
		{string(AppendFrame(nil, 3, "rsp", nil)), "3 rsp 0\n"},
		{string(AppendOpenOK(nil, 1)), "1 rsp 58 200 OK\nrelp_version=0\nrelp_software=sealog\ncommands=syslog\n"},
		{string(ServerClose), "0 serverclose 0\n"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// What the server writes, its own reader reads back.
	r := NewReader(bytes.NewReader(AppendOpenOK(nil, 1)), 100)
	c, err := r.Next()
	if err != nil || c.Name != "rsp" || !bytes.HasPrefix(c.Data, []byte("200 OK\n")) {
		t.Fatalf("got %+v, %v", c, err)
	}
	o := Offers(c.Data[len("200 OK\n"):])
	if o["commands"][0] != "syslog" || o["relp_version"][0] != "0" {
		t.Errorf("offers %v", o)
	}
}

func TestRELPOffers(t *testing.T) {
	o := Offers([]byte("relp_version=0\nrelp_software=librelp,1.11.0,http://x\ncommands=syslog,foo\nflag\n"))
	if got := o["commands"]; len(got) != 2 || got[0] != "syslog" || got[1] != "foo" {
		t.Errorf("commands %q", got)
	}
	if got := o["relp_software"]; len(got) != 3 || got[0] != "librelp" {
		t.Errorf("relp_software %q", got)
	}
	if _, ok := o["flag"]; !ok {
		t.Errorf("name without value lost: %v", o)
	}
}

// Offered says what Offers says about one value, without allocating
// whatever the client's open holds.
func TestRELPOffered(t *testing.T) {
	for _, tt := range []struct {
		data string
		want bool
	}{
		{"relp_version=0\ncommands=syslog", true},
		{"commands=foo,syslog,bar\n", true},
		{"commands=sys\ncommands=syslogx", false},
		{"commands=syslog\ncommands=foo", false}, // the last line counts, as in Offers
		{"commands\nsyslog", false},
		{"", false},
		{"xcommands=syslog", false},
	} {
		if got := Offered([]byte(tt.data), "commands", CmdSyslog); got != tt.want || got != offersHas(tt.data, "syslog") {
			t.Errorf("Offered(%q) = %v, want %v", tt.data, got, tt.want)
		}
	}
	var big []byte
	for i := 0; len(big) < 64<<10; i++ {
		big = fmt.Appendf(big, "offer%d=%d,%d\n", i, i, i)
	}
	big = append(big, "commands=syslog"...)
	if n := testing.AllocsPerRun(10, func() { Offered(big, "commands", CmdSyslog) }); n != 0 {
		t.Errorf("Offered of a 64 KiB open allocates %v times, want 0", n)
	}
}

func offersHas(data, v string) bool {
	for _, x := range Offers([]byte(data))["commands"] {
		if x == v {
			return true
		}
	}
	return false
}
