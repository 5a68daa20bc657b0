package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	r := runCmd(t, "", "keygen", "--out", dir)
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "seal.key") || !strings.Contains(r.stdout, "verify.key") {
		t.Errorf("keygen does not say what it wrote: %q", r.stdout)
	}
	seal, err := os.Stat(filepath.Join(dir, "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	if seal.Mode().Perm() != 0o600 {
		t.Errorf("seal.key mode %v, want 0600", seal.Mode().Perm())
	}
	before, _ := os.ReadFile(filepath.Join(dir, "seal.key"))

	// A second keygen into the same directory must not replace the keys.
	r = runCmd(t, "", "keygen", "--out", dir)
	if r.code == 0 {
		t.Fatalf("keygen overwrote existing keys: %s", r.stdout)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "seal.key"))
	if string(before) != string(after) {
		t.Fatal("a refused keygen changed seal.key")
	}
}

func TestKeygenUsage(t *testing.T) {
	r := runCmd(t, "", "keygen")
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "--out") {
		t.Errorf("missing --out not named: %q", r.stderr)
	}
	r = runCmd(t, "", "keygen", "-h")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "--out") {
		t.Errorf("keygen -h does not list --out: %q", r.stdout)
	}
}
