package parse

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
)

// Framing is how a stream connection delimits its frames (RFC 6587 §3.4).
type Framing uint8

const (
	FramingUnknown Framing = iota // no byte received yet
	FramingOctet                  // octet counting, RFC 6587 §3.4.1: MSG-LEN SP SYSLOG-MSG
	FramingLF                     // non-transparent framing, RFC 6587 §3.4.2, with LF as trailer
)

// String names the framing as the `send --framing` flag does (docs/operations.md).
func (f Framing) String() string {
	switch f {
	case FramingOctet:
		return "octet"
	case FramingLF:
		return "lf"
	default:
		return "unknown"
	}
}

// Frame is one syslog frame cut from a stream or a datagram (docs/format.md §2).
//
// Size counts the frame's own bytes only: not the octet count, its space
// or the LF trailer ("message size", docs/format.md §2).
type Frame struct {
	// Data is the first min(Size, maxSize) bytes of the frame (for a
	// partial frame: of what was received). It aliases the Reader's buffer
	// and is valid only until the next call of Next.
	Data []byte
	// Size is the frame's full size: the declared MSG-LEN for octet
	// counting (also when the stream ended before it was complete), the
	// actual length for LF framing and datagrams.
	Size int64
	// Truncated is set when the frame is larger than maxSize, so that only
	// its first maxSize bytes are in Data (docs/format.md §2 "trunc=N"). For a
	// complete frame this is the same as Size > len(Data). A partial frame
	// whose declared Size fits maxSize is not Truncated, although fewer
	// than Size bytes arrived: it was cut by the sender, not by us, and
	// Partial says so.
	Truncated bool
	// Partial is set when the stream ended (EOF, reset, read error or
	// timeout) before the frame was complete (docs/format.md §2 "partial").
	Partial bool
	// Received is, for a partial frame, how many of its bytes arrived
	// (kept and discarded): an octet-counted frame's Size is what its
	// count declared, which a sender can set to ten billion and then
	// close. Use ReceivedSize, which is Size for a complete frame.
	Received int64
	// SHA256 is the SHA-256 of every byte of the frame that was received,
	// including the discarded ones; set only when Truncated (docs/format.md §2,
	// `oversized` event).
	SHA256 [32]byte
}

// ReceivedSize is how many bytes of the frame the peer sent: Size for a
// complete frame, Received for a partial one (the `bytes` a `disconnect`
// event reports, docs/format.md §3.4). A partial Frame built elsewhere
// without Received (RELP) counts the bytes it holds.
func (f Frame) ReceivedSize() int64 {
	if !f.Partial {
		return f.Size
	}
	if f.Received > 0 {
		return f.Received
	}
	return int64(len(f.Data))
}

// FrameError is a malformed octet count (RFC 6587 §3.4.1: MSG-LEN =
// NONZERO-DIGIT *DIGIT, which we cap at 10 digits). The stream cannot be
// resynchronised after it, so the caller logs a `frame_error` and closes
// the connection (docs/format.md §2); frames returned before it stay returned.
type FrameError struct {
	Reason string // e.g. "octet count has a non-digit"
}

func (e *FrameError) Error() string { return "octet framing: " + e.Reason }

// Reasons a FrameError carries.
const (
	reasonNonDigit    = "octet count has a non-digit"
	reasonTooLong     = "octet count longer than 10 digits"
	reasonZero        = "octet count is zero"
	reasonLeadingZero = "octet count has a leading zero"
)

// errInvalidRead is returned when the underlying reader breaks the
// io.Reader contract with a count outside 0..len(p).
var errInvalidRead = errors.New("parse: reader returned an invalid count")

// maxCountDigits caps MSG-LEN: 10 digits is more than any frame we keep
// and still fits an int64.
const maxCountDigits = 10

const (
	// initialBufSize is what an idle connection costs: 1,000 of them fit
	// in 4 MiB. The buffer grows only when a frame needs it.
	initialBufSize = 4096
	// slack is room past a kept frame of maxSize bytes for the octet count
	// and for reading the discarded tail of an oversized frame.
	slack = 4096
	// shrinkAfter small frames in a row (each at most initialBufSize/2)
	// let a grown buffer go back to initialBufSize when it is empty at a
	// read, so a connection idle after a burst of large frames holds 4 KiB,
	// while one that keeps sending large frames does not reallocate.
	shrinkAfter = 16
	// bulkBufSize is how far the buffer grows for a sender that is ahead
	// of us (a read filled all the free space): two TLS records' worth, so
	// one read takes a whole 16 KiB record and the frames in it go to the
	// pipeline as one batch instead of four.
	bulkBufSize = 32 << 10
	// maxEmptyReads guards against an io.Reader that keeps returning
	// (0, nil), which the io.Reader contract discourages.
	maxEmptyReads = 100
)

