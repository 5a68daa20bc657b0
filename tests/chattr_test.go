package tests

// Black-box tests of the file attributes of SPEC §3.1 (issue 3): they need
// root on a filesystem with chattr support (ext4 in CI) and skip otherwise.

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// Linux inode flags (include/uapi/linux/fs.h).
const (
	bbFSIocGetFlags = 0x80086601 // FS_IOC_GETFLAGS
	bbFSImmutableFL = 0x00000010
	bbFSAppendFL    = 0x00000020
)

// bbFlags reads a file's inode flags (what lsattr shows).
func bbFlags(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var flags uint64
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), bbFSIocGetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		t.Fatalf("FS_IOC_GETFLAGS %s: %v", path, e)
	}
	return uint32(flags)
}

func bbImmutable(t *testing.T, path string) bool  { return bbFlags(t, path)&bbFSImmutableFL != 0 }
func bbAppendOnly(t *testing.T, path string) bool { return bbFlags(t, path)&bbFSAppendFL != 0 }
