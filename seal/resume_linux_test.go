//go:build linux

package seal

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSealResumesPartialLine fills a real (tmpfs) filesystem so that the
// kernel takes only part of a seal line, then frees space: the retried
// seal must finish the same line — same SEQ, no second line, no torn
// line — so the chain continues and a reopen accepts it (docs/format.md §5: fail
// closed, lose nothing, nothing written half).
func TestSealResumesPartialLine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	keyPath, _ := testKey(t) // key state on the normal disk

	c, err := OpenChain(dir, keyPath, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	name := "events-20261122T101500.123Z.log"
	// Seal until the last page of seals.log has less room than a line.
	for {
		if _, err := c.Seal(KindCheckpoint, name, 100, 1, sum); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(filepath.Join(dir, SealsName))
		if room := 4096 - fi.Size()%4096; room > 20 && room < 200 {
			break
		}
	}
	seqBefore, _ := c.Head()
	// Fill every remaining page.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	_, err = c.Seal(KindFinal, name, 200, 2, sum)
	if !errors.Is(err, ErrSealIncomplete) {
		t.Fatalf("seal on a full disk: got %v, want ErrSealIncomplete", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, SealsName))
	if len(data) == 0 || data[len(data)-1] == '\n' {
		t.Fatalf("test setup: expected a torn seal line on disk")
	}
	// Still full: the retry fails again without harm.
	if _, err := c.Seal(KindFinal, name, 200, 2, sum); !errors.Is(err, ErrSealIncomplete) {
		t.Fatalf("retry on a full disk: got %v, want ErrSealIncomplete", err)
	}
	os.Remove(filler)
	rec, err := c.Seal(KindFinal, name, 200, 2, sum)
	if err != nil {
		t.Fatalf("retry after freeing space: %v", err)
	}
	if rec.Seq != seqBefore+1 {
		t.Errorf("got SEQ %d, want %d (the interrupted seal, finished)", rec.Seq, seqBefore+1)
	}
	if seq, _ := c.Head(); seq != rec.Seq {
		t.Errorf("head SEQ %d, want %d: the retry must not seal twice", seq, rec.Seq)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, SealsName))
	if got, want := bytes.Count(data, []byte("\n")), int(rec.Seq); got != want || data[len(data)-1] != '\n' {
		t.Fatalf("seals.log has %d lines (last byte %q), want %d whole lines", got, data[len(data)-1], want)
	}
	c2, err := OpenChain(dir, keyPath, ChainOptions{})
	if err != nil {
		t.Fatalf("reopen after the resumed seal: %v", err)
	}
	c2.Close()
}
