package tests

// Black-box tests of the file attributes of docs/format.md §3.1: they need
// root on a filesystem with chattr support (ext4 in CI) and skip otherwise.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// bbSkipNoChattr skips unless the server runs with real attributes.
func bbSkipNoChattr(t *testing.T, s *Sealog) {
	t.Helper()
	if !s.Chattr {
		t.Skip("needs root (CAP_LINUX_IMMUTABLE) on a filesystem with chattr support, e.g. ext4; " + s.Dir + " has neither")
	}
}

// bbMustFail reports an error if op succeeded on what should be locked.
func bbMustFail(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want EPERM", what)
	} else if !errors.Is(err, syscall.EPERM) {
		t.Errorf("%s: got %v, want EPERM", what, err)
	}
}

// TestChattrActiveFile: while the server runs the active files are
// append-only: appending works, truncating, overwriting, renaming and
// deleting fail (docs/format.md §3.1). After stop the sealed files are immutable
// and seals.log stays append-only.
func TestChattrActiveFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for CAP_LINUX_IMMUTABLE")
	}
	s := startSealog(t)
	bbSkipNoChattr(t, s)
	s.Send(t, bbMsg("before the attribute checks"))
	s.WaitEvents(t, 1)
	active := append(s.files("events"), s.files("security")...)
	seals := filepath.Join(s.Dir, "seals.log")
	if len(active) != 2 {
		t.Fatalf("got %d active files, want 2", len(active))
	}
	for _, p := range append(active, seals) {
		name := filepath.Base(p)
		if !bbAppendOnly(t, p) {
			t.Errorf("%s: no append-only attribute while active", name)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Errorf("%s: open for append: %v, want success", name, err)
		} else {
			f.Close()
		}
		_, err = os.OpenFile(p, os.O_WRONLY, 0)
		bbMustFail(t, name+": open for overwriting", err)
		_, err = os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
		bbMustFail(t, name+": open with O_TRUNC", err)
		bbMustFail(t, name+": truncate", os.Truncate(p, 0))
		bbMustFail(t, name+": rename", os.Rename(p, p+".moved"))
		bbMustFail(t, name+": delete", os.Remove(p))
	}
	// The server still writes after all those attempts.
	s.Send(t, bbMsg("after the attribute checks"))
	s.WaitEvents(t, 2)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	for _, p := range active {
		name := filepath.Base(p)
		if !bbImmutable(t, p) {
			t.Errorf("%s: not immutable after its final seal", name)
		}
		_, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		bbMustFail(t, name+": open for append after the final seal", err)
		bbMustFail(t, name+": rename after the final seal", os.Rename(p, p+".moved"))
		bbMustFail(t, name+": delete after the final seal", os.Remove(p))
	}
	if !bbAppendOnly(t, seals) || bbImmutable(t, seals) {
		t.Errorf("seals.log: want append-only (not immutable) for life, got flags %#x", bbFlags(t, seals))
	}
	_, err := os.OpenFile(seals, os.O_WRONLY, 0)
	bbMustFail(t, "seals.log: open for overwriting after stop", err)
	bbMustFail(t, "seals.log: truncate after stop", os.Truncate(seals, 0))
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
}

// TestChattrRecordedInStart: the start event says whether attributes are
// in use; --no-chattr is recorded as "chattr": false (docs/operations.md).
func TestChattrRecordedInStart(t *testing.T) {
	for _, noChattr := range []bool{true, false} {
		t.Run(fmt.Sprintf("no-chattr=%v", noChattr), func(t *testing.T) {
			var s *Sealog
			if noChattr {
				s = startSealog(t, "--no-chattr")
			} else {
				s = startSealog(t)
				bbSkipNoChattr(t, s)
			}
			l := s.WaitSecurity(t, "start")[0]
			d := bbDetail(t, l)
			if got, ok := d["chattr"].(bool); !ok || got == noChattr {
				t.Errorf("start event: got chattr %v, want %v (DETAIL %s)", d["chattr"], !noChattr, l[8])
			}
			for _, k := range []string{"version", "instance", "config_sha256"} {
				if _, ok := d[k].(string); !ok {
					t.Errorf("start event without %s: %s", k, l[8])
				}
			}
			if ls, ok := d["listeners"].([]any); !ok || len(ls) == 0 {
				t.Errorf("start event without listeners: %s", l[8])
			}
			if noChattr {
				s.Send(t, bbMsg("no attributes"))
				s.WaitEvents(t, 1)
				p := s.files("events")[0]
				if f, err := os.OpenFile(p, os.O_WRONLY, 0); err != nil {
					t.Errorf("--no-chattr: %s not writable: %v", filepath.Base(p), err)
				} else {
					f.Close()
				}
			}
		})
	}
}
