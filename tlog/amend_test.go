package tlog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestAmend: a signature line added to the latest checkpoint lands in
// DIR/checkpoint; one for a checkpoint replaced since does not, and f may
// not change the text.
func TestAmend(t *testing.T) {
	dir := t.TempDir()
	s, v := newKeys(t, "sealog/test")
	p := NewPublisher(dir, s, nil)
	first, err := p.Publish(1, LeafHash([]byte("a")))
	if err != nil {
		t.Fatal(err)
	}
	text1 := Checkpoint{Origin: "sealog/test", Size: 1, Root: LeafHash([]byte("a"))}.Text()
	extra := []byte("\u2014 w.example AAAAAQID\n")
	add := func(n []byte) ([]byte, error) { return append(append([]byte(nil), n...), extra...), nil }
	if ok, err := p.Amend(text1, add); !ok || err != nil {
		t.Fatalf("Amend of the latest: %v, %v", ok, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, CheckpointName))
	if !bytes.Equal(got, append(append([]byte(nil), first...), extra...)) {
		t.Fatalf("DIR/checkpoint %q", got)
	}
	if _, _, err := Open(got, v); err != nil {
		t.Fatalf("the amended note no longer opens: %v", err)
	}
	if _, latest := p.Latest(); !bytes.Equal(latest, got) {
		t.Errorf("Latest %q, want the amended note", latest)
	}
	if ok, err := p.Amend(text1, func(n []byte) ([]byte, error) { return bytes.Replace(n, []byte("\n1\n"), []byte("\n2\n"), 1), nil }); ok || err == nil {
		t.Errorf("Amend that changes the text: %v, %v", ok, err)
	}
	second, _ := p.Publish(2, LeafHash([]byte("b")))
	if ok, err := p.Amend(text1, add); ok || err != nil {
		t.Errorf("Amend of a replaced checkpoint: %v, %v", ok, err)
	}
	got, _ = os.ReadFile(filepath.Join(dir, CheckpointName))
	if !bytes.Equal(got, second) {
		t.Errorf("DIR/checkpoint %q, want the second checkpoint untouched", got)
	}
}
