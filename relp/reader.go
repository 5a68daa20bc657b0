package relp

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// MaxTxnr is the largest transaction number; the one after it is 1.
const MaxTxnr = 999999999

// Command names a server receives (rsp goes the other way, serverclose
// too).
const (
	CmdOpen   = "open"
	CmdSyslog = "syslog"
	CmdClose  = "close"
)

// Command is one RELP frame as read.
type Command struct {
	Txnr int    // transaction number
	Name string // the command, lowercase letters as sent
	// Data is the frame's data, at most the Reader's maximum; it is valid
	// until the next call of Next.
	Data []byte
	// Size is DATALEN, the whole data's length as declared (and, unless
	// Partial, read).
	Size int64
	// Truncated: Size exceeded the maximum; Data is its first bytes and
	// SHA256 is the hash of all Size bytes.
	Truncated bool
	SHA256    [32]byte
	// Partial: the connection ended inside the data; Data is what came.
	// No trailer was read, and the next call returns the end.
	Partial bool
}

// FrameError is a frame that breaks the grammar or the transaction
// sequence. The session cannot go on after it: nothing says where the
// next frame begins.
type FrameError struct {
	Reason string // malformed_frame, txnr_sequence
	Detail string
}

func (e *FrameError) Error() string { return "relp: " + e.Reason + ": " + e.Detail }

func malformed(format string, a ...any) error {
	return &FrameError{Reason: "malformed_frame", Detail: fmt.Sprintf(format, a...)}
}

// Reader reads Commands from a stream. It is owned by one goroutine.
type Reader struct {
	br   *bufio.Reader
	max  int
	buf  []byte
	next int   // the TXNR the next command must carry
	sep  byte  // the byte that ended the last number
	done bool  // a partial command was returned: the stream is over
	end  error // what Next returns once done
}

// NewReader reads from r, keeping at most max bytes of any command's data.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 16<<10), max: max, next: 1}
}

// Buffered is how many bytes are read from the stream and not yet taken.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Next returns the next command. At a clean end between frames it returns
// io.EOF; an end inside a frame's header is io.ErrUnexpectedEOF, inside a
// frame's data a Command with Partial set (then io.EOF, or the read
// error that cut it). A grammar or
// sequence violation is a *FrameError; a read error is returned as is.
func (r *Reader) Next() (Command, error) {
	if r.done {
		return Command{}, r.end
	}
	var c Command
	txnr, err := r.number("TXNR", true)
	if err != nil {
		return c, err
	}
	if r.sep != ' ' {
		return c, malformed("TXNR followed by %q, want SP", r.sep)
	}
	c.Txnr = int(txnr)
	if c.Name, err = r.name(); err != nil {
		return c, err
	}
	size, err := r.number("DATALEN", false)
	if err != nil {
		return c, err
	}
	c.Size = size
	// A server checks the sequence of everything but TXNR 0, which
	// librelp reserves for unsolicited frames.
	if c.Txnr != 0 {
		if c.Txnr != r.next {
			return c, &FrameError{Reason: "txnr_sequence", Detail: fmt.Sprintf("got transaction %d, want %d", c.Txnr, r.next)}
		}
		r.next = r.next%MaxTxnr + 1
	}
	if size == 0 {
		// number consumed the byte after the digits: it was the
		// trailer (no data) or must be.
		if r.sep != '\n' {
			return c, malformed("DATALEN 0 followed by %q, want LF", r.sep)
		}
		c.Data = r.buf[:0]
		return c, nil
	}
	if r.sep != ' ' {
		return c, malformed("DATALEN followed by %q, want SP", r.sep)
	}
	if err := r.data(&c); err != nil {
		return c, err
	}
	if c.Partial {
		r.done = true
		return c, nil
	}
	b, err := r.br.ReadByte()
	if err != nil {
		return c, unexpected(err)
	}
	if b != '\n' {
		return c, malformed("data of %d bytes followed by %q, want LF", size, b)
	}
	return c, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// number reads 1 to 9 digits and the byte after them (into r.sep). first
// says it begins a frame: an end before its first byte is io.EOF.
func (r *Reader) number(field string, first bool) (int64, error) {
	var n int64
	digits := 0
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			if first && digits == 0 && errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, unexpected(err)
		}
		if b < '0' || b > '9' {
			if digits == 0 {
				return 0, malformed("%s begins with %q, want a digit", field, b)
			}
			r.sep = b
			return n, nil
		}
		if digits == 9 {
			return 0, malformed("%s longer than 9 digits", field)
		}
		digits++
		n = n*10 + int64(b-'0')
	}
}

// maxName is librelp's limit on a command's length.
const maxName = 32

// name reads COMMAND and the SP after it.
func (r *Reader) name() (string, error) {
	var buf [maxName]byte
	n := 0
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			return "", unexpected(err)
		}
		if b == ' ' && n > 0 {
			break
		}
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z') {
			return "", malformed("command holds %q", b)
		}
		if n == maxName {
			return "", malformed("command longer than %d letters", maxName)
		}
		buf[n] = b
		n++
	}
	// The names a server knows are interned; others are copied once.
	switch s := buf[:n]; string(s) {
	case CmdSyslog:
		return CmdSyslog, nil
	case CmdOpen:
		return CmdOpen, nil
	case CmdClose:
		return CmdClose, nil
	default:
		return string(s), nil
	}
}

// data reads c.Size bytes: up to r.max into r.buf, the rest hashed and
// dropped. An end of the stream inside them makes c Partial.
func (r *Reader) data(c *Command) error {
	keep := c.Size
	if keep > int64(r.max) {
		keep = int64(r.max)
		c.Truncated = true
	}
	if int64(cap(r.buf)) < keep {
		r.buf = make([]byte, keep)
	}
	r.buf = r.buf[:keep]
	n, err := io.ReadFull(r.br, r.buf)
	c.Data = r.buf[:n]
	if err != nil {
		return r.cut(c, err)
	}
	if !c.Truncated {
		return nil
	}
	h := sha256.New()
	h.Write(r.buf)
	rest := c.Size - keep
	if _, err := io.CopyN(h, r.br, rest); err != nil {
		return r.cut(c, err)
	}
	h.Sum(c.SHA256[:0])
	return nil
}

// cut ends a command whose data the stream ended inside (EOF, reset,
// timeout): what came is kept as Partial, and the next call returns
// the end (io.EOF for an EOF).
func (r *Reader) cut(c *Command, err error) error {
	c.Partial = true
	c.Truncated = false
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	r.end = err
	return nil
}
