package tlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestWriteKeys(t *testing.T) {
	dir := t.TempDir()
	vkey, err := WriteKeys(dir, "sealog/host1")
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := os.ReadFile(filepath.Join(dir, SignerKeyName))
	pk, _ := os.ReadFile(filepath.Join(dir, VerifierKeyName))
	if !strings.HasPrefix(string(sk), "PRIVATE+KEY+sealog/host1+") || strings.Count(string(sk), "\n") != 1 {
		t.Errorf("log.key: %q", sk)
	}
	if string(pk) != vkey+"\n" || !strings.HasPrefix(vkey, "sealog/host1+") {
		t.Errorf("log.pub: %q", pk)
	}
	for name, want := range map[string]os.FileMode{SignerKeyName: 0o600, VerifierKeyName: 0o644} {
		fi, _ := os.Stat(filepath.Join(dir, name))
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	// The pair works with the reference implementation.
	s, err := LoadSigner(filepath.Join(dir, SignerKeyName))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(pk)))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := note.Sign(&note.Note{Text: "x\n"}, s)
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Errorf("note.Open with log.pub: %v", err)
	}
	if _, err := WriteKeys(dir, "sealog/host1"); !errors.Is(err, ErrKeyExists) {
		t.Errorf("second WriteKeys: got %v, want ErrKeyExists", err)
	}
	if _, err := WriteKeys(t.TempDir(), "bad origin"); !errors.Is(err, ErrOrigin) {
		t.Errorf("origin with a space: got %v, want ErrOrigin", err)
	}
}
