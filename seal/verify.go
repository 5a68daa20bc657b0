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

	"github.com/sealog/sealog/tlog"
)

// Head is a chain head recorded elsewhere (`verify --head SEQ:MAC`,
// docs/format.md §4).
type Head struct {
	Seq uint64
	MAC [32]byte
}

// VerifyOptions say what Verify checks the directory against.
type VerifyOptions struct {
	// Key is K1, the verify key. nil: the MACs are not checked (the
	// summary says so) and no chain head is printed as reached.
	Key *VerifyKey
	// Head, when set, makes verify fail unless the chain holds that seal
	// with that MAC.
	Head *Head
	// Checkpoints, when set, is called once seals.log is read, with the
	// seals tree (docs/format.md §7.2: each seal line without its LF a
	// leaf, in file order). It returns the checks it made, for the
	// summary, and the problems it found, each printed on a line and
	// failing verify. verify --log-pub checks signed checkpoints with it.
	Checkpoints func(seals *tlog.Tree) (checks, problems []string)
	// Progress, when set, receives a progress line now and then
	// (files and bytes done, rate, time left), each ending in CR; meant for
	// a terminal. nil: nothing.
	Progress io.Writer
}

// Result is the outcome of Verify.
type Result struct {
	OK       bool
	Problems int
	// Seq and MAC are the chain head reached: the last seal line, when its
	// MAC verified. HeadOK is false when there is none (an empty chain,
	// no key, or a last seal that does not verify).
	Seq    uint64
	MAC    [32]byte
	HeadOK bool
	// What was read: event and security files, their complete lines and
	// bytes, and the seal lines of seals.log.
	Files, Seals int
	Lines, Bytes int64
}

// Limits that keep verify's work and memory bounded whatever is in DIR.
const (
	// maxLineProblems: format problems printed per file; the rest are counted.
	maxLineProblems = 10
	// maxChainProblems: problems printed for seals.log; the rest are counted.
	maxChainProblems = 1000
	// keyBudgetStart, keyBudgetPerLine: key evolutions allowed to reach a
	// seal whose SEQ skips ahead (seals deleted). The budget grows by a
	// few evolutions per line read, so the work stays linear in the
	// bytes of seals.log whatever the SEQ numbers say: a forged jump of
	// 2^40 is reported at once and its MAC is not checked.
	keyBudgetStart   = 64
	keyBudgetPerLine = 2
)

// Verify checks DIR against its chain, offline and read-only
// (docs/format.md §4). It writes one line per problem to out ("FILE: seal
// SEQ: what is wrong" or "seals.log: line N: what is wrong"), notes that do
// not fail ("FILE: unsealed tail: N bytes", "FILE: torn last line
// (recovered)"), on success a short summary, and last "chain head SEQ:MAC"
// when the last seal verified. The error is only for a DIR that cannot be
// read at all; tampering is Result.OK == false.
//
// Nothing in DIR can make it block or run long: every file is checked to
// be a regular file before it is opened, and opened non-blocking; every
// file is read once, sequentially, up to the end of its last seal; the
// chain costs a bounded number of key evolutions per seal line.
func Verify(dir string, opt VerifyOptions, out io.Writer) (Result, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Result{}, fmt.Errorf("verify: %w", err)
	}
	bw := bufio.NewWriter(out)
	v := &verifier{
		dir:   dir,
		out:   bw,
		head:  opt.Head,
		files: make(map[string]*fileState),
	}
	if opt.Key != nil {
		v.keys = newKeyCursor(opt.Key)
		defer v.keys.wipe()
	}
	if opt.Checkpoints != nil {
		v.tree = tlog.NewTree()
	}
	v.readChain()
	for _, e := range entries {
		name := e.Name()
		if _, ok := fileStream([]byte(name)); !ok {
			continue // docs/format.md §3.1: anything else is not ours to judge
		}
		v.file(name).present = true
	}
	v.prog = newProgress(opt.Progress)
	v.checkFiles()
	v.prog.done()
	v.checkHead()
	if opt.Checkpoints != nil {
		checks, problems := opt.Checkpoints(v.tree)
		for _, p := range problems {
			v.problem("%s", p)
		}
		v.extraChecks = checks
	}

	res := Result{
		OK: v.problems == 0, Problems: v.problems,
		Files: v.nFiles, Seals: v.nSeals, Lines: v.nLines, Bytes: v.nBytes,
	}
	if v.lastSeq == 0 && v.keys != nil {
		res.HeadOK = true // the empty chain's head, reached by every chain
	}
	if v.lastOK {
		res.Seq, res.MAC, res.HeadOK = v.lastSeq, v.lastMAC, true
	}
	switch {
	case res.OK:
		v.summary(&res)
	case v.lastSeq > 0 && !res.HeadOK && v.keys != nil && v.macGood > 0:
		bw.WriteString("chain head not reached: the last seal (" + fmt.Sprint(v.lastSeq) + ") does not verify\n")
	}
	if res.HeadOK {
		bw.WriteString("chain head " + FormatHead(res.Seq, res.MAC) + "\n")
	}
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
	sum          [32]byte // column 8
}

