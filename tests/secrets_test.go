package tests

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoSecretsInLogs runs a server through start, traffic, a reload, a
// rotation and a stop, then searches every file it wrote and everything it
// printed for the sealing keys it held (K1 … Kn, in hex and base64) and
// for the TLS private keys (PEM body, DER in hex) [T 12; ASVS 16.2.5].
func TestNoSecretsInLogs(t *testing.T) {
	s := startSealog(t, "--rotate-size", "4096", "--seal-interval", "200ms")
	for i := 0; i < 40; i++ {
		s.Send(t, "<13>1 - host app - - - message with some padding to fill files "+strings.Repeat("x", 100))
	}
	s.WaitEvents(t, 40)
	s.cmd.Process.Signal(syscall.SIGHUP)
	s.WaitSecurity(t, "reload")
	time.Sleep(300 * time.Millisecond) // a checkpoint or two
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}

	k1hex, err := os.ReadFile(filepath.Join(s.KeyDir, "verify.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(k1hex)))
	if err != nil || len(key) != 32 {
		t.Fatalf("verify.key: %v", err)
	}
	seals, _ := os.ReadFile(filepath.Join(s.Dir, "seals.log"))
	n := strings.Count(string(seals), "\n")
	if n < 3 {
		t.Fatalf("only %d seals: the run did not exercise sealing", n)
	}
	// The keys searched for must be the real ones: K1 recomputes seal 1.
	first := strings.Split(strings.SplitN(string(seals), "\n", 2)[0], "\t")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(first[1:9], "\t")))
	if got := hex.EncodeToString(m.Sum(nil)); got != first[9] {
		t.Fatalf("K1 does not recompute seal 1 (got %s, want %s): the key search would be vacuous", got, first[9])
	}
	var secrets []string
	for i := 0; i <= n; i++ { // K1 … K(n+1), the key the server holds now
		secrets = append(secrets, hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key))
		m := hmac.New(sha256.New, key)
		m.Write([]byte("sealog key evolution"))
		key = m.Sum(nil)
	}
	for _, f := range []string{s.PKI.ServerKey, s.PKI.ClientKey} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		if block == nil {
			t.Fatalf("%s: no PEM", f)
		}
		if _, err := x509.ParseECPrivateKey(block.Bytes); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		body := strings.Join(strings.Split(strings.TrimSpace(string(data)), "\n")[1:], "")
		body = strings.TrimSuffix(body, "-----END EC PRIVATE KEY-----")
		secrets = append(secrets, body[:40], hex.EncodeToString(block.Bytes)[:64])
	}

	outputs := map[string]string{"stderr": s.Stderr()}
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(s.Dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		outputs[e.Name()] = string(data)
	}
	if len(outputs) < 5 {
		t.Fatalf("only %d outputs to search: %v", len(outputs), entries)
	}
	for name, text := range outputs {
		lower := strings.ToLower(text)
		for _, secret := range secrets {
			if strings.Contains(text, secret) || strings.Contains(lower, strings.ToLower(secret)) {
				t.Errorf("%s contains secret material %q…", name, secret[:12])
			}
		}
	}
}
