package tests

// Suite TestReload*: SIGHUP reloads the TLS certificate, key and client CA
// (docs/operations.md Signals). A good reload changes what new handshakes
// see and leaves established connections alone; a bad one keeps the old
// material. Both write a `reload` security event and a line on stderr.

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealog/sealog/devpki"
)

// reloadReplaceFile puts data at path the way an operator's tooling should:
// write a temporary file next to it, then rename over it.
func reloadReplaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func reloadReadFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// reloadServerSerial does a fresh handshake and returns the server
// certificate's serial number.
func reloadServerSerial(t *testing.T, s *Sealog) *big.Int {
	t.Helper()
	c := s.Dial(t)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

func reloadCertSerial(t *testing.T, pemFile string) (*big.Int, string) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pemFile, strings.TrimSuffix(pemFile, ".pem")+"-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(leaf.Raw)
	return leaf.SerialNumber, hex.EncodeToString(sum[:])
}

// reloadHUP sends SIGHUP and waits for the n-th reload event, which it returns
// with its DETAIL decoded.
func reloadHUP(t *testing.T, s *Sealog, n int) ([]string, map[string]any) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got [][]string
		for _, l := range s.Security() {
			if len(l) == 9 && l[6] == "reload" {
				got = append(got, l)
			}
		}
		if len(got) >= n {
			ev := got[n-1]
			var d map[string]any
			if err := json.Unmarshal([]byte(ev[8]), &d); err != nil {
				t.Fatalf("reload DETAIL %q: %v", ev[8], err)
			}
			return ev, d
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d reload events, want %d; stderr:\n%s", len(got), n, s.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reloadSendOn writes one octet-counted frame on an open connection.
func reloadSendOn(t *testing.T, c net.Conn, frame string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%d %s", len(frame), frame); err != nil {
		t.Fatalf("write on established connection: %v", err)
	}
}

// reloadWaitStderr waits until stderr holds text at least n times. The line is
// printed after the reload event is queued, so it may come a moment later.
func reloadWaitStderr(t *testing.T, s *Sealog, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.Stderr(), text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d lines with %q on stderr, want %d:\n%s", strings.Count(s.Stderr(), text), text, n, s.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func reloadHasMsg(ev [][]string, msg string) bool {
	for _, e := range ev {
		if len(e) == 15 && e[14] == msg {
			return true
		}
	}
	return false
}

func reloadWaitMsg(t *testing.T, s *Sealog, msg string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !reloadHasMsg(s.Events(), msg) {
		if time.Now().After(deadline) {
			t.Fatalf("no event with MSG %q; stderr:\n%s", msg, s.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReloadCertificate: replace the server certificate and key, SIGHUP;
// new handshakes see the new certificate, a connection opened before the
// reload keeps working, and a broken file later keeps the new-old one.
func TestReloadCertificate(t *testing.T) {
	s := startSealog(t)
	oldSerial, _ := reloadCertSerial(t, s.PKI.ServerCert)
	if got := reloadServerSerial(t, s); got.Cmp(oldSerial) != 0 {
		t.Fatalf("got serial %x before reload, want %x", got, oldSerial)
	}
	est := s.Dial(t)
	defer est.Close()
	reloadSendOn(t, est, "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - before reload")
	reloadWaitMsg(t, s, "before reload")

	// A new server certificate with a different serial, same names.
	newCert, newKey := s.PKI.Issue(t, "server2", devpki.CertSpec{CN: "localhost", DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, Server: true})
	newSerial, newFP := reloadCertSerial(t, newCert)
	if newSerial.Cmp(oldSerial) == 0 {
		t.Fatal("test PKI issued the same serial twice")
	}
	reloadReplaceFile(t, s.PKI.ServerKey, reloadReadFile(t, newKey))
	reloadReplaceFile(t, s.PKI.ServerCert, reloadReadFile(t, newCert))

	ev, d := reloadHUP(t, s, 1)
	if ev[7] != "success" {
		t.Fatalf("got reload RESULT %q, want success: %q", ev[7], ev)
	}
	if d["fingerprint_sha256"] != newFP {
		t.Errorf("got reload fingerprint_sha256 %v, want the new certificate's %s", d["fingerprint_sha256"], newFP)
	}
	reloadWaitStderr(t, s, "sealog: reloaded TLS certificate, key and client CA\n", 1)
	if got := reloadServerSerial(t, s); got.Cmp(newSerial) != 0 {
		t.Errorf("got serial %x after reload, want the new %x", got, newSerial)
	}
	// The connection from before the reload is still served.
	reloadSendOn(t, est, "<34>1 2026-11-22T10:15:01Z host app 42 ID47 - after reload")
	reloadWaitMsg(t, s, "after reload")

	// Broken files: garbage certificate, then a key that does not match.
	_, otherKey := s.PKI.Issue(t, "server3", devpki.CertSpec{CN: "localhost", Server: true})
	broken := []struct {
		name       string
		cert, key  []byte
		wantInLine string
	}{
		{"garbage certificate", []byte("-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n"), reloadReadFile(t, newKey), s.PKI.ServerCert},
		{"key of another certificate", reloadReadFile(t, newCert), reloadReadFile(t, otherKey), s.PKI.ServerKey},
		{"empty certificate", nil, reloadReadFile(t, newKey), s.PKI.ServerCert},
	}
	for i, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			reloadReplaceFile(t, s.PKI.ServerCert, b.cert)
			reloadReplaceFile(t, s.PKI.ServerKey, b.key)
			ev, d := reloadHUP(t, s, 2+i)
			if ev[7] != "failure" {
				t.Errorf("got reload RESULT %q, want failure: %q", ev[7], ev)
			}
			if msg, _ := d["error"].(string); !strings.Contains(msg, b.wantInLine) {
				t.Errorf("got reload error %q, want it to name %s", msg, b.wantInLine)
			}
			reloadWaitStderr(t, s, "sealog: reload failed, keeping the old certificates: ", i+1)
			if got := reloadServerSerial(t, s); got.Cmp(newSerial) != 0 {
				t.Errorf("got serial %x after a failed reload, want the kept %x", got, newSerial)
			}
			msg := "after failed reload " + b.name
			reloadSendOn(t, est, "<34>1 2026-11-22T10:15:02Z host app 42 ID47 - "+msg)
			reloadWaitMsg(t, s, msg)
		})
	}
	closeAndDrain(est)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("verify exit %d:\n%s", code, out)
	}
}

