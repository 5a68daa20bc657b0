package seal

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// This file is the one definition of a valid seals.log (docs/format.md §4):
// the server's start-up (OpenChain) and verify both read the chain file
// through readSeals, so they cannot disagree about what a chain is. It
// checks everything that needs no key: the line format, SEQ 1, 2, 3 …,
// PREV equal to the MAC before, and the one kind of line that is not a
// seal and may still stand in the file: a seal line cut by a crash.

// entryKind says what one line of seals.log is.
type entryKind int

const (
	// entrySeal: a well-formed seal line. linked says whether it
	// continues the chain (SEQ one more than the last seal's, PREV its MAC).
	entrySeal entryKind = iota
	// entryFragment: a seal line cut by a crash, as docs/format.md §4
	// allows it: a byte prefix of a well-formed seal line, alone between
	// two seals, whose SEQ and PREV (as far as it holds them) are those of
	// the next seal, which continues the chain from the seal before it.
	// atEnd: it is the last line, no seal after it yet (the server takes
	// its SEQ for its next seal).
	entryFragment
	// entryBad: a line that has no place in seals.log; err says why.
	entryBad
)

// sealEntry is one line of seals.log as readSeals classified it. body and
// raw point into the reader's buffer and are valid only during the visit.
type sealEntry struct {
	kind   entryKind
	line   int // 1-based line number
	bytes  int // bytes of the line without its LF
	rec    Record
	raw    []byte // the line without its LF, for entrySeal
	body   []byte // the MAC input (columns 2–9), for entrySeal
	noLF   bool   // the file's last line, lacking its LF (a write cut by a crash)
	linked bool   // entrySeal: continues the chain from the seal before
	atEnd  bool   // entryFragment: the last line of the file
	err    error  // entryBad: what is wrong; entrySeal && !linked: why not
}

// ErrNotSeal is wrapped by the error of every entryBad line.
var ErrNotSeal = errors.New("not a seal line")

// readSeals reads a seals.log from r once, streaming, and calls visit for
// every line in file order (a fragment is visited once the line after it
// has settled what it is). It stops at the first error visit returns and
// returns it, or a read error. Memory is bounded by maxSealLine whatever
// r holds; time is linear in its bytes.
func readSeals(r io.Reader, visit func(*sealEntry) error) error {
	br := bufio.NewReaderSize(r, maxSealLine+1)
	var (
		n       int
		lastSeq uint64   // the last seal line's SEQ, 0 before the first
		lastMAC [32]byte // its MAC
		frag    *sealEntry
		fragBuf sealEntry
	)
	// settle visits a held fragment: accepted when the seal after it
	// continues the chain from the seal before it.
	settle := func(next *sealEntry) error {
		if frag == nil {
			return nil
		}
		f := frag
		frag = nil
		switch {
		case next == nil:
			f.atEnd = true
		case next.kind != entrySeal:
			f.kind, f.err = entryBad, fmt.Errorf("%w: %d bytes, and the line after it is no seal either", ErrNotSeal, f.bytes)
		case !next.linked || next.rec.Seq != lastSeq+1:
			f.kind, f.err = entryBad, fmt.Errorf("%w: %d bytes, and the seal after it does not continue the chain from seal %d", ErrNotSeal, f.bytes, lastSeq)
		}
		return visit(f)
	}
	for {
		line, err := br.ReadSlice('\n')
		if len(line) == 0 && err == io.EOF {
			return settle(nil)
		}
		n++
		if errors.Is(err, bufio.ErrBufferFull) {
			size := len(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				size += len(line)
			}
			if err != nil && err != io.EOF {
				return err
			}
			e := sealEntry{kind: entryBad, line: n, bytes: size, err: fmt.Errorf("%w: longer than %d bytes", ErrNotSeal, maxSealLine)}
			if err := settle(&e); err != nil {
				return err
			}
			if err := visit(&e); err != nil {
				return err
			}
			if err == io.EOF {
				return nil
			}
			continue
		}
		noLF := err == io.EOF
		if err != nil && !noLF {
			return err
		}
		if !noLF {
			line = line[:len(line)-1]
		}
		e := sealEntry{line: n, bytes: len(line), noLF: noLF}
		rec, body, perr := parseLine(line)
		if perr == nil {
			e.kind, e.rec, e.raw, e.body = entrySeal, rec, line, body
			e.linked = rec.Seq == lastSeq+1 && rec.Prev == lastMAC
			if !e.linked {
				e.err = linkError(&rec, lastSeq, &lastMAC)
			}
			if err := settle(&e); err != nil {
				return err
			}
			if err := visit(&e); err != nil {
				return err
			}
			lastSeq, lastMAC = rec.Seq, rec.MAC
			continue
		}
		// Not a seal: a fragment of seal lastSeq+1, or nothing we accept.
		if frag != nil {
			// Two non-seal lines in a row: the first one cannot be a
			// fragment that the chain continues across.
			if err := settle(&e); err != nil {
				return err
			}
		}
		if ferr := sealPrefix(line, lastSeq+1, &lastMAC); ferr != nil {
			e.kind = entryBad
			e.err = fmt.Errorf("%w: %w", ErrNotSeal, perr)
			if err := visit(&e); err != nil {
				return err
			}
			continue
		}
		fragBuf = e
		fragBuf.kind = entryFragment
		frag = &fragBuf
		if noLF {
			return settle(nil)
		}
	}
}

