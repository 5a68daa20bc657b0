//go:build linux

package rotate

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// needAttrs skips the test unless dir supports chattr +a/+i for us.
func needAttrs(t *testing.T, dir string) {
	t.Helper()
	if err := CheckAttributes(dir); err != nil {
		t.Skipf("needs root with CAP_LINUX_IMMUTABLE on a filesystem with append-only/immutable attributes (CI: root on ext4); %s: %v", dir, err)
	}
}

// clearFlagsAtEnd clears FS_APPEND_FL and FS_IMMUTABLE_FL of path when the
// test ends; otherwise the test's temporary directory cannot be removed.
// Registered after t.TempDir, it runs before the directory's removal.
func clearFlagsAtEnd(t *testing.T, path string) {
	t.Cleanup(func() {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			return // removed or never made
		}
		defer syscall.Close(fd)
		flags, err := getFlags(fd)
		if err == nil && flags&(flagAppend|flagImmutable) != 0 {
			err = setFlags(fd, flags&^(flagAppend|flagImmutable))
		}
		if err != nil {
			t.Errorf("clear attributes of %s: %v", path, err)
		}
	})
}

func flagsOf(t *testing.T, path string) uint32 {
	t.Helper()
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	flags, err := getFlags(fd)
	if err != nil {
		t.Fatal(err)
	}
	return flags
}

func wantEPERM(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, syscall.EPERM) {
		t.Errorf("%s: got %v, want EPERM", what, err)
	}
}

// TestAppendOnly: while a file is active, appending works and every other
// way of changing or removing it fails (docs/format.md §3.1).
func TestAppendOnly(t *testing.T) {
	dir := t.TempDir()
	needAttrs(t, dir)
	f, err := Create(dir, "events", t0, true)
	if err != nil {
		t.Fatal(err)
	}
	path := f.Path()
	clearFlagsAtEnd(t, path)
	defer f.Close()

	if got := flagsOf(t, path); got&flagAppend == 0 || got&flagImmutable != 0 {
		t.Fatalf("flags after Create: got %#x, want append-only set and immutable clear", got)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatalf("new file holds %d bytes, want 0 (append-only before the first byte)", fi.Size())
	}
	if _, err := f.Write([]byte("line1\n")); err != nil {
		t.Fatalf("Write to the append-only file: %v", err)
	}

	// Appending through another descriptor works too.
	other, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatalf("open O_APPEND: %v", err)
	}
	defer other.Close()
	if _, err := other.Write([]byte("line2\n")); err != nil {
		t.Fatalf("append through a second descriptor: %v", err)
	}

	// Truncation.
	wantEPERM(t, "os.Truncate", os.Truncate(path, 0))
	for _, flag := range []int{os.O_WRONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND | os.O_TRUNC} {
		g, err := os.OpenFile(path, flag, 0)
		if err == nil {
			g.Close()
		}
		wantEPERM(t, "open with O_TRUNC", err)
	}
	wantEPERM(t, "ftruncate on the O_APPEND descriptor", other.Truncate(0))
	// Overwriting: no descriptor without O_APPEND can be had, and O_APPEND
	// cannot be dropped from one.
	for _, flag := range []int{os.O_WRONLY, os.O_RDWR} {
		g, err := os.OpenFile(path, flag, 0)
		if err == nil {
			g.Close()
		}
		wantEPERM(t, "open for writing without O_APPEND", err)
	}
	rc, _ := other.SyscallConn()
	rc.Control(func(fd uintptr) {
		_, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, 0)
		if e == 0 {
			t.Errorf("fcntl F_SETFL without O_APPEND: got success, want EPERM")
		} else {
			wantEPERM(t, "fcntl F_SETFL without O_APPEND", e)
		}
		// pwrite on an O_APPEND descriptor appends (Linux ignores the
		// offset); it must not overwrite offset 0.
		if _, err := syscall.Pwrite(int(fd), []byte("XXXXX\n"), 0); err != nil {
			t.Errorf("pwrite: %v", err)
		}
	})
	// Renaming, linking, removing, changing mode.
	wantEPERM(t, "rename", os.Rename(path, path+".moved"))
	wantEPERM(t, "unlink", os.Remove(path))
	wantEPERM(t, "link", os.Link(path, filepath.Join(dir, "hardlink")))
	wantEPERM(t, "chmod", os.Chmod(path, 0o666))

	if _, err := f.Write([]byte("line3\n")); err != nil {
		t.Fatalf("Write after the attacks: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "line1\nline2\nXXXXX\nline3\n"; string(got) != want {
		t.Errorf("content: got %q, want %q", got, want)
	}
}

