package witness

import (
	"bytes"
	"testing"
)

// FuzzParseSignatures: no input panics, and what parses is exactly the
// input again, line by line.
func FuzzParseSignatures(f *testing.F) {
	for _, tt := range sigLineTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sigs, err := ParseSignatures(b)
		if err != nil {
			return
		}
		var back []byte
		for _, s := range sigs {
			back = append(back, s.Line...)
			if !validName(s.Name) {
				t.Fatalf("invalid name %q accepted", s.Name)
			}
		}
		if !bytes.Equal(back, b) {
			t.Fatalf("lines %q, input %q", back, b)
		}
	})
}

// FuzzResponse feeds a witness's 200 and 409 bodies: nothing panics, and
// a cosignature is accepted only when it verifies.
func FuzzResponse(f *testing.F) {
	s := newTestSigner(f, "witness.example/w1")
	body := []byte("example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	f.Add(s.line(body, 1700000000))
	f.Add(append(s.line(body, 1), s.line(body, 2)...))
	f.Add([]byte("12\n"))
	f.Add([]byte("012\n"))
	f.Add([]byte("18446744073709551616\n"))
	for _, tt := range sigLineTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := parseCosignature(s.key, body, b); err == nil {
			if !bytes.Contains(b, c.Line) {
				t.Fatalf("accepted line %q not in the input", c.Line)
			}
			sigs, perr := ParseSignatures(c.Line)
			if perr != nil || !s.key.Verify(body, sigs[0].Sig) {
				t.Fatalf("accepted a cosignature that does not verify: %q", c.Line)
			}
		}
		if n, err := ParseConflict(b); err == nil {
			if want := []byte(uitoa(n) + "\n"); !bytes.Equal(want, b) {
				t.Fatalf("409 body %q parsed as %d", b, n)
			}
		}
	})
}

func uitoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// FuzzNote feeds whole notes (a checkpoint file as read from disk or a
// proof): VerifyNote never panics nor accepts a line that does not verify,
// and AddSignatures keeps the text and ends with the added line.
func FuzzNote(f *testing.F) {
	s := newTestSigner(f, "witness.example/w1")
	body := []byte("example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	good := append(append(append([]byte(nil), body...), '\n'), s.line(body, 7)...)
	f.Add(good)
	f.Add(append(append([]byte(nil), good...), s.line(body, 8)...))
	f.Add([]byte("o\n1\nAAAA\n\n\u2014 o AAAAAQID\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte("no blank line\n"))
	add, _ := ParseSignatures(s.line(body, 9))
	f.Fuzz(func(t *testing.T, msg []byte) {
		v, err := VerifyNote(msg, []*Key{s.key})
		if err == nil && len(v.Keys) == 1 {
			text, _, _ := SplitNote(msg)
			valid, _ := Find(text, mustParse(t, msg), []*Key{s.key})
			if len(valid) == 0 {
				t.Fatalf("VerifyNote accepted a key without a valid line")
			}
		}
		out, err := AddSignatures(msg, add)
		if err != nil {
			return
		}
		text, _, _ := SplitNote(msg)
		otext, block, err := SplitNote(out)
		if err != nil || !bytes.Equal(otext, text) || !bytes.HasSuffix(block, add[0].Line) {
			t.Fatalf("AddSignatures(%q) = %q", msg, out)
		}
		if _, err := ParseSignatures(block); err != nil {
			t.Fatalf("AddSignatures made an unreadable block %q: %v", block, err)
		}
	})
}

func mustParse(t *testing.T, msg []byte) []Signature {
	_, block, _ := SplitNote(msg)
	sigs, err := ParseSignatures(block)
	if err != nil {
		t.Fatal(err)
	}
	return sigs
}
