//go:build linux

package rotate

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
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

// diskFileWith creates an active file in a temporary directory and writes
// n lines of 1 KiB to it, skipping the test on tmpfs, where the page cache
// is the file: nothing is written back and nothing can be dropped.
func diskFileWith(t *testing.T, n int) (*File, []byte) {
	t.Helper()
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
	t.Cleanup(func() { f.Close() })
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	for range n {
		if _, err := f.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	return f, line
}

// TestDropCacheFreesDurablePages: after Sync, DropCache takes the written
// pages out of the page cache (writing into fresh memory made
// every byte 2–7x dearer), and the data is still all there.
func TestDropCacheFreesDurablePages(t *testing.T) {
	f, line := diskFileWith(t, 4096) // 4 MiB
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	before, total := residentPages(t, f.Path())
	if before == 0 {
		t.Fatalf("no page of the freshly written file is cached (of %d): cannot tell whether DropCache works", total)
	}
	half := f.Size()/2 + 100 // not on a page boundary
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

// dirtyPages is cachestat(2)'s count of dirty pages of the file at path.
func dirtyPages(t *testing.T, path string) uint64 {
	t.Helper()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var st unix.Cachestat_t
	rng := unix.CachestatRange{} // Len 0: to the end of the file
	if err := unix.Cachestat(uint(r.Fd()), &rng, &st, 0); err != nil {
		if errors.Is(err, unix.ENOSYS) {
			t.Skip("needs cachestat(2) (Linux 6.5 or later) to see dirty pages")
		}
		t.Fatal(err)
	}
	return st.Dirty
}

// TestStartWritebackCleansPagesWithoutSync: StartWriteback makes the
// kernel write the data out now (write-behind keeps the disk
// streaming), so the pages turn clean without any fsync; below the
// threshold it does nothing.
func TestStartWritebackCleansPagesWithoutSync(t *testing.T) {
	f, _ := diskFileWith(t, 8192) // 8 MiB
	if n := dirtyPages(t, f.Path()); n == 0 {
		t.Fatal("no dirty page right after writing: cannot tell whether StartWriteback works")
	}
	if err := f.StartWriteback(f.Size() + 1); err != nil {
		t.Fatal(err)
	}
	if n := dirtyPages(t, f.Path()); n == 0 {
		t.Fatal("StartWriteback below its threshold started a writeback")
	}
	if err := f.StartWriteback(0); err != nil {
		t.Fatal(err)
	}
	// The kernel's own write-back would wait dirty_expire_centisecs
	// (30 s by default); 10 s is plenty for 8 MiB once it was started.
	deadline := time.Now().Add(10 * time.Second)
	for dirtyPages(t, f.Path()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pages still dirty 10 s after StartWriteback", dirtyPages(t, f.Path()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Nothing new written: a second call has nothing to start.
	if err := f.StartWriteback(0); err != nil {
		t.Errorf("StartWriteback with nothing new: %v", err)
	}
}
