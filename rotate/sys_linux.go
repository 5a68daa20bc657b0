//go:build linux

package rotate

import "golang.org/x/sys/unix"

// Inode flags from <linux/fs.h>; x/sys/unix does not name them.
const (
	flagImmutable uint32 = 0x00000010 // FS_IMMUTABLE_FL, chattr +i
	flagAppend    uint32 = 0x00000020 // FS_APPEND_FL, chattr +a
)

// getFlags and setFlags are the FS_IOC_GETFLAGS / FS_IOC_SETFLAGS ioctls
// that chattr(1) uses. The kernel reads and writes an int through the
// pointer whatever the ioctl number's size field says.
func getFlags(fd int) (uint32, error) {
	return unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
}

func setFlags(fd int, flags uint32) error {
	return unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags))
}
