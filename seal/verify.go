package seal

import (
	"bufio"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Head is a chain head recorded elsewhere (`verify --head SEQ:MAC`, SPEC §4).
type Head struct {
	Seq uint64
	MAC [32]byte
}

// Result is the outcome of Verify. Seq and MAC are the chain head it
// reached: the last seal line of seals.log.
type Result struct {
	OK       bool
	Problems int
	Seq      uint64
	MAC      [32]byte
}

// Limits that keep verify's work and memory bounded whatever is in DIR.
const (
	// keySnapEvery: keys K(1+i·keySnapEvery) are kept so that an
	// out-of-order seal line costs at most that many evolutions.
	keySnapEvery = 4096
	// maxSeqJump: a SEQ further ahead than this is not MAC-checked (the
	// gap is reported anyway); it stops a forged SEQ of 2^63 from making
	// us evolve the key for ever.
	maxSeqJump = 1 << 20
	// maxLineProblems: format problems printed per file; the rest are counted.
	maxLineProblems = 10
)

// Verify checks DIR against its chain, offline and read-only, with only
// the verify key K1 (SPEC §4). It writes one line per problem to out
// ("FILE: seal SEQ: what is wrong" or "seals.log: line N: what is
// wrong"), notes that do not fail ("FILE: unsealed tail: N bytes",
// "FILE: torn last line (recovered)"), and last "chain head SEQ:MAC".
// With head != nil it fails unless the chain holds that seal with that
// MAC. The error is only for a DIR that cannot be read at all; tampering
// is Result.OK == false.
//
// Every file is read once, sequentially, up to the end of its last seal;
// SHA-256 is snapshotted at every sealed offset while a second goroutine
// checks the lines (writer.CheckLine), so memory stays flat and the speed
// is bounded by SHA-256.
func Verify(dir string, verifyKey [32]byte, head *Head, out io.Writer) (Result, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Result{}, fmt.Errorf("verify: %w", err)
	}
	bw := bufio.NewWriter(out)
	v := &verifier{
		dir:   dir,
		out:   bw,
		k1:    verifyKey,
		key:   verifyKey,
		files: make(map[string]*fileState),
	}
	v.keySeq = 1
	v.snaps = append(v.snaps, verifyKey)
	defer v.wipeKeys()

	v.readChain(head)
	v.settleInterrupted(false, 0, 0) // a non-seal line that nothing followed
	for _, e := range entries {
		name := e.Name()
		if _, ok := fileStream([]byte(name)); !ok {
			continue // SPEC §3.1: anything else is not ours to judge
		}
		v.file(name).present = true
	}
	v.checkFiles()
	v.checkHead(head)

	res := Result{OK: v.problems == 0, Problems: v.problems, Seq: v.lastSeq, MAC: v.lastMAC}
	bw.WriteString("chain head " + FormatHead(v.lastSeq, v.lastMAC) + "\n")
	if err := bw.Flush(); err != nil {
		return res, fmt.Errorf("verify: writing the report: %w", err)
	}
	return res, nil
}

// fileSeal is what verify keeps of one seal line for its file.
type fileSeal struct {
	seq          uint64
	kind         Kind
	bytes, lines int64
	sum          [32]byte
}

type fileState struct {
	name    string
	present bool
	seals   []fileSeal // in seals.log order
}

type verifier struct {
	dir      string
	out      *bufio.Writer
	problems int

	k1     [32]byte
	key    [32]byte // K(keySeq): the forward cursor
	keySeq uint64
	snaps  [][32]byte // snaps[i] = K(1 + i·keySnapEvery)

	lastSeq uint64
	lastMAC [32]byte
	// interrupted holds a line of seals.log that is no seal line at all,
	// until the next line shows whether the chain goes on across it: a
	// seal whose write was cut off (disk full, then a stop) leaves such a
	// fragment, which the server ends with an LF at its next start.
	interrupted *interruptedLine
	headSeen    bool   // a seal with head's SEQ and MAC and a good MAC
	headBad     string // why the seal with head's SEQ does not match

	files map[string]*fileState
	buf   *scanBufs
}

