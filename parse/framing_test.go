package parse

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

var errReset = errors.New("connection reset by peer")

// wantFrame is an expected Frame; whole is the complete frame whose hash
// a Truncated frame carries.
type wantFrame struct {
	data    string
	size    int64
	trunc   bool
	partial bool
	whole   string
}

type got struct {
	frames []Frame
	err    error
}

// readAll reads frames until the first error, copying Data (valid only
// until the next call).
func readAll(t testing.TB, src io.Reader, maxSize int) got {
	t.Helper()
	r := NewReader(src, maxSize)
	var g got
	for range 1000 {
		f, err := r.Next()
		if err != nil {
			g.err = err
			// Errors are sticky.
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("second Next after error: got %v, want %v", err2, err)
			}
			return g
		}
		if len(f.Data) > maxSize {
			t.Errorf("frame of %d bytes exceeds maxSize %d", len(f.Data), maxSize)
		}
		f.Data = bytes.Clone(f.Data)
		g.frames = append(g.frames, f)
	}
	t.Fatal("no error after 1000 frames")
	return g
}

// readers wraps a stream the ways a network delivers it: whole, one byte
// per Read (every split point), halves, and data together with the error.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"onebyte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"dataerr", iotest.DataErrReader},
}

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		end     error // what the stream ends with; nil means io.EOF
		max     int
		framing Framing
		want    []wantFrame
		wantErr error  // nil means the end error
		reason  string // want a *FrameError with this Reason
	}{
		{name: "empty stream", in: "", max: 16, framing: FramingUnknown},
		{name: "octet two frames", in: "5 hello6 world!", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "hello", size: 5}, {data: "world!", size: 6}}},
		{name: "octet keeps LF and CR", in: "7 a\r\nb\n\x00 1 \n", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "a\r\nb\n\x00 ", size: 7}, {data: "\n", size: 1}}},
		{name: "octet exactly max", in: "4 abcd1 e", max: 4, framing: FramingOctet,
			want: []wantFrame{{data: "abcd", size: 4}, {data: "e", size: 1}}},
		{name: "octet oversize then intact", in: "10 01234567893 abc", max: 4, framing: FramingOctet,
			want: []wantFrame{{data: "0123", size: 10, trunc: true, whole: "0123456789"}, {data: "abc", size: 3}}},
		{name: "octet declared 2e9 then EOF", in: "2000000000 abcdef", max: 4, framing: FramingOctet,
			want: []wantFrame{{data: "abcd", size: 2000000000, trunc: true, partial: true, whole: "abcdef"}}},
		{name: "octet declared 2e9 fewer than max", in: "2000000000 ab", max: 4, framing: FramingOctet,
			want: []wantFrame{{data: "ab", size: 2000000000, trunc: true, partial: true, whole: "ab"}}},
		{name: "octet 10 digits ok", in: "9999999999 ab", max: 4, framing: FramingOctet,
			want: []wantFrame{{data: "ab", size: 9999999999, trunc: true, partial: true, whole: "ab"}}},
		{name: "octet 11 digits", in: "3 abc12345678901 x", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}}, reason: reasonTooLong},
		{name: "octet 11 digits without space yet", in: "12345678901", max: 16, framing: FramingOctet,
			reason: reasonTooLong},
		{name: "octet zero count", in: "3 abc0 x", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}}, reason: reasonZero},
		{name: "octet leading zero", in: "03 abc", max: 16, framing: FramingOctet, reason: reasonLeadingZero},
		{name: "octet non-digit", in: "3 abcx1 a", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}}, reason: reasonNonDigit},
		{name: "octet space first", in: "3 abc 3 abc", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}}, reason: reasonNonDigit},
		{name: "octet LF between frames", in: "3 abc\n3 abc", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}}, reason: reasonNonDigit},
		{name: "octet partial at EOF", in: "3 abc10 abc", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}, {data: "abc", size: 10, partial: true}}},
		{name: "octet header without body", in: "5 ", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "", size: 5, partial: true}}},
		{name: "octet partial header at EOF", in: "3 abc12", max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}}, wantErr: io.ErrUnexpectedEOF},
		{name: "octet partial header at reset", in: "3 abc12", end: errReset, max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}}},
		{name: "octet reset mid-frame", in: "3 abc5 ab", end: errReset, max: 16, framing: FramingOctet,
			want: []wantFrame{{data: "abc", size: 3}, {data: "ab", size: 5, partial: true}}},
		{name: "octet reset mid-discard", in: "10 0123456", end: errReset, max: 4, framing: FramingOctet,
			want: []wantFrame{{data: "0123", size: 10, trunc: true, partial: true, whole: "0123456"}}},
		{name: "lf two frames", in: "<13>hello\nworld\n", max: 16, framing: FramingLF,
			want: []wantFrame{{data: "<13>hello", size: 9}, {data: "world", size: 5}}},
		{name: "lf CR kept", in: "a\r\nb\r\r\n", max: 16, framing: FramingLF,
			want: []wantFrame{{data: "a\r", size: 2}, {data: "b\r\r", size: 3}}},
		{name: "lf empty frames skipped", in: "\n\nx\n\n\ny\n\n", max: 16, framing: FramingLF,
			want: []wantFrame{{data: "x", size: 1}, {data: "y", size: 1}}},
		{name: "lf only LFs", in: "\n\n\n", max: 16, framing: FramingLF},
		{name: "lf digits later are data", in: "x\n12 ab\n", max: 16, framing: FramingLF,
			want: []wantFrame{{data: "x", size: 1}, {data: "12 ab", size: 5}}},
		{name: "lf exactly max", in: "abcd\ne\n", max: 4, framing: FramingLF,
			want: []wantFrame{{data: "abcd", size: 4}, {data: "e", size: 1}}},
		{name: "lf oversize then intact", in: "abcdefghij\nabc\n", max: 4, framing: FramingLF,
			want: []wantFrame{{data: "abcd", size: 10, trunc: true, whole: "abcdefghij"}, {data: "abc", size: 3}}},
		{name: "lf max+1", in: "abcde\nabc\n", max: 4, framing: FramingLF,
			want: []wantFrame{{data: "abcd", size: 5, trunc: true, whole: "abcde"}, {data: "abc", size: 3}}},
		{name: "lf partial at EOF", in: "abc\ndef", max: 16, framing: FramingLF,
			want: []wantFrame{{data: "abc", size: 3}, {data: "def", size: 3, partial: true}}},
		{name: "lf oversize partial at EOF", in: "abcdefghij", max: 4, framing: FramingLF,
			want: []wantFrame{{data: "abcd", size: 10, trunc: true, partial: true, whole: "abcdefghij"}}},
		{name: "lf reset mid-discard", in: "abcdefg", end: errReset, max: 4, framing: FramingLF,
			want: []wantFrame{{data: "abcd", size: 7, trunc: true, partial: true, whole: "abcdefg"}}},
		{name: "lf reset mid-frame", in: "abc\nde", end: errReset, max: 16, framing: FramingLF,
			want: []wantFrame{{data: "abc", size: 3}, {data: "de", size: 2, partial: true}}},
		{name: "lf reset between frames", in: "abc\n", end: errReset, max: 16, framing: FramingLF,
			want: []wantFrame{{data: "abc", size: 3}}},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				end := tt.end
				if end == nil {
					end = io.EOF
				}
				src := io.MultiReader(strings.NewReader(tt.in), iotest.ErrReader(end))
				r := NewReader(rd.wrap(src), tt.max)
				var g got
				for {
					f, err := r.Next()
					if err != nil {
						g.err = err
						break
					}
					f.Data = bytes.Clone(f.Data)
					g.frames = append(g.frames, f)
				}
				if r.Framing() != tt.framing {
					t.Errorf("Framing() = %v, want %v", r.Framing(), tt.framing)
				}
				checkFrames(t, g.frames, tt.want)
				switch {
				case tt.reason != "":
					var fe *FrameError
					if !errors.As(g.err, &fe) || fe.Reason != tt.reason {
						t.Errorf("got error %v, want FrameError %q", g.err, tt.reason)
					}
				case tt.wantErr != nil:
					if g.err != tt.wantErr {
						t.Errorf("got error %v, want %v", g.err, tt.wantErr)
					}
				default:
					if g.err != end {
						t.Errorf("got error %v, want %v", g.err, end)
					}
				}
				if _, err := r.Next(); err != g.err {
					t.Errorf("error not sticky: got %v, want %v", err, g.err)
				}
			})
		}
	}
}

