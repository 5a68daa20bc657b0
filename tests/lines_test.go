package tests

// Helpers the black-box suite shares for reading what sealog wrote and
// for sending it frames: line and column checks written independently of
// the writer package (docs/format.md §3), the percent-encoding both ways,
// the frame a line came from, and small senders. The server under test
// itself is harness_test.go's.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	bbTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	bbIDRE   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	bbFileRE = regexp.MustCompile(`^(events|security)-\d{8}T\d{6}\.\d{3}Z\.log$`)
	bbHexRE  = regexp.MustCompile(`^[0-9a-f]+$`)
)

// bbCheckLine checks what docs/format.md §3.3/§3.4 require of every line (given
// without its LF): only printable ASCII and TAB, the column count, LEN
// equal to the bytes after the first TAB, TIME with 6 fraction digits,
// and an ID of the allowed alphabet. It returns the problems found.
func bbCheckLine(line string, cols int) []string {
	var probs []string
	for i := 0; i < len(line); i++ {
		if c := line[i]; c != '\t' && (c < 0x20 || c > 0x7E) {
			probs = append(probs, fmt.Sprintf("byte 0x%02x at %d is not printable ASCII", c, i))
			break
		}
	}
	f := strings.Split(line, "\t")
	if len(f) != cols {
		return append(probs, fmt.Sprintf("got %d columns, want %d", len(f), cols))
	}
	if n, err := strconv.Atoi(f[0]); err != nil || n != len(line)-len(f[0])-1 {
		probs = append(probs, fmt.Sprintf("got LEN %q, want %d", f[0], len(line)-len(f[0])-1))
	}
	if !bbTimeRE.MatchString(f[1]) {
		probs = append(probs, fmt.Sprintf("TIME %q does not match %s", f[1], bbTimeRE))
	}
	if cols != 10 && !bbIDRE.MatchString(f[2]) { // seals.log has SEQ there
		probs = append(probs, fmt.Sprintf("ID %q does not match %s", f[2], bbIDRE))
	}
	return probs
}

// bbCheckAll runs bbCheckLine on every complete line of a stream.
func bbCheckAll(t *testing.T, s *Sealog) {
	t.Helper()
	for _, st := range []struct {
		prefix string
		cols   int
	}{{"events", 15}, {"security", 9}} {
		for _, l := range s.lines(st.prefix) {
			if p := bbCheckLine(l, st.cols); len(p) > 0 {
				t.Errorf("%s line %q: %s", st.prefix, l, strings.Join(p, "; "))
			}
		}
	}
}

// pctDecode is the inverse of the percent-encoding of docs/format.md
// §3.2, written independently of the writer package: %XX (uppercase hex)
// becomes the byte, every other byte must be printable ASCII and stays.
func pctDecode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !strings.ContainsRune("0123456789ABCDEF", rune(s[i+1])) ||
				!strings.ContainsRune("0123456789ABCDEF", rune(s[i+2])) {
				return nil, fmt.Errorf("bad escape at %d in %q", i, s)
			}
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			out = append(out, byte(v))
			i += 2
			continue
		}
		if c < 0x20 || c > 0x7E {
			return nil, fmt.Errorf("byte 0x%02x at %d is not printable ASCII", c, i)
		}
		out = append(out, c)
	}
	return out, nil
}