type fileState struct {
	name    string
	present bool
	seals   []fileSeal // in seals.log order
	// After the scan: the range ends with a graceful stop (a security
	// file whose last sealed lines are `stop` and then `seal` events only).
	endsWithStop bool
	openTail     int64 // bytes past the last checkpoint of an active file
	open         bool  // last seal is a checkpoint, or no seal at all
}

type verifier struct {
	tree        *tlog.Tree // the seals tree, when checkpoints are checked
	extraChecks []string   // what the Checkpoints hook checked
	dir         string
	out         *bufio.Writer
	problems    int
	head        *Head
	keys        *keyCursor // nil: no verify key
	prog        *progress

	lastSeq uint64
	lastMAC [32]byte
	lastOK  bool // the last seal line verified (linked and MAC good)

	// seals.log problems wait in chainOut until one MAC has verified, so
	// that a wrong key is reported as one line, not one forgery per seal.
	macGood, macBad int
	chainOut        []chainProblem
	chainPrinted    int
	chainMore       int

	headSeen bool   // a seal with head's SEQ and MAC and a good MAC
	headBad  string // why the seal with head's SEQ does not match

	files map[string]*fileState
	buf   *scanBufs

	nFiles, nSeals int
	nLines, nBytes int64
}

// chainProblem is one problem found in seals.log: where ("seals.log:
// line N: seal S"), why (without the MAC), and whether its MAC failed.
type chainProblem struct {
	where, why string
	macBad     bool
}

func (v *verifier) problem(format string, args ...any) {
	v.problems++
	fmt.Fprintf(v.out, format+"\n", args...)
}

func (v *verifier) note(format string, args ...any) {
	fmt.Fprintf(v.out, format+"\n", args...)
}

// chainProblem records a problem of seals.log; see chainOut.
func (v *verifier) chainProblem(p chainProblem) {
	if v.macGood == 0 && v.keys != nil {
		if len(v.chainOut) < maxChainProblems {
			v.chainOut = append(v.chainOut, p)
		} else {
			v.chainMore++
			v.problems++
		}
		return
	}
	v.printChain(p)
}

func (v *verifier) printChain(p chainProblem) {
	v.problems++
	if v.chainPrinted >= maxChainProblems {
		v.chainMore++
		return
	}
	v.chainPrinted++
	why := p.why
	if p.macBad {
		if why != "" {
			why += "; "
		}
		why += "MAC mismatch (line altered or forged)"
	}
	v.out.WriteString(p.where + ": " + why + "\n")
}

// flushChain prints the held seals.log problems. wrongKey: no MAC ever
// verified, so the MAC failures say nothing about the lines.
func (v *verifier) flushChain(wrongKey bool) {
	held := v.chainOut
	v.chainOut = nil
	if wrongKey {
		v.problem("%s: the verify key does not match this chain (wrong key?)", SealsName)
	}
	for _, p := range held {
		if wrongKey {
			if p.why == "" {
				continue
			}
			p.macBad = false
		}
		v.printChain(p)
	}
}

func (v *verifier) file(name string) *fileState {
	f := v.files[name]
	if f == nil {
		f = &fileState{name: name}
		v.files[name] = f
	}
	return f
}