func checkFrames(t *testing.T, frames []Frame, want []wantFrame) {
	t.Helper()
	if len(frames) != len(want) {
		t.Errorf("got %d frames, want %d", len(frames), len(want))
	}
	for i := range min(len(frames), len(want)) {
		f, w := frames[i], want[i]
		if string(f.Data) != w.data || f.Size != w.size || f.Truncated != w.trunc || f.Partial != w.partial {
			t.Errorf("frame %d: got {%q size=%d trunc=%v partial=%v}, want {%q size=%d trunc=%v partial=%v}",
				i, f.Data, f.Size, f.Truncated, f.Partial, w.data, w.size, w.trunc, w.partial)
		}
		var sum [32]byte
		if w.trunc {
			sum = sha256.Sum256([]byte(w.whole))
		}
		if f.SHA256 != sum {
			t.Errorf("frame %d: got SHA256 %x, want %x", i, f.SHA256, sum)
		}
	}
}

// repeat is an endless stream of one byte.
type repeat byte

func (b repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestReaderHugeFrame streams a 48 MiB frame in both framings and checks
// that the buffer never grows past maxSize+slack, the hash covers the
// whole frame and the next frame is intact.
func TestReaderHugeFrame(t *testing.T) {
	const max, n = 65536, 48 << 20
	h := sha256.New()
	io.Copy(h, io.LimitReader(repeat('a'), n))
	var sum [32]byte
	h.Sum(sum[:0])
	for _, framing := range []string{"octet", "lf"} {
		t.Run(framing, func(t *testing.T) {
			var src io.Reader
			if framing == "octet" {
				src = io.MultiReader(strings.NewReader(fmt.Sprint(n, " ")), io.LimitReader(repeat('a'), n), strings.NewReader("3 abc"))
			} else {
				src = io.MultiReader(io.LimitReader(repeat('a'), n), strings.NewReader("\nabc\n"))
			}
			r := NewReader(src, max)
			f, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Data) != max || f.Size != n || !f.Truncated || f.Partial || f.SHA256 != sum {
				t.Errorf("got {len=%d size=%d trunc=%v partial=%v sha=%x}, want {len=%d size=%d trunc=true partial=false sha=%x}",
					len(f.Data), f.Size, f.Truncated, f.Partial, f.SHA256, max, n, sum)
			}
			if cap(r.buf) > max+slack {
				t.Errorf("buffer grew to %d, want at most %d", cap(r.buf), max+slack)
			}
			f, err = r.Next()
			if err != nil || string(f.Data) != "abc" || f.Truncated {
				t.Errorf("next frame: got %q %v trunc=%v, want \"abc\" nil false", f.Data, err, f.Truncated)
			}
		})
	}
}