// TestReloadClientCA: a new client CA applies to new connections: a
// client of the old CA is refused after the reload, one of the new CA is
// served, and a connection of the old CA opened before stays up.
func TestReloadClientCA(t *testing.T) {
	s := startSealog(t)
	est := s.Dial(t)
	defer est.Close()
	reloadSendOn(t, est, "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - old ca before")
	reloadWaitMsg(t, s, "old ca before")

	p2 := newPKI(t)
	reloadReplaceFile(t, s.PKI.CAFile, p2.CA.CertPEM)
	if ev, _ := reloadHUP(t, s, 1); ev[7] != "success" {
		t.Fatalf("got reload RESULT %q, want success", ev[7])
	}

	// Old CA's client: the server now refuses its certificate. With TLS
	// 1.3 the client learns it on its first read.
	old, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr,
		s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey))
	if err == nil {
		old.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = old.Read(make([]byte, 1))
		old.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("got %v for a client of the replaced CA, want a certificate error", err)
	}
	// New CA's client: trusts the unchanged server certificate (old CA)
	// and presents a certificate of the new CA.
	cfg := s.PKI.ClientTLS(t, "", "")
	nc, err := tls.LoadX509KeyPair(p2.ClientCert, p2.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificates = []tls.Certificate{nc}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr, cfg)
	if err != nil {
		t.Fatalf("client of the new CA: %v", err)
	}
	reloadSendOn(t, c, "<34>1 2026-11-22T10:15:01Z host app 42 ID47 - new ca")
	closeAndDrain(c)
	reloadWaitMsg(t, s, "new ca")
	reloadSendOn(t, est, "<34>1 2026-11-22T10:15:02Z host app 42 ID47 - old ca after")
	reloadWaitMsg(t, s, "old ca after")
	s.WaitSecurity(t, "tls_handshake_failed")

	// A CA file without a certificate keeps the new CA.
	reloadReplaceFile(t, s.PKI.CAFile, []byte("no pem here\n"))
	ev, d := reloadHUP(t, s, 2)
	if ev[7] != "failure" {
		t.Errorf("got reload RESULT %q for a CA file without PEM, want failure", ev[7])
	}
	if msg, _ := d["error"].(string); !strings.Contains(msg, filepath.Base(s.PKI.CAFile)) {
		t.Errorf("got reload error %q, want it to name the CA file", msg)
	}
	c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr, cfg)
	if err != nil {
		t.Fatalf("client of the kept CA after a failed reload: %v", err)
	}
	reloadSendOn(t, c, "<34>1 2026-11-22T10:15:03Z host app 42 ID47 - kept ca")
	closeAndDrain(c)
	reloadWaitMsg(t, s, "kept ca")
	closeAndDrain(est)
}

// TestReloadNoTLS: a server with only plain listeners has no TLS
// material to reload; SIGHUP must not stop it, and says so in a failure
// event and on stderr.
func TestReloadNoTLS(t *testing.T) {
	s := sdSetup(t)
	s.sdStart(t, sdOpts{noListen: true, noTLS: true}, "--listen-tcp", s.Addr)
	s.waitListening()
	ev, d := reloadHUP(t, s, 1)
	if ev[7] != "failure" {
		t.Errorf("got reload RESULT %q without TLS, want failure", ev[7])
	}
	if msg, _ := d["error"].(string); !strings.Contains(msg, "--tls-cert") {
		t.Errorf("got reload error %q, want it to name --tls-cert", msg)
	}
	reloadWaitStderr(t, s, "sealog: reload failed, keeping the old certificates: ", 1)
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("plain listener after SIGHUP: %v\n%s", err, s.Stderr())
	}
	c.Write([]byte("<13>still serving\n"))
	c.Close()
	reloadWaitMsg(t, s, "still serving")
}
