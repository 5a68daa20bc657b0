package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File names keygen writes (docs/format.md §1).
const (
	SealKeyName   = "seal.key"   // the server's key state, 0600
	VerifyKeyName = "verify.key" // K1, for verify; keep it offline
)

// Errors about key files. Every error names the file at fault.
var (
	// ErrKeyState: the server's key state is missing, unreadable or
	// malformed, or does not fit seals.log.
	ErrKeyState = errors.New("bad key state")
	// ErrVerifyKey: the verify key is missing, unreadable or malformed.
	ErrVerifyKey = errors.New("bad verify key")
	// ErrKeyExists: keygen refuses to overwrite a key file.
	ErrKeyExists = errors.New("key file already exists")
)

// stateMagic is the first line of a key state file (docs/format.md §4).
const stateMagic = "sealog-key-state 1"

// maxKeyFile bounds what we read from a key file: both are under 200 bytes.
const maxKeyFile = 512

// keyState is the server's state of docs/format.md §4: the key for seal
// seq and the MAC of seal seq-1. It lives in a secrets (secret.go).
type keyState struct {
	seq  uint64
	key  [32]byte
	prev [32]byte
}

// formatState writes s as the lines of docs/format.md §4 into buf and
// returns their length. Everything is written in place: no copy of the
// key's hex is made anywhere else.
func formatState(buf *[maxKeyFile]byte, s *keyState) int {
	n := copy(buf[:], stateMagic+"\nseq=")
	var d [20]byte
	n += copy(buf[n:], strconv.AppendUint(d[:0], s.seq, 10))
	n += copy(buf[n:], "\nkey=")
	hex.Encode(buf[n:n+64], s.key[:])
	n += 64
	n += copy(buf[n:], "\nprev=")
	hex.Encode(buf[n:n+64], s.prev[:])
	n += 64
	buf[n] = '\n'
	return n + 1
}

// parseState parses a key state file's content into s; it accepts
// exactly what formatState writes. On error s holds no key.
func parseState(b []byte, s *keyState) error {
	err := parseStateLines(b, s)
	if err != nil {
		*s = keyState{}
	}
	return err
}

func parseStateLines(b []byte, s *keyState) error {
	var lines [5][]byte
	n := 0
	for n < 4 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		lines[n] = b[:i]
		b = b[i+1:]
		n++
	}
	if n != 4 || len(b) != 0 {
		return errors.New("want 4 LF-terminated lines (is this the verify key or a damaged state?)")
	}
	if string(lines[0]) != stateMagic {
		return fmt.Errorf("line 1: want %q", stateMagic)
	}
	v, ok := bytes.CutPrefix(lines[1], []byte("seq="))
	if !ok {
		return errors.New("line 2: want seq=N")
	}
	if s.seq, ok = parseDec(v); !ok || s.seq == 0 {
		return errors.New("line 2: seq is not a positive decimal number")
	}
	if v, ok = bytes.CutPrefix(lines[2], []byte("key=")); !ok || !parseHex32(&s.key, v) {
		return errors.New("line 3: want key= and 64 lowercase hex digits")
	}
	if v, ok = bytes.CutPrefix(lines[3], []byte("prev=")); !ok || !parseHex32(&s.prev, v) {
		return errors.New("line 4: want prev= and 64 lowercase hex digits")
	}
	if s.seq == 1 && s.prev != ([32]byte{}) {
		return errors.New("seq=1 needs prev of 64 zeros")
	}
	return nil
}

// openKeyFile opens a key file without following a symlink or blocking
// on a FIFO, and refuses anything but a regular file.
func openKeyFile(path string, flag int) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, ErrNotRegular
	}
	return f, fi, nil
}

// readKeyFile reads a small key file into buf (secret memory) and returns
// its length. Nothing of it is copied to the Go heap.
func readKeyFile(path string, buf *[maxKeyFile]byte) (int, error) {
	f, _, err := openKeyFile(path, os.O_RDONLY)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, buf[:])
	switch {
	case err == nil:
		clear(buf[:])
		return 0, errors.New("file too large")
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return n, nil
	default:
		clear(buf[:])
		return 0, err
	}
}