type interruptedLine struct {
	n     int // line number
	bytes int
	err   error
}

// settleInterrupted decides about a held non-seal line: a note when the
// seal after it continues the chain (continued), a problem otherwise.
func (v *verifier) settleInterrupted(continued bool, nextLine int, nextSeq uint64) {
	il := v.interrupted
	if il == nil {
		return
	}
	v.interrupted = nil
	if continued {
		v.note("%s: line %d: interrupted seal line (%d bytes), the chain continues with seal %d on line %d", SealsName, il.n, il.bytes, nextSeq, nextLine)
		return
	}
	v.problem("%s: line %d: %v", SealsName, il.n, il.err)
}

func (v *verifier) wipeKeys() {
	wipe(&v.k1)
	wipe(&v.key)
	for i := range v.snaps {
		wipe(&v.snaps[i])
	}
}

func (v *verifier) problem(format string, args ...any) {
	v.problems++
	fmt.Fprintf(v.out, format+"\n", args...)
}

func (v *verifier) note(format string, args ...any) {
	fmt.Fprintf(v.out, format+"\n", args...)
}

func (v *verifier) file(name string) *fileState {
	f := v.files[name]
	if f == nil {
		f = &fileState{name: name}
		v.files[name] = f
	}
	return f
}

// keyFor returns K(seq), derived from K1 (SPEC §4), or false when seq is
// too far ahead to be worth deriving.
func (v *verifier) keyFor(seq uint64) ([32]byte, bool) {
	if seq < v.keySeq {
		i := (seq - 1) / keySnapEvery
		k := v.snaps[i]
		for s := 1 + i*keySnapEvery; s < seq; s++ {
			k = evolve(k)
		}
		return k, true
	}
	if seq-v.keySeq > maxSeqJump {
		return [32]byte{}, false
	}
	for v.keySeq < seq {
		next := evolve(v.key)
		wipe(&v.key)
		v.key = next
		v.keySeq++
		if (v.keySeq-1)%keySnapEvery == 0 {
			v.snaps = append(v.snaps, v.key)
		}
	}
	return v.key, true
}

// readChain streams seals.log: format, SEQ, PREV and MAC of every line.
func (v *verifier) readChain(head *Head) {
	path := filepath.Join(v.dir, SealsName)
	f, err := openNoFollow(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			v.problem("%s: missing", SealsName)
		} else {
			v.problem("%s: %v", SealsName, err)
		}
		return
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if len(line) == 0 && err == io.EOF {
			return
		}
		n++
		if errors.Is(err, bufio.ErrBufferFull) {
			v.problem("%s: line %d: longer than %d bytes", SealsName, n, br.Size())
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if err == io.EOF {
			v.settleInterrupted(false, 0, 0)
			v.problem("%s: line %d: torn last line (no LF), %d bytes", SealsName, n, len(line))
			return
		}
		if err != nil {
			v.problem("%s: line %d: %v", SealsName, n, err)
			return
		}
		v.chainLine(n, line[:len(line)-1], head)
	}
}

