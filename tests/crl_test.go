package tests

// CRLs (docs/format.md §9.3) made the way a CA operator makes them: a
// throwaway PKI of `openssl ca` (root, two intermediates, client
// certificates), revocations with `openssl ca -revoke` and the lists
// with `openssl ca -gencrl`.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// opensslCA is one CA of the throwaway PKI, in its own directory with
// the files `openssl ca` keeps (index.txt, serial, crlnumber).
type opensslCA struct {
	t         *testing.T
	dir, conf string
	cert, key string
	chain     []string // PEM files of this CA and the CAs above it but the root
}

func opensslBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not found: install the Debian package openssl (tests/install-peers.sh)")
	}
	return p
}

func runOpenSSL(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(opensslBin(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

const opensslCAConf = `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = %s
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca-key.pem
default_md = sha256
default_days = 30
default_crl_days = 7
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_client ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
`

func newOpenSSLCA(t *testing.T, dir string) *opensslCA {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := &opensslCA{t: t, dir: dir, conf: filepath.Join(dir, "ca.cnf"), cert: filepath.Join(dir, "ca.pem"), key: filepath.Join(dir, "ca-key.pem")}
	for name, data := range map[string]string{"ca.cnf": fmt.Sprintf(opensslCAConf, dir), "index.txt": "", "serial": "1000\n", "crlnumber": "01\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca
}

// opensslRoot makes a self-signed root CA.
func opensslRoot(t *testing.T, dir, cn string) *opensslCA {
	ca := newOpenSSLCA(t, dir)
	runOpenSSL(t, "req", "-x509", "-config", ca.conf, "-extensions", "v3_ca", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-keyout", ca.key, "-out", ca.cert, "-subj", "/CN="+cn, "-days", "30")
	return ca
}

// issue signs a new key for cn with this CA: ext v3_ca makes an
// intermediate CA in dir, v3_client a client certificate. It returns
// the certificate's PEM file and key.
func (ca *opensslCA) issue(name, cn, ext string) (certFile, keyFile string) {
	t := ca.t
	t.Helper()
	keyFile = filepath.Join(ca.dir, name+"-key.pem")
	csr := filepath.Join(ca.dir, name+".csr")
	certFile = filepath.Join(ca.dir, name+".pem")
	runOpenSSL(t, "req", "-new", "-config", ca.conf, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", keyFile, "-out", csr, "-subj", "/CN="+cn)
	runOpenSSL(t, "ca", "-batch", "-config", ca.conf, "-extensions", ext, "-notext", "-in", csr, "-out", certFile)
	return certFile, keyFile
}

// intermediate makes a CA signed by this one.
func (ca *opensslCA) intermediate(name, cn string) *opensslCA {
	certFile, keyFile := ca.issue(name, cn, "v3_ca")
	sub := newOpenSSLCA(ca.t, filepath.Join(ca.dir, name))
	copyFile(ca.t, certFile, sub.cert)
	copyFile(ca.t, keyFile, sub.key)
	sub.chain = append([]string{sub.cert}, ca.chain...)
	return sub
}

// client issues a client certificate and returns a TLS certificate with
// its chain up to (not including) the root, as a client sends it.
func (ca *opensslCA) client(name, cn string) (tls.Certificate, *x509.Certificate) {
	t := ca.t
	t.Helper()
	certFile, keyFile := ca.issue(name, cn, "v3_client")
	chainFile := catFiles(t, filepath.Join(ca.dir, name+"-chain.pem"), append([]string{certFile}, ca.chain...)...)
	c, err := tls.LoadX509KeyPair(chainFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	return c, leaf
}

func (ca *opensslCA) revoke(certFile string) {
	runOpenSSL(ca.t, "ca", "-config", ca.conf, "-revoke", certFile)
}

// crl writes this CA's CRL to out with `openssl ca -gencrl` (extra:
// e.g. -crl_lastupdate/-crl_nextupdate) and returns out.
func (ca *opensslCA) crl(out string, extra ...string) string {
	runOpenSSL(ca.t, append([]string{"ca", "-config", ca.conf, "-gencrl", "-out", out}, extra...)...)
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func catFiles(t *testing.T, out string, files ...string) string {
	t.Helper()
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if err := os.WriteFile(out, all, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// crlTry connects with cert, sends msg and closes; it returns whether
// the handshake, and the write and a read of the server's close, went
// through (TLS 1.3 refuses a client certificate after the client's
// handshake is done: the refusal arrives on the first read).
func crlTry(t *testing.T, s *Sealog, cert tls.Certificate, msg string) error {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.PKI.CA.CertPEM)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr,
		&tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{cert}})
	if err != nil {
		return err
	}
	defer c.Close()
	frame := "<13>1 2026-11-22T10:15:00Z host app - - - " + msg
	if _, err := fmt.Fprintf(c, "%d %s", len(frame), frame); err != nil {
		return err
	}
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	if err != nil && !strings.Contains(err.Error(), "EOF") {
		return err
	}
	return nil
}

// revokedEvents returns the DETAILs of tls_handshake_failed events with
// reason revoked.
func revokedEvents(s *Sealog) []map[string]any {
	var out []map[string]any
	for _, l := range s.Security() {
		if len(l) == 9 && l[6] == "tls_handshake_failed" && strings.Contains(l[8], `"reason":"revoked"`) {
			var d map[string]any
			json.Unmarshal([]byte(l[8]), &d)
			out = append(out, d)
		}
	}
	return out
}

func waitRevoked(t *testing.T, s *Sealog, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got := revokedEvents(s); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d revoked refusals, want %d; security:\n%s", len(revokedEvents(s)), n, strings.Join(s.lines("security"), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func serialHex(c *x509.Certificate) string { return fmt.Sprintf("%x", c.SerialNumber) }

// TestCRL: a revoked client certificate and a client under a revoked
// intermediate are refused with reason revoked and the serial; others
// are served; the lists reload on SIGHUP, a list not signed by the
// client CA is refused (exit 2 at start, the old set kept at reload),
// and an expired list applies with a warning.
func TestCRL(t *testing.T) {
	dir := t.TempDir()
	root := opensslRoot(t, filepath.Join(dir, "root"), "CRL Test Root")
	intA := root.intermediate("int-a", "CRL Test Intermediate A")
	intB := root.intermediate("int-b", "CRL Test Intermediate B")
	good, _ := intA.client("good", "good.example.test")
	bad, badLeaf := intA.client("bad", "bad.example.test")
	later, laterLeaf := intA.client("later", "later.example.test")
	underB, _ := intB.client("under-b", "under-b.example.test")
	intBCert, err := os.ReadFile(intB.cert)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(intBCert)
	intBX509, _ := x509.ParseCertificate(blk.Bytes)

	intA.revoke(filepath.Join(intA.dir, "bad.pem"))
	root.revoke(filepath.Join(root.dir, "int-b.pem"))
	crlA := intA.crl(filepath.Join(dir, "int-a.crl.pem"))
	crlRoot := root.crl(filepath.Join(dir, "root.crl.pem"))
	// DER works as well as PEM.
	crlRootDER := filepath.Join(dir, "root.crl.der")
	runOpenSSL(t, "crl", "-in", crlRoot, "-outform", "DER", "-out", crlRootDER)
	bundle := catFiles(t, filepath.Join(dir, "client-ca.pem"), root.cert, intA.cert, intB.cert)

	s := startSealog(t, "--tls-client-ca", bundle, "--tls-crl", crlA, "--tls-crl", crlRootDER)

	if err := crlTry(t, s, good, "crl good"); err != nil {
		t.Fatalf("a good certificate was refused: %v", err)
	}
	reloadWaitMsg(t, s, "crl good")
	if err := crlTry(t, s, bad, "crl bad"); err == nil {
		t.Error("a revoked client certificate was served")
	}
	d := waitRevoked(t, s, 1)[0]
	if d["serial"] != serialHex(badLeaf) {
		t.Errorf("revoked leaf: serial %v, want %s", d["serial"], serialHex(badLeaf))
	}
	if err := crlTry(t, s, underB, "crl under b"); err == nil {
		t.Error("a client under a revoked intermediate was served")
	}
	d = waitRevoked(t, s, 2)[1]
	if d["serial"] != serialHex(intBX509) {
		t.Errorf("revoked intermediate: serial %v, want the intermediate's %s", d["serial"], serialHex(intBX509))
	}

	// Reload: revoke "later" and regenerate A's list in place.
	if err := crlTry(t, s, later, "crl later before"); err != nil {
		t.Fatalf("later was refused before its revocation: %v", err)
	}
	intA.revoke(filepath.Join(intA.dir, "later.pem"))
	intA.crl(crlA)
	if ev, _ := reloadHUP(t, s, 1); ev[7] != "success" {
		t.Fatalf("reload: %v", ev)
	}
	if err := crlTry(t, s, later, "crl later after"); err == nil {
		t.Error("a certificate revoked before the reload was served after it")
	}
	d = waitRevoked(t, s, 3)[2]
	if d["serial"] != serialHex(laterLeaf) {
		t.Errorf("after reload: serial %v, want %s", d["serial"], serialHex(laterLeaf))
	}

	// A list from a CA the server does not trust: the reload fails and
	// the old lists stay in force.
	stranger := opensslRoot(t, filepath.Join(dir, "stranger"), "Stranger CA")
	stranger.crl(crlA)
	if ev, d := reloadHUP(t, s, 2); ev[7] != "failure" || !strings.Contains(fmt.Sprint(d["error"]), "--tls-crl") {
		t.Fatalf("reload with a stranger's CRL: %v %v", ev[7], d)
	}
	if err := crlTry(t, s, later, "crl later kept"); err == nil {
		t.Error("after a failed reload, a revoked certificate was served")
	}
	waitRevoked(t, s, 4)
	if err := crlTry(t, s, good, "crl good at the end"); err != nil {
		t.Fatalf("after a failed reload, a good certificate was refused: %v", err)
	}
	reloadWaitMsg(t, s, "crl good at the end")
	ioStopAndVerify(t, s)

	// At start, the stranger's list is a configuration error (exit 2).
	_, stderr, code := runSealog(t, "", "serve", "--listen", freePort(t), "--dir", filepath.Join(dir, "logs2"),
		"--tls-cert", s.PKI.ServerCert, "--tls-key", s.PKI.ServerKey, "--tls-client-ca", bundle, "--tls-crl", crlA,
		"--seal-key", filepath.Join(s.KeyDir, "seal.key"), "--no-chattr")
	if code != 2 || !strings.Contains(stderr, "--tls-crl") || strings.Contains(stderr, "goroutine") {
		t.Errorf("start with a stranger's CRL: exit %d, stderr %q; want exit 2 naming --tls-crl", code, stderr)
	}

	// An expired list still applies, with a warning in the start event.
	expired := intA.crl(filepath.Join(dir, "expired.crl.pem"), "-crl_lastupdate", "20200101000000Z", "-crl_nextupdate", "20200108000000Z")
	s2 := startSealog(t, "--tls-client-ca", bundle, "--tls-crl", expired)
	start := s2.WaitSecurity(t, "start")[0]
	if !strings.Contains(start[8], "past its next update") {
		t.Errorf("start event without the expired-CRL warning: %s", start[8])
	}
	if err := crlTry(t, s2, bad, "crl bad expired list"); err == nil {
		t.Error("an expired CRL was not applied")
	}
	waitRevoked(t, s2, 1)
}
