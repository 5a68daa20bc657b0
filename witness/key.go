package witness

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// algCosignatureV1 is the signature type byte of an Ed25519 cosignature
// key (C2SP tlog-cosignature): it begins the key material of the vkey and
// goes into the key ID, so such a key can never pass for a plain Ed25519
// note key (type 0x01) and the reverse.
const algCosignatureV1 = 0x04

// cosigSize is the size of the signature bytes after the key ID:
// a big-endian u64 timestamp and an Ed25519 signature.
const cosigSize = 8 + ed25519.SignatureSize

// ErrKey is wrapped by every error of ParseKey.
var ErrKey = errors.New("not a cosignature/v1 witness key (NAME+<8 hex key id>+<base64 of 0x04 and 32 bytes>)")

// Key is a witness's verifier key for C2SP tlog-cosignature
// `cosignature/v1` (Ed25519) signatures. It implements the Verifier
// interface of golang.org/x/mod/sumdb/note (Name, KeyHash, Verify), so a
// checkpoint with cosignatures can be opened with note.Open and these keys
// next to the log's own; note.NewVerifier itself refuses such keys.
//
// A Key is immutable and safe for concurrent use.
type Key struct {
	name string
	id   uint32
	pub  ed25519.PublicKey
	text string
}

// ParseKey parses a witness verifier key, NAME+<8 hex key id>+<base64>,
// where the base64 is of 0x04 followed by the 32-byte Ed25519 public key
// and the key id is SHA-256(NAME || "\n" || 0x04 || key)[:4] (C2SP
// signed-note and tlog-cosignature). A key id that does not match is
// refused: it means the key was mistyped or cut.
func ParseKey(vkey string) (*Key, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hexID, b64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 {
		return nil, ErrKey
	}
	if !validName(name) {
		return nil, fmt.Errorf("%w: the name must be non-empty UTF-8 without spaces or '+'", ErrKey)
	}
	if len(hexID) != 8 || strings.ToLower(hexID) != hexID {
		return nil, fmt.Errorf("%w: the key id must be 8 lowercase hex digits", ErrKey)
	}
	id, err := strconv.ParseUint(hexID, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: the key id must be 8 lowercase hex digits", ErrKey)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: the key is not base64", ErrKey)
	}
	if len(raw) == 0 || raw[0] != algCosignatureV1 {
		if len(raw) > 0 && raw[0] == 0x01 {
			return nil, fmt.Errorf("%w: this is a log's Ed25519 note key (type 0x01), not a witness's cosignature key (type 0x04)", ErrKey)
		}
		return nil, fmt.Errorf("%w: the key type is not 0x04", ErrKey)
	}
	if len(raw) != 1+ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: the key is %d bytes, want 33", ErrKey, len(raw))
	}
	if keyID(name, raw) != uint32(id) {
		return nil, fmt.Errorf("%w: the key id %s does not match the name and key (mistyped?)", ErrKey, hexID)
	}
	return &Key{name: name, id: uint32(id), pub: ed25519.PublicKey(raw[1:]), text: vkey}, nil
}

// NewKey returns the Key of an Ed25519 public key under name, as a
// witness that holds the private key would publish it.
func NewKey(name string, pub ed25519.PublicKey) (*Key, error) {
	if !validName(name) || len(pub) != ed25519.PublicKeySize {
		return nil, ErrKey
	}
	raw := append([]byte{algCosignatureV1}, pub...)
	id := keyID(name, raw)
	text := fmt.Sprintf("%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(raw))
	return &Key{name: name, id: id, pub: append(ed25519.PublicKey(nil), pub...), text: text}, nil
}

// keyID is SHA-256(name || "\n" || 0x04 || pub)[:4] as a big-endian
// number (C2SP tlog-cosignature, key ID).
func keyID(name string, typedKey []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n'})
	h.Write(typedKey)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// validName: a key name is non-empty UTF-8 with no Unicode space and no
// '+' (C2SP signed-note).
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && !strings.ContainsRune(name, '+') &&
		strings.IndexFunc(name, unicode.IsSpace) < 0
}

// Name is the witness's name, the key name in its signature lines.
func (k *Key) Name() string { return k.name }

// KeyHash is the 32-bit key ID.
func (k *Key) KeyHash() uint32 { return k.id }

// String is the verifier key as parsed (NAME+HEX+BASE64).
func (k *Key) String() string { return k.text }

// Verify reports whether sig (a signature line's bytes after the key ID:
// timestamp || Ed25519 signature) is a valid cosignature/v1 by k over the
// note text msg. It is note.Verifier's Verify.
func (k *Key) Verify(msg, sig []byte) bool {
	_, ok := k.verify(msg, sig)
	return ok
}

// verify is Verify that also returns the cosignature's time.
func (k *Key) verify(msg, sig []byte) (time.Time, bool) {
	if len(sig) != cosigSize {
		return time.Time{}, false
	}
	ts := binary.BigEndian.Uint64(sig)
	if ts > math.MaxInt64 {
		// C2SP tlog-cosignature: the timestamp MUST NOT exceed 2^63-1.
		return time.Time{}, false
	}
	return time.Unix(int64(ts), 0).UTC(), ed25519.Verify(k.pub, SignedMessage(ts, msg), sig[8:])
}

// SignedMessage is what a cosignature/v1 signs: the line
// "cosignature/v1", the line "time T" with T the POSIX timestamp in
// decimal, then the whole checkpoint body, its final newline included
// (C2SP tlog-cosignature, Ed25519 signed message).
func SignedMessage(timestamp uint64, body []byte) []byte {
	m := make([]byte, 0, 40+len(body))
	m = append(m, "cosignature/v1\ntime "...)
	m = strconv.AppendUint(m, timestamp, 10)
	m = append(m, '\n')
	return append(m, body...)
}
