package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKeyDiskExt4DataJournal: under data=journal every write of seal.key
// goes through the journal, which then holds many earlier states (each
// able to forge the seals made since); no overwrite can reach them.
// serve must tell the operator at start.
func TestKeyDiskExt4DataJournal(t *testing.T) {
	keyDiskExt4(t, nil, nil, "loop,data=journal", "mounted data=journal")
}

// TestKeyDiskExt4InlineData: with ext4's inline_data feature a file as
// small as seal.key is kept inside its inode, which is metadata and
// journaled on every write: the journal held every earlier state. keygen
// gives the state a block of its own before writing it, so the
// overwrite in place holds again.
func TestKeyDiskExt4InlineData(t *testing.T) {
	keyDiskExt4(t, []string{"-O", "inline_data", "-I", "1024"}, nil, "loop", "")
}

// TestKeyDiskExt4JournalDataDefault: data=journal made the file system's
// default (tune2fs -o journal_data) does not show in the mount options
// of /proc/self/mountinfo; serve must find it all the same.
func TestKeyDiskExt4JournalDataDefault(t *testing.T) {
	keyDiskExt4(t, nil, []string{"-o", "journal_data"}, "loop", "mounted data=journal")
}

// TestKeyInlineStateMovedAtStart: a seal.key an earlier keygen left
// inside its inode (ext4 inline_data) is given a block of its own by the
// next start, which warns that the journal may hold earlier states.
func TestKeyInlineStateMovedAtStart(t *testing.T) {
	_, mnt := mountExt4(t, []string{"-O", "inline_data", "-I", "1024"}, nil, "loop")
	keyDir := filepath.Join(mnt, "keys")
	if out, errOut, code := runSealog(t, "", "keygen", "--out", keyDir, "--verify-key-to", "-"); code != 0 {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errOut)
	}
	keyPath := filepath.Join(keyDir, "seal.key")
	inline := func() bool {
		t.Helper()
		f, err := os.Open(keyPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
		if err != nil {
			t.Fatal(err)
		}
		return flags&0x10000000 != 0 // EXT4_INLINE_DATA_FL
	}
	if inline() {
		t.Fatal("keygen left seal.key inside its inode")
	}
	// What an older keygen left: the same state, written into a new
	// small file, which ext4 keeps in the inode.
	state, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(keyPath)
	if err := os.WriteFile(keyPath, state, 0o600); err != nil {
		t.Fatal(err)
	}
	if !inline() {
		t.Skip("this kernel does not keep a small file inline with inline_data")
	}
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(t.TempDir(), "logs"), KeyDir: keyDir}
	s.startWith("--seal-interval", "20ms")
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, s.Stderr())
	}
	if !strings.Contains(s.Stderr(), "now has a block of its own") {
		t.Errorf("no warning that seal.key was inline and was moved:\n%s", s.Stderr())
	}
	if inline() {
		t.Error("seal.key is still inside its inode after a start")
	}
}
