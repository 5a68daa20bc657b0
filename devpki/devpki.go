// Package devpki makes the throwaway certificate authority and keys that
// `sealog serve --dev` and the tests use: a CA, ECDSA P-256 certificates it
// issues, and the dev directory's layout. It is not meant for production
// PKI and the server does not depend on it.
package devpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
)

// CA is a small certificate authority for --dev and for tests: it issues
// ECDSA P-256 certificates. It is not meant for production PKI.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
}

// NewCA makes a self-signed CA valid from an hour ago for ten years.
func NewCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"sealog"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der)}, nil
}

// CertSpec says what to issue.
type CertSpec struct {
	CN        string
	DNSNames  []string
	IPs       []net.IP
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: in two years
	Server    bool      // server auth (else client auth)
}

// Issue returns a certificate and its private key, both PEM.
func (ca *CA) Issue(spec CertSpec) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	nb, na := spec.NotBefore, spec.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = time.Now().AddDate(2, 0, 0)
	}
	usage := x509.ExtKeyUsageClientAuth
	if spec.Server {
		usage = x509.ExtKeyUsageServerAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: spec.CN},
		DNSNames:     spec.DNSNames,
		IPAddresses:  spec.IPs,
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", kder), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n.Add(n, big.NewInt(1))
}

// DevFiles are the paths --dev creates under its directory.
type DevFiles struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
	SealKey, VerifyKey                               string
}

// DevPaths returns where --dev keeps its files below dir.
func DevPaths(dir string) DevFiles {
	pki := filepath.Join(dir, "pki")
	keys := filepath.Join(dir, "keys")
	return DevFiles{
		CA:         filepath.Join(pki, "ca.pem"),
		ServerCert: filepath.Join(pki, "server.pem"),
		ServerKey:  filepath.Join(pki, "server-key.pem"),
		ClientCert: filepath.Join(pki, "client.pem"),
		ClientKey:  filepath.Join(pki, "client-key.pem"),
		SealKey:    filepath.Join(keys, "seal.key"),
		VerifyKey:  filepath.Join(keys, "verify.key"),
	}
}

// PrepareDev creates, once, everything --dev needs: a CA, a server
// certificate for localhost, a client certificate and a sealing key.
// Existing files are kept, so a second start reuses them.
func PrepareDev(dir string) (DevFiles, error) {
	f := DevPaths(dir)
	if err := rotate.EnsureDir(dir); err != nil { // the log directory keeps its 0750
		return f, fmt.Errorf("--dev: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(f.CA), 0o700); err != nil {
		return f, fmt.Errorf("--dev: %w", err)
	}
	if _, err := os.Stat(f.CA); errors.Is(err, os.ErrNotExist) {
		ca, err := NewCA("sealog dev CA")
		if err != nil {
			return f, fmt.Errorf("--dev: make CA: %w", err)
		}
		sc, sk, err := ca.Issue(CertSpec{CN: "localhost", DNSNames: []string{"localhost"},
			IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, Server: true})
		if err != nil {
			return f, fmt.Errorf("--dev: issue server certificate: %w", err)
		}
		cc, ck, err := ca.Issue(CertSpec{CN: "sealog-dev-client", DNSNames: []string{"sealog-dev-client"}})
		if err != nil {
			return f, fmt.Errorf("--dev: issue client certificate: %w", err)
		}
		for _, w := range []struct {
			path string
			data []byte
			mode os.FileMode
		}{{f.ServerCert, sc, 0o644}, {f.ServerKey, sk, 0o600}, {f.ClientCert, cc, 0o644},
			{f.ClientKey, ck, 0o600}, {f.CA, ca.CertPEM, 0o644}} { // CA last: it marks completion
			if err := os.WriteFile(w.path, w.data, w.mode); err != nil {
				return f, fmt.Errorf("--dev: %w", err)
			}
		}
	}
	if _, err := os.Stat(f.SealKey); errors.Is(err, os.ErrNotExist) {
		if err := seal.Keygen(filepath.Dir(f.SealKey)); err != nil {
			return f, fmt.Errorf("--dev: keygen: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(f.SealKey), tlog.SignerKeyName)); errors.Is(err, os.ErrNotExist) {
		if _, err := tlog.WriteKeys(filepath.Dir(f.SealKey), "sealog/dev"); err != nil {
			return f, fmt.Errorf("--dev: keygen: %w", err)
		}
	}
	return f, nil
}
