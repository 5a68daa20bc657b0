//go:build linux

package rotate

import (
	"bytes"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages maps the file read-only and asks mincore(2) how many of
// its pages are in the page cache.
func residentPages(t *testing.T, path string) (resident, total int) {
	t.Helper()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fi, err := r.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(r.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	// x/sys/unix has no Mincore wrapper on Linux.
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		if v&1 != 0 {
			resident++
		}
	}
	return resident, len(vec)
}

// TestDropCacheFreesDurablePages: after Sync, DropCache takes the written
// pages out of the page cache (issue 7: writing into fresh memory made
// every byte 2–7x dearer), and the data is still all there.
func TestDropCacheFreesDurablePages(t *testing.T) {
	dir := t.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs := fsTypeFile(d)
	d.Close()
	if fs == "tmpfs" {
		t.Skip("needs a disk file system: on tmpfs the page cache is the file")
	}
	f, err := Create(dir, "events", t0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	for i := 0; i < 4096; i++ { // 4 MiB
		if _, err := f.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	before, total := residentPages(t, f.Path())
	if before == 0 {
		t.Fatalf("no page of the freshly written file is cached (of %d): cannot tell whether DropCache works", total)
	}
	half := f.Size() / 2
	if err := f.DropCache(half); err != nil {
		t.Fatal(err)
	}
	mid, _ := residentPages(t, f.Path())
	if mid > before-total/2+1 {
		t.Errorf("DropCache(half): %d of %d pages still cached (before: %d)", mid, total, before)
	}
	if mid == 0 {
		t.Errorf("DropCache(half) dropped the second half too")
	}
	if err := f.DropCache(f.Size()); err != nil {
		t.Fatal(err)
	}
	if after, _ := residentPages(t, f.Path()); after != 0 {
		t.Errorf("DropCache(all): %d of %d pages still cached", after, total)
	}
	data, err := os.ReadFile(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, bytes.Repeat(line, 4096)) {
		t.Error("file content changed")
	}
	if err := f.DropCache(0); err != nil {
		t.Errorf("DropCache(0): %v", err)
	}
}