func (v *verifier) chainLine(n int, line []byte, head *Head) {
	r, body, err := parseLine(line)
	if err != nil {
		v.settleInterrupted(false, 0, 0) // two non-seal lines in a row
		v.interrupted = &interruptedLine{n: n, bytes: len(line), err: err}
		return
	}
	var why []string
	switch want := v.lastSeq + 1; {
	case r.Seq > want:
		why = append(why, fmt.Sprintf("SEQ gap: seals %d to %d missing", want, r.Seq-1))
	case r.Seq < want:
		why = append(why, fmt.Sprintf("SEQ out of order: want %d (line reordered or inserted)", want))
	}
	if r.Prev != v.lastMAC {
		why = append(why, "PREV is not the MAC of the line before")
	}
	macOK := false
	if k, ok := v.keyFor(r.Seq); !ok {
		why = append(why, "SEQ too far ahead to check the MAC")
	} else {
		mac := computeMAC(&k, body)
		wipe(&k)
		if macOK = hmac.Equal(mac[:], r.MAC[:]); !macOK {
			why = append(why, "MAC mismatch (line altered or forged)")
		}
	}
	v.settleInterrupted(len(why) == 0, n, r.Seq)
	if len(why) > 0 {
		v.problem("%s: line %d: seal %d: %s", SealsName, n, r.Seq, strings.Join(why, "; "))
	}
	if head != nil && r.Seq == head.Seq {
		switch {
		case r.MAC != head.MAC:
			v.headBad = "its MAC differs from the recorded head"
		case !macOK:
			v.headBad = "its line does not verify"
		default:
			v.headSeen = true
		}
	}
	v.lastSeq, v.lastMAC = r.Seq, r.MAC
	f := v.file(r.File)
	f.seals = append(f.seals, fileSeal{seq: r.Seq, kind: r.Kind, bytes: r.Bytes, lines: r.Lines, sum: r.SHA256})
}

func (v *verifier) checkHead(head *Head) {
	switch {
	case head == nil || v.headSeen:
	case head.Seq == 0 && head.MAC == [32]byte{}:
		// The head of an empty chain is reached by every chain.
	case v.headBad != "":
		v.problem("%s: seal %d: %s %s", SealsName, head.Seq, v.headBad, FormatHead(head.Seq, head.MAC))
	case v.lastSeq < head.Seq:
		v.problem("%s: seal %d: chain ends at seal %d, before the recorded head %s (newest seals removed?)",
			SealsName, head.Seq, v.lastSeq, FormatHead(head.Seq, head.MAC))
	default:
		v.problem("%s: seal %d: recorded head %s is not in the chain", SealsName, head.Seq, FormatHead(head.Seq, head.MAC))
	}
}

// checkFiles checks every file that is sealed or present, in name order.
func (v *verifier) checkFiles() {
	names := make([]string, 0, len(v.files))
	newest := map[int]string{} // columns (stream) → newest name, present or sealed
	for name := range v.files {
		names = append(names, name)
		cols, _ := fileStream([]byte(name))
		// SPEC §3.1 names sort by the time they were opened.
		if name > newest[cols] {
			newest[cols] = name
		}
	}
	slices.Sort(names)
	for _, name := range names {
		f := v.files[name]
		cols, _ := fileStream([]byte(name))
		v.checkFile(f, cols, newest[cols] == name)
	}
}

