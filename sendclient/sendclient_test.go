package sendclient

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestFrames: octet counting (RFC 6587 §3.4.1) counts the bytes of the
// message exactly; LF framing ends it with LF; --raw sends MESSAGE as the
// whole frame, bytes untouched.
func TestFrames(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 15, 0, 123456000, time.UTC)
	cfg := Config{Framing: "octet", Format: "rfc5424", Hostname: "web1", AppName: "app", Facility: 4, Severity: 2, pid: 42}
	fr := &framer{cfg: &cfg}
	got := string(fr.appendFrame(nil, []byte("héllo\x1b"), now))
	msg := "<34>1 2026-11-22T10:15:00.123456Z web1 app 42 - - héllo\x1b"
	// 57 bytes: "é" is two.
	if want := "57 " + msg; got != want || len(msg) != 57 {
		t.Errorf("octet frame %q, want %q (%d bytes)", got, want, len(msg))
	}
	cfg.Framing, cfg.Raw = "lf", true
	if got := string(fr.appendFrame(nil, []byte("<13>raw\x00bytes"), now)); got != "<13>raw\x00bytes\n" {
		t.Errorf("raw LF frame %q", got)
	}
	cfg.Raw, cfg.Format, cfg.Hostname = false, "rfc3164", ""
	if got := string(fr.appendFrame(nil, []byte("m"), now)); got != "<34>Nov 22 10:15:00 - app[42]: m\n" {
		t.Errorf("rfc3164 frame %q", got)
	}
}

// TestRefusal words what a server did to a connection: its TLS alert, a
// reset, an early close.
func TestRefusal(t *testing.T) {
	cfg := Config{Server: "log.example:6514"}
	alert := &net.OpError{Op: "remote error", Net: "tcp", Err: errors.New("tls: certificate required")}
	for _, c := range []struct {
		err  error
		want string
	}{
		{alert, "log.example:6514 refused the connection: tls: certificate required"},
		{&net.OpError{Op: "read", Err: errors.New("x")}, "send to log.example:6514"},
	} {
		if got := cfg.refusal(c.err).Error(); !strings.Contains(got, c.want) {
			t.Errorf("refusal(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestSendConfigErrors: bad framing, format or files are configuration
// errors naming the flag.
func TestSendConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		flag string
	}{
		{Config{Framing: "cr", Format: "rfc5424"}, "--framing"},
		{Config{Framing: "lf", Format: "json"}, "--format"},
		{Config{Framing: "lf", Format: "rfc5424", Server: "127.0.0.1:1", CA: "/nonexistent/ca.pem"}, "--ca"},
		{Config{Framing: "lf", Format: "rfc5424", Server: "127.0.0.1:1", Cert: "/nonexistent/c.pem"}, "--tls-key"},
	} {
		err := Send(t.Context(), c.cfg, [][]byte{[]byte("x")}, bytes.NewReader(nil), new(bytes.Buffer))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: got %v, want a configuration error naming %s", c.cfg, err, c.flag)
		}
	}
}