// linkError says why a seal does not continue the chain.
func linkError(r *Record, lastSeq uint64, lastMAC *[32]byte) error {
	var msg string
	switch want := lastSeq + 1; {
	case r.Seq > want && r.Seq-want == 1:
		msg = fmt.Sprintf("SEQ gap: seal %d missing", want)
	case r.Seq > want:
		msg = fmt.Sprintf("SEQ gap: seals %d to %d missing", want, r.Seq-1)
	case r.Seq < want:
		msg = fmt.Sprintf("SEQ out of order: want %d (line reordered or inserted)", want)
	}
	if r.Prev != *lastMAC {
		if msg != "" {
			msg += "; "
		}
		msg += "PREV is not the MAC of the seal before"
	}
	return errors.New(msg)
}

// sealPrefix reports whether b is a byte prefix of a well-formed seal line
// of SEQ seq that follows the seal whose MAC is prev: what a crash in the
// middle of writing that seal leaves (docs/format.md §4). An empty b is not
// (a crash that wrote nothing leaves no line).
func sealPrefix(b []byte, seq uint64, prev *[32]byte) error {
	if len(b) == 0 {
		return errors.New("empty line")
	}
	cols := bytes.Split(b, []byte{'\t'})
	if len(cols) > sealColumns {
		return fmt.Errorf("more than %d columns", sealColumns)
	}
	last := len(cols) - 1
	seqDec := strconv.AppendUint(nil, seq, 10)
	var prevHex [64]byte
	hex.Encode(prevHex[:], prev[:])
	var bytesN uint64
	for i, c := range cols {
		whole := i < last
		var ok bool
		switch i {
		case 0, 5, 6: // LEN, BYTES, LINES
			ok = decPrefix(c, whole, i == 0)
			if ok && whole {
				v, _ := parseDec(c)
				switch i {
				case 0:
					ok = v <= maxSealLine && uint64(len(b)-len(c)-1) < v
				case 5:
					bytesN = v
					ok = v <= 1<<62
				case 6:
					ok = v <= bytesN
				}
			}
		case 1: // TIME
			ok = timePrefix(c, whole)
		case 2: // SEQ: the next seal's
			ok = bytes.HasPrefix(seqDec, c) && (!whole || len(c) == len(seqDec))
		case 3: // KIND
			ok = kindPrefix(c, whole)
		case 4: // FILE
			ok = fileNamePrefix(c, whole)
		case 7, 9: // column 8, MAC
			ok = hexPrefix(c, whole)
		case 8: // PREV: the MAC of the seal before
			ok = bytes.HasPrefix(prevHex[:], c) && (!whole || len(c) == 64)
		}
		if !ok {
			return fmt.Errorf("column %d is not the start of a seal %d after seal %d", i+1, seq, seq-1)
		}
	}
	return nil
}

