// Package follow reads a sealog log directory the way `tail -F` reads a
// log: it hands over every complete line appended to the active file of
// each stream (events, security), and moves on to the next file when
// sealog rotates, so `sealog export --follow` can feed a SIEM in real
// time. It only reads: files are opened read-only, which works on
// append-only and immutable files alike, and it never changes the
// directory.
//
// It polls rather than using inotify: a poll every quarter second costs
// nothing next to the server's own work, needs no extra file descriptor
// limits, and works the same on every filesystem.
package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sealog/sealog/rotate"
)

// Options says what to follow and from where.
type Options struct {
	// Streams to follow; nil means events and security.
	Streams []string
	// FromOldest reads every file of each stream, oldest first, before
	// following; otherwise following starts at the beginning of the
	// active (newest) file.
	FromOldest bool
	// Poll is how often the files and the directory are looked at
	// (default 250ms).
	Poll time.Duration
	// MaxLine bounds a line; a longer one is reported with ErrLongLine
	// and skipped (default 64 MiB, as export's).
	MaxLine int
	// Flush, when set, is called after each round that handed over lines,
	// so a buffered writer reaches its reader while the log is quiet.
	Flush func() error
}

// ErrLongLine is passed to Emit for a line longer than Options.MaxLine.
var ErrLongLine = errors.New("line too long")

// Emit receives one complete line (without its LF) of file, numbered from
// 1, or err (ErrLongLine) instead of a line. An error it returns ends Run.
type Emit func(file string, lineNo int, line []byte, err error) error

// Run follows dir until ctx is done (it then returns nil) or emit fails.
// The directory must exist; its files may come later.
func Run(ctx context.Context, dir string, opts Options, emit Emit) error {
	if fi, err := os.Stat(dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = 64 << 20
	}
	streams := opts.Streams
	if streams == nil {
		streams = []string{rotate.StreamEvents, rotate.StreamSecurity}
	}
	tails := make([]*tail, len(streams))
	for i, s := range streams {
		tails[i] = &tail{dir: dir, stream: s, fromOldest: opts.FromOldest, maxLine: opts.MaxLine, emit: emit}
	}
	defer func() {
		for _, t := range tails {
			t.close()
		}
	}()
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	for {
		emitted := false
		for _, t := range tails {
			n, err := t.round()
			if err != nil {
				return err
			}
			emitted = emitted || n > 0
		}
		if emitted && opts.Flush != nil {
			if err := opts.Flush(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// tail follows one stream. It is used by Run's goroutine only.
type tail struct {
	dir, stream string
	fromOldest  bool
	maxLine     int
	emit        Emit
	started     bool

	cur  *source // the newest file seen, being read
	prev *source // the file rotated out last, read once more next round
}

// source is one open file and what has been read of it.
type source struct {
	name    string
	f       *os.File
	partial []byte // bytes after the last LF read so far
	lineNo  int
	tooLong bool // the current line passed maxLine and is being skipped
}

func (t *tail) close() {
	for _, s := range []*source{t.cur, t.prev} {
		if s != nil {
			s.f.Close()
		}
	}
}

// round reads what is new and moves to newer files; it returns how many
// lines it handed over.
func (t *tail) round() (int, error) {
	n := 0
	// A file rotated out in the last round may have taken a last write
	// after the next file appeared; read it once more, then let it go.
	if t.prev != nil {
		k, err := t.drain(t.prev, true)
		n += k
		if err != nil {
			return n, err
		}
		t.prev.f.Close()
		t.prev = nil
	}
	if t.cur != nil {
		k, err := t.drain(t.cur, false)
		n += k
		if err != nil {
			return n, err
		}
	}
	names, err := t.newer()
	if err != nil {
		return n, err
	}
	for _, name := range names {
		f, err := os.Open(filepath.Join(t.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue // pruned by retention between the scan and now
		}
		if err != nil {
			return n, err
		}
		if t.cur != nil {
			if t.prev != nil { // passed over within one round: it is final
				k, err := t.drain(t.prev, true)
				n += k
				t.prev.f.Close()
				if err != nil {
					return n, err
				}
			}
			t.prev = t.cur
		}
		t.cur = &source{name: name, f: f}
		k, err := t.drain(t.cur, false)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// newer lists the stream's files after the current one, in order: on the
// first round every file (FromOldest) or only the newest.
func (t *tail) newer() ([]string, error) {
	found, err := rotate.Scan(t.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range found {
		if f.Stream == t.stream && (t.cur == nil || f.Name > t.cur.name) {
			names = append(names, f.Name)
		}
	}
	if !t.started && len(names) > 0 {
		t.started = true
		if !t.fromOldest {
			names = names[len(names)-1:]
		}
	}
	return names, nil
}

// drain hands over every complete line of s from where it was left up to
// the end of the file; with final, a last line without LF too (a file
// that will not grow again can end in a torn line).
func (t *tail) drain(s *source, final bool) (int, error) {
	var buf [64 << 10]byte
	n := 0
	for {
		k, rerr := s.f.Read(buf[:])
		chunk := buf[:k]
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				t.add(s, chunk)
				break
			}
			t.add(s, chunk[:i])
			chunk = chunk[i+1:]
			if err := t.hand(s); err != nil {
				return n, err
			}
			n++
		}
		if rerr == io.EOF || k == 0 {
			break
		}
		if rerr != nil {
			return n, fmt.Errorf("read %s: %w", s.name, rerr)
		}
	}
	if final && (len(s.partial) > 0 || s.tooLong) {
		if err := t.hand(s); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// add appends b to the line being read, or notes that it is too long.
func (t *tail) add(s *source, b []byte) {
	if s.tooLong {
		return
	}
	if len(s.partial)+len(b) > t.maxLine {
		s.tooLong, s.partial = true, s.partial[:0]
		return
	}
	s.partial = append(s.partial, b...)
}

// hand gives the line read to emit and starts the next.
func (t *tail) hand(s *source) error {
	s.lineNo++
	var err error
	if s.tooLong {
		err = t.emit(s.name, s.lineNo, nil, ErrLongLine)
	} else {
		err = t.emit(s.name, s.lineNo, s.partial, nil)
	}
	s.partial, s.tooLong = s.partial[:0], false
	return err
}
