//go:build !linux

package rotate

import (
	"fmt"
	"os"
	"path/filepath"
)

// The attributes exist only on Linux; elsewhere sealog needs --no-chattr.

func CheckAttributes(dir string) error {
	return fmt.Errorf("check attributes in %s: %w: not linux", filepath.Clean(dir), ErrUnsupported)
}

func SetAppendOnly(f *os.File) error {
	return fmt.Errorf("chattr +a %s: %w: not linux", f.Name(), ErrUnsupported)
}

func SetImmutable(path string) error {
	return fmt.Errorf("chattr -a +i %s: %w: not linux", path, ErrUnsupported)
}

func getFlags(int) (uint32, error) { return 0, ErrUnsupported }
func setFlags(int, uint32) error   { return ErrUnsupported }

func syncData(f *os.File) error { return f.Sync() }

const (
	flagImmutable uint32 = 0x10
	flagAppend    uint32 = 0x20
)

func dropCache(*os.File, int64, int64) error { return nil }

func startWriteback(*os.File, int64, int64) error { return nil }