// TestReaderDeclaredHugeBounded checks that a declared length of 2e9 does
// not allocate by it: the buffer stays within maxSize+slack while the
// discarded bytes stream through.
func TestReaderDeclaredHugeBounded(t *testing.T) {
	const max = 10240
	src := io.MultiReader(strings.NewReader("2000000000 "), io.LimitReader(repeat('x'), 8<<20))
	r := NewReader(src, max)
	f, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != 2000000000 || !f.Truncated || !f.Partial || len(f.Data) != max {
		t.Errorf("got size=%d trunc=%v partial=%v len=%d, want 2000000000 true true %d", f.Size, f.Truncated, f.Partial, len(f.Data), max)
	}
	if cap(r.buf) > max+slack {
		t.Errorf("buffer grew to %d, want at most %d", cap(r.buf), max+slack)
	}
}

// TestReaderSmallStart checks that a Reader starts with a small buffer
// and that small frames crossing its end compact it instead of growing it.
func TestReaderSmallStart(t *testing.T) {
	frame := strings.Repeat("m", 299)
	var octet, lf strings.Builder
	for range 100 {
		fmt.Fprintf(&octet, "%d %s", len(frame), frame)
		lf.WriteString(frame + "\n")
	}
	for _, stream := range []string{octet.String(), lf.String()} {
		r := NewReader(iotest.HalfReader(strings.NewReader(stream)), 1<<20)
		if len(r.buf) != initialBufSize {
			t.Errorf("initial buffer %d bytes, want %d", len(r.buf), initialBufSize)
		}
		largest := 0
		for n := 0; ; n++ {
			f, err := r.Next()
			largest = max(largest, len(r.buf))
			if err == io.EOF && n == 100 {
				break
			}
			if err != nil || string(f.Data) != frame {
				t.Fatalf("frame %d: got %q, %v", n, f.Data, err)
			}
		}
		if largest != initialBufSize {
			t.Errorf("%v: buffer grew to %d for small frames, want %d", r.Framing(), largest, initialBufSize)
		}
	}
}

