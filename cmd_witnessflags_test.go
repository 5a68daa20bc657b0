package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealog/sealog/witness"
)

// TestWitnessKeyFlags: a key that is not a cosignature key, a repeated
// key, or more cosignatures required than keys given is a usage error
// that names the flag, before any proof is read.
func TestWitnessKeyFlags(t *testing.T) {
	dir := t.TempDir()
	runCmd(t, "", "keygen", "--out", filepath.Join(dir, "k"), "--origin", "sealog/test").wantCode(t, 0)
	logPub := filepath.Join(dir, "k", "log.pub")
	pubText, err := os.ReadFile(logPub)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := witness.NewKey("witness.example/w1", pub)
	proof := filepath.Join(dir, "proof.json")
	os.WriteFile(proof, []byte("{}"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"log key as witness key", []string{"--witness-key", strings.TrimSpace(string(pubText))}, "--witness-key"},
		{"garbage key", []string{"--witness-key", "nonsense"}, "--witness-key"},
		{"twice", []string{"--witness-key", k.String(), "--witness-key", k.String()}, "twice"},
		{"more than given", []string{"--witness-key", k.String(), "--min-cosignatures", "2"}, "--min-cosignatures"},
		{"negative", []string{"--witness-key", k.String(), "--min-cosignatures", "-2"}, "--min-cosignatures"},
		{"without keys", []string{"--min-cosignatures", "1"}, "--min-cosignatures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"verify-proof", "--log-pub", logPub}, tt.args...)
			r := runCmd(t, "", append(args, proof)...)
			r.wantCode(t, 2)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not name %s", r.stderr, tt.want)
			}
		})
	}
}

// TestServeWitnessFlag: a bad --witness, or witnesses without a log key
// to sign what they cosign, is a usage error naming the flag.
func TestServeWitnessFlag(t *testing.T) {
	dir := t.TempDir()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := witness.NewKey("witness.example/w1", pub)
	base := []string{"serve", "--listen-tcp", "127.0.0.1:0", "--dir", filepath.Join(dir, "logs"), "--key", filepath.Join(dir, "seal.key")}
	for _, v := range []string{"nonsense", k.String(), k.String() + ",ftp://x", "http://127.0.0.1:1"} {
		r := runCmd(t, "", append(base, "--witness", v)...)
		r.wantCode(t, 2)
		if !strings.Contains(r.stderr, "--witness") {
			t.Errorf("--witness %q: stderr %q does not name the flag", v, r.stderr)
		}
	}
	r := runCmd(t, "", append(base, "--witness", k.String()+",http://127.0.0.1:1")...)
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "--witness needs a log key") {
		t.Errorf("witness without a log key: stderr %q", r.stderr)
	}
}