// TestImmutable: after the final seal the file cannot be written, renamed or
// removed at all (docs/format.md §3.1).
func TestImmutable(t *testing.T) {
	dir := t.TempDir()
	needAttrs(t, dir)
	f, err := Create(dir, "security", t0, true)
	if err != nil {
		t.Fatal(err)
	}
	path := f.Path()
	clearFlagsAtEnd(t, path)
	if _, err := f.Write([]byte("sealed\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := SetImmutable(path); err != nil {
		t.Fatal(err)
	}
	if got := flagsOf(t, path); got&flagImmutable == 0 || got&flagAppend != 0 {
		t.Fatalf("flags after SetImmutable: got %#x, want immutable set and append-only clear", got)
	}
	for _, flag := range []int{os.O_WRONLY | os.O_APPEND, os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC} {
		g, err := os.OpenFile(path, flag, 0)
		if err == nil {
			g.Close()
		}
		wantEPERM(t, "open for writing", err)
	}
	wantEPERM(t, "truncate", os.Truncate(path, 0))
	wantEPERM(t, "rename", os.Rename(path, path+".moved"))
	wantEPERM(t, "unlink", os.Remove(path))
	wantEPERM(t, "link", os.Link(path, filepath.Join(dir, "hardlink")))
	wantEPERM(t, "chmod", os.Chmod(path, 0o666))
	if b, err := os.ReadFile(path); err != nil || string(b) != "sealed\n" {
		t.Errorf("read back: got (%q, %v), want (%q, nil)", b, err, "sealed\n")
	}
	// Idempotent, so that recovery can run again after a crash.
	if err := SetImmutable(path); err != nil {
		t.Errorf("second SetImmutable: got %v, want nil", err)
	}
}

func TestSetImmutableRefuses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Fatal(err)
	}
	clearFlagsAtEnd(t, file)
	for _, p := range []string{dir, link, fifo, filepath.Join(dir, "missing")} {
		if err := SetImmutable(p); err == nil {
			t.Errorf("SetImmutable(%s): got nil error, want one", p)
		}
	}
	if flagsOf(t, file)&flagImmutable != 0 {
		t.Error("SetImmutable through a symbolic link changed the target")
	}
}

func TestCreateWithoutChattr(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(dir, "events", t0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err := syscall.Open(f.Path(), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	flags, err := getFlags(fd)
	if err != nil {
		t.Skipf("filesystem of %s has no inode flags: %v", dir, err)
	}
	if flags&(flagAppend|flagImmutable) != 0 {
		t.Errorf("flags with chattr false: got %#x, want neither append-only nor immutable", flags)
	}
}

func TestCheckAttributes(t *testing.T) {
	dir := t.TempDir()
	needAttrs(t, dir)
	// A probe left behind append-only by a crash is cleaned up.
	stale := filepath.Join(dir, ".sealog-probe-stale")
	g, err := os.Create(stale)
	if err != nil {
		t.Fatal(err)
	}
	clearFlagsAtEnd(t, stale)
	if err := SetAppendOnly(g); err != nil {
		t.Fatal(err)
	}
	g.Close()
	if err := CheckAttributes(dir); err != nil {
		t.Fatalf("CheckAttributes: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("CheckAttributes left %d entries in %s, want 0", len(entries), dir)
	}
	if err := CheckAttributes(filepath.Join(dir, "missing")); err == nil {
		t.Error("CheckAttributes on a missing directory: got nil error, want one")
	}
}

// TestUnsupportedFilesystem: on a filesystem without the flags, the probe
// and Create fail with ErrUnsupported naming the filesystem, and Create
// leaves nothing behind. tmpfs has had the flags since Linux 6.0, so on a
// newer kernel tmpfs must pass and ramfs is the one without them.
func TestUnsupportedFilesystem(t *testing.T) {
	for _, fstype := range []string{"tmpfs", "ramfs"} {
		t.Run(fstype, func(t *testing.T) {
			dir := mountOrShm(t, fstype)
			err := CheckAttributes(dir)
			if !probeSupported(t, dir) {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("CheckAttributes on %s: got %v, want ErrUnsupported", fstype, err)
				}
				t.Logf("CheckAttributes: %v", err)
				if msg := err.Error(); !strings.Contains(msg, "("+fstype+")") || !strings.Contains(msg, dir) {
					t.Errorf("error %q does not name the filesystem %s and the directory %s", msg, fstype, dir)
				}
				f, err := Create(dir, "events", t0, true)
				if err == nil {
					f.Close()
					t.Fatal("Create with chattr: got nil error, want ErrUnsupported")
				}
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), fstype) {
					t.Errorf("Create with chattr: got %v, want ErrUnsupported naming %s", err, fstype)
				}
				if f, err := Create(dir, "events", t0, false); err != nil {
					t.Errorf("Create without chattr on %s: %v", fstype, err)
				} else {
					f.Close()
					os.Remove(f.Path())
				}
			} else {
				if errors.Is(err, ErrNoCapability) {
					t.Skipf("%s supports the flags, but setting them needs CAP_LINUX_IMMUTABLE: %v", fstype, err)
				}
				if err != nil {
					t.Errorf("CheckAttributes on %s, which supports the flags: %v", fstype, err)
				}
				t.Logf("%s supports append-only/immutable on this kernel", fstype)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("%d entries left in %s, want 0", len(entries), dir)
			}
		})
	}
}

