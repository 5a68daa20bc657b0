package tlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func newKeys(t testing.TB, origin string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := GenerateKeys(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestCheckpointRoundTrip(t *testing.T) {
	s, v := newKeys(t, "sealog/test")
	c := Checkpoint{Origin: "sealog/test", Size: 42, Root: LeafHash([]byte("x"))}
	msg, err := Sign(c, s)
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := Open(msg, v)
	if err != nil {
		t.Fatal(err)
	}
	if got != c || len(n.Sigs) != 1 {
		t.Fatalf("got %+v (%d sigs), want %+v", got, len(n.Sigs), c)
	}
	// The reference implementation reads it as the same note.
	rn, err := note.Open(msg, note.VerifierList(v))
	if err != nil || rn.Text != string(c.Text()) {
		t.Fatalf("note.Open: %v, text %q", err, rn.Text)
	}
	// The body is the C2SP tlog-checkpoint: origin, size, base64 root.
	want := "sealog/test\n42\n" + "PH6byTDck/AfppmF7yQtn56GHzxTVaokzl70tLinDMs=\n" // base64(SHA-256(0x00 "x"))
	if !strings.HasPrefix(string(msg), want) {
		t.Errorf("note text %q, want prefix %q", msg, want)
	}
}

func TestOpenRefuses(t *testing.T) {
	s, v := newKeys(t, "sealog/test")
	other, otherV := newKeys(t, "sealog/test")
	_, _ = other, otherV
	c := Checkpoint{Origin: "sealog/test", Size: 7, Root: LeafHash(nil)}
	msg, _ := Sign(c, s)
	byOther, _ := Sign(c, other)
	mismatch, _ := newKeys(t, "sealog/elsewhere")
	wrongOrigin, _ := note.Sign(&note.Note{Text: "sealog/elsewhere\n7\n" + strings.Repeat("A", 43) + "=\n"}, mismatch)
	badBody, _ := note.Sign(&note.Note{Text: "sealog/test\n007\nAAAA\n"}, s)
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"size changed", bytes.Replace(msg, []byte("\n7\n"), []byte("\n8\n"), 1), ErrSignature},
		{"signed by another key of the same name", byOther, ErrSignature},
		{"another origin", wrongOrigin, ErrSignature},
		{"malformed body, signed", badBody, ErrCheckpoint},
		{"not a note", []byte("hello\n"), ErrCheckpoint},
		{"too large", bytes.Repeat([]byte("a"), MaxCheckpoint+1), ErrCheckpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Open(tt.msg, v)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseCheckpoint(t *testing.T) {
	root := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	tests := []struct {
		text string
		ok   bool
	}{
		{"o\n0\n" + root + "\n", true},
		{"o\n18446744073709551615\n" + root + "\n", true},
		{"o\n1\n" + root + "\next\n", true},
		{"o\n1\n" + root, false},
		{"o\n01\n" + root + "\n", false},
		{"o\n-1\n" + root + "\n", false},
		{"o\n1\n" + root + "\n\n", false},
		{"\n1\n" + root + "\n", false},
		{"o o\n1\n" + root + "\n", false},
		{"o+x\n1\n" + root + "\n", false},
		{"o\n1\n" + root[:40] + "\n", false},
		{"o\n1\n" + strings.TrimSuffix(root, "=") + "\n", false},
		{"o\n1\n", false},
	}
	for _, tt := range tests {
		c, err := ParseCheckpoint([]byte(tt.text))
		if (err == nil) != tt.ok {
			t.Errorf("ParseCheckpoint(%q): err %v, want ok %v", tt.text, err, tt.ok)
		}
		if err == nil && !strings.HasPrefix(tt.text, string(c.Text())) {
			t.Errorf("ParseCheckpoint(%q).Text() = %q", tt.text, c.Text())
		}
	}
}

func TestPublisher(t *testing.T) {
	dir := t.TempDir()
	s, v := newKeys(t, "sealog/pub")
	var out bytes.Buffer
	os.WriteFile(filepath.Join(dir, ".checkpoint.tmp123"), []byte("left by a crash"), 0o640)
	p := NewPublisher(dir, s, &out)
	for size := uint64(1); size <= 3; size++ {
		if _, err := p.Publish(size, LeafHash([]byte{byte(size)})); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := ReadFile(filepath.Join(dir, CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Open(msg, v)
	if err != nil || c.Size != 3 || c.Root != LeafHash([]byte{3}) {
		t.Fatalf("DIR/checkpoint: %+v, %v", c, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, CheckpointName))
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if lines := strings.Count(out.String(), "\n"); lines != 3 || !strings.HasPrefix(out.String(), "checkpoint 1 ") {
		t.Errorf("stderr lines %q", out.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries in DIR, want only the checkpoint (no temporary file left)", len(ents))
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"))
	f.Add([]byte("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	f.Add([]byte("sealog/x\n0\nAAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b)
		if err != nil {
			return
		}
		// What parses is the canonical body, extension lines aside.
		if !bytes.HasPrefix(b, c.Text()) {
			t.Fatalf("parsed %q as %+v, whose text %q is not a prefix", b, c, c.Text())
		}
		c2, err := ParseCheckpoint(c.Text())
		if err != nil || c2 != c {
			t.Fatalf("round trip of %+v: %+v, %v", c, c2, err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	s, v := newKeys(f, "sealog/fuzz")
	msg, _ := Sign(Checkpoint{Origin: "sealog/fuzz", Size: 3, Root: LeafHash(nil)}, s)
	f.Add(msg)
	f.Add(append(append([]byte(nil), msg...), "— witness AAAAAQ==\n"...))
	f.Add([]byte("sealog/fuzz\n3\nAAAA\n\n— sealog/fuzz AAAAAAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, n, err := Open(b, v)
		if err != nil {
			return
		}
		// Anything accepted is signed by the key over exactly its body.
		if c.Origin != "sealog/fuzz" || n == nil || !bytes.HasPrefix([]byte(n.Text), c.Text()) {
			t.Fatalf("accepted %q as %+v", b, c)
		}
	})
}