// readChain reads seals.log through readSeals, the reader the server's
// start-up uses too, and checks every seal's MAC.
func (v *verifier) readChain() {
	path := filepath.Join(v.dir, SealsName)
	f, err := openRegular(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			v.problem("%s: missing", SealsName)
		} else {
			v.problem("%s: %v", SealsName, err)
		}
		return
	}
	defer f.Close()
	err = readSeals(f, v.chainEntry)
	if err != nil {
		v.problem("%s: read error: %v", SealsName, err)
	}
	if v.keys != nil && len(v.chainOut) > 0 {
		v.flushChain(v.macGood == 0 && v.macBad > 0)
	}
	if v.chainMore > 0 { // already counted
		fmt.Fprintf(v.out, "%s: %d more problems\n", SealsName, v.chainMore)
	}
}

func (v *verifier) chainEntry(e *sealEntry) error {
	if v.keys != nil {
		v.keys.budget += keyBudgetPerLine
	}
	switch e.kind {
	case entryBad:
		v.chainProblem(chainProblem{where: fmt.Sprintf("%s: line %d", SealsName, e.line), why: e.err.Error()})
		v.lastOK = false
		return nil
	case entryFragment:
		if e.atEnd {
			// docs/format.md §4: a fragment counts only between two seals.
			// A crash leaves one at the end until the next start seals the
			// files it left open; until then, or if the newest seal line
			// was cut, the chain is not whole.
			torn := ""
			if e.noLF {
				torn = "torn last line: "
			}
			v.chainProblem(chainProblem{where: fmt.Sprintf("%s: line %d", SealsName, e.line),
				why: fmt.Sprintf("%sinterrupted seal line (%d bytes) and no seal continues the chain after it", torn, e.bytes)})
			v.lastOK = false
		} else {
			v.note("%s: line %d: interrupted seal line (%d bytes), the chain continues with seal %d on line %d", SealsName, e.line, e.bytes, v.lastSeq+1, e.line+1)
		}
		return nil
	}
	r := &e.rec
	v.nSeals++
	if v.tree != nil {
		v.tree.Append(tlog.LeafHash(e.raw))
	}
	var why []string
	if !e.linked {
		why = append(why, e.err.Error())
	}
	macOK, macBad := v.checkMAC(r, e.body)
	if v.keys != nil && !macOK && !macBad {
		why = append(why, "SEQ out of reach of the key (MAC not checked)")
	}
	if e.noLF {
		v.note("%s: line %d: seal %d lacks its LF (a crash while sealing)", SealsName, e.line, r.Seq)
	}
	if len(why) > 0 || macBad {
		v.chainProblem(chainProblem{where: fmt.Sprintf("%s: line %d: seal %d", SealsName, e.line, r.Seq), why: strings.Join(why, "; "), macBad: macBad})
	}
	if v.head != nil && r.Seq == v.head.Seq {
		switch {
		case r.MAC != v.head.MAC:
			v.headBad = "its MAC differs from the recorded head"
		case !macOK && v.keys != nil:
			v.headBad = "its line does not verify"
		default:
			v.headSeen = true
		}
	}
	v.lastSeq, v.lastMAC = r.Seq, r.MAC
	v.lastOK = e.linked && macOK
	f := v.file(r.File)
	f.seals = append(f.seals, fileSeal{seq: r.Seq, kind: r.Kind, bytes: r.Bytes, lines: r.Lines, sum: r.Root})
	return nil
}

// checkMAC checks r's MAC with the key cursor: ok when it verified, bad
// when it was checked and failed, neither when it could not be checked.
func (v *verifier) checkMAC(r *Record, body []byte) (ok, bad bool) {
	if v.keys == nil {
		return false, false
	}
	mac, checked := v.keys.mac(r.Seq, body)
	if !checked {
		return false, false
	}
	if !hmac.Equal(mac[:], r.MAC[:]) {
		v.macBad++
		return false, true
	}
	v.keys.advance()
	if v.macGood == 0 {
		v.macGood++
		v.flushChain(false)
	} else {
		v.macGood++
	}
	return true, false
}