// Reader splits a byte stream into frames, detecting the framing from
// the stream's first byte (docs/format.md §2, RFC 6587 §3.4): an ASCII digit means
// octet counting, anything else LF-terminated frames. The framing is
// fixed for the stream once detected.
//
// LF framing: the frame is every byte before the LF; a CR before the LF
// is part of the frame (docs/format.md §2). Empty frames (an LF right after an LF,
// or at the start of the stream) carry no bytes and are skipped, so they
// never become events.
//
// A frame larger than maxSize keeps its first maxSize bytes; the rest is
// read, hashed and discarded, so memory stays bounded by about maxSize +
// 8 KiB whatever length is declared, and the next frame comes out intact.
//
// When the underlying reader fails (EOF, reset, deadline) in the middle of
// a frame, Next first returns what was received as a Partial frame and
// returns the error on the next call. An octet count without its space at
// that point is not a frame (no byte of a message arrived): Next returns
// io.ErrUnexpectedEOF for a clean EOF there, or the reader's error.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	src     io.Reader
	maxSize int
	// buf[r:w] are bytes read from src and not yet returned as frames.
	buf     []byte
	r, w    int
	scanned int  // LF framing: bytes of buf[r:w] already known to hold no LF
	small   int  // frames in a row of at most initialBufSize/2 bytes
	ahead   bool // the last read filled the free space: the sender is ahead
	lastN   int  // bytes the last read returned
	framing Framing
	// err is sticky: the first error from src (or a *FrameError), returned
	// once the frames before it are out.
	err error
	h   hash.Hash // SHA-256 for oversized frames, made on first use
}

// NewReader returns a Reader that cuts frames of at most maxSize kept
// bytes from src. maxSize below 1 is taken as 1.
func NewReader(src io.Reader, maxSize int) *Reader {
	if maxSize < 1 {
		maxSize = 1
	}
	return &Reader{src: src, maxSize: maxSize, buf: make([]byte, initialBufSize)}
}

// Framing returns the framing detected from the first byte, or
// FramingUnknown before any byte arrived.
func (r *Reader) Framing() Framing { return r.framing }

// Buffered returns how many bytes were read from the underlying reader
// but not yet returned as frames. When it is 0 the next call of Next
// will read (and may block); a non-zero value may still be an incomplete
// frame whose rest has not arrived.
func (r *Reader) Buffered() int { return r.w - r.r }

// Next returns the next frame. It returns io.EOF when the stream ended
// cleanly between frames, a *FrameError for a malformed octet count, and
// any other error of the underlying reader as it is. Errors are sticky.
func (r *Reader) Next() (Frame, error) {
	if r.framing == FramingUnknown {
		for r.w == r.r {
			if r.err != nil {
				return Frame{}, r.err
			}
			r.fill()
		}
		if c := r.buf[r.r]; c >= '0' && c <= '9' {
			r.framing = FramingOctet
		} else {
			r.framing = FramingLF
		}
	}
	var (
		f   Frame
		err error
	)
	if r.framing == FramingOctet {
		f, err = r.nextOctet()
	} else {
		f, err = r.nextLF()
	}
	if f.Size <= initialBufSize/2 {
		r.small++
	} else {
		r.small = 0
	}
	return f, err
}