// decPrefix: c is (a prefix of, unless whole) a canonical decimal;
// positive: it may not be 0.
func decPrefix(c []byte, whole, positive bool) bool {
	if len(c) == 0 {
		return !whole
	}
	if len(c) > 19 || (c[0] == '0' && (len(c) > 1 || positive)) {
		return false
	}
	for _, d := range c {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

// timePrefix: c is (a prefix of, unless whole) a TIME column.
func timePrefix(c []byte, whole bool) bool {
	const pat = "9999-99-99T99:99:99.999999Z"
	if whole && len(c) != len(pat) {
		return false
	}
	return patternPrefix(c, pat) && (!whole || validTime(c))
}

// patternPrefix: c is a prefix of a string of the form pat, where a 9 in
// pat stands for any decimal digit and every other byte for itself.
func patternPrefix(c []byte, pat string) bool {
	if len(c) > len(pat) {
		return false
	}
	for i, d := range c {
		if pat[i] == '9' {
			if d < '0' || d > '9' {
				return false
			}
		} else if d != pat[i] {
			return false
		}
	}
	return true
}

// kindPrefix: c is (a prefix of, unless whole) a KIND.
func kindPrefix(c []byte, whole bool) bool {
	for _, k := range kinds {
		if whole && string(c) == string(k) || !whole && bytes.HasPrefix([]byte(k), c) {
			return true
		}
	}
	return false
}

// fileNamePrefix: c is (a prefix of, unless whole) an events or security
// file name.
func fileNamePrefix(c []byte, whole bool) bool {
	if whole {
		_, ok := fileStream(c)
		return ok
	}
	const pat = "99999999T999999.999Z.log"
	for _, p := range []string{eventsPrefix, securityPrefix} {
		if len(c) <= len(p) {
			if bytes.HasPrefix([]byte(p), c) {
				return true
			}
			continue
		}
		if !bytes.HasPrefix(c, []byte(p)) {
			continue
		}
		return patternPrefix(c[len(p):], pat)
	}
	return false
}

// hexPrefix: c is (a prefix of, unless whole) 64 lowercase hex digits.
func hexPrefix(c []byte, whole bool) bool {
	if len(c) > 64 || (whole && len(c) != 64) {
		return false
	}
	for _, d := range c {
		if !('0' <= d && d <= '9' || 'a' <= d && d <= 'f') {
			return false
		}
	}
	return true
}

// SealLine is one seal of seals.log as ReadSeals gives it.
type SealLine struct {
	Line   int    // 1-based line number in seals.log
	Record Record // the seal's columns
	Raw    []byte // the line without its LF; valid only during the call
}

// ReadSeals reads a seals.log from r through the same reader as the
// server's start-up and verify (docs/format.md §4) and calls fn for every
// seal, in order. A seal line cut by a crash that the format allows is
// skipped (it is no seal and no leaf of the seals tree); any other line
// that is not a seal, and a seal that does not continue the chain, is an
// error naming its line (wrapping ErrNotSeal or ErrChain). MACs are not
// checked: that needs the verify key.
func ReadSeals(r io.Reader, fn func(SealLine) error) error {
	return readSeals(r, func(e *sealEntry) error {
		switch {
		case e.kind == entryFragment:
			return nil
		case e.kind == entryBad:
			return fmt.Errorf("line %d: %w", e.line, e.err)
		case !e.linked:
			return fmt.Errorf("line %d: %w: seal %d: %w", e.line, ErrChain, e.rec.Seq, e.err)
		}
		return fn(SealLine{Line: e.line, Record: e.rec, Raw: e.raw})
	})
}
