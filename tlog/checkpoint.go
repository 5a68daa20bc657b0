package tlog

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// CheckpointName is the file in a log directory that holds the latest
// signed checkpoint (docs/format.md §7.2).
const CheckpointName = "checkpoint"

// MaxCheckpoint bounds a checkpoint note read from a file or a proof:
// the body is three short lines and each signature line under 200 bytes,
// and golang.org/x/mod/sumdb/note takes at most 100 signatures.
const MaxCheckpoint = 64 << 10

// Errors of checkpoints.
var (
	// ErrCheckpoint is wrapped by every error about a malformed checkpoint body.
	ErrCheckpoint = errors.New("malformed checkpoint")
	// ErrSignature is wrapped when a checkpoint is not signed by the log's key.
	ErrSignature = errors.New("checkpoint not signed by the log key")
	// ErrOrigin is a key name that cannot be a log origin.
	ErrOrigin = errors.New("origin must be non-empty printable UTF-8 without spaces or '+'")
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, the
// tree size and the root hash of the tree at that size. sealog writes no
// extension lines; ParseCheckpoint accepts and ignores them (C2SP
// tlog-checkpoint allows them).
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   Hash
}

// Text is the note text: "ORIGIN\nSIZE\nBASE64(ROOT)\n".
func (c Checkpoint) Text() []byte {
	b := make([]byte, 0, len(c.Origin)+70)
	b = append(b, c.Origin...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, c.Size, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, c.Root[:])
	return append(b, '\n')
}

// ParseCheckpoint parses a checkpoint note's text (without signatures):
// an origin line, a decimal size without leading zeros, the standard
// base64 of a 32-byte root, then optional non-empty extension lines, each
// ending in LF.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return c, fmt.Errorf("%w: the text must end in a newline", ErrCheckpoint)
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("%w: want origin, size and root lines", ErrCheckpoint)
	}
	if !ValidOrigin(lines[0]) {
		return c, fmt.Errorf("%w: origin line: %w", ErrCheckpoint, ErrOrigin)
	}
	c.Origin = lines[0]
	s := lines[1]
	size, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return c, fmt.Errorf("%w: size line is not a decimal number", ErrCheckpoint)
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != HashSize {
		return c, fmt.Errorf("%w: root line is not the base64 of 32 bytes", ErrCheckpoint)
	}
	copy(c.Root[:], root)
	for _, ext := range lines[3:] {
		if ext == "" {
			return c, fmt.Errorf("%w: empty extension line", ErrCheckpoint)
		}
	}
	return c, nil
}

// ValidOrigin reports whether name can be a log origin and so a note key
// name: non-empty valid UTF-8, no white space, no '+' (C2SP signed-note).
func ValidOrigin(name string) bool {
	return name != "" && utf8.ValidString(name) && !strings.ContainsRune(name, '+') &&
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0
}

// GenerateKeys returns a new Ed25519 signed-note key pair named origin:
// the signer key (PRIVATE+KEY+ORIGIN+...) and its verifier key
// (ORIGIN+<8 hex key id>+<base64>), docs/format.md §7.1.
func GenerateKeys(origin string) (skey, vkey string, err error) {
	if !ValidOrigin(origin) {
		return "", "", fmt.Errorf("origin %q: %w", origin, ErrOrigin)
	}
	return note.GenerateKey(rand.Reader, origin)
}

// LoadSigner reads a signer key file (log.key): one line.
func LoadSigner(path string) (note.Signer, error) {
	b, err := readSmall(path, 4096)
	if err != nil {
		return nil, err
	}
	s, err := note.NewSigner(strings.TrimSuffix(string(b), "\n"))
	if err != nil {
		return nil, fmt.Errorf("%s: not a signed-note signer key (PRIVATE+KEY+...): %w", path, err)
	}
	return s, nil
}

// LoadVerifier reads a verifier key file (log.pub): one line.
func LoadVerifier(path string) (note.Verifier, error) {
	b, err := readSmall(path, 4096)
	if err != nil {
		return nil, err
	}
	v, err := ParseVerifier(strings.TrimSuffix(string(b), "\n"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// ParseVerifier parses a signed-note verifier key (NAME+HEX+BASE64).
func ParseVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("not a signed-note verifier key (NAME+<key id>+<base64>): %w", err)
	}
	return v, nil
}

// readSmall reads a regular file of at most limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	// Not following a link and not blocking on a FIFO: a log directory
	// is not trusted.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// Sign returns c as a signed note, signed by s, whose name must be c's origin.
func Sign(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("sign checkpoint: key %q is not the origin %q", s.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: string(c.Text())}, s)
}

