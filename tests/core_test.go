package tests

// Black-box suite for SPEC §1–§3 and §5 (issues 2 and 3): this file holds
// the client, injection, framing, listener, command-line, session-ticket,
// ID and graceful-stop tests, plus the small helpers (prefix bb) the
// other files of the suite share. Everything is checked from the outside:
// the bytes in the files, the exit statuses, the security events.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealog/sealog/devpki"
)

var (
	bbTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	bbIDRE   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	bbFileRE = regexp.MustCompile(`^(events|security)-\d{8}T\d{6}\.\d{3}Z\.log$`)
	bbHexRE  = regexp.MustCompile(`^[0-9a-f]+$`)
)

// bbCheckLine checks what SPEC §3.3/§3.4 require of every line (given
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

// bbDecode is the inverse of the percent-encoding of SPEC §3.2, written
// independently of the writer package: %XX (uppercase hex) becomes the
// byte, every other byte must be printable ASCII and stays.
func bbDecode(s string) ([]byte, error) {
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

// bbEncode is SPEC §3.2 for one client value: 0x00–0x1F, '%' and
// 0x7F–0xFF as %XX, a value that is literally "-" as %2D.
func bbEncode(b []byte) string {
	if string(b) == "-" {
		return "%2D"
	}
	var sb strings.Builder
	for _, c := range b {
		if c < 0x20 || c == '%' || c >= 0x7F {
			fmt.Fprintf(&sb, "%%%02X", c)
		} else {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// bbFrame rebuilds the frame a client sent from columns 8–15 of an
// events line (SPEC §3.3): the full RFC 5424 frame for rfc5424 lines,
// "<PRI>" + MSG for rfc3164 and raw lines.
func bbFrame(cols []string) ([]byte, error) {
	if len(cols) != 15 {
		return nil, fmt.Errorf("got %d columns, want 15", len(cols))
	}
	flags := strings.Split(cols[6], ",")
	var out []byte
	dec := func(s string) error {
		b, err := bbDecode(s)
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

// bbWait polls until pick returns something non-empty from the lines of
// a stream (cols 9: security, 15: events), or fails after 15 s.
func bbWait(t *testing.T, s *Sealog, security bool, what string, pick func(l []string) bool) [][]string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var all, got [][]string
		if security {
			all = s.Security()
		} else {
			all = s.Events()
		}
		for _, l := range all {
			if pick(l) {
				got = append(got, l)
			}
		}
		if len(got) > 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line for %s after 15s; security:\n%s\nstderr:\n%s", what,
				strings.Join(s.lines("security"), "\n"), s.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bbSec waits for the security lines with PEER peer and ACTION action.
func bbSec(t *testing.T, s *Sealog, peer, action string) [][]string {
	t.Helper()
	return bbWait(t, s, true, action+" from "+peer, func(l []string) bool {
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

// bbSelfSigned writes a self-signed client certificate that no CA the
// server trusts has signed (a rogue client).
func bbSelfSigned(t *testing.T, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: cn},
		DNSNames: []string{cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "rogue.pem"), filepath.Join(dir, "rogue-key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func bbLoadCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCoreClients: one TLS client behaviour per case against a fresh
// server; each is found in the security file by its PEER address and
// checked column by column (SPEC §3.4).
func TestCoreClients(t *testing.T) {
	type result struct {
		action, reason string
		auth           string // want AUTH; "" = don't care
	}
	cases := []struct {
		name  string
		flags []string
		// client connects and returns its local address
		client func(t *testing.T, s *Sealog) string
		want   []result
	}{
		{"good", nil, func(t *testing.T, s *Sealog) string {
			c := s.Dial(t)
			peer := c.LocalAddr().String()
			c.Write(bbOctet(bbMsg("good 1"), bbMsg("good 2")))
			closeAndDrain(c)
			return peer
		}, []result{{"connect", "", "client.example.test"}, {"disconnect", "", "client.example.test"}}},
		{"rogue self-signed", nil, func(t *testing.T, s *Sealog) string {
			cf, kf := bbSelfSigned(t, "client.example.test")
			cfg := s.PKI.ClientTLS(t, cf, kf)
			// Go's client only offers a certificate from a CA the server
			// names; a rogue client offers its own anyway.
			rogue := cfg.Certificates[0]
			cfg.Certificates = nil
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &rogue, nil }
			peer, _ := bbDialTLS(t, s.Addr, cfg)
			return peer
		}, []result{{"tls_handshake_failed", "unknown_ca", ""}}},
		{"expired", nil, func(t *testing.T, s *Sealog) string {
			cf, kf := s.PKI.Issue(t, "expired", devpki.CertSpec{CN: "old.example.test", DNSNames: []string{"old.example.test"},
				NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
			peer, _ := bbDialTLS(t, s.Addr, s.PKI.ClientTLS(t, cf, kf))
			return peer
		}, []result{{"tls_handshake_failed", "expired", ""}}},
		{"no certificate", nil, func(t *testing.T, s *Sealog) string {
			peer, _ := bbDialTLS(t, s.Addr, s.PKI.ClientTLS(t, "", ""))
			return peer
		}, []result{{"tls_handshake_failed", "no_certificate", ""}}},
		{"wrong CN with permitted-peer", []string{"--permitted-peer", "*.example.test"}, func(t *testing.T, s *Sealog) string {
			cf, kf := s.PKI.Issue(t, "intruder", devpki.CertSpec{CN: "intruder.evil.test", DNSNames: []string{"intruder.evil.test"}})
			peer, _ := bbDialTLS(t, s.Addr, s.PKI.ClientTLS(t, cf, kf))
			return peer
		}, []result{{"tls_handshake_failed", "peer_not_permitted", ""}, {"peer_denied", "peer_not_permitted", ""}}},
		{"wildcard is one label only", []string{"--permitted-peer", "*.example.test"}, func(t *testing.T, s *Sealog) string {
			cf, kf := s.PKI.Issue(t, "deep", devpki.CertSpec{CN: "a.b.example.test", DNSNames: []string{"a.b.example.test"}})
			peer, _ := bbDialTLS(t, s.Addr, s.PKI.ClientTLS(t, cf, kf))
			return peer
		}, []result{{"peer_denied", "peer_not_permitted", ""}}},
		{"wildcard admits client.example.test", []string{"--permitted-peer", "*.example.test"}, func(t *testing.T, s *Sealog) string {
			c := s.Dial(t)
			peer := c.LocalAddr().String()
			c.Write(bbOctet(bbMsg("wildcard")))
			closeAndDrain(c)
			return peer
		}, []result{{"connect", "", "client.example.test"}, {"disconnect", "", "client.example.test"}}},
		{"plain text on the TLS port", nil, func(t *testing.T, s *Sealog) string {
			nc, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.Write([]byte("<34>1 2026-11-22T10:15:00Z host app - - - plain text\n"))
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, nc)
			return nc.LocalAddr().String()
		}, []result{{"tls_handshake_failed", "not_tls", ""}}},
		{"connect and close before any byte", nil, func(t *testing.T, s *Sealog) string {
			nc, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			nc.Close()
			return nc.LocalAddr().String()
		}, []result{{"tls_handshake_failed", "eof", ""}}},
		{"TLS 1.2 client, min version 1.3", []string{"--tls-min-version", "1.3"}, func(t *testing.T, s *Sealog) string {
			cfg := s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey)
			cfg.MaxVersion = tls.VersionTLS12
			peer, err := bbDialTLS(t, s.Addr, cfg)
			if err == nil {
				t.Errorf("TLS 1.2 client: got a connection, want a refusal")
			}
			return peer
		}, []result{{"tls_handshake_failed", "protocol_version", ""}}},
		{"client that never speaks", []string{"--handshake-timeout", "1s"}, func(t *testing.T, s *Sealog) string {
			nc, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			start := time.Now()
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			io.Copy(io.Discard, nc) // the server closes after 1s
			if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
				t.Errorf("silent client closed after %v, want about 1s", d)
			}
			return nc.LocalAddr().String()
		}, []result{{"tls_handshake_failed", "timeout", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startSealog(t, tc.flags...)
			peer := tc.client(t, s)
			for _, w := range tc.want {
				l := bbSec(t, s, peer, w.action)[0]
				d := bbDetail(t, l)
				if w.reason != "" && d["reason"] != w.reason {
					t.Errorf("%s: got reason %v, want %q (DETAIL %s)", w.action, d["reason"], w.reason, l[8])
				}
				if w.auth != "" && l[4] != w.auth {
					t.Errorf("%s: got AUTH %q, want %q", w.action, l[4], w.auth)
				}
				switch w.action {
				case "tls_handshake_failed":
					if l[7] != "failure" {
						t.Errorf("got RESULT %q, want failure", l[7])
					}
					if e, _ := d["error"].(string); e == "" {
						t.Errorf("tls_handshake_failed without Go's error text: %s", l[8])
					}
				case "peer_denied":
					if l[7] != "failure" {
						t.Errorf("got RESULT %q, want failure", l[7])
					}
				case "connect":
					bbCheckConnect(t, s, l, d)
				case "disconnect":
					if !strings.HasPrefix(l[5], "TLS1.") {
						t.Errorf("disconnect: got TLS %q, want version/cipher", l[5])
					}
					if n, ok := d["messages"].(float64); !ok || n < 1 {
						t.Errorf("disconnect: got messages %v, want a JSON number ≥ 1", d["messages"])
					}
					for _, k := range []string{"bytes", "duration_ms"} {
						if _, ok := d[k].(float64); !ok {
							t.Errorf("disconnect: got %s %v, want a JSON number", k, d[k])
						}
					}
				}
			}
			if tc.want[0].action != "connect" {
				// A refused client writes no events and no connect success.
				for _, l := range s.Security() {
					if len(l) == 9 && l[3] == peer && l[6] == "connect" && l[7] == "success" {
						t.Errorf("refused client has a connect success: %q", l)
					}
				}
			}
			bbCheckAll(t, s)
		})
	}
}

// bbCheckConnect checks a connect success line against the client
// certificate the harness issued (SPEC §3.4 DETAIL keys).
func bbCheckConnect(t *testing.T, s *Sealog, l []string, d map[string]any) {
	t.Helper()
	cert := bbLoadCert(t, s.PKI.ClientCert)
	if l[7] != "success" {
		t.Errorf("connect: got RESULT %q, want success", l[7])
	}
	if !regexp.MustCompile(`^TLS1\.[23]/TLS_[A-Z0-9_]+$`).MatchString(l[5]) {
		t.Errorf("connect: got TLS %q, want e.g. TLS1.3/TLS_AES_128_GCM_SHA256", l[5])
	}
	sum := sha256.Sum256(cert.Raw)
	want := map[string]string{
		"serial":             hex.EncodeToString(cert.SerialNumber.Bytes()),
		"fingerprint_sha256": hex.EncodeToString(sum[:]),
		"not_after":          cert.NotAfter.UTC().Format("2006-01-02T15:04:05.000000Z"),
	}
	for k, v := range want {
		if got, _ := d[k].(string); got != v {
			t.Errorf("connect: got %s %q, want %q", k, got, v)
		}
	}
	if sub, _ := d["subject"].(string); !strings.Contains(sub, "CN=client.example.test") {
		t.Errorf("connect: got subject %q, want it to name CN=client.example.test", sub)
	}
	if iss, _ := d["issuer"].(string); !strings.Contains(iss, "sealog test CA") {
		t.Errorf("connect: got issuer %q, want the test CA", iss)
	}
}

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
		out = append(out, bbInjection{m.name, bbMsg(m.msg), "rfc5424", 14, bbEncode([]byte(m.msg))})
	}
	sd := "[ex@32473 a=\"\x1b[31m\u202e%41\" b=\"\u0430dmin\"]"
	out = append(out,
		bbInjection{"hostile SD", "<34>1 2026-11-22T10:15:00Z host app 42 ID47 " + sd + " msg", "rfc5424", 13, bbEncode([]byte(sd))},
		bbInjection{"NILVALUE APP-NAME", "<34>1 2026-11-22T10:15:00Z host - 42 ID47 - msg", "rfc5424", 10, "-"},
		bbInjection{"no MSG", "<34>1 - - - - - -", "rfc5424", 14, "-"},
		bbInjection{"empty MSG", "<34>1 - - - - - - ", "rfc5424", 14, ""},
		bbInjection{"literal - as APP-NAME (RFC 3164 TAG)", "<13>Oct 11 22:14:15 host -: dash tag", "rfc3164", 10, "%2D"},
	)
	return out
}

// TestCoreInjection sends each hostile payload in its own frame and checks
// that each arrives as exactly one line of printable ASCII with 15
// columns and a correct LEN, encoded as SPEC §3.2 says, and that columns
// 8–15 give back the frame byte for byte (SPEC §3.3).
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

// bbEventsFrom returns the event lines whose PEER is peer.
func bbEventsFrom(s *Sealog, peer string) [][]string {
	var out [][]string
	for _, l := range s.Events() {
		if len(l) == 15 && l[3] == peer {
			out = append(out, l)
		}
	}
	return out
}

// bbWaitFrom waits for n event lines from peer.
func bbWaitFrom(t *testing.T, s *Sealog, peer string, n int) [][]string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ev := bbEventsFrom(s, peer)
		if len(ev) >= n {
			time.Sleep(100 * time.Millisecond) // anything extra shows up too
			return bbEventsFrom(s, peer)
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d event lines from %s, want %d; stderr:\n%s", len(ev), peer, n, s.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// TestCoreFraming covers SPEC §2 framing: both framings, coalesced and
// split frames, partial frames, oversized frames, malformed counts, and
// the three parse outcomes.
func TestCoreFraming(t *testing.T) {
	s := startSealog(t, "--max-message-size", "10240")

	t.Run("octet counting, many frames in one write", func(t *testing.T) {
		var fr []string
		for i := 0; i < 50; i++ {
			fr = append(fr, bbMsg(fmt.Sprintf("coalesced %d", i)))
		}
		peer := bbSendRaw(t, s, true, bbOctet(fr...))
		ev := bbWaitFrom(t, s, peer, 50)
		if len(ev) != 50 {
			t.Fatalf("got %d lines, want 50", len(ev))
		}
		for i, l := range ev {
			if got, _ := bbFrame(l); string(got) != fr[i] {
				t.Errorf("line %d: got frame %q, want %q", i, got, fr[i])
			}
		}
	})
	t.Run("octet counting, one frame split over many writes", func(t *testing.T) {
		f := bbMsg("split " + strings.Repeat("x", 300))
		data := bbOctet(f, bbMsg("after split"))
		var chunks [][]byte
		for i := 0; i < len(data); i += 7 {
			chunks = append(chunks, data[i:min(i+7, len(data))])
		}
		c := s.Dial(t)
		peer := c.LocalAddr().String()
		for _, ch := range chunks {
			c.Write(ch)
			time.Sleep(time.Millisecond)
		}
		closeAndDrain(c)
		ev := bbWaitFrom(t, s, peer, 2)
		if len(ev) != 2 {
			t.Fatalf("got %d lines, want 2", len(ev))
		}
		if got, _ := bbFrame(ev[0]); string(got) != f {
			t.Errorf("got frame %q, want %q", got, f)
		}
		if bbHasFlag(ev[0], "partial") {
			t.Errorf("a complete frame is flagged partial: %q", ev[0][6])
		}
	})
	t.Run("LF framing, CR kept", func(t *testing.T) {
		a, b := bbMsg("lf one"), bbMsg("lf two\r")
		peer := bbSendRaw(t, s, true, []byte(a+"\n"+b+"\n"))
		ev := bbWaitFrom(t, s, peer, 2)
		if len(ev) != 2 {
			t.Fatalf("got %d lines, want 2", len(ev))
		}
		if got, _ := bbFrame(ev[0]); string(got) != a {
			t.Errorf("got frame %q, want %q", got, a)
		}
		if ev[1][14] != "lf two%0D" {
			t.Errorf("got MSG %q, want %q", ev[1][14], "lf two%0D")
		}
	})
	t.Run("partial octet frame at EOF", func(t *testing.T) {
		f := bbMsg("cut short here")
		peer := bbSendRaw(t, s, false, []byte(fmt.Sprintf("%d %s", len(f)+50, f)))
		ev := bbWaitFrom(t, s, peer, 1)
		if len(ev) != 1 || !bbHasFlag(ev[0], "partial") {
			t.Fatalf("got %q, want one line flagged partial", ev)
		}
		if got, _ := bbFrame(ev[0]); string(got) != f {
			t.Errorf("got frame %q, want %q", got, f)
		}
	})
	t.Run("partial LF frame at EOF", func(t *testing.T) {
		f := bbMsg("no newline at the end")
		peer := bbSendRaw(t, s, false, []byte(f))
		ev := bbWaitFrom(t, s, peer, 1)
		if len(ev) != 1 || !bbHasFlag(ev[0], "partial") {
			t.Fatalf("got %q, want one line flagged partial", ev)
		}
	})
	for _, lf := range []bool{false, true} {
		name := "oversized octet frame"
		if lf {
			name = "oversized LF frame"
		}
		t.Run(name, func(t *testing.T) {
			big := bbMsg("big " + strings.Repeat("0123456789", 1500)) // 15000+ bytes
			next := bbMsg("next frame intact")
			var data []byte
			if lf {
				data = []byte(big + "\n" + next + "\n")
			} else {
				data = bbOctet(big, next)
			}
			peer := bbSendRaw(t, s, true, data)
			ev := bbWaitFrom(t, s, peer, 2)
			if len(ev) != 2 {
				t.Fatalf("got %d lines, want 2 (an oversized frame must not split)", len(ev))
			}
			if !bbHasFlag(ev[0], fmt.Sprintf("trunc=%d", len(big))) {
				t.Errorf("got FLAGS %q, want trunc=%d", ev[0][6], len(big))
			}
			got, err := bbFrame(ev[0])
			if err != nil || string(got) != big[:10240] {
				t.Errorf("kept %d bytes (err %v), want the first 10240 of the frame", len(got), err)
			}
			if got, _ := bbFrame(ev[1]); string(got) != next {
				t.Errorf("next frame: got %q, want %q", got, next)
			}
			if len(ev[1][6]) > 0 && strings.Contains(ev[1][6], "trunc") {
				t.Errorf("next frame flagged %q", ev[1][6])
			}
			o := bbSec(t, s, peer, "oversized")[0]
			d := bbDetail(t, o)
			sum := sha256.Sum256([]byte(big))
			if d["ref"] != ev[0][2] {
				t.Errorf("oversized: got ref %v, want the event ID %q", d["ref"], ev[0][2])
			}
			if d["length"] != float64(len(big)) {
				t.Errorf("oversized: got length %v, want %d", d["length"], len(big))
			}
			if d["sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("oversized: got sha256 %v, want %x", d["sha256"], sum)
			}
		})
	}
	t.Run("declared length 2000000000 then close", func(t *testing.T) {
		f := bbMsg(strings.Repeat("y", 20000))
		peer := bbSendRaw(t, s, false, []byte("2000000000 "+f))
		ev := bbWaitFrom(t, s, peer, 1)
		if len(ev) != 1 {
			t.Fatalf("got %d lines, want 1", len(ev))
		}
		if !bbHasFlag(ev[0], "partial") || !bbHasFlag(ev[0], "trunc=2000000000") {
			t.Errorf("got FLAGS %q, want trunc=2000000000 and partial", ev[0][6])
		}
		if got, _ := bbFrame(ev[0]); string(got) != f[:10240] {
			t.Errorf("kept %d bytes, want the first 10240", len(got))
		}
	})
	for _, bad := range []struct{ name, data string }{
		{"11-digit count", "12345678901 " + bbMsg("never")},
		{"zero count", "0 " + bbMsg("never")},
		{"non-digit count", "abc " + bbMsg("never")},
	} {
		t.Run("frame_error "+bad.name, func(t *testing.T) {
			good := bbMsg("good before " + bad.name)
			c := s.Dial(t)
			peer := c.LocalAddr().String()
			c.Write(bbOctet(good))
			c.Write([]byte(bad.data))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			start := time.Now()
			_, err := io.Copy(io.Discard, c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("connection still open %v after a malformed count", time.Since(start))
			}
			c.Close()
			fe := bbSec(t, s, peer, "frame_error")[0]
			if fe[7] != "failure" {
				t.Errorf("frame_error: got RESULT %q, want failure", fe[7])
			}
			ev := bbWaitFrom(t, s, peer, 1)
			if len(ev) != 1 {
				t.Fatalf("got %d lines, want only the good frame", len(ev))
			}
			if got, _ := bbFrame(ev[0]); string(got) != good {
				t.Errorf("got %q, want the good frame %q", got, good)
			}
		})
	}
	t.Run("RFC 3164 and raw frames", func(t *testing.T) {
		f3164 := "<13>Oct 11 22:14:15 mymachine su[123]: 'su root' failed"
		rawPRI := "<13>this is not syslog"
		badPRI := "<999>pri out of range"
		noPRI := "no pri at all"
		peer := bbSendRaw(t, s, true, bbOctet(f3164, rawPRI, badPRI, noPRI))
		ev := bbWaitFrom(t, s, peer, 4)
		if len(ev) != 4 {
			t.Fatalf("got %d lines, want 4", len(ev))
		}
		want := []struct {
			flag, pri, host, app, procid, msg string
		}{
			{"rfc3164", "13", "mymachine", "su", "123", "Oct 11 22:14:15 mymachine su[123]: 'su root' failed"},
			{"raw", "13", "-", "-", "-", "this is not syslog"},
			{"raw", "-", "-", "-", "-", "<999>pri out of range"},
			{"raw", "-", "-", "-", "-", "no pri at all"},
		}
		for i, w := range want {
			l := ev[i]
			got := []string{strings.Split(l[6], ",")[0], l[7], l[9], l[10], l[11], l[12], l[13], l[14]}
			exp := []string{w.flag, w.pri, w.host, w.app, w.procid, "-", "-", bbEncode([]byte(w.msg))}
			if strings.Join(got, "|") != strings.Join(exp, "|") {
				t.Errorf("frame %d: got FLAGS,PRI,HOSTNAME,APP,PROCID,MSGID,SD,MSG %q, want %q", i, got, exp)
			}
		}
		pf := bbSec(t, s, peer, "parse_failed")
		refs := map[string]bool{}
		for _, l := range pf {
			refs[fmt.Sprint(bbDetail(t, l)["ref"])] = true
		}
		if refs[ev[0][2]] {
			t.Errorf("parse_failed for the RFC 3164 frame %s", ev[0][2])
		}
		for _, l := range ev[1:] {
			if !refs[l[2]] {
				t.Errorf("no parse_failed with ref %s (raw frame)", l[2])
			}
		}
	})
	bbCheckAll(t, s)
}

// bbFreeUDP returns a loopback UDP address that was free a moment ago.
func bbFreeUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

// TestCorePlainListeners: --listen-tcp and --listen-udp (SPEC §1.1, §3.3):
// TLS column tcp/udp, AUTH "-", and a start event naming them unencrypted.
func TestCorePlainListeners(t *testing.T) {
	tcpAddr, udpAddr := freePort(t), bbFreeUDP(t)
	s := startSealog(t, "--listen-tcp", tcpAddr, "--listen-udp", udpAddr)
	start := bbWait(t, s, true, "start", func(l []string) bool { return len(l) == 9 && l[6] == "start" })[0]
	ls, _ := bbDetail(t, start)["listeners"].([]any)
	var plain []string
	for _, l := range ls {
		if str, _ := l.(string); strings.Contains(str, "unencrypted") {
			plain = append(plain, str)
		}
	}
	joined := strings.Join(plain, " ")
	if !strings.Contains(joined, tcpAddr) || !strings.Contains(joined, udpAddr) {
		t.Errorf("start listeners %v: want %s and %s named unencrypted", ls, tcpAddr, udpAddr)
	}

	tc, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	tcpPeer := tc.LocalAddr().String()
	tc.Write(bbOctet(bbMsg("over plain tcp")))
	tc.(*net.TCPConn).CloseWrite()
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, tc)
	tc.Close()

	uc, err := net.Dial("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	udpPeer := uc.LocalAddr().String()
	uc.Write([]byte(bbMsg("over udp")))
	uc.Close()

	for _, c := range []struct{ peer, tls, msg string }{{tcpPeer, "tcp", "over plain tcp"}, {udpPeer, "udp", "over udp"}} {
		ev := bbWaitFrom(t, s, c.peer, 1)
		if len(ev) != 1 {
			t.Fatalf("%s: got %d lines, want 1", c.tls, len(ev))
		}
		if ev[0][5] != c.tls || ev[0][4] != "-" || ev[0][14] != c.msg {
			t.Errorf("%s: got TLS %q AUTH %q MSG %q, want %q, \"-\", %q", c.tls, ev[0][5], ev[0][4], ev[0][14], c.tls, c.msg)
		}
	}
	bbCheckAll(t, s)
}

// TestCoreRefusals: --allow-from and --max-connections refuse with a
// connect failure event (SPEC §3.4).
func TestCoreRefusals(t *testing.T) {
	t.Run("allow-from", func(t *testing.T) {
		s := startSealog(t, "--allow-from", "10.0.0.0/8")
		peer, err := bbDialTLS(t, s.Addr, s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey))
		if err == nil {
			t.Errorf("client outside --allow-from got a connection")
		}
		l := bbSec(t, s, peer, "connect")[0]
		if d := bbDetail(t, l); l[7] != "failure" || d["reason"] != "not_allowed" {
			t.Errorf("got RESULT %q reason %v, want failure not_allowed", l[7], d["reason"])
		}
	})
	t.Run("max-connections", func(t *testing.T) {
		s := startSealog(t, "--max-connections", "2")
		// the harness's readiness probe must be gone before we count
		bbWait(t, s, true, "probe", func(l []string) bool { return len(l) == 9 && l[6] == "tls_handshake_failed" })
		time.Sleep(100 * time.Millisecond)
		var open []*tls.Conn
		for i := 0; i < 2; i++ {
			c := s.Dial(t)
			c.Write(bbOctet(bbMsg(fmt.Sprintf("held %d", i))))
			bbWaitFrom(t, s, c.LocalAddr().String(), 1)
			open = append(open, c)
		}
		peer, err := bbDialTLS(t, s.Addr, s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey))
		if err == nil {
			t.Errorf("third connection with --max-connections 2 was served")
		}
		l := bbSec(t, s, peer, "connect")[0]
		if d := bbDetail(t, l); l[7] != "failure" || d["reason"] != "too_many_connections" {
			t.Errorf("got RESULT %q reason %v, want failure too_many_connections", l[7], d["reason"])
		}
		closeAndDrain(open[0])
		bbSec(t, s, open[0].LocalAddr().String(), "disconnect")
		// A slot is free again once the server has finished with the closed
		// connection; its disconnect event may come just before that.
		var c *tls.Conn
		for deadline := time.Now().Add(5 * time.Second); ; {
			cfg := s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey)
			var err error
			c, err = tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", s.Addr, cfg)
			if err == nil {
				if _, err = c.Write(bbOctet(bbMsg("after a slot freed"))); err == nil {
					break
				}
				c.Close()
			}
			if time.Now().After(deadline) {
				t.Fatalf("no connection 5s after one of two closed (--max-connections 2): %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		bbWaitFrom(t, s, c.LocalAddr().String(), 1)
		closeAndDrain(c)
		closeAndDrain(open[1])
	})
}

// TestCoreCommandLine: exit statuses and messages of SPEC §1.
func TestCoreCommandLine(t *testing.T) {
	p := newPKI(t)
	keyDir := t.TempDir()
	if _, e, code := bbRun(t, "keygen", "--out", keyDir); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, e)
	}
	base := func(extra ...string) []string {
		a := []string{"serve", "--listen", freePort(t), "--dir", filepath.Join(t.TempDir(), "logs"),
			"--key", filepath.Join(keyDir, "seal.key"), "--tls-cert", p.ServerCert, "--tls-key", p.ServerKey,
			"--tls-client-ca", p.CAFile, "--no-chattr"}
		return append(a, extra...)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		mention  string // stderr must contain this
		wantOut  string // stdout must contain this
		noStderr bool
	}{
		{"no subcommand", nil, 2, "", "", false},
		{"unknown subcommand", []string{"frobnicate"}, 2, "frobnicate", "", false},
		{"max-message-size below 10240", base("--max-message-size", "1000"), 2, "--max-message-size", "", false},
		{"unknown flag", base("--no-such-flag"), 2, "no-such-flag", "", false},
		{"missing --tls-cert file", base("--tls-cert", "/nonexistent/server-cert.pem"), 2, "/nonexistent/server-cert.pem", "", false},
		{"missing --tls-key file", base("--tls-key", "/nonexistent/server-key.pem"), 2, "/nonexistent/server-key.pem", "", false},
		{"missing --tls-client-ca file", base("--tls-client-ca", "/nonexistent/ca.pem"), 2, "/nonexistent/ca.pem", "", false},
		{"missing sealing key", base("--key", "/nonexistent/seal.key"), 2, "/nonexistent/seal.key", "", false},
		{"bad --tls-min-version", base("--tls-min-version", "1.1"), 2, "--tls-min-version", "", false},
		{"bad --allow-from", base("--allow-from", "not-a-cidr"), 2, "--allow-from", "", false},
		{"verify without --verify-key", []string{"verify", t.TempDir()}, 2, "--verify-key", "", false},
		{"version", []string{"version"}, 0, "", runtime.Version(), true},
		{"-h", []string{"-h"}, 0, "", "serve", false},
	}
	for _, sub := range []string{"serve", "send", "keygen", "verify", "export", "version"} {
		cases = append(cases, struct {
			name     string
			args     []string
			code     int
			mention  string
			wantOut  string
			noStderr bool
		}{sub + " -h", []string{sub, "-h"}, 0, "", "usage", false})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := bbRun(t, tc.args...)
			if code != tc.code {
				t.Fatalf("got exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.mention) {
				t.Errorf("got stderr %q, want it to name %q", errOut, tc.mention)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("got stdout %q, want it to contain %q", out, tc.wantOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stack trace on stderr: %s", errOut)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(errOut), "\n") > 15 {
				t.Errorf("error is not one clear sentence: %s", errOut)
			}
			if tc.name == "version" && (!strings.Contains(out, "sealog") || !strings.Contains(out, "commit")) {
				t.Errorf("version: got %q, want version, Go version and commit", out)
			}
		})
	}
}

// TestCoreSessionTicketTrap: a sender that writes, never reads and closes
// at once must lose nothing (issue 2, "Known traps"). Half the rounds
// close with close_notify (tls.Conn.Close), half drop the socket.
func TestCoreSessionTicketTrap(t *testing.T) {
	s := startSealog(t)
	// Enough bytes per connection that the server still has unread data
	// in its socket when the client's RST arrives.
	const rounds, n = 6, 500
	total := 0
	for r := 0; r < rounds; r++ {
		nc, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey)
		// A session cache makes the client offer psk_dhe_ke, as OpenSSL
		// always does; without it Go's server sends no tickets at all and
		// the trap cannot spring.
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		tc := tls.Client(nc, cfg)
		var fr []string
		for i := 0; i < n; i++ {
			fr = append(fr, bbMsg(fmt.Sprintf("trap r%d n%d %s", r, i, strings.Repeat("t", 1000))))
		}
		// Several writes, as a logging library would do.
		data := bbOctet(fr...)
		for len(data) > 0 {
			k := min(len(data), 4000)
			if _, err := tc.Write(data[:k]); err != nil {
				t.Fatal(err)
			}
			data = data[k:]
		}
		if r%2 == 0 {
			tc.Close()
		} else {
			nc.Close()
		}
		total += n
		peer := nc.LocalAddr().String()
		bbSec(t, s, peer, "disconnect")
		if got := len(bbEventsFrom(s, peer)); got != n {
			t.Errorf("round %d: got %d lines, want %d", r, got, n)
		}
	}
	if got := len(s.Events()); got != total {
		t.Errorf("got %d lines in all, want %d", got, total)
	}
}

// TestCoreIDsNamesModes: event IDs unique and well-formed across a restart
// on the same directory and across both streams (SPEC §3.3 col 3), TIME
// format, file names, file and directory modes (SPEC §3.1).
func TestCoreIDsNamesModes(t *testing.T) {
	// The harness creates the directory itself; to see sealog create it,
	// point --dir at a fresh path (the last --dir wins).
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(t.TempDir(), "probe"), KeyDir: t.TempDir()}
	if _, e, code := bbRun(t, "keygen", "--out", s.KeyDir); code != 0 {
		t.Fatalf("keygen: %s", e)
	}
	fresh := filepath.Join(t.TempDir(), "new-logs")
	s.startWith("--dir", fresh)
	s.Dir = fresh
	for round := 0; round < 2; round++ {
		if round == 1 {
			s.startWith("--dir", fresh)
		}
		for i := 0; i < 3; i++ {
			s.Send(t, bbMsg(fmt.Sprintf("round %d conn %d a", round, i)), bbMsg(fmt.Sprintf("round %d conn %d b", round, i)))
		}
		s.WaitEvents(t, 6*(round+1))
		if code := s.Stop(); code != 0 {
			t.Fatalf("stop: exit %d: %s", code, s.Stderr())
		}
	}
	ids := map[string]string{}
	for _, st := range []string{"events", "security"} {
		for _, l := range s.lines(st) {
			c := strings.Split(l, "\t")
			if len(c) < 3 {
				t.Fatalf("short line %q", l)
			}
			if prev, dup := ids[c[2]]; dup {
				t.Errorf("ID %s used twice:\n%s\n%s", c[2], prev, l)
			}
			ids[c[2]] = l
			if !strings.HasPrefix(c[2], "testhost") {
				t.Errorf("ID %q does not start with the instance name testhost", c[2])
			}
		}
	}
	if len(ids) < 12 {
		t.Errorf("got %d IDs, want at least 12", len(ids))
	}
	bbCheckAll(t, s)
	fi, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o750 {
		t.Errorf("directory created %v, want 0750", got)
	}
	ents, _ := os.ReadDir(fresh)
	var nfiles int
	for _, e := range ents {
		info, _ := e.Info()
		switch {
		case bbFileRE.MatchString(e.Name()):
			nfiles++
			ts, _ := time.Parse("20060102T150405.000Z", strings.TrimSuffix(strings.SplitN(e.Name(), "-", 2)[1], ".log"))
			if d := time.Since(ts); d < 0 || d > 10*time.Minute {
				t.Errorf("%s: name time is %v from now, want the UTC open time", e.Name(), d)
			}
		case e.Name() == "seals.log":
		default:
			t.Errorf("unexpected file %s (want events-YYYYMMDDTHHMMSS.mmmZ.log, security-…, seals.log)", e.Name())
			continue
		}
		if got := info.Mode().Perm(); got != 0o640 {
			t.Errorf("%s: mode %v, want 0640", e.Name(), got)
		}
	}
	if nfiles != 4 {
		t.Errorf("got %d events/security files after two runs, want 4", nfiles)
	}
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
}

// TestCoreGracefulStop: SIGTERM with a connection still open (SPEC §5):
// stop accepting, keep reading until the client closes, write all, stop
// event, final seals, exit 0 — before the grace period ends.
func TestCoreGracefulStop(t *testing.T) {
	s := startSealog(t, "--shutdown-grace", "6s")
	c := s.Dial(t)
	peer := c.LocalAddr().String()
	var want []string
	for i := 0; i < 20; i++ {
		f := bbMsg(fmt.Sprintf("before stop %d", i))
		want = append(want, f)
		c.Write(bbOctet(f))
	}
	bbWaitFrom(t, s, peer, 20)
	s.cmd.Process.Signal(syscall.SIGTERM)
	sigAt := time.Now()
	time.Sleep(300 * time.Millisecond)
	if nc, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		nc.Close()
		t.Errorf("still accepting connections after SIGTERM")
	}
	for i := 0; i < 20; i++ {
		f := bbMsg(fmt.Sprintf("during grace %d", i))
		want = append(want, f)
		if _, err := c.Write(bbOctet(f)); err != nil {
			t.Fatalf("write during grace: %v", err)
		}
	}
	closeAndDrain(c)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20s after SIGTERM")
	}
	if d := time.Since(sigAt); d > 5*time.Second {
		t.Errorf("stopped %v after SIGTERM although the only client closed after 0.3s (grace 6s)", d)
	}
	if s.exitCode != 0 {
		t.Errorf("got exit %d, want 0; stderr:\n%s", s.exitCode, s.Stderr())
	}
	ev := bbEventsFrom(s, peer)
	if len(ev) != len(want) {
		t.Fatalf("got %d lines, want %d", len(ev), len(want))
	}
	for i, l := range ev {
		if got, _ := bbFrame(l); string(got) != want[i] {
			t.Errorf("line %d: got %q, want %q", i, got, want[i])
		}
	}
	sec := s.Security()
	last := -1
	stopAt, discAt := -1, -1
	for i, l := range sec {
		switch {
		case l[6] == "stop":
			stopAt = i
		case l[6] == "disconnect" && l[3] == peer:
			discAt = i
		case l[6] == "seal":
			last = i
		}
	}
	if stopAt < 0 || discAt < 0 || discAt > stopAt {
		t.Errorf("want the client's disconnect before the stop event (disconnect at %d, stop at %d)", discAt, stopAt)
	}
	if last < stopAt {
		t.Errorf("want a seal event after the stop event")
	}
	seals := bbSeals(t, s.Dir)
	if len(seals) < 2 {
		t.Fatalf("got %d seals, want final seals for both files", len(seals))
	}
	for _, sl := range seals[len(seals)-2:] {
		if sl[3] != "final" {
			t.Errorf("last seals: got KIND %q for %s, want final", sl[3], sl[4])
		}
	}
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
}
