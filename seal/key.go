package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// File names keygen writes (SPEC §1).
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

// stateMagic is the first line of a key state file (SPEC §4).
const stateMagic = "sealog-key-state 1"

// maxKeyFile bounds what we read from a key file: both are under 200 bytes.
const maxKeyFile = 4096

// keyState is the server's state of SPEC §4: the key for seal seq and
// the MAC of seal seq-1.
type keyState struct {
	seq  uint64
	key  [32]byte
	prev [32]byte
}

func (s *keyState) wipe() { wipe(&s.key) }

// appendState formats s as the lines of SPEC §4.
func appendState(dst []byte, s *keyState) []byte {
	dst = append(dst, stateMagic+"\nseq="...)
	dst = strconv.AppendUint(dst, s.seq, 10)
	dst = append(dst, "\nkey="...)
	dst = hex.AppendEncode(dst, s.key[:])
	dst = append(dst, "\nprev="...)
	dst = hex.AppendEncode(dst, s.prev[:])
	return append(dst, '\n')
}

// parseState parses a key state file's content; it accepts exactly what
// appendState writes.
func parseState(b []byte) (keyState, error) {
	var s keyState
	lines := bytes.Split(b, []byte{'\n'})
	if len(lines) != 5 || len(lines[4]) != 0 {
		return s, errors.New("want 4 LF-terminated lines")
	}
	if string(lines[0]) != stateMagic {
		return s, fmt.Errorf("line 1: want %q", stateMagic)
	}
	v, ok := bytes.CutPrefix(lines[1], []byte("seq="))
	if !ok {
		return s, errors.New("line 2: want seq=N")
	}
	if s.seq, ok = parseDec(v); !ok || s.seq == 0 {
		return s, errors.New("line 2: seq is not a positive decimal number")
	}
	if v, ok = bytes.CutPrefix(lines[2], []byte("key=")); !ok || !parseHex32(&s.key, v) {
		return s, errors.New("line 3: want key= and 64 lowercase hex digits")
	}
	if v, ok = bytes.CutPrefix(lines[3], []byte("prev=")); !ok || !parseHex32(&s.prev, v) {
		s.wipe()
		return s, errors.New("line 4: want prev= and 64 lowercase hex digits")
	}
	if s.seq == 1 && s.prev != ([32]byte{}) {
		s.wipe()
		return s, errors.New("seq=1 needs prev of 64 zeros")
	}
	return s, nil
}

// readSmall reads a small regular file, refusing symlinks, devices and
// anything larger than maxKeyFile.
func readSmall(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		clear(b)
		return nil, errors.New("file too large")
	}
	return b, nil
}

// loadState reads the key state at path.
func loadState(path string) (keyState, error) {
	b, err := readSmall(path)
	if err != nil {
		return keyState{}, fmt.Errorf("key state %s: %w: %w", path, ErrKeyState, err)
	}
	defer clear(b)
	s, err := parseState(b)
	if err != nil {
		return keyState{}, fmt.Errorf("key state %s: %w: %w", path, ErrKeyState, err)
	}
	return s, nil
}

// saveState replaces the key state at path atomically (STYLE 11, SPEC §4).
func saveState(path string, s *keyState) error {
	b := appendState(make([]byte, 0, 200), s)
	defer clear(b)
	if err := writeAtomic(path, b, false); err != nil {
		return fmt.Errorf("key state %s: %w", path, err)
	}
	return nil
}

// VerifyKey is K1, the verify key, as verify holds it: wiped by Wipe.
type VerifyKey struct {
	k [32]byte
}

// Wipe overwrites the key. The VerifyKey must not be used afterwards.
func (k *VerifyKey) Wipe() { wipe(&k.k) }

// LoadVerifyKey reads a verify key: 64 hex digits and LF (docs/format.md
// §4). Case and surrounding white space are forgiven, since the file may
// have been copied by hand to the auditor's machine; anything else is an
// error that names the file and wraps ErrVerifyKey.
func LoadVerifyKey(path string) (*VerifyKey, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, fmt.Errorf("verify key %s: %w: %w", path, ErrVerifyKey, err)
	}
	defer clear(b)
	t := bytes.TrimSpace(b)
	if len(t) != 64 {
		return nil, fmt.Errorf("verify key %s: %w: want 64 hex digits", path, ErrVerifyKey)
	}
	k := new(VerifyKey)
	if _, err := hex.Decode(k.k[:], t); err != nil {
		k.Wipe()
		return nil, fmt.Errorf("verify key %s: %w: want 64 hex digits", path, ErrVerifyKey)
	}
	return k, nil
}

// Keygen makes a new sealing key (SPEC §1, §4): a random 32-byte K1,
// written to outDir/verify.key (64 lowercase hex digits and LF) and, with
// seq 1 and a zero previous MAC, to outDir/seal.key. Both files are 0600,
// written atomically and never over an existing file: if either exists,
// Keygen writes nothing and returns an error naming it (ErrKeyExists).
// outDir is created 0700 if missing.
func Keygen(outDir string) error {
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
	s := keyState{seq: 1}
	if _, err := rand.Read(s.key[:]); err != nil {
		return fmt.Errorf("keygen: random key: %w", err)
	}
	defer s.wipe()
	st := appendState(nil, &s)
	defer clear(st)
	vk := append(hex.AppendEncode(nil, s.key[:]), '\n')
	defer clear(vk)
	if err := writeAtomic(sealPath, st, true); err != nil {
		return fmt.Errorf("keygen: %s: %w", sealPath, err)
	}
	if err := writeAtomic(verifyPath, vk, true); err != nil {
		// Leave no half-made key behind: the pair belongs together.
		os.Remove(sealPath)
		return fmt.Errorf("keygen: %s: %w", verifyPath, err)
	}
	return nil
}

// writeAtomic writes data to path with mode 0600 via a temporary file in
// the same directory: write, fsync, then rename (or, when noReplace, a
// hard link that fails if path exists), then fsync the directory, so a
// crash leaves either the old or the new file, never a mix (STYLE 11).
func writeAtomic(path string, data []byte, noReplace bool) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if !noReplace {
		// Refuse to replace something that is not a regular file.
		if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
			return errors.New("not a regular file")
		}
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if noReplace {
		if err = os.Link(tmp, path); err != nil {
			if errors.Is(err, os.ErrExist) {
				err = ErrKeyExists
			}
			return err
		}
		os.Remove(tmp)
	} else if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that a rename or create in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