// Open checks a signed checkpoint note: it must be well-formed, its
// origin must be the log key's name, and it must carry a valid signature
// by log. Signatures by others (witness cosignatures) are checked when
// their verifier is among others and returned in the note's Sigs;
// unknown ones are left in UnverifiedSigs. A signature by a known key
// that does not verify is an error.
func Open(msg []byte, log note.Verifier, others ...note.Verifier) (Checkpoint, *note.Note, error) {
	if len(msg) > MaxCheckpoint {
		return Checkpoint{}, nil, fmt.Errorf("%w: larger than %d bytes", ErrCheckpoint, MaxCheckpoint)
	}
	n, err := note.Open(msg, note.VerifierList(append([]note.Verifier{log}, others...)...))
	if err != nil {
		var unv *note.UnverifiedNoteError
		if errors.As(err, &unv) {
			return Checkpoint{}, nil, fmt.Errorf("%w %s", ErrSignature, log.Name())
		}
		var bad *note.InvalidSignatureError
		if errors.As(err, &bad) {
			if bad.Name == log.Name() && bad.Hash == log.KeyHash() {
				return Checkpoint{}, nil, fmt.Errorf("%w %s: the signature does not verify", ErrSignature, log.Name())
			}
			return Checkpoint{}, nil, fmt.Errorf("checkpoint: %w", err)
		}
		return Checkpoint{}, nil, fmt.Errorf("%w: not a signed note: %w", ErrCheckpoint, err)
	}
	signed := false
	for _, s := range n.Sigs {
		if s.Name == log.Name() && s.Hash == log.KeyHash() {
			signed = true
		}
	}
	if !signed {
		return Checkpoint{}, nil, fmt.Errorf("%w %s", ErrSignature, log.Name())
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return c, nil, err
	}
	if c.Origin != log.Name() {
		return c, nil, fmt.Errorf("%w: origin %q is not the log key's name %q", ErrCheckpoint, c.Origin, log.Name())
	}
	return c, n, nil
}

// ReadFile reads a checkpoint note from path (at most MaxCheckpoint bytes).
func ReadFile(path string) ([]byte, error) { return readSmall(path, MaxCheckpoint) }

// WriteFile replaces DIR/checkpoint with msg atomically: a temporary file
// in DIR, written, fsynced and made 0640, renamed over the old one, then
// the directory fsynced, so a reader sees the old note or the new one,
// whole (docs/format.md §7.2).
func WriteFile(dir string, msg []byte) error {
	path := filepath.Join(dir, CheckpointName)
	tmp, err := os.CreateTemp(dir, "."+CheckpointName+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o640); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(msg); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// Publisher signs and writes the checkpoints of one log directory: after
// each seal the server hands it the seals tree's size and root, and it
// replaces DIR/checkpoint and prints "checkpoint SIZE BASE64ROOT" (docs/
// format.md §7.2). Witnessing (cosignatures added to the same note)
// starts from Latest.
//
// A Publisher is safe for concurrent use; mu orders the writes.
type Publisher struct {
	dir    string
	signer note.Signer
	out    io.Writer

	mu     sync.Mutex // guards everything below and the file
	last   Checkpoint
	signed []byte
}

// NewPublisher returns a Publisher for dir that signs with signer (whose
// name is the origin) and prints each checkpoint line to out (nil = none).
// It removes temporary files a crash in the middle of WriteFile left in
// dir.
func NewPublisher(dir string, signer note.Signer, out io.Writer) *Publisher {
	if stale, err := filepath.Glob(filepath.Join(dir, "."+CheckpointName+".tmp*")); err == nil {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	return &Publisher{dir: dir, signer: signer, out: out}
}

// Origin is the log's origin, the signer's key name.
func (p *Publisher) Origin() string { return p.signer.Name() }

// Publish signs the checkpoint of a tree of size leaves with root,
// writes it to DIR/checkpoint and prints its line. It returns the note.
func (p *Publisher) Publish(size uint64, root Hash) ([]byte, error) {
	c := Checkpoint{Origin: p.signer.Name(), Size: size, Root: root}
	msg, err := Sign(c, p.signer)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := WriteFile(p.dir, msg); err != nil {
		return nil, err
	}
	p.last, p.signed = c, msg
	if p.out != nil {
		var b bytes.Buffer
		fmt.Fprintf(&b, "checkpoint %d %s\n", size, base64.StdEncoding.EncodeToString(root[:]))
		p.out.Write(b.Bytes()) // best effort, like the seal head line
	}
	return msg, nil
}

// Latest returns the last checkpoint published and its signed note (nil
// before the first).
func (p *Publisher) Latest() (Checkpoint, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.signed
}

// Peek parses a checkpoint note's body without checking any signature:
// for a holder of no key (prove) or for the server, which only asks
// whether the file already says what it would write.
func Peek(msg []byte) (Checkpoint, error) {
	if len(msg) > MaxCheckpoint {
		return Checkpoint{}, fmt.Errorf("%w: larger than %d bytes", ErrCheckpoint, MaxCheckpoint)
	}
	_, err := note.Open(msg, nil)
	var unv *note.UnverifiedNoteError
	if !errors.As(err, &unv) {
		return Checkpoint{}, fmt.Errorf("%w: not a signed note", ErrCheckpoint)
	}
	return ParseCheckpoint([]byte(unv.Note.Text))
}

// Adopt makes msg, a checkpoint found in DIR/checkpoint that says what
// Publish would write now, the latest one without writing it again.
func (p *Publisher) Adopt(c Checkpoint, msg []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last, p.signed = c, msg
}