func (v *verifier) checkHead() {
	head := v.head
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

// checkFiles checks every file that is sealed or present, in name order,
// then judges the files the chain does not close.
func (v *verifier) checkFiles() {
	names := make([]string, 0, len(v.files))
	for name := range v.files {
		names = append(names, name)
	}
	slices.Sort(names) // docs/format.md §3.1 names sort by the time they were opened
	var total int64
	for _, name := range names {
		f := v.files[name]
		if n := len(f.seals); n > 0 && f.present {
			total += maxBytes(f.seals)
		}
	}
	v.prog.start(len(names), total)
	for _, name := range names {
		f := v.files[name]
		cols, _ := fileStream([]byte(name))
		v.checkFile(f, cols)
		v.prog.fileDone()
	}
	v.judgeOpen(names)
}

// judgeOpen decides about files without a final seal. Such a file may be
// the one being written, but not when a later file of its stream is
// sealed, and not when the chain ends with a graceful stop (docs/format.md
// §4): the newest sealed security file ends with the stop, and no newer
// security file (a restart) exists.
func (v *verifier) judgeOpen(names []string) {
	stopped := ""
	for i := len(names) - 1; i >= 0; i-- {
		f := v.files[names[i]]
		if strings.HasPrefix(f.name, securityPrefix) && len(f.seals) > 0 {
			if f.endsWithStop {
				stopped = f.name
			}
			break
		}
	}
	if stopped != "" {
		for _, name := range names {
			if name > stopped && strings.HasPrefix(name, securityPrefix) && v.files[name].present {
				stopped = "" // restarted since
				break
			}
		}
	}
	for i, name := range names {
		f := v.files[name]
		if !f.open {
			continue
		}
		laterSealed := ""
		newest := true
		prefix := name[:strings.IndexByte(name, '-')+1]
		for _, later := range names[i+1:] {
			if !strings.HasPrefix(later, prefix) {
				continue
			}
			newest = false
			if len(v.files[later].seals) > 0 {
				laterSealed = later
				break
			}
		}
		switch {
		case len(f.seals) > 0 && laterSealed != "" || len(f.seals) > 0 && !newest:
			v.problem("%s: seal %d: no final seal, yet a newer file of its stream exists (%d bytes unsealed)", name, f.seals[len(f.seals)-1].seq, f.openTail)
		case len(f.seals) > 0 && stopped != "":
			v.problem("%s: seal %d: no final seal, yet the chain ends with a graceful stop (%s)", name, f.seals[len(f.seals)-1].seq, stopped)
		case laterSealed != "":
			v.problem("%s: not in the seal chain, yet a newer file of its stream is sealed (%s)", name, laterSealed)
		case !newest:
			v.problem("%s: not in the seal chain, yet a newer file of its stream exists", name)
		case len(f.seals) == 0 && stopped != "":
			v.problem("%s: not in the seal chain, which ends with a graceful stop (%s): added afterwards?", name, stopped)
		case f.openTail > 0:
			v.note("%s: unsealed tail: %d bytes", name, f.openTail)
		}
	}
}

// checkFile checks one file against its seals (docs/format.md §4).
func (v *verifier) checkFile(f *fileState, columns int) {
	path := filepath.Join(v.dir, f.name)
	if len(f.seals) == 0 {
		// A file no seal names: fine only as the newest file of its
		// stream, opened since the last seal (judgeOpen decides).
		fi, err := os.Lstat(path)
		switch {
		case err != nil:
			v.problem("%s: %v", f.name, err)
		case !fi.Mode().IsRegular():
			v.problem("%s: not a regular file (%s)", f.name, fileType(fi.Mode()))
		default:
			f.open, f.openTail = true, fi.Size()
			v.nFiles++
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

	fd, err := openRegular(path)
	if err != nil {
		v.problem("%s: seal %d: %v", f.name, last.seq, err)
		return
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		v.problem("%s: seal %d: %v", f.name, last.seq, err)
		return
	}
	size := fi.Size()
	v.nFiles++

	// Offsets to snapshot the digest at, ascending and unique.
	limit := maxBytes(f.seals)
	targets := make([]target, 0, len(f.seals))
	for _, s := range f.seals {
		targets = append(targets, target{off: s.bytes})
	}
	slices.SortFunc(targets, func(a, b target) int { return cmpInt64(a.off, b.off) })
	targets = slices.CompactFunc(targets, func(a, b target) bool { return a.off == b.off })

	if v.buf == nil {
		v.buf = newScanBuffers()
	}
	sc := scan(fd, limit, targets, columns, v.buf, v.prog.add)
	if sc.err != nil {
		v.problem("%s: seal %d: read error: %v", f.name, last.seq, sc.err)
		return
	}
	v.nBytes += sc.n
	v.nLines += sc.lines

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
		if !contentMatches(&t, &s) {
			v.problem("%s: seal %d: %s of the first %d bytes differs (content changed)", f.name, s.seq, contentColumn, s.bytes)
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
	case last.kind == KindCheckpoint:
		f.open, f.openTail = true, tail
	}
	f.endsWithStop = last.kind == KindFinal && sc.endsWithStop
}

// checkSealOrder reports seals of one file that cannot follow each other
// (docs/format.md §4): anything after a final or recovered seal, a
// shrinking range.
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

// summary prints what a successful run read and checked, on one screen.
func (v *verifier) summary(res *Result) {
	fmt.Fprintf(v.out, "verified %s\n", v.dir)
	fmt.Fprintf(v.out, "  files:  %d\n", res.Files)
	fmt.Fprintf(v.out, "  lines:  %d (%d bytes)\n", res.Lines, res.Bytes)
	if res.Seals > 0 {
		fmt.Fprintf(v.out, "  seals:  %d (SEQ 1 to %d)\n", res.Seals, v.lastSeq)
	} else {
		fmt.Fprintf(v.out, "  seals:  none\n")
	}
	checks := []string{"seal chain links (SEQ, PREV)", "sealed content (" + contentColumn + ", LINES)", "line format"}
	if v.keys != nil {
		checks = append([]string{"MACs with the verify key"}, checks...)
	} else {
		checks = append(checks, "NOT the MACs (no verify key)")
	}
	if v.head != nil {
		checks = append(checks, "recorded head "+FormatHead(v.head.Seq, v.head.MAC))
	}
	checks = append(checks, v.extraChecks...)
	fmt.Fprintf(v.out, "  checks: %s\n", strings.Join(checks, ", "))
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

func maxBytes(seals []fileSeal) (m int64) {
	for _, s := range seals {
		m = max(m, s.bytes)
	}
	return m
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

// ErrNotRegular is wrapped when verify refuses a file that is not a
// regular file (a FIFO, a device, a symlink, a directory).
var ErrNotRegular = errors.New("not a regular file")

// openRegular opens path read-only for verify without ever blocking or
// following a link: it refuses anything but a regular file before opening
// it (lstat), opens with O_NONBLOCK|O_NOFOLLOW (so a FIFO or device swapped
// in meanwhile cannot block the open), and checks again on the open file
// (fstat) that it is the regular file it looked at.
func openRegular(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s): refused without opening it", ErrNotRegular, fileType(fi.Mode()))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	fi2, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi2.Mode().IsRegular() || !os.SameFile(fi, fi2) {
		f.Close()
		return nil, fmt.Errorf("%w (%s): replaced while being opened", ErrNotRegular, fileType(fi2.Mode()))
	}
	return f, nil
}

// fileType names a non-regular file's type for a problem line.
func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "a symlink"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "not regular"
}

// keyCursor derives the chain keys from K1 going forward only
// (docs/format.md §4): it holds K(seq) and forgets every key behind it.
// A seal whose SEQ lies behind the cursor, or further ahead than the
// evolution budget reaches, is not MAC-checked; verify reports it and goes
// on, so the work stays linear in the bytes of seals.log. The keys live in
// the VerifyKey's secret memory: K1 in key2, the cursor's key in st.key.
type keyCursor struct {
	s      *secrets
	budget int64 // evolutions still allowed to skip over a SEQ gap
}

func newKeyCursor(k1 *VerifyKey) *keyCursor {
	s := k1.secrets()
	s.st = keyState{seq: 1, key: s.key2}
	scrubStack() // grow the stack before any key is on it
	return &keyCursor{s: s, budget: keyBudgetStart}
}

// mac returns HMAC-SHA256(K(seq), body), moving the cursor to seq, or
// false when K(seq) is behind the cursor or out of the budget's reach.
func (c *keyCursor) mac(seq uint64, body []byte) (mac [32]byte, ok bool) {
	st := &c.s.st
	if seq < st.seq || seq-st.seq > uint64(c.budget) {
		return mac, false
	}
	for st.seq < seq {
		c.evolve()
		c.budget--
	}
	c.s.sealMAC(&st.key, body, &mac)
	scrubStack()
	return mac, true
}

// advance moves the cursor past a seal whose MAC verified.
func (c *keyCursor) advance() { c.evolve() }

func (c *keyCursor) evolve() {
	c.s.evolveKey(&c.s.st.key)
	c.s.st.seq++
	scrubStack()
}

// wipe forgets the cursor's key; K1 stays with the VerifyKey.
func (c *keyCursor) wipe() { c.s.st = keyState{} }
