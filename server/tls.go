package server

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/sealog/sealog/writer"
)

// tlsMaterial is what SIGHUP reloads: the server certificate and the
// client CA pool. It is replaced whole, atomically, so a handshake sees
// either the old or the new set, never a mix.
type tlsMaterial struct {
	cert      *tls.Certificate
	clientCAs *x509.CertPool // nil: no client certificates requested
	revoked   revocations    // from --tls-crl; nil: none
	warnings  []string       // e.g. a CRL past its next update
}

// loadTLSMaterial reads the PEM files. Every error names the file at
// fault, because the operator has to fix that file (docs/format.md §1).
func loadTLSMaterial(certFile, keyFile, caFile string, crlFiles []string) (*tlsMaterial, error) {
	for _, f := range []struct{ flag, path string }{{"--tls-cert", certFile}, {"--tls-key", keyFile}} {
		if _, err := os.Stat(f.path); err != nil {
			return nil, configErrorf("%s %s: cannot read it: %v", f.flag, f.path, unwrapPathError(err))
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, configErrorf("--tls-cert %s with --tls-key %s: %v", certFile, keyFile, err)
	}
	m := &tlsMaterial{cert: &cert}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, configErrorf("--tls-client-ca %s: cannot read it: %v", caFile, unwrapPathError(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErrorf("--tls-client-ca %s holds no PEM certificate", caFile)
		}
		m.clientCAs = pool
		if m.revoked, m.warnings, err = loadCRLs(crlFiles, caFile, pem, time.Now()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// errPeerNotPermitted is returned by the per-connection VerifyConnection
// hook when the client certificate matches no --permitted-peer pattern.
var errPeerNotPermitted = errors.New("client certificate matches no --permitted-peer pattern")

// serverTLSConfig builds the configuration for one connection. A fresh
// config per connection lets VerifyConnection report which certificate
// was refused (not permitted, or revoked: the error says), and picks up
// a reloaded certificate or CRL without touching established
// connections.
func (s *Server) serverTLSConfig(denied **x509.Certificate) *tls.Config {
	m := s.tls.Load()
	cfg := &tls.Config{
		Certificates: []tls.Certificate{*m.cert},
		MinVersion:   s.cfg.TLSMinVersion,
		// Session tickets are sent after the handshake; a sender that never
		// reads then closes with unread data, its kernel answers with RST,
		// and Linux discards what we had not yet read: silent loss.
		SessionTicketsDisabled: true,
	}
	if m.clientCAs != nil {
		cfg.ClientCAs = m.clientCAs
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if len(s.cfg.PermittedPeers) > 0 || len(m.revoked) > 0 {
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil // no certificate: the handshake fails on its own
			}
			leaf := cs.PeerCertificates[0]
			// Revocation first: a revoked certificate is refused as
			// revoked whatever its name (RFC 5280 §6.3).
			if c := m.revoked.revoked(cs.VerifiedChains); c != nil {
				*denied = c
				return &revokedError{cert: c}
			}
			if len(s.cfg.PermittedPeers) > 0 && !permitted(s.cfg.PermittedPeers, leaf) {
				*denied = leaf
				return errPeerNotPermitted
			}
			return nil
		}
	}
	return cfg
}

// permitted reports whether the certificate's CN or one of its DNS SANs
// matches a pattern. "*" stands for exactly one DNS label, as in
// rsyslog's PermittedPeer wildcards.
func permitted(patterns []string, cert *x509.Certificate) bool {
	names := append([]string{cert.Subject.CommonName}, cert.DNSNames...)
	for _, p := range patterns {
		for _, n := range names {
			if n != "" && matchPeer(p, n) {
				return true
			}
		}
	}
	return false
}

func matchPeer(pattern, name string) bool {
	pl := strings.Split(strings.ToLower(pattern), ".")
	nl := strings.Split(strings.ToLower(name), ".")
	if len(pl) != len(nl) {
		return false
	}
	for i := range pl {
		if pl[i] != "*" && pl[i] != nl[i] {
			return false
		}
	}
	return true
}

// tlsDescription is the TLS column: "TLS1.3/TLS_AES_128_GCM_SHA256" [T 11.9].
func tlsDescription(cs tls.ConnectionState) string {
	v := "TLS?"
	switch cs.Version {
	case tls.VersionTLS12:
		v = "TLS1.2"
	case tls.VersionTLS13:
		v = "TLS1.3"
	}
	return v + "/" + tls.CipherSuiteName(cs.CipherSuite)
}

// peerIdentity is the AUTH column: the verified certificate's CN, else its
// first DNS SAN (docs/format.md §3.3).
func peerIdentity(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	if cert.Subject.CommonName != "" {
		return cert.Subject.CommonName
	}
	if len(cert.DNSNames) > 0 {
		return cert.DNSNames[0]
	}
	return ""
}

// addCertDetail records who the client claimed to be (docs/format.md §3.4). Subject
// and issuer come from the client, so they are percent-encoded.
func addCertDetail(d *writer.Detail, cert *x509.Certificate) {
	if cert == nil {
		return
	}
	d.Client("subject", []byte(cert.Subject.String()))
	d.Client("issuer", []byte(cert.Issuer.String()))
	d.Str("serial", hex.EncodeToString(cert.SerialNumber.Bytes()))
	d.Str("not_after", string(writer.AppendTime(nil, cert.NotAfter)))
	sum := sha256.Sum256(cert.Raw)
	d.Str("fingerprint_sha256", hex.EncodeToString(sum[:]))
}

// handshakeReason classifies a failed handshake into the reasons of
// docs/format.md §3.4, so an operator can count them without parsing Go's text.
func handshakeReason(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		header    tls.RecordHeaderError
		netErr    net.Error
	)
	msg := err.Error()
	var revoked *revokedError
	switch {
	case errors.As(err, &revoked):
		return "revoked"
	case errors.Is(err, errPeerNotPermitted):
		return "peer_not_permitted"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(msg, "connection reset"):
		// Closed before any TLS byte (docs/format.md §3.4) or in the middle: the
		// same reason; DETAIL's bytes tells which.
		return "eof"
	case errors.As(err, &header):
		return "not_tls"
	case strings.Contains(msg, "does not look like a TLS handshake"):
		return "not_tls"
	case errors.As(err, &unknownCA), strings.Contains(msg, "unknown certificate authority"):
		return "unknown_ca"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired,
		strings.Contains(msg, "certificate has expired"), strings.Contains(msg, "expired certificate"):
		return "expired"
	case strings.Contains(msg, "didn't provide a certificate"), strings.Contains(msg, "certificate required"):
		return "no_certificate"
	case strings.Contains(msg, "version"):
		return "protocol_version"
	case errors.As(err, &invalid), strings.Contains(msg, "certificate"), strings.Contains(msg, "x509"):
		return "bad_certificate"
	default:
		return "handshake_error"
	}
}

// countingConn counts bytes read, to tell "closed before any TLS byte".
type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// Reload re-reads the TLS certificate, key and client CA (SIGHUP). A
// failure keeps the old material; either way a reload event is written.
func (s *Server) Reload() error {
	var d writer.Detail
	m, err := loadTLSMaterial(s.cfg.TLSCert, s.cfg.TLSKey, s.cfg.TLSClientCA, s.cfg.TLSCRLs)
	if s.cfg.TLSCert == "" {
		err = fmt.Errorf("no --tls-cert to reload")
	}
	d.Str("tls_cert", s.cfg.TLSCert)
	d.Str("tls_client_ca", s.cfg.TLSClientCA)
	if len(s.cfg.TLSCRLs) > 0 {
		d.Strs("tls_crl", s.cfg.TLSCRLs)
	}
	if err != nil {
		d.Str("error", err.Error())
		s.serverEvent("reload", "failure", &d)
		return fmt.Errorf("reload failed, keeping the old certificates: %w", err)
	}
	s.tls.Store(m)
	if leaf, perr := x509.ParseCertificate(m.cert.Certificate[0]); perr == nil {
		d.Client("subject", []byte(leaf.Subject.String()))
		d.Str("not_after", string(writer.AppendTime(nil, leaf.NotAfter)))
		sum := sha256.Sum256(leaf.Raw)
		d.Str("fingerprint_sha256", hex.EncodeToString(sum[:]))
	}
	if len(m.warnings) > 0 {
		d.Str("warning", strings.Join(m.warnings, "; "))
		for _, w := range m.warnings {
			fmt.Fprintf(s.stderr, "sealog: warning: %s\n", w)
		}
	}
	s.serverEvent("reload", "success", &d)
	return nil
}
