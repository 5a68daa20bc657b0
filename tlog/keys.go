package tlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Key files of a log (docs/format.md §7.1), written by keygen beside the
// seal key: the checkpoint signer (secret, 0600) and its verifier (public).
const (
	SignerKeyName   = "log.key"
	VerifierKeyName = "log.pub"
)

// ErrKeyExists: keygen refuses to overwrite a key.
var ErrKeyExists = errors.New("key file exists; refusing to overwrite it")

// CheckNoKeys fails if dir already holds log.key or log.pub, so that a
// keygen that makes several keys can refuse before it writes any.
func CheckNoKeys(dir string) error {
	for _, name := range []string{SignerKeyName, VerifierKeyName} {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("keygen: %s: %w", p, ErrKeyExists)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("keygen: %w", err)
		}
	}
	return nil
}

// WriteKeys makes a new Ed25519 signed-note key pair named origin and
// writes DIR/log.key (0600, the signer, one line) and DIR/log.pub (0644,
// the verifier, one line). It refuses to overwrite either; a failure
// leaves neither behind.
func WriteKeys(dir, origin string) (vkey string, err error) {
	if err := CheckNoKeys(dir); err != nil {
		return "", err
	}
	skey, vkey, err := GenerateKeys(origin)
	if err != nil {
		return "", fmt.Errorf("keygen: %w", err)
	}
	sPath, vPath := filepath.Join(dir, SignerKeyName), filepath.Join(dir, VerifierKeyName)
	if err := writeNew(sPath, []byte(skey+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keygen: %w", err)
	}
	if err := writeNew(vPath, []byte(vkey+"\n"), 0o644); err != nil {
		os.Remove(sPath)
		return "", fmt.Errorf("keygen: %w", err)
	}
	return vkey, nil
}

// writeNew creates path (never over an existing file or link), writes b,
// sets mode whatever the umask and fsyncs file and directory.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("%s: %w", path, err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