// TestReaderShrinks checks that a buffer grown for a large frame goes
// back to its initial size once small frames follow and it runs empty.
func TestReaderShrinks(t *testing.T) {
	big := strings.Repeat("a", 60000)
	stream := big + "\n" + strings.Repeat("small\n", shrinkAfter+1)
	r := NewReader(iotest.HalfReader(strings.NewReader(stream)), 65536)
	f, err := r.Next()
	if err != nil || len(f.Data) != len(big) {
		t.Fatalf("big frame: got %d bytes, %v; want %d, nil", len(f.Data), err, len(big))
	}
	if len(r.buf) <= initialBufSize {
		t.Fatalf("buffer did not grow for a %d-byte frame", len(big))
	}
	for range shrinkAfter + 1 {
		if f, err := r.Next(); err != nil || string(f.Data) != "small" {
			t.Fatalf("got %q, %v; want \"small\", nil", f.Data, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
	if len(r.buf) != initialBufSize {
		t.Errorf("buffer is %d bytes after small frames, want %d", len(r.buf), initialBufSize)
	}
}

func TestReaderBuffered(t *testing.T) {
	r := NewReader(strings.NewReader("3 abc3 de"), 16)
	if got := r.Buffered(); got != 0 {
		t.Errorf("Buffered() before reading = %d, want 0", got)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if got := r.Buffered(); got != 4 {
		t.Errorf("Buffered() after first frame = %d, want 4", got)
	}
	if _, err := r.Next(); err != nil { // partial "de"
		t.Fatal(err)
	}
	if got := r.Buffered(); got != 0 {
		t.Errorf("Buffered() after last frame = %d, want 0", got)
	}
}

// loop is a stream that repeats one chunk forever.
type loop struct {
	chunk []byte
	off   int
}

func (l *loop) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.chunk[l.off:])
		n += c
		l.off = (l.off + c) % len(l.chunk)
	}
	return n, nil
}

func TestReaderZeroAllocs(t *testing.T) {
	for _, tt := range []struct{ name, chunk string }{
		{"octet", "5 hello11 hello world"},
		{"lf", "hello\nhello world\n"},
		{"octet oversize", "5 hello40 0123456789012345678901234567890123456789"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(&loop{chunk: []byte(tt.chunk)}, 32)
			for range 100 { // warm up: buffer and hasher
				r.Next()
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("got %v allocs per frame, want 0", allocs)
			}
		})
	}
}

