package witness

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func TestParseKey(t *testing.T) {
	s := newTestSigner(t, "witness.example/w1")
	good := s.key.String()
	name, rest, _ := strings.Cut(good, "+")
	id, b64, _ := strings.Cut(rest, "+")
	_, logKey, _ := note.GenerateKey(rand.Reader, "witness.example/w1")
	tests := []struct {
		name, vkey string
		ok         bool
	}{
		{"valid", good, true},
		{"log note key (type 0x01)", logKey, false},
		{"key id mismatch", name + "+00000000+" + b64, false},
		{"upper-case key id", name + "+" + strings.ToUpper(id) + "+" + b64, id == strings.ToUpper(id)},
		{"other name, same key", "witness.example/w2+" + id + "+" + b64, false},
		{"name with space", "a b+" + id + "+" + b64, false},
		{"empty name", "+" + id + "+" + b64, false},
		{"short id", name + "+" + id[:7] + "+" + b64, false},
		{"not base64", name + "+" + id + "+!!!!", false},
		{"cut key", name + "+" + id + "+" + b64[:20], false},
		{"missing parts", name, false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.vkey)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseKey(%q): err %v, want ok=%v", tt.vkey, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrKey) {
				t.Errorf("error %v does not wrap ErrKey", err)
			}
			if k != nil && (k.String() != tt.vkey || k.Name() != name || k.KeyHash() != s.key.KeyHash()) {
				t.Errorf("parsed %q as %s/%08x", tt.vkey, k.Name(), k.KeyHash())
			}
		})
	}
}

func TestVerifyCosignature(t *testing.T) {
	s := newTestSigner(t, "witness.example/w1")
	body := []byte("example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	ts := uint64(1700000000)
	sigs, err := ParseSignatures(s.line(body, ts))
	if err != nil {
		t.Fatal(err)
	}
	sig := sigs[0].Sig
	if got, ok := s.key.verify(body, sig); !ok || !got.Equal(time.Unix(int64(ts), 0)) {
		t.Fatalf("valid cosignature: ok %v time %v", ok, got)
	}
	// What an attacker would change, each alone, must fail.
	flipped := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 1; return c }
	for name, c := range map[string]struct{ body, sig []byte }{
		"timestamp changed":    {body, flipped(sig, 7)},
		"signature changed":    {body, flipped(sig, 20)},
		"body changed":         {flipped(body, 17), sig},
		"signature cut":        {body, sig[:len(sig)-1]},
		"timestamp above 2^63": {body, append([]byte{0x80, 0, 0, 0, 0, 0, 0, 0}, sig[8:]...)},
	} {
		if s.key.Verify(c.body, c.sig) {
			t.Errorf("%s: verified", name)
		}
	}
	// The signed message is the header, the time line and the body.
	want := "cosignature/v1\ntime 1700000000\n" + string(body)
	if got := string(SignedMessage(ts, body)); got != want {
		t.Errorf("signed message %q, want %q", got, want)
	}
	// A plain Ed25519 signature over the body alone (what a note key
	// would sign) is not a cosignature.
	plain := append([]byte{0, 0, 0, 0, 0, 0, 0, 0}, ed25519.Sign(s.priv, body)...)
	if s.key.Verify(body, plain) {
		t.Error("a signature over the bare body verified as a cosignature")
	}
}

// TestKeyIsNoteVerifier: golang.org/x/mod/sumdb/note opens a checkpoint
// with the log's key and a witness Key side by side.
func TestKeyIsNoteVerifier(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	s := newTestSigner(t, "witness.example/w1")
	_, msg := l.grow(3)
	text, _, _ := SplitNote(msg)
	cosig := s.line(text, uint64(time.Now().Unix()))
	cosigned := append(append([]byte(nil), msg...), cosig...)
	n, err := note.Open(cosigned, note.VerifierList(l.verif, s.key))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Sigs) != 2 {
		t.Fatalf("note.Open verified %d signatures, want 2 (log and witness)", len(n.Sigs))
	}
	// A forged cosignature is caught by note.Open too.
	forged := newTestSigner(t, "witness.example/w1").line(text, 1)
	_, err = note.Open(append(append([]byte(nil), msg...), forged...), note.VerifierList(l.verif, s.key))
	if err == nil {
		// Another key has another ID, so note.Open leaves it unverified.
		n, _ := note.Open(append(append([]byte(nil), msg...), forged...), note.VerifierList(l.verif, s.key))
		if len(n.Sigs) != 1 {
			t.Fatalf("a cosignature by another key verified")
		}
	}
}