// mountOrShm mounts fstype, or for tmpfs falls back to /dev/shm.
func mountOrShm(t *testing.T, fstype string) string {
	t.Helper()
	if os.Geteuid() == 0 {
		dir := t.TempDir()
		if err := syscall.Mount(fstype, dir, fstype, 0, ""); err == nil {
			t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
			return dir
		}
	}
	if fstype == "tmpfs" {
		var st syscall.Statfs_t
		if syscall.Statfs("/dev/shm", &st) == nil && uint32(st.Type) == 0x01021994 {
			dir, err := os.MkdirTemp("/dev/shm", "rotate-test-")
			if err == nil {
				t.Cleanup(func() { os.RemoveAll(dir) })
				return dir
			}
		}
	}
	t.Skipf("needs root (CAP_SYS_ADMIN) to mount a %s", fstype)
	return ""
}

// probeSupported asks the kernel directly whether dir's filesystem has inode
// flags, independently of CheckAttributes.
func probeSupported(t *testing.T, dir string) bool {
	t.Helper()
	p := filepath.Join(dir, "probe-test")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	_, err = getFlags(fd)
	return err == nil
}

// TestNoCapability runs the child test below in a process without
// CAP_LINUX_IMMUTABLE (dropped with capsh): every attribute operation must
// fail with ErrNoCapability, name CAP_LINUX_IMMUTABLE, and leave no file.
func TestNoCapability(t *testing.T) {
	dir := t.TempDir()
	needAttrs(t, dir)
	capsh, err := exec.LookPath("capsh")
	if err != nil {
		t.Skip("needs capsh (libcap) to drop CAP_LINUX_IMMUTABLE in a child process")
	}
	sealed := filepath.Join(dir, "events-20261122T000000.000Z.log")
	if err := os.WriteFile(sealed, []byte("x\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	clearFlagsAtEnd(t, sealed)
	cmd := exec.Command(capsh, "--drop=cap_linux_immutable", "--",
		"-c", `exec "$0" -test.run='^TestNoCapabilityChild$' -test.v -test.count=1`, os.Args[0])
	cmd.Env = append(os.Environ(), "ROTATE_NOCAP_DIR="+dir, "ROTATE_NOCAP_FILE="+sealed)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestNoCapabilityChild")) {
		t.Fatalf("child without CAP_LINUX_IMMUTABLE: %v\n%s", err, out)
	}
	if flagsOf(t, sealed)&(flagAppend|flagImmutable) != 0 {
		t.Error("the child changed the attributes without the capability")
	}
}

func TestNoCapabilityChild(t *testing.T) {
	dir := os.Getenv("ROTATE_NOCAP_DIR")
	if dir == "" {
		t.Skip("run by TestNoCapability")
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(status, []byte("CapEff:\t")) || hasCapImmutable(status) {
		t.Fatalf("child still has CAP_LINUX_IMMUTABLE:\n%s", status)
	}
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrNoCapability) {
			t.Errorf("%s: got %v, want ErrNoCapability", what, err)
			return
		}
		if !strings.Contains(err.Error(), "CAP_LINUX_IMMUTABLE") {
			t.Errorf("%s: error %q does not name CAP_LINUX_IMMUTABLE", what, err)
		}
	}
	err = CheckAttributes(dir)
	t.Logf("CheckAttributes: %v", err)
	check("CheckAttributes", err)
	if err != nil && !strings.Contains(err.Error(), dir) {
		t.Errorf("CheckAttributes: error %q does not name %s", err, dir)
	}
	f, err := Create(dir, "events", t0, true)
	if err == nil {
		f.Close()
	}
	check("Create with chattr", err)
	check("SetImmutable", SetImmutable(os.Getenv("ROTATE_NOCAP_FILE")))
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("got %d entries in %s, want only the parent's file", len(entries), dir)
	}
}

