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
	// A stray argument is a usage error and makes no keys.
	dir := filepath.Join(t.TempDir(), "keys")
	r = runCmd(t, "", "keygen", "--out", dir, "example.org/log")
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "example.org/log") {
		t.Errorf("stray argument not named: %q", r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused keygen created %s (err %v)", dir, err)
	}
	r = runCmd(t, "", "keygen", "-h")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "--out") {
		t.Errorf("keygen -h does not list --out: %q", r.stdout)
	}
}

func TestKeygenLogKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	r := runCmd(t, "", "keygen", "--out", dir, "--origin", "sealog/test-host")
	r.wantCode(t, 0)
	key, err := os.ReadFile(filepath.Join(dir, "log.key"))
	if err != nil || !strings.HasPrefix(string(key), "PRIVATE+KEY+sealog/test-host+") {
		t.Fatalf("log.key: %q, %v", key, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "log.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("log.key mode %v, want 0600", fi.Mode().Perm())
	}
	pub, err := os.ReadFile(filepath.Join(dir, "log.pub"))
	if err != nil || !strings.HasPrefix(string(pub), "sealog/test-host+") || strings.Count(string(pub), "\n") != 1 {
		t.Fatalf("log.pub: %q, %v", pub, err)
	}
	// A second keygen refuses and leaves all four keys as they were.
	r = runCmd(t, "", "keygen", "--out", dir)
	if r.code == 0 {
		t.Fatal("keygen overwrote log keys")
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "log.key")); string(again) != string(key) {
		t.Fatal("a refused keygen changed log.key")
	}
	// Only log.pub left from an earlier keygen: refused before seal.key is made.
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, "log.pub"), pub, 0o644)
	r = runCmd(t, "", "keygen", "--out", dir2)
	if r.code == 0 {
		t.Fatal("keygen wrote keys beside an existing log.pub")
	}
	if _, err := os.Stat(filepath.Join(dir2, "seal.key")); err == nil {
		t.Error("a refused keygen left a seal.key")
	}
	r = runCmd(t, "", "keygen", "--out", t.TempDir(), "--origin", "has space")
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "--origin") {
		t.Errorf("bad origin not named: %q", r.stderr)
	}
}

// TestKeygenVerifyKeyToStdout: --verify-key-to - prints K1 alone on
// stdout (so it can be piped off the host) and writes no verify.key;
// the seal key state starts from that K1.
func TestKeygenVerifyKeyToStdout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	r := runCmd(t, "", "keygen", "--out", dir, "--verify-key-to", "-")
	r.wantCode(t, 0)
	k1 := strings.TrimSuffix(r.stdout, "\n")
	if len(k1) != 64 || strings.Trim(k1, "0123456789abcdef") != "" || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("stdout %q, want only the verify key: 64 hex digits and LF", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "verify.key")); err == nil {
		t.Fatal("verify.key written despite --verify-key-to -")
	}
	state, _ := os.ReadFile(filepath.Join(dir, "seal.key"))
	if !strings.Contains(string(state), "\nkey="+k1+"\n") {
		t.Fatalf("seal.key does not start from the printed K1:\n%s", state)
	}
	if !strings.Contains(r.stderr, "not written to disk") {
		t.Errorf("stderr does not say where the verify key went: %q", r.stderr)
	}
}