// loadState reads the key state at path into sec.st.
func loadState(path string, sec *secrets) error {
	n, err := readKeyFile(path, &sec.file)
	if err != nil {
		return fmt.Errorf("key state %s: %w: %w", path, ErrKeyState, err)
	}
	err = parseState(sec.file[:n], &sec.st)
	clear(sec.file[:])
	if err != nil {
		return fmt.Errorf("key state %s: %w: %w", path, ErrKeyState, err)
	}
	return nil
}

// saveState overwrites the key state at path with sec.st in place — the
// same inode, the same blocks — and fsyncs it (docs/format.md §10.2). It
// never writes a temporary copy and never renames: a new file would leave
// the old state's blocks free with the old key in them. The state is at
// most 180 bytes and written by one pwrite at offset 0, within the file's
// first 512-byte sector, which a disk writes whole or not at all.
func saveState(path string, sec *secrets) error {
	f, fi, err := openKeyFile(path, os.O_WRONLY)
	if err != nil {
		return fmt.Errorf("key state %s: %w", path, err)
	}
	defer f.Close()
	n := formatState(&sec.file, &sec.st)
	_, err = f.WriteAt(sec.file[:n], 0)
	clear(sec.file[:])
	if err != nil {
		return fmt.Errorf("key state %s: %w", path, err)
	}
	if fi.Size() > int64(n) {
		// Only a state restored by hand is longer; cut its old tail.
		if err := f.Truncate(int64(n)); err != nil {
			return fmt.Errorf("key state %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("key state %s: %w", path, err)
	}
	return nil
}

// cleanKeyDir prepares the directory of the key state at start
// (docs/format.md §10.2): temporary copies an earlier version left
// (".seal.key.tmp*", written before a rename) are overwritten with zeros,
// synced and removed; any other file there that holds a key state, and a
// verify.key, are returned as warnings for the operator.
func cleanKeyDir(keyPath string) (warnings []string, err error) {
	dir, base := filepath.Split(keyPath)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("key directory %s: %w", dir, err)
	}
	removed := false
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(dir, name)
		switch {
		case name == base:
		case strings.HasPrefix(name, "."+base+".tmp"):
			if err := shred(p); err != nil {
				return warnings, fmt.Errorf("key directory %s: leftover key state %s: %w", dir, name, err)
			}
			removed = true
			warnings = append(warnings, fmt.Sprintf("overwrote and removed %s, a key state left by an interrupted save", p))
		case name == VerifyKeyName:
			warnings = append(warnings, fmt.Sprintf("%s is next to the seal key: the verify key lets anyone who reads it forge the whole chain; move it off this host", p))
		case e.Type().IsRegular() && holdsKeyState(p):
			warnings = append(warnings, fmt.Sprintf("%s holds a key state (a copy of the seal key?): an earlier key in it can forge seals; shred it", p))
		}
	}
	if removed {
		if err := syncDir(dir); err != nil {
			return warnings, fmt.Errorf("key directory %s: %w", dir, err)
		}
	}
	return warnings, nil
}

// holdsKeyState reports whether the small regular file at p starts like a
// key state.
func holdsKeyState(p string) bool {
	f, fi, err := openKeyFile(p, os.O_RDONLY)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi.Size() > 4096 {
		return false
	}
	var b [len(stateMagic) + 1]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && string(b[:]) == stateMagic+"\n"
}

