package witness

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var sigLineTests = []struct {
	name, in string
	ok       bool
}{
	{"one line", "\u2014 w.example/a AAAAAQID\n", true},
	{"two lines", "\u2014 a AAAAAQID\n\u2014 b AAAAAQIDBA==\n", true},
	{"no final newline", "\u2014 a AAAAAQID", false},
	{"empty", "", false},
	{"blank line", "\n", false},
	{"hyphen, not em dash", "- a AAAAAQID\n", false},
	{"no space after dash", "\u2014a AAAAAQID\n", false},
	{"key id only", "\u2014 a AAAAAA==\n", false},
	{"unpadded base64", "\u2014 a AAAAAQI\n", false},
	{"name with plus", "\u2014 a+b AAAAAQID\n", false},
	{"two spaces", "\u2014 a  AAAAAQID\n", false},
	{"trailing space", "\u2014 a AAAAAQID \n", false},
	{"CR", "\u2014 a AAAAAQID\r\n", false},
	{"invalid UTF-8 name", "\u2014 \xff AAAAAQID\n", false},
	{"text after lines", "\u2014 a AAAAAQID\nx", false},
}

func TestParseSignatures(t *testing.T) {
	for _, tt := range sigLineTests {
		t.Run(tt.name, func(t *testing.T) {
			sigs, err := ParseSignatures([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("got err %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrSignatureLine) {
					t.Errorf("error %v does not wrap ErrSignatureLine", err)
				}
				return
			}
			var back []byte
			for _, s := range sigs {
				back = append(back, s.Line...)
			}
			if string(back) != tt.in {
				t.Errorf("lines %q, want %q", back, tt.in)
			}
		})
	}
	many := strings.Repeat("\u2014 a AAAAAQID\n", MaxSignatures+1)
	if _, err := ParseSignatures([]byte(many)); err == nil {
		t.Errorf("%d signature lines accepted", MaxSignatures+1)
	}
}

func TestAddSignaturesAndVerifyNote(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	w1, w2 := newTestSigner(t, "w1.example"), newTestSigner(t, "w2.example")
	_, msg := l.grow(4)
	text, _, _ := SplitNote(msg)
	parse := func(b []byte) []Signature {
		s, err := ParseSignatures(b)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	out, err := AddSignatures(msg, parse(w1.line(text, 100)))
	if err != nil {
		t.Fatal(err)
	}
	out, err = AddSignatures(out, parse(w2.line(text, 100)))
	if err != nil {
		t.Fatal(err)
	}
	newer := w1.line(text, 200)
	out, err = AddSignatures(out, parse(newer))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, msg) {
		t.Fatalf("the log's note and signature are not kept as they were:\n%s", out)
	}
	if n := bytes.Count(out, []byte("\u2014 ")); n != 3 {
		t.Fatalf("%d signature lines, want 3 (log, w1 replaced by its newer one, w2):\n%s", n, out)
	}
	if !bytes.HasSuffix(out, newer) {
		t.Errorf("w1's newer line is not the last:\n%s", out)
	}
	v, err := VerifyNote(out, []*Key{w1.key, w2.key})
	if err != nil || len(v.Keys) != 2 || len(v.Bad) != 0 {
		t.Fatalf("VerifyNote: %v, %d keys, %d bad", err, len(v.Keys), len(v.Bad))
	}
	// A cosignature of another checkpoint pasted on this one is bad.
	_, other := l.grow(1)
	otext, _, _ := SplitNote(other)
	pasted, _ := AddSignatures(msg, parse(w2.line(otext, uint64(time.Now().Unix()))))
	v, err = VerifyNote(pasted, []*Key{w1.key, w2.key})
	if err != nil || len(v.Keys) != 0 || len(v.Bad) != 1 {
		t.Fatalf("pasted cosignature: %v, %d keys, %d bad; want 0 and 1", err, len(v.Keys), len(v.Bad))
	}
}