// hasCapImmutable reads bit 9 (CAP_LINUX_IMMUTABLE) of CapEff.
func hasCapImmutable(status []byte) bool {
	for _, line := range strings.Split(string(status), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:\t"); ok {
			var v uint64
			for _, c := range hex {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= uint64(c - '0')
				case c >= 'a' && c <= 'f':
					v |= uint64(c-'a') + 10
				}
			}
			return v&(1<<9) != 0
		}
	}
	return true
}

func TestFsName(t *testing.T) {
	tests := []struct {
		magic uint32
		want  string
	}{
		{0xef53, "ext4"},
		{0x58465342, "xfs"},
		{0x9123683e, "btrfs"},
		{0x01021994, "tmpfs"},
		{0x858458f6, "ramfs"},
		{0x794c7630, "overlayfs"},
		{0x12345678, "filesystem type 0x12345678"},
	}
	for _, tc := range tests {
		if got := fsName(tc.magic); got != tc.want {
			t.Errorf("fsName(%#x): got %q, want %q", tc.magic, got, tc.want)
		}
	}
}

// TestWriteShort fills a real 1 MiB tmpfs: the write that hits ENOSPC must
// report the bytes the kernel took, the counters must match the disk, and
// retrying the remainder once space is free must leave every byte exactly
// once (docs/format.md §5 fail closed).
func TestWriteShort(t *testing.T) {
	dir := mountFS(t, "tmpfs", "size=1m")
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 256<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(dir, "events", t0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// 99,995 bytes is not a multiple of the page size, so the write that
	// meets the end of the space is cut inside it.
	p := bytes.Repeat([]byte("0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\n"), 990)
	p = append(p, "tail\n"...)
	var want []byte
	var n int
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("1 MiB tmpfs never filled up")
		}
		n, err = f.Write(p)
		want = append(want, p[:n]...)
		if err != nil {
			break
		}
		if n != len(p) {
			t.Fatalf("Write: got (%d, nil), want a short count only with an error", n)
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write on a full filesystem: got error %v, want ENOSPC", err)
	}
	if n >= len(p) {
		t.Fatalf("Write on a full filesystem: got n = %d, want < %d", n, len(p))
	}
	t.Logf("short write: %d of %d bytes, file at %d bytes", n, len(p), f.Size())
	checkDisk(t, f, want)

	// Free space; the caller retries the remainder and nothing is doubled.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	rest := p[n:]
	if m, err := f.Write(rest); m != len(rest) || err != nil {
		t.Fatalf("retry after freeing space: got (%d, %v), want (%d, nil)", m, err, len(rest))
	}
	want = append(want, rest...)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	checkDisk(t, f, want)
	if !bytes.HasSuffix(want, p) || bytes.Count(want, []byte("tail\n"))*len(p) != len(want) {
		t.Errorf("file is not a whole number of writes: %d bytes", len(want))
	}
}

func checkDisk(t *testing.T, f *File, want []byte) {
	t.Helper()
	disk, err := os.ReadFile(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(disk, want) {
		t.Fatalf("file holds %d bytes, want the %d accepted", len(disk), len(want))
	}
	if f.Size() != int64(len(disk)) || f.Lines() != int64(bytes.Count(disk, []byte("\n"))) || f.Root() != linesRoot(disk) {
		t.Fatalf("counters: got (size %d, lines %d), want (%d, %d) and the SHA-256 of the file", f.Size(), f.Lines(),
			len(disk), bytes.Count(disk, []byte("\n")))
	}
}

// mountFS mounts a fresh filesystem of type fstype on a temporary directory
// and unmounts it when the test ends; it skips when that is not allowed.
func mountFS(t *testing.T, fstype, data string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to mount a %s (running as uid %d)", fstype, os.Geteuid())
	}
	dir := t.TempDir()
	if err := syscall.Mount(fstype, dir, fstype, 0, data); err != nil {
		t.Skipf("needs permission to mount a %s (CAP_SYS_ADMIN): %v", fstype, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
