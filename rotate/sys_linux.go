//go:build linux

package rotate

import (
	"runtime"
	"syscall"
	"unsafe"
)

// This file is the only raw system-call code of the package. It uses the
// standard library's syscall package rather than golang.org/x/sys/unix:
// x/sys v0.49.0 (the version in go.mod) declares go 1.26.0, which the module's
// go 1.24 directive does not allow, so importing it breaks the build. The
// code is the same ioctl(2) x/sys would make; switching back is local to this
// file.

// Inode flags from <linux/fs.h> (x/sys does not define them either).
const (
	flagImmutable uint32 = 0x00000010 // FS_IMMUTABLE_FL, chattr +i
	flagAppend    uint32 = 0x00000020 // FS_APPEND_FL, chattr +a
)

// FS_IOC_GETFLAGS = _IOR('f', 1, long), FS_IOC_SETFLAGS = _IOW('f', 2, long).
// The size field is sizeof(long), which is the pointer size on Linux; the
// direction bits differ on mips, ppc and sparc. The kernel reads and writes
// an int through the pointer whatever the number says, so a uint32 is used
// (as e2fsprogs' chattr does).
var iocGetFlags, iocSetFlags = iocNumbers(runtime.GOARCH)

func iocNumbers(arch string) (get, set uintptr) {
	read, write := uintptr(2)<<30, uintptr(1)<<30 // asm-generic
	switch arch {
	case "mips", "mipsle", "mips64", "mips64le", "ppc", "ppc64", "ppc64le", "sparc64":
		read, write = uintptr(2)<<29, uintptr(4)<<29
	}
	size := unsafe.Sizeof(uintptr(0)) << 16
	const typ = uintptr('f') << 8
	return read | size | typ | 1, write | size | typ | 2
}

func getFlags(fd int) (uint32, error) {
	var v uint32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), iocGetFlags, uintptr(unsafe.Pointer(&v)))
	if e != 0 {
		return 0, e
	}
	return v, nil
}

func setFlags(fd int, flags uint32) error {
	v := flags
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), iocSetFlags, uintptr(unsafe.Pointer(&v)))
	if e != 0 {
		return e
	}
	return nil
}
