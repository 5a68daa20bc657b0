package tests

// TLS clients from the outside (docs/format.md §3.4, RFC 5425): what each
// kind of client certificate, protocol version and closing behaviour gets,
// and the connect and disconnect events it leaves.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealog/sealog/devpki"
)

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
// checked column by column (docs/format.md §3.4).
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
// certificate the harness issued (docs/format.md §3.4 DETAIL keys).
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

// TestCoreSessionTicketTrap: a sender that writes, never reads and closes
// at once must lose nothing ("Known traps"). Half the rounds
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