func TestDatagramFrame(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want wantFrame
	}{
		{"<13>hi", 16, wantFrame{data: "<13>hi", size: 6}},
		{"abcd", 4, wantFrame{data: "abcd", size: 4}},
		{"abcde\n", 4, wantFrame{data: "abcd", size: 6, trunc: true, whole: "abcde\n"}},
		{"", 4, wantFrame{data: "", size: 0}},
	} {
		t.Run(tt.in, func(t *testing.T) {
			checkFrames(t, []Frame{DatagramFrame([]byte(tt.in), tt.max)}, []wantFrame{tt.want})
		})
	}
}

// appendOctet frames b with octet counting (RFC 6587 §3.4.1).
func appendOctet(dst, b []byte) []byte {
	dst = fmt.Appendf(dst, "%d ", len(b))
	return append(dst, b...)
}

// FuzzReader checks, for any stream, that no frame exceeds maxSize and
// that size/truncation/hash fields agree; and that frames a, b, c sent
// with octet counting (and, when they allow it, with LF framing) come
// back as themselves, truncated to maxSize with the hash of the whole.
func FuzzReader(f *testing.F) {
	f.Add([]byte("5 hello6 world!"), []byte("abc"), []byte("de"), uint16(16), false)
	f.Add([]byte("<13>x\ny\r\n"), []byte("0123456789"), []byte(""), uint16(4), true)
	f.Add([]byte("2000000000 abc"), []byte("a\nb"), []byte("x"), uint16(2), false)
	f.Add([]byte("12345678901 x"), []byte(" "), []byte("\n"), uint16(1), true)
	f.Fuzz(func(t *testing.T, stream, a, b []byte, max16 uint16, oneByte bool) {
		max := int(max16%512) + 1
		wrap := func(r io.Reader) io.Reader {
			if oneByte {
				return iotest.OneByteReader(r)
			}
			return r
		}
		// Any stream: invariants.
		g := readAll(t, wrap(bytes.NewReader(stream)), max)
		for _, fr := range g.frames {
			if fr.Truncated != (fr.Size > int64(max)) {
				t.Errorf("Truncated=%v with Size %d, max %d", fr.Truncated, fr.Size, max)
			}
			if !fr.Partial && !fr.Truncated && int64(len(fr.Data)) != fr.Size {
				t.Errorf("complete frame: len(Data)=%d, Size=%d", len(fr.Data), fr.Size)
			}
		}
		// Octet counting round trip; MSG-LEN cannot be 0, so empty
		// messages are left out.
		var msgs [][]byte
		var in []byte
		for _, m := range [][]byte{a, b, stream} {
			if len(m) > 0 {
				msgs = append(msgs, m)
				in = appendOctet(in, m)
			}
		}
		roundTrip(t, wrap(bytes.NewReader(in)), max, msgs)
		// LF round trip, when a is a valid first LF frame and no message
		// is empty or holds an LF.
		if len(a) > 0 && (a[0] < '0' || a[0] > '9') && len(b) > 0 && !bytes.Contains(a, []byte("\n")) && !bytes.Contains(b, []byte("\n")) {
			in = append(append(append(append(in[:0], a...), '\n'), b...), '\n')
			roundTrip(t, wrap(bytes.NewReader(in)), max, [][]byte{a, b})
		}
	})
}

