//go:build linux

package rotate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// probePrefix names the hidden files CheckAttributes creates. Scan never
// matches them (they do not look like log names).
const probePrefix = ".sealog-probe-"

// CheckAttributes is the start-up probe for docs/operations.md (--no-chattr): it
// creates a hidden file ".sealog-probe-*" in dir, makes it append-only, then
// immutable (the same one-ioctl transition SetImmutable makes), clears both
// flags and removes it. It returns nil when sealog can protect files in dir,
// else an error wrapping ErrNoCapability or ErrUnsupported that names dir and
// its filesystem type.
//
// Probe files left by a probe that crashed half-way are cleared and removed
// first, so they neither accumulate nor block removal of the directory.
func CheckAttributes(dir string) error {
	removeStaleProbes(dir)
	f, err := os.CreateTemp(dir, probePrefix+"*")
	if err != nil {
		return fmt.Errorf("check attributes in %s: %w", dir, err)
	}
	path := f.Name()
	perr := withFd(f, func(fd int) error {
		flags, err := getFlags(fd)
		if err != nil {
			return err
		}
		if err := setFlags(fd, flags|flagAppend); err != nil {
			return err
		}
		if err := setFlags(fd, flags&^flagAppend|flagImmutable); err != nil {
			_ = setFlags(fd, flags&^(flagAppend|flagImmutable))
			return err
		}
		return setFlags(fd, flags&^(flagAppend|flagImmutable))
	})
	fsName := fsTypeFile(f)
	_ = f.Close()
	rerr := os.Remove(path)
	if perr != nil {
		return attrError("check attributes in", dir, fsName, perr)
	}
	if rerr != nil {
		// Not an attribute failure: say what it is rather than blame the
		// capability for EPERM from unlink.
		return fmt.Errorf("check attributes in %s: %w", dir, rerr)
	}
	return nil
}

// removeStaleProbes clears and removes probe files of an earlier, interrupted
// CheckAttributes. Errors are ignored: the probe that follows reports any
// real problem.
func removeStaleProbes(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, probePrefix+"*"))
	for _, p := range names {
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			if flags, err := getFlags(fd); err == nil && flags&(flagAppend|flagImmutable) != 0 {
				_ = setFlags(fd, flags&^(flagAppend|flagImmutable))
			}
			_ = syscall.Close(fd)
			_ = os.Remove(p)
			continue
		}
		_ = syscall.Close(fd)
	}
}

// SetAppendOnly sets FS_APPEND_FL (chattr +a) on an open file, keeping its
// other flags. From then on the kernel refuses truncation, writes that are
// not appends, rename, unlink and clearing O_APPEND, even for root without
// CAP_LINUX_IMMUTABLE (docs/format.md §3.1).
func SetAppendOnly(f *os.File) error {
	err := withFd(f, func(fd int) error {
		flags, err := getFlags(fd)
		if err != nil {
			return err
		}
		if flags&flagAppend != 0 {
			return nil
		}
		return setFlags(fd, flags|flagAppend)
	})
	if err != nil {
		return attrError("chattr +a", f.Name(), fsTypeFile(f), err)
	}
	return nil
}