// shred overwrites a regular file with zeros in place, syncs it and
// removes it.
func shred(p string) error {
	f, fi, err := openKeyFile(p, os.O_WRONLY)
	if err != nil {
		return err
	}
	zero := make([]byte, min(fi.Size(), 1<<20))
	for off := int64(0); off < fi.Size(); off += int64(len(zero)) {
		k := min(int64(len(zero)), fi.Size()-off)
		if _, err := f.WriteAt(zero[:k], off); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	return os.Remove(p)
}

// VerifyKey is K1, the verify key, held in secret memory (secret.go) with
// the buffers verify derives the chain's keys in. Wipe it when done.
type VerifyKey struct {
	mem *secretMem
}

func (k *VerifyKey) secrets() *secrets { return k.mem.s }

// Wipe overwrites and unmaps the key. The VerifyKey must not be used
// afterwards.
func (k *VerifyKey) Wipe() {
	if k != nil {
		k.mem.free()
	}
}

// newVerifyKey returns a VerifyKey holding k1.
func newVerifyKey(k1 *[32]byte) (*VerifyKey, error) {
	m, err := newSecrets()
	if err != nil {
		return nil, err
	}
	m.s.key2 = *k1
	return &VerifyKey{mem: m}, nil
}

// LoadVerifyKey reads a verify key: 64 hex digits and LF (docs/format.md
// §4). Case and surrounding white space are forgiven, since the file may
// have been copied by hand to the auditor's machine; anything else is an
// error that names the file and wraps ErrVerifyKey.
func LoadVerifyKey(path string) (*VerifyKey, error) {
	m, err := newSecrets()
	if err != nil {
		return nil, fmt.Errorf("verify key %s: %w", path, err)
	}
	k := &VerifyKey{mem: m}
	s := m.s
	n, err := readKeyFile(path, &s.file)
	if err != nil {
		k.Wipe()
		return nil, fmt.Errorf("verify key %s: %w: %w", path, ErrVerifyKey, err)
	}
	t := bytes.TrimSpace(s.file[:n])
	if len(t) == 64 {
		for i := range t {
			if 'A' <= t[i] && t[i] <= 'F' {
				t[i] += 'a' - 'A'
			}
		}
	}
	ok := len(t) == 64 && parseHex32(&s.key2, t)
	isState := bytes.HasPrefix(t, []byte(stateMagic))
	clear(s.file[:])
	if !ok {
		k.Wipe()
		if isState {
			return nil, fmt.Errorf("verify key %s: %w: this is a seal key state, not the verify key", path, ErrVerifyKey)
		}
		return nil, fmt.Errorf("verify key %s: %w: want 64 hex digits", path, ErrVerifyKey)
	}
	return k, nil
}

// Keygen makes a new sealing key (docs/format.md §1, §4): a random 32-byte
// K1, written to outDir/verify.key (64 lowercase hex digits and LF) and,
// with seq 1 and a zero previous MAC, to outDir/seal.key.
func Keygen(outDir string) error { return KeygenTo(outDir, nil) }

// KeygenTo is Keygen; with verifyKeyTo != nil it writes the verify key
// there (e.g. to stdout, for `keygen --verify-key-to -`) instead of to
// outDir/verify.key, so that K1 never touches the log host's disk. Files
// are 0600, created exclusively (never over an existing file: if one
// exists, nothing is written and the error names it, ErrKeyExists), written
// from secret memory and fsynced, and the directory too; no temporary
// file is made. outDir is created 0700 if missing.
func KeygenTo(outDir string, verifyKeyTo io.Writer) error {
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	sealPath := filepath.Join(outDir, SealKeyName)
	verifyPath := filepath.Join(outDir, VerifyKeyName)
	for _, p := range []string{sealPath, verifyPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("keygen: %s: %w", p, ErrKeyExists)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("keygen: %w", err)
		}
	}
	m, err := newSecrets()
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	defer m.free()
	s := m.s
	s.st.seq = 1
	if _, err := unix.Getrandom(s.st.key[:], 0); err != nil {
		return fmt.Errorf("keygen: random key: %w", err)
	}
	n := formatState(&s.file, &s.st)
	if err := writeNew(sealPath, s.file[:n]); err != nil {
		return fmt.Errorf("keygen: %s: %w", sealPath, err)
	}
	hex.Encode(s.file[:64], s.st.key[:])
	s.file[64] = '\n'
	if verifyKeyTo != nil {
		_, err = verifyKeyTo.Write(s.file[:65])
	} else {
		err = writeNew(verifyPath, s.file[:65])
	}
	if err != nil {
		// Leave no half-made key behind: the pair belongs together.
		shred(sealPath)
		syncDir(outDir)
		return fmt.Errorf("keygen: verify key: %w", err)
	}
	return nil
}

// writeNew creates path exclusively with mode 0600, writes data, fsyncs
// it and its directory.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return ErrKeyExists
		}
		return err
	}
	err = f.Chmod(0o600) // whatever the umask
	if err == nil {
		// A block of its own before the first byte: never inline in the
		// inode, where every write is journaled (keyfs.go).
		err = reserveBlock(f)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		shred(path)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory so that a create or remove in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