// checkFile checks one file against its seals (SPEC §4). active means it
// is the newest file of its stream, so it may be the file being written.
func (v *verifier) checkFile(f *fileState, columns int, active bool) {
	path := filepath.Join(v.dir, f.name)
	if len(f.seals) == 0 {
		// A file no seal names: fine only as a freshly opened active file
		// whose first checkpoint is still to come.
		fi, err := os.Lstat(path)
		switch {
		case err != nil:
			v.problem("%s: %v", f.name, err)
		case !fi.Mode().IsRegular():
			v.problem("%s: not a regular file", f.name)
		case active:
			v.note("%s: unsealed tail: %d bytes", f.name, fi.Size())
		default:
			v.problem("%s: not in the seal chain", f.name)
		}
		return
	}
	if v.checkPruned(f) {
		return
	}
	last := f.seals[len(f.seals)-1]
	if !f.present {
		v.problem("%s: seal %d: file is missing (deleted or renamed)", f.name, last.seq)
		return
	}
	v.checkSealOrder(f)

	fd, err := openNoFollow(path)
	if err != nil {
		v.problem("%s: seal %d: %v", f.name, last.seq, err)
		return
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		v.problem("%s: seal %d: not a regular file", f.name, last.seq)
		return
	}
	size := fi.Size()

	// Offsets to snapshot the digest at, ascending and unique.
	var limit int64
	targets := make([]target, 0, len(f.seals))
	for _, s := range f.seals {
		targets = append(targets, target{off: s.bytes})
		limit = max(limit, s.bytes)
	}
	slices.SortFunc(targets, func(a, b target) int { return cmpInt64(a.off, b.off) })
	targets = slices.CompactFunc(targets, func(a, b target) bool { return a.off == b.off })

	if v.buf == nil {
		v.buf = newScanBuffers()
	}
	sc := scan(fd, limit, targets, columns, v.buf)
	if sc.err != nil {
		v.problem("%s: seal %d: read error: %v", f.name, last.seq, sc.err)
		return
	}

	truncated := false
	for _, s := range f.seals {
		i, _ := slices.BinarySearchFunc(targets, s.bytes, func(t target, off int64) int { return cmpInt64(t.off, off) })
		t := targets[i]
		if !t.reached {
			if !truncated {
				v.problem("%s: seal %d: file is truncated: %d bytes, the seal covers %d", f.name, s.seq, sc.n, s.bytes)
				truncated = true
			}
			continue
		}
		if t.sum != s.sum {
			v.problem("%s: seal %d: SHA-256 of the first %d bytes differs (content changed)", f.name, s.seq, s.bytes)
		}
		if t.lines != s.lines {
			v.problem("%s: seal %d: LINES says %d, the sealed range has %d", f.name, s.seq, s.lines, t.lines)
		}
	}
	for _, p := range sc.lineProblems {
		v.problem("%s: seal %d: line %d: %v", f.name, firstSealCovering(f.seals, p.end), p.line, p.err)
	}
	if more := sc.lineProblemCount - len(sc.lineProblems); more > 0 {
		v.problem("%s: %d more lines break the format", f.name, more)
	}
	if truncated {
		return
	}

	tail := size - last.bytes
	lt := targets[slices.IndexFunc(targets, func(t target) bool { return t.off == last.bytes })]
	switch {
	case last.kind.final() && tail > 0:
		v.problem("%s: seal %d: %d bytes appended after the %s seal", f.name, last.seq, tail, last.kind)
	case last.kind == KindFinal && last.bytes > 0 && !lt.endsLF:
		v.problem("%s: seal %d: final seal ends inside a line", f.name, last.seq)
	case last.kind == KindRecovered && last.bytes > 0 && !lt.endsLF:
		v.note("%s: torn last line (recovered)", f.name)
	case last.kind == KindCheckpoint && !active:
		v.problem("%s: seal %d: no final seal, yet a newer file of its stream exists (%d bytes unsealed)", f.name, last.seq, tail)
	case last.kind == KindCheckpoint && tail > 0:
		v.note("%s: unsealed tail: %d bytes", f.name, tail)
	}
}

// checkSealOrder reports seals of one file that cannot follow each other
// (SPEC §4): anything after a final or recovered seal, a shrinking range.
func (v *verifier) checkSealOrder(f *fileState) {
	var prev *fileSeal
	var final *fileSeal
	for i := range f.seals {
		s := &f.seals[i]
		switch {
		case final != nil && s.kind.final():
			v.problem("%s: seal %d: second %s seal (seal %d was %s)", f.name, s.seq, s.kind, final.seq, final.kind)
		case final != nil:
			v.problem("%s: seal %d: %s after %s seal %d", f.name, s.seq, s.kind, final.kind, final.seq)
		}
		if prev != nil && (s.bytes < prev.bytes || s.lines < prev.lines) {
			v.problem("%s: seal %d: range shrinks from %d bytes (%d lines) at seal %d to %d bytes (%d lines)",
				f.name, s.seq, prev.bytes, prev.lines, prev.seq, s.bytes, s.lines)
		}
		if s.kind.final() && final == nil {
			final = s
		}
		prev = s
	}
}

// firstSealCovering returns the SEQ of the first seal whose range holds
// the byte before end.
func firstSealCovering(seals []fileSeal, end int64) uint64 {
	for _, s := range seals {
		if s.bytes >= end {
			return s.seq
		}
	}
	return seals[len(seals)-1].seq
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// openNoFollow opens path read-only without following a symlink: verify
// judges the directory it was given, not what a link points to.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
}
