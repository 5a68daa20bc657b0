package devpki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// TestPrepareDev makes the dev files once: the certificates verify
// against the CA for their purpose, keys are 0600, and a second call
// keeps every file as it is.
func TestPrepareDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	f, err := PrepareDev(dir)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	for _, c := range []struct {
		cert, key string
		usage     x509.ExtKeyUsage
		name      string
	}{{f.ServerCert, f.ServerKey, x509.ExtKeyUsageServerAuth, "localhost"}, {f.ClientCert, f.ClientKey, x509.ExtKeyUsageClientAuth, ""}} {
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: c.name, KeyUsages: []x509.ExtKeyUsage{c.usage}}); err != nil {
			t.Errorf("%s: %v", c.cert, err)
		}
		if fi, err := os.Stat(c.key); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", c.key, fi.Mode().Perm(), err)
		}
	}
	before := map[string][]byte{}
	for _, p := range []string{f.CA, f.ServerKey, f.ClientKey, f.SealKey} {
		before[p], _ = os.ReadFile(p)
	}
	if _, err := PrepareDev(dir); err != nil {
		t.Fatal(err)
	}
	for p, b := range before {
		if a, _ := os.ReadFile(p); string(a) != string(b) {
			t.Errorf("a second PrepareDev changed %s", p)
		}
	}
}