func roundTrip(t *testing.T, src io.Reader, max int, msgs [][]byte) {
	t.Helper()
	g := readAll(t, src, max)
	if g.err != io.EOF {
		t.Errorf("got error %v, want EOF", g.err)
	}
	if len(g.frames) != len(msgs) {
		t.Fatalf("got %d frames, want %d", len(g.frames), len(msgs))
	}
	for i, m := range msgs {
		fr := g.frames[i]
		want := m[:min(len(m), max)]
		if !bytes.Equal(fr.Data, want) || fr.Size != int64(len(m)) || fr.Partial || fr.Truncated != (len(m) > max) {
			t.Errorf("frame %d: got {%q size=%d trunc=%v partial=%v}, want {%q size=%d trunc=%v}", i, fr.Data, fr.Size, fr.Truncated, fr.Partial, want, len(m), len(m) > max)
		}
		if fr.Truncated && fr.SHA256 != sha256.Sum256(m) {
			t.Errorf("frame %d: wrong SHA256", i)
		}
	}
}

func benchReader(b *testing.B, chunk []byte, frames int) {
	r := NewReader(&loop{chunk: chunk}, 65536)
	b.SetBytes(int64(len(chunk) / frames))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReader(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 1000)
	var octet, lf []byte
	for range 16 {
		octet = appendOctet(octet, msg)
		lf = append(append(lf, msg...), '\n')
	}
	b.Run("octet", func(b *testing.B) { benchReader(b, octet, 16) })
	b.Run("lf", func(b *testing.B) { benchReader(b, lf, 16) })
}

// recordReader cuts its stream into records of size bytes and never
// returns bytes of two records from one Read, as a TLS connection does.
type recordReader struct {
	r    io.Reader
	size int
	left int // bytes of the current record not yet returned
}

func (c *recordReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		c.left = c.size
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= n
	return n, err
}

// TestReaderGrowsForBulk checks that a sender that is ahead (reads fill
// the buffer) makes the buffer grow, up to bulkBufSize, so one read takes a
// whole 16 KiB TLS record, that it grows no further and is not
// freed and grown again under the load, and that it goes back to
// initialBufSize once the reads turn into a trickle.
func TestReaderGrowsForBulk(t *testing.T) {
	frame := strings.Repeat("b", 1000)
	var bulk strings.Builder
	for range 2000 {
		fmt.Fprintf(&bulk, "%d %s", len(frame), frame)
	}
	trickle := fmt.Sprintf("%d %s", len(frame), frame)
	src := &switchReader{}
	// Records of 16 whole frames, as sealog send batches them: the buffer
	// runs empty after each, which must not free it.
	src.cur = &recordReader{r: strings.NewReader(bulk.String()), size: 16 * (len(frame) + 5)}
	r := NewReader(src, 64<<10)
	reallocs, largest := 0, 0
	var last *byte
	for n := range 2000 {
		f, err := r.Next()
		if err != nil || string(f.Data) != frame {
			t.Fatalf("frame %d: got %d bytes, %v", n, len(f.Data), err)
		}
		if p := &r.buf[0]; p != last {
			reallocs++
			last = p
		}
		largest = max(largest, len(r.buf))
	}
	if largest < 16<<10 || largest > bulkBufSize {
		t.Errorf("buffer grew to %d under bulk load, want a whole record (16 KiB) to %d", largest, bulkBufSize)
	}
	if reallocs > 5 {
		t.Errorf("buffer reallocated %d times under steady bulk load", reallocs)
	}
	// Now one small read at a time: the buffer goes back to its start size.
	src.cur = iotest.OneByteReader(strings.NewReader(strings.Repeat(trickle, shrinkAfter+2)))
	for n := range shrinkAfter + 2 {
		if f, err := r.Next(); err != nil || string(f.Data) != frame {
			t.Fatalf("trickle frame %d: got %d bytes, %v", n, len(f.Data), err)
		}
	}
	if len(r.buf) != initialBufSize {
		t.Errorf("buffer is %d bytes after a trickle, want %d", len(r.buf), initialBufSize)
	}
}

// switchReader reads from cur, which a test may replace between reads.
type switchReader struct{ cur io.Reader }

func (s *switchReader) Read(p []byte) (int, error) { return s.cur.Read(p) }
