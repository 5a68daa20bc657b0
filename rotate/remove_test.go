package rotate

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestRemove: a final-sealed file (immutable) is deleted with its
// attributes lifted; an active one (append-only) too; a second Remove of
// the same name is no error (finishing an interrupted prune).
func TestRemove(t *testing.T) {
	dir := t.TempDir()
	needAttrs(t, dir)
	for _, immutable := range []bool{true, false} {
		f, err := Create(dir, StreamEvents, time.Now(), true)
		if err != nil {
			t.Fatal(err)
		}
		clearFlagsAtEnd(t, f.Path())
		f.Write([]byte("12\tsome line x\n"))
		f.Sync()
		f.Close()
		if immutable {
			if err := SetImmutable(f.Path()); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := Immutable(f.Path()); err != nil || got != immutable {
			t.Fatalf("Immutable: got %v, %v; want %v", got, err, immutable)
		}
		// The kernel refuses a plain unlink, as for any intruder without the capability.
		if err := syscall.Unlink(f.Path()); err == nil {
			t.Fatalf("unlink of a protected file succeeded")
		}
		if err := Remove(f.Path()); err != nil {
			t.Fatalf("Remove (immutable %v): %v", immutable, err)
		}
		if _, err := os.Lstat(f.Path()); !os.IsNotExist(err) {
			t.Errorf("file still there after Remove: %v", err)
		}
		if err := Remove(f.Path()); err != nil {
			t.Errorf("second Remove: got %v, want nil", err)
		}
		time.Sleep(2 * time.Millisecond) // a new name
	}
}

// TestRemoveRefuses: Remove never follows a symlink nor touches a FIFO.
func TestRemoveRefuses(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep me\n"), 0o640)
	link := filepath.Join(dir, "events-20261122T101500.123Z.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Remove(link); err == nil {
		t.Errorf("Remove of a symlink: got nil, want an error")
	}
	fifo := filepath.Join(dir, "events-20261122T111500.000Z.log")
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Remove(fifo) }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("Remove of a FIFO: got nil, want an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Remove blocked on a FIFO")
	}
	for _, p := range []string{target, link, fifo} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s: %v (must be left alone)", p, err)
		}
	}
}
