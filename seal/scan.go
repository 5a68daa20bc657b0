package seal

import (
	"bytes"
	"errors"
	"io"

	"github.com/sealog/sealog/writer"
)

// Scan buffers: verify reads each file once, sequentially, in chunks of
// scanChunk bytes; scanBuffers chunks circulate between the reader (which
// hashes) and the line checker, so at most that many are in memory.
const (
	scanChunk   = 1 << 20
	scanBuffers = 4
	// maxLine bounds a line the checker assembles across chunks. sealog
	// never writes one this long (--max-message-size, percent-encoded, is
	// far below); a longer one is a format problem, and memory stays flat.
	maxLine = 64 << 20
)

// target is a sealed offset of a file and what the scan found there.
type target struct {
	off     int64
	reached bool     // the file has at least off bytes
	sum     [32]byte // SHA-256 of the first off bytes
	lines   int64    // LF bytes among them
	endsLF  bool     // off == 0 or byte off-1 is LF
}

// lineProblem is one line of a sealed range that breaks docs/format.md §3.
type lineProblem struct {
	line int64 // 1-based line number in the file
	end  int64 // offset just past its LF
	err  error
}

type scanResult struct {
	n                int64 // bytes read
	lines            int64 // complete lines among them
	err              error // read error other than an early EOF
	lineProblems     []lineProblem
	lineProblemCount int
	// endsWithStop: a security file whose last complete lines are a
	// `stop` event followed by `seal` events only: the graceful end of
	// docs/format.md §5.
	endsWithStop bool
}

// scanBufs are the chunk buffers, reused from file to file.
type scanBufs struct {
	free chan []byte
}

func newScanBuffers() *scanBufs {
	b := &scanBufs{free: make(chan []byte, scanBuffers)}
	for range scanBuffers {
		b.free <- make([]byte, scanChunk)
	}
	return b
}

// scan reads r up to limit bytes, once. It fills every target (sorted,
// unique offsets) it reaches and, on a second goroutine, checks every
// complete line of the range with writer.CheckLine against columns.
// The content digest (column 8) runs on this goroutine and is snapshotted
// at every target. progress, when not nil, gets the bytes of each chunk.
func scan(r io.Reader, limit int64, targets []target, columns int, bufs *scanBufs, progress func(int64)) scanResult {
	work := make(chan []byte, scanBuffers)
	done := make(chan *lineChecker)
	go func() {
		lc := &lineChecker{columns: columns}
		for b := range work {
			lc.feed(b)
			bufs.free <- b[:cap(b)]
		}
		done <- lc
	}()

	h := newContentDigest()
	var (
		off   int64 // bytes hashed so far
		lines int64
		lastB byte
		ti    int
		res   scanResult
	)
	mark := func() {
		t := &targets[ti]
		t.reached = true
		h.Snapshot(&t.sum)
		t.lines = lines
		t.endsLF = off == 0 || lastB == '\n'
		ti++
	}
	for ti < len(targets) && targets[ti].off == 0 {
		mark()
	}
	for off < limit {
		buf := <-bufs.free
		want := int64(len(buf))
		if limit-off < want {
			want = limit - off
		}
		n, err := io.ReadFull(r, buf[:want])
		data := buf[:n]
		if progress != nil && n > 0 {
			progress(int64(n))
		}
		if n > 0 {
			work <- data
		} else {
			bufs.free <- buf
		}
		// Hash up to each target inside this chunk, snapshot, go on.
		for len(data) > 0 {
			k := len(data)
			if ti < len(targets) && targets[ti].off-off < int64(k) {
				k = int(targets[ti].off - off)
			}
			part := data[:k]
			h.Write(part)
			lines += int64(bytes.Count(part, []byte{'\n'}))
			off += int64(k)
			if k > 0 {
				lastB = part[k-1]
			}
			data = data[k:]
			for ti < len(targets) && targets[ti].off == off {
				mark()
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				res.err = err
			}
			break
		}
	}
	close(work)
	lc := <-done
	res.n = off
	res.lines = lines
	res.endsWithStop = lc.stopSeen
	res.lineProblems = lc.problems
	res.lineProblemCount = lc.count
	return res
}

// lineChecker splits a byte stream into LF-terminated lines and checks
// each with writer.CheckLine. A line split across chunks is assembled in
// carry; the part after the last LF is never checked (it is not a
// complete line: an unsealed or torn tail).
type lineChecker struct {
	columns  int
	carry    []byte
	tooLong  bool  // the line in carry passed maxLine; only its end is awaited
	line     int64 // lines seen
	base     int64 // file offset of the next byte fed
	problems []lineProblem
	count    int
	stopSeen bool // security lines: the last ones are `stop`, then `seal`s
}

func (lc *lineChecker) feed(data []byte) {
	base := lc.base
	lc.base += int64(len(data))
	i := 0 // data[:i] is done
	if len(lc.carry) > 0 || lc.tooLong {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			lc.keep(data)
			return
		}
		if lc.tooLong {
			lc.finish(base+int64(j)+1, nil, errLineTooLong)
		} else {
			lc.carry = append(lc.carry, data[:j]...)
			lc.finish(base+int64(j)+1, lc.carry, nil)
		}
		lc.carry = lc.carry[:0]
		lc.tooLong = false
		i = j + 1
	}
	for {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			lc.keep(data[i:])
			return
		}
		lc.finish(base+int64(i+j)+1, data[i:i+j], nil)
		i += j + 1
	}
}

// keep holds the start of a line that continues in the next chunk.
func (lc *lineChecker) keep(b []byte) {
	if lc.tooLong || len(lc.carry)+len(b) > maxLine {
		lc.tooLong = true
		lc.carry = lc.carry[:0]
		return
	}
	lc.carry = append(lc.carry, b...)
}

var errLineTooLong = errors.New("line longer than 64 MiB")

// finish checks one complete line that ends (LF included) at offset end.
func (lc *lineChecker) finish(end int64, line []byte, err error) {
	lc.line++
	if err == nil {
		err = writer.CheckLine(line, lc.columns)
	}
	if lc.columns == securityColumns {
		switch action(line) {
		case "stop":
			lc.stopSeen = err == nil
		case "seal":
		default:
			lc.stopSeen = false
		}
	}
	if err != nil {
		lc.count++
		if len(lc.problems) < maxLineProblems {
			lc.problems = append(lc.problems, lineProblem{line: lc.line, end: end, err: err})
		}
	}
}

// action returns the ACTION column (7) of a security line, or "".
func action(line []byte) string {
	for range 6 {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			return ""
		}
		line = line[i+1:]
	}
	if i := bytes.IndexByte(line, '\t'); i >= 0 {
		return string(line[:i])
	}
	return ""
}