// SetImmutable turns a finished file from append-only into immutable (chattr
// -a +i) with a single FS_IOC_SETFLAGS call, so there is no moment in which
// the file is unprotected (docs/format.md §3.1, §5). It is idempotent: a file that is
// already immutable and not append-only is left alone, which lets crash
// recovery run twice. It refuses anything but a regular file and does not
// follow a symbolic link.
func SetImmutable(path string) error {
	// O_RDONLY is enough for the ioctl and is allowed on append-only and
	// immutable files; O_NONBLOCK keeps a FIFO planted in the directory from
	// blocking start-up before the type check below.
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("chattr +i %s: %w", path, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fmt.Errorf("chattr +i %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return fmt.Errorf("chattr +i %s: %w", path, errNotRegular)
	}
	flags, err := getFlags(fd)
	if err == nil {
		want := flags&^flagAppend | flagImmutable
		if want == flags {
			return nil
		}
		err = setFlags(fd, want)
	}
	if err != nil {
		return attrError("chattr -a +i", path, fsTypeFd(fd), err)
	}
	return nil
}

// attrError classifies an ioctl failure: EPERM means the process lacks
// CAP_LINUX_IMMUTABLE (sealog owns the files it changes, so ownership is not
// the cause); ENOTTY, EOPNOTSUPP and EINVAL mean the filesystem has no such
// flags.
func attrError(op, path, fsName string, err error) error {
	switch {
	case errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s %s (%s): %w: %w", op, path, fsName, ErrNoCapability, err)
	case errors.Is(err, syscall.ENOTTY), errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.EINVAL):
		return fmt.Errorf("%s %s (%s): %w: %w", op, path, fsName, ErrUnsupported, err)
	}
	return fmt.Errorf("%s %s (%s): %w", op, path, fsName, err)
}

func fsTypeFile(f *os.File) string {
	name := "unknown filesystem"
	_ = withFd(f, func(fd int) error { name = fsTypeFd(fd); return nil })
	return name
}

func fsTypeFd(fd int) string {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(fd, &st); err != nil {
		return "unknown filesystem"
	}
	return fsName(uint32(st.Type))
}

// fsName maps a statfs f_type magic number (<linux/magic.h>) to the name an
// operator knows, or to hex for one not listed.
func fsName(magic uint32) string {
	switch magic {
	case 0xef53:
		return "ext4" // ext2, ext3 and ext4 share the magic
	case 0x58465342:
		return "xfs"
	case 0x9123683e:
		return "btrfs"
	case 0x01021994:
		return "tmpfs"
	case 0x858458f6:
		return "ramfs"
	case 0x794c7630:
		return "overlayfs"
	case 0x2fc12fc1:
		return "zfs"
	case 0xca451a4e:
		return "bcachefs"
	case 0xf2f52010:
		return "f2fs"
	case 0x6969:
		return "nfs"
	case 0xff534d42:
		return "cifs"
	case 0xfe534d42:
		return "smb2"
	case 0x65735546:
		return "fuse"
	case 0x01021997:
		return "9p"
	case 0x4d44:
		return "vfat"
	case 0x2011bab0:
		return "exfat"
	case 0x5346544e:
		return "ntfs"
	case 0x73717368:
		return "squashfs"
	case 0xe0f5e1e2:
		return "erofs"
	case 0x3434:
		return "nilfs2"
	case 0x52654973:
		return "reiserfs"
	case 0x3153464a:
		return "jfs"
	case 0xf15f:
		return "ecryptfs"
	case 0x958458f6:
		return "hugetlbfs"
	case 0xc36400:
		return "ceph"
	case 0x0bd00bd0:
		return "lustre"
	case 0x47504653:
		return "gpfs"
	case 0x9fa0:
		return "proc"
	case 0x62656572:
		return "sysfs"
	}
	return "filesystem type 0x" + strconv.FormatUint(uint64(magic), 16)
}

// syncData is fdatasync(2), retried on EINTR.
func syncData(f *os.File) error {
	return withFd(f, func(fd int) error {
		for {
			if err := syscall.Fdatasync(fd); err != syscall.EINTR {
				return err
			}
		}
	})
}

// dropCache is posix_fadvise(POSIX_FADV_DONTNEED) on [off, off+n).
func dropCache(f *os.File, off, n int64) error {
	return withFd(f, func(fd int) error {
		return unix.Fadvise(fd, off, n, unix.FADV_DONTNEED)
	})
}

// startWriteback is sync_file_range(SYNC_FILE_RANGE_WRITE) on [off, off+n).
func startWriteback(f *os.File, off, n int64) error {
	return withFd(f, func(fd int) error {
		return unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