// fill reads once from src into the free tail of buf, compacting or
// growing buf first when the tail is full. It records an error in r.err.
func (r *Reader) fill() {
	// A buffer grown for a large frame shrinks once small frames follow;
	// one grown for bulk load only when the reads turn into a trickle, or
	// under bulk load it would be freed and grown again and again.
	if r.r == r.w && len(r.buf) > initialBufSize && r.small >= shrinkAfter &&
		(len(r.buf) > bulkBufSize || r.lastN < initialBufSize/2) {
		// The previous frame's Data may alias the old buffer; it stays
		// valid for the caller until this Next returns, as promised.
		r.buf, r.r, r.w, r.scanned, r.small = make([]byte, initialBufSize), 0, 0, 0, 0
	}
	if bulk := min(2*len(r.buf), bulkBufSize, r.maxSize+slack); r.ahead && bulk > len(r.buf) {
		r.room(bulk)
	} else if r.w == len(r.buf) {
		if r.r > 0 {
			r.room(0) // compacting is enough
		} else {
			r.room(len(r.buf) + 1)
		}
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			r.err = errInvalidRead
			return
		}
		// Ahead: the read took all of a free space of at least half the
		// buffer. Filling the last few bytes of a buffer says nothing.
		free := len(r.buf) - r.w
		r.ahead = n == free && 2*free >= len(r.buf)
		r.lastN = n
		r.w += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

// room makes buf hold at least need bytes from r.r on: it moves the
// buffered bytes to the front and grows buf (doubling, capped at
// maxSize+slack, which every caller's need fits in).
func (r *Reader) room(need int) {
	if r.r > 0 {
		n := copy(r.buf, r.buf[r.r:r.w])
		r.r, r.w = 0, n
	}
	if need <= len(r.buf) {
		return
	}
	limit := r.maxSize + slack
	size := 2 * len(r.buf)
	if size < need {
		size = need
	}
	if size > limit {
		size = limit
	}
	if size < need {
		size = need // not reached: callers ask for at most limit
	}
	nb := make([]byte, size)
	copy(nb, r.buf[:r.w])
	r.buf = nb
}

// parseCount reads "MSG-LEN SP" at the start of b. It returns the count
// and the header length, or hdr == 0 when b ends before the space.
func parseCount(b []byte) (n int64, hdr int, err *FrameError) {
	for i, c := range b {
		if c == ' ' && i > 0 {
			if b[0] == '0' {
				if i == 1 {
					return 0, 0, &FrameError{Reason: reasonZero}
				}
				return 0, 0, &FrameError{Reason: reasonLeadingZero}
			}
			return n, i + 1, nil
		}
		if c < '0' || c > '9' {
			return 0, 0, &FrameError{Reason: reasonNonDigit}
		}
		if i == maxCountDigits {
			return 0, 0, &FrameError{Reason: reasonTooLong}
		}
		n = n*10 + int64(c-'0')
	}
	return 0, 0, nil
}

// nextOctet cuts one octet-counted frame (RFC 6587 §3.4.1).
func (r *Reader) nextOctet() (Frame, error) {
	var (
		n   int64
		hdr int
	)
	for {
		var ferr *FrameError
		n, hdr, ferr = parseCount(r.buf[r.r:r.w])
		if ferr != nil {
			// Nothing after a bad count can be trusted to be a frame
			// boundary: drop the rest and make the error sticky.
			r.r, r.w = 0, 0
			r.err = ferr
			return Frame{}, ferr
		}
		if hdr > 0 {
			break
		}
		if r.err != nil {
			if r.w > r.r {
				// Digits without their space: not a frame.
				r.r, r.w = 0, 0
				if r.err == io.EOF {
					r.err = io.ErrUnexpectedEOF
				}
			}
			return Frame{}, r.err
		}
		r.fill()
	}
	r.r += hdr
	if n > int64(r.maxSize) {
		return r.oversizedOctet(n)
	}
	size := int(n)
	if r.w-r.r < size {
		r.room(size)
		for r.w-r.r < size && r.err == nil {
			r.fill()
		}
	}
	if r.w-r.r < size { // the stream ended mid-frame
		f := Frame{Data: r.buf[r.r:r.w], Size: n, Partial: true, Received: int64(r.w - r.r)}
		r.r = r.w
		return f, nil
	}
	f := Frame{Data: r.buf[r.r : r.r+size], Size: n}
	r.r += size
	return f, nil
}

// hasher returns the reset SHA-256 state, made once per Reader.
func (r *Reader) hasher() hash.Hash {
	if r.h == nil {
		r.h = sha256.New()
	}
	r.h.Reset()
	return r.h
}

// oversizedOctet keeps the first maxSize bytes of a frame declared n
// bytes long and reads, hashes and discards the rest (docs/format.md §2). buf never
// grows past maxSize+slack: the discarded bytes pass through the slack
// after the kept ones.
func (r *Reader) oversizedOctet(n int64) (Frame, error) {
	keep := r.maxSize
	r.room(keep + slack)
	for r.w-r.r < keep && r.err == nil {
		r.fill()
	}
	h := r.hasher()
	if r.w-r.r < keep { // ended before maxSize bytes arrived
		data := r.buf[r.r:r.w]
		h.Write(data)
		r.r = r.w
		return r.truncated(data, n, true, int64(len(data))), nil
	}
	data := r.buf[r.r : r.r+keep]
	h.Write(data)
	// From here on buf[r.r:r.w] is the discard area after data.
	r.r += keep
	left := n - int64(keep)
	for {
		avail := int64(r.w - r.r)
		if avail >= left {
			h.Write(r.buf[r.r : r.r+int(left)])
			r.r += int(left)
			return r.truncated(data, n, false, n), nil
		}
		h.Write(r.buf[r.r:r.w])
		left -= avail
		r.w = r.r // reuse the area behind data
		if r.err != nil {
			return r.truncated(data, n, true, n-left), nil
		}
		r.fill()
	}
}

// truncated builds the Frame for an oversized frame whose bytes were
// hashed into r.h.
func (r *Reader) truncated(data []byte, size int64, partial bool, received int64) Frame {
	f := Frame{Data: data, Size: size, Truncated: size > int64(r.maxSize), Partial: partial}
	if partial {
		f.Received = received
	}
	if f.Truncated {
		r.h.Sum(f.SHA256[:0])
	}
	return f
}

// nextLF cuts one LF-terminated frame (RFC 6587 §3.4.2, docs/format.md §2).
func (r *Reader) nextLF() (Frame, error) {
	for {
		// Skip empty frames: they carry no bytes.
		if r.scanned == 0 {
			for r.r < r.w && r.buf[r.r] == '\n' {
				r.r++
			}
		}
		if i := bytes.IndexByte(r.buf[r.r+r.scanned:r.w], '\n'); i >= 0 {
			end := r.r + r.scanned + i
			data := r.buf[r.r:end]
			r.r, r.scanned = end+1, 0
			if len(data) > r.maxSize { // the whole oversized frame was buffered
				r.hasher().Write(data)
				return r.truncated(data[:r.maxSize], int64(len(data)), false, int64(len(data))), nil
			}
			return Frame{Data: data, Size: int64(len(data))}, nil
		}
		r.scanned = r.w - r.r
		if r.scanned > r.maxSize {
			return r.oversizedLF()
		}
		if r.err != nil {
			if r.w == r.r {
				r.scanned = 0
				return Frame{}, r.err
			}
			f := Frame{Data: r.buf[r.r:r.w], Size: int64(r.w - r.r), Partial: true, Received: int64(r.w - r.r)}
			r.r, r.scanned = r.w, 0
			return f, nil
		}
		// fill compacts, or grows buf when the frame fills it: a frame of
		// maxSize bytes and its LF fit in maxSize+slack.
		r.fill()
	}
}

// oversizedLF handles an LF frame found to be longer than maxSize: the
// first maxSize bytes are kept, the rest up to the LF hashed and dropped.
func (r *Reader) oversizedLF() (Frame, error) {
	keep := r.maxSize
	r.room(keep + slack)
	h := r.hasher()
	data := r.buf[r.r : r.r+keep]
	h.Write(data)
	r.r += keep
	r.scanned = 0
	size := int64(keep)
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			h.Write(r.buf[r.r : r.r+i])
			size += int64(i)
			r.r += i + 1
			return r.truncated(data, size, false, size), nil
		}
		h.Write(r.buf[r.r:r.w])
		size += int64(r.w - r.r)
		r.w = r.r
		if r.err != nil {
			return r.truncated(data, size, true, size), nil
		}
		r.fill()
	}
}

// DatagramFrame returns the frame of one UDP datagram (RFC 5426 §3.1: one
// datagram carries one message), with the truncation and hashing rules of
// Reader. Data aliases b.
func DatagramFrame(b []byte, maxSize int) Frame {
	if maxSize < 1 {
		maxSize = 1
	}
	if len(b) <= maxSize {
		return Frame{Data: b, Size: int64(len(b))}
	}
	return Frame{Data: b[:maxSize], Size: int64(len(b)), Truncated: true, SHA256: sha256.Sum256(b)}
}
