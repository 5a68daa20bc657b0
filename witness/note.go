package witness

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxSignatures is the most signature lines a note may carry, the limit of
// golang.org/x/mod/sumdb/note, which every other reader of sealog's
// checkpoints uses.
const MaxSignatures = 100

// ErrSignatureLine is wrapped by every error about a malformed signature
// line, in a note or in a witness's response.
var ErrSignatureLine = errors.New("malformed signature line")

// sigPrefix begins every signature line: U+2014 EM DASH and a space
// (C2SP signed-note).
const sigPrefix = "\u2014 "

// Signature is one signature line of a signed note:
// "— NAME BASE64(KEY ID || SIG)".
type Signature struct {
	Name string
	ID   uint32 // the key ID, the first four bytes of the base64
	Sig  []byte // the bytes after the key ID
	Line []byte // the whole line with its LF, as it is to be written
}

// ParseSignatures parses b as a sequence of signature lines, each ending
// in LF, as in a note's signature block and a witness's add-checkpoint
// response (C2SP tlog-witness). It refuses an empty block, more than
// MaxSignatures lines, a line without the "— " prefix, a bad name, base64
// that is not standard padded base64 or shorter than a key ID, and
// anything after the last LF.
func ParseSignatures(b []byte) ([]Signature, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: no signature lines", ErrSignatureLine)
	}
	if b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("%w: the last line does not end in a newline", ErrSignatureLine)
	}
	var sigs []Signature
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b[:i+1]
		b = b[i+1:]
		if len(sigs) == MaxSignatures {
			return nil, fmt.Errorf("%w: more than %d signatures", ErrSignatureLine, MaxSignatures)
		}
		s, err := parseSignature(line)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// parseSignature parses one line, LF included.
func parseSignature(line []byte) (Signature, error) {
	rest, ok := bytes.CutPrefix(line[:len(line)-1], []byte(sigPrefix))
	if !ok {
		return Signature{}, fmt.Errorf("%w: a line does not begin with %q", ErrSignatureLine, sigPrefix)
	}
	name, b64, ok := bytes.Cut(rest, []byte(" "))
	if !ok || !validName(string(name)) || !utf8.Valid(rest) {
		return Signature{}, fmt.Errorf("%w: bad key name", ErrSignatureLine)
	}
	// The decoder skips CR and LF even when strict; a line holds neither.
	raw, err := base64.StdEncoding.Strict().DecodeString(string(b64))
	if err != nil || len(raw) < 5 || bytes.IndexByte(b64, '\r') >= 0 {
		return Signature{}, fmt.Errorf("%w: the signature is not base64 of a key id and a signature", ErrSignatureLine)
	}
	return Signature{
		Name: string(name),
		ID:   binary.BigEndian.Uint32(raw),
		Sig:  raw[4:],
		Line: append([]byte(nil), line...),
	}, nil
}

// SplitNote splits a signed note into its text (the body, which ends in
// LF) and its signature block, at the last blank line (C2SP signed-note).
func SplitNote(msg []byte) (text, sigs []byte, err error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, nil, fmt.Errorf("%w: no blank line before the signatures", ErrSignatureLine)
	}
	return msg[:i+1], msg[i+2:], nil
}

// Cosignature is one witness's valid cosignature on a checkpoint.
type Cosignature struct {
	Key  *Key
	Time time.Time // when the witness signed (its clock)
	Line []byte    // the signature line, LF included
}

// Find returns, for each key in keys, the valid cosignatures by it among
// sigs over the checkpoint body text, and the lines that carry a key's
// name and ID but do not verify (forged or corrupted). Lines by other
// keys are ignored, as C2SP tlog-witness requires of clients.
func Find(text []byte, sigs []Signature, keys []*Key) (valid []Cosignature, bad []Signature) {
	for _, s := range sigs {
		for _, k := range keys {
			if s.Name != k.name || s.ID != k.id {
				continue
			}
			if t, ok := k.verify(text, s.Sig); ok {
				valid = append(valid, Cosignature{Key: k, Time: t, Line: s.Line})
			} else {
				bad = append(bad, s)
			}
		}
	}
	return valid, bad
}

// Verified is the outcome of checking a note's cosignatures.
type Verified struct {
	// Keys holds each key with at least one valid cosignature, once, in
	// the order of keys.
	Keys []*Key
	// Bad holds the lines that name a given key but do not verify.
	Bad []Signature
}

// VerifyNote checks the cosignatures on a signed checkpoint note msg
// against keys. The log's own signature is not its business (package
// tlog checks it); VerifyNote only needs the note well-formed.
func VerifyNote(msg []byte, keys []*Key) (Verified, error) {
	text, block, err := SplitNote(msg)
	if err != nil {
		return Verified{}, err
	}
	sigs, err := ParseSignatures(block)
	if err != nil {
		return Verified{}, err
	}
	valid, bad := Find(text, sigs, keys)
	var v Verified
	v.Bad = bad
	for _, k := range keys {
		for _, c := range valid {
			if c.Key == k {
				v.Keys = append(v.Keys, k)
				break
			}
		}
	}
	return v, nil
}

// AddSignatures returns the note msg with the signature lines add merged
// in: a line replaces any line of msg with the same key name and ID (a
// witness's newer cosignature of the same checkpoint replaces its older
// one), the others are appended. The text and the other signatures stay
// as they are. It refuses a note that would carry more than
// MaxSignatures lines.
func AddSignatures(msg []byte, add []Signature) ([]byte, error) {
	text, block, err := SplitNote(msg)
	if err != nil {
		return nil, err
	}
	sigs, err := ParseSignatures(block)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(msg)+len(add)*160)
	out = append(out, text...)
	out = append(out, '\n')
	n := 0
	for _, s := range sigs {
		if replaced(s, add) {
			continue
		}
		out = append(out, s.Line...)
		n++
	}
	for i, a := range add {
		if replaced(a, add[i+1:]) {
			continue // a later line for the same key wins
		}
		out = append(out, a.Line...)
		n++
	}
	if n > MaxSignatures {
		return nil, fmt.Errorf("%w: more than %d signatures", ErrSignatureLine, MaxSignatures)
	}
	return out, nil
}

func replaced(s Signature, by []Signature) bool {
	for _, a := range by {
		if a.Name == s.Name && a.ID == s.ID {
			return true
		}
	}
	return false
}