// pctEncode is the percent-encoding of docs/format.md §3.2, written
// independently of the writer package: 0x00–0x1F, '%' and 0x7F–0xFF as
// %XX, every other byte as it is.
func pctEncode(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '%' || c >= 0x7F {
			fmt.Fprintf(&sb, "%%%02X", c)
		} else {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// pctColumn is how a client value that is present stands in its column:
// pctEncode, except that a value that is literally "-" is %2D (a lone "-"
// means the value is absent).
func pctColumn(s string) string {
	if s == "-" {
		return "%2D"
	}
	return pctEncode(s)
}

// bbFrame rebuilds the frame a client sent from columns 8–15 of an
// events line (docs/format.md §3.3): the full RFC 5424 frame for rfc5424 lines,
// "<PRI>" + MSG for rfc3164 and raw lines.
func bbFrame(cols []string) ([]byte, error) {
	if len(cols) != 15 {
		return nil, fmt.Errorf("got %d columns, want 15", len(cols))
	}
	flags := strings.Split(cols[6], ",")
	var out []byte
	dec := func(s string) error {
		b, err := pctDecode(s)
		out = append(out, b...)
		return err
	}
	if cols[7] != "-" {
		out = append(out, '<')
		out = append(out, cols[7]...)
		out = append(out, '>')
	}
	if flags[0] != "rfc5424" {
		if cols[14] == "-" {
			return out, nil
		}
		return out, dec(cols[14])
	}
	out = append(out, "1 "...)
	for i := 8; i <= 13; i++ {
		if err := dec(cols[i]); err != nil {
			return nil, err
		}
		if i < 13 {
			out = append(out, ' ')
		}
	}
	if cols[14] != "-" { // "-" is "no MSG"; a literal "-" is %2D
		out = append(out, ' ')
		if err := dec(cols[14]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bbDetail decodes the DETAIL column of a security line.
func bbDetail(t *testing.T, l []string) map[string]any {
	t.Helper()
	var m map[string]any
	if len(l) != 9 {
		t.Fatalf("security line has %d columns, want 9: %q", len(l), l)
	}
	if err := json.Unmarshal([]byte(l[8]), &m); err != nil {
		t.Fatalf("DETAIL %q is not a JSON object: %v", l[8], err)
	}
	return m
}

// bbSec waits for the security lines with PEER peer and ACTION action.
func bbSec(t *testing.T, s *Sealog, peer, action string) [][]string {
	t.Helper()
	return s.WaitLines(t, "security", 1, action+" from "+peer, func(l []string) bool {
		return len(l) == 9 && l[3] == peer && l[6] == action
	})
}

// bbOctet frames messages with octet counting (RFC 6587 §3.4.1).
func bbOctet(frames ...string) []byte {
	var b bytes.Buffer
	for _, f := range frames {
		fmt.Fprintf(&b, "%d %s", len(f), f)
	}
	return b.Bytes()
}

// bbMsg is a well-formed RFC 5424 frame with the given MSG.
func bbMsg(msg string) string { return "<34>1 2026-11-22T10:15:00.000Z host app 42 ID47 - " + msg }

// bbRun runs the binary with a timeout, so a command that wrongly starts
// serving fails the test instead of hanging it.
func bbRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sealogBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sealog %q still running after 20s:\n%s", args, e.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// bbDialTLS opens TCP, remembers the local address (the PEER column the
// server will write) and runs a TLS handshake with cfg; a TLS 1.3 client
// learns that the server refused its certificate only on the first read,
// so it reads once.
func bbDialTLS(t *testing.T, addr string, cfg *tls.Config) (peer string, err error) {
	t.Helper()
	nc, derr := net.DialTimeout("tcp", addr, 5*time.Second)
	if derr != nil {
		t.Fatal(derr)
	}
	defer nc.Close()
	peer = nc.LocalAddr().String()
	tc := tls.Client(nc, cfg)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err = tc.Handshake(); err != nil {
		return peer, err
	}
	_, err = tc.Read(make([]byte, 1))
	return peer, err
}

// bbEventsFrom returns the event lines whose PEER is peer.
func bbEventsFrom(s *Sealog, peer string) [][]string {
	return s.Matching("events", bbFromPeer(peer))
}

func bbFromPeer(peer string) func(l []string) bool {
	return func(l []string) bool { return len(l) == 15 && l[3] == peer }
}

// bbWaitFrom waits for n event lines from peer.
func bbWaitFrom(t *testing.T, s *Sealog, peer string, n int) [][]string {
	t.Helper()
	s.WaitLines(t, "events", n, "events from "+peer, bbFromPeer(peer))
	time.Sleep(100 * time.Millisecond) // anything extra shows up too
	return bbEventsFrom(s, peer)
}

func bbHasFlag(cols []string, flag string) bool {
	for _, f := range strings.Split(cols[6], ",") {
		if f == flag {
			return true
		}
	}
	return false
}

// bbSendRaw writes chunks on a fresh mutual-TLS connection (each chunk is
// one Write, i.e. one TLS record), then either closes carefully
// (close_notify, wait for the server) or abruptly.
func bbSendRaw(t *testing.T, s *Sealog, careful bool, chunks ...[]byte) string {
	t.Helper()
	c := s.Dial(t)
	peer := c.LocalAddr().String()
	for _, ch := range chunks {
		if _, err := c.Write(ch); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if careful {
		closeAndDrain(c)
	} else {
		c.Close()
	}
	return peer
}
