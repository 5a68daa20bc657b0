package rotate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Immutable reports whether the file at path carries the immutable
// attribute (chattr +i), which a log file gets only once it is
// final-sealed and closed. It does not follow a symbolic link.
func Immutable(path string) (bool, error) {
	fd, err := openAttr(path)
	if err != nil {
		return false, fmt.Errorf("read attributes of %s: %w", path, err)
	}
	defer syscall.Close(fd)
	flags, err := getFlags(fd)
	if err != nil {
		return false, fmt.Errorf("read attributes of %s: %w", path, err)
	}
	return flags&flagImmutable != 0, nil
}

// Remove deletes a log file that retention pruned (docs/format.md §8): it
// lifts the immutable and append-only attributes (which needs
// CAP_LINUX_IMMUTABLE), unlinks the file and fsyncs the directory, so
// that a crash after Remove returned cannot bring the file back. A file
// that is already gone is not an error: finishing a prune interrupted by
// a crash may find it so. It refuses anything but a regular file and
// does not follow a symbolic link.
func Remove(path string) error {
	fd, err := openAttr(path)
	if errors.Is(err, syscall.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	flags, ferr := getFlags(fd)
	if ferr == nil && flags&(flagImmutable|flagAppend) != 0 {
		if err := setFlags(fd, flags&^(flagImmutable|flagAppend)); err != nil {
			syscall.Close(fd)
			if errors.Is(err, syscall.EPERM) {
				return fmt.Errorf("chattr -i -a %s: %w (needs CAP_LINUX_IMMUTABLE)", path, err)
			}
			return fmt.Errorf("chattr -i -a %s: %w", path, err)
		}
	}
	// A file system without attributes (ferr != nil) has none to lift.
	syscall.Close(fd)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// openAttr opens a regular file for reading its attributes: O_NOFOLLOW,
// and O_NONBLOCK so that a FIFO planted in the directory cannot block
// before the type check.
func openAttr(path string) (int, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return -1, errNotRegular
	}
	return fd, nil
}
