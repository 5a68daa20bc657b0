package relp

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds the command reader arbitrary bytes: it must not panic,
// must keep every command's data within the maximum, must stop at the
// first FrameError, and must read back exactly what AppendFrame wrote.
func FuzzReader(f *testing.F) {
	for _, tt := range readerTests {
		f.Add([]byte(tt.in), uint16(tt.max))
	}
	f.Add(AppendOpenOK(nil, 1), uint16(200))
	f.Fuzz(func(t *testing.T, in []byte, max16 uint16) {
		max := int(max16%4096) + 1
		r := NewReader(bytes.NewReader(in), max)
		var frames int
		for ; ; frames++ {
			c, err := r.Next()
			if err != nil {
				var fe *FrameError
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &fe) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				break
			}
			if len(c.Data) > max {
				t.Fatalf("data of %d bytes over the maximum %d", len(c.Data), max)
			}
			if !c.Partial && !c.Truncated && int64(len(c.Data)) != c.Size {
				t.Fatalf("data of %d bytes, size %d", len(c.Data), c.Size)
			}
			// Offered agrees with Offers on any open's data.
			if c.Name == CmdOpen {
				has := false
				for _, v := range Offers(c.Data)["commands"] {
					has = has || v == CmdSyslog
				}
				if Offered(c.Data, "commands", CmdSyslog) != has {
					t.Fatalf("Offered and Offers disagree on %q", c.Data)
				}
			}
			if frames > len(in) {
				t.Fatal("more commands than input bytes")
			}
			// A well-formed command round-trips.
			if !c.Partial && !c.Truncated && c.Txnr > 0 {
				again := NewReader(bytes.NewReader(AppendFrame(nil, c.Txnr, c.Name, c.Data)), max)
				again.next = c.Txnr
				d, err := again.Next()
				if err != nil || d.Name != c.Name || !bytes.Equal(d.Data, c.Data) {
					t.Fatalf("round trip of %q: %q, %v", c.Data, d.Data, err)
				}
			}
		}
	})
}
