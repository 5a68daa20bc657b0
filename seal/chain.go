package seal

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sealog/sealog/tlog"
)

// SealsName is the chain file in a log directory (docs/format.md §3.1).
const SealsName = "seals.log"

// Errors of the chain.
var (
	// ErrChain: seals.log cannot be continued as it is (torn last line,
	// malformed line, broken link, or a head that does not fit the key
	// state). The server must not seal on; verify tells what is wrong.
	ErrChain = errors.New("seal chain cannot be continued")
	// ErrSealIncomplete: the kernel took only part of a seal line, or its
	// fsync failed (disk full, I/O error). That seal's key is spent: the
	// next Seal (or Close) first finishes the same line — the rest of its
	// bytes, then fsync — and only then seals anything new. Retrying the
	// same seal returns the finished record instead of a second seal.
	ErrSealIncomplete = errors.New("seal line not yet complete on disk")
	// ErrKeyPersist wraps a failure to persist the evolved key state after
	// a seal. The seal itself is durable and the Record returned with this
	// error is valid; the state is written again before the next seal.
	ErrKeyPersist = errors.New("evolved key state not persisted")
	// ErrKeyUnsaved: Seal refused to seal because the evolved key state
	// of an earlier seal is still not on disk and saving it failed again
	// (docs/format.md §10.2: fail closed). Nothing was written; the caller
	// treats it as a write error (back-pressure) and retries.
	ErrKeyUnsaved = errors.New("key state not saved, no seal until it is")
	// ErrLocked: another process holds seals.log.
	ErrLocked = errors.New("seals.log is in use by another process")
	// ErrSealArgs: Seal was called with a bad kind, file name or count.
	ErrSealArgs = errors.New("bad seal arguments")
)

// maxSealLine bounds a seal line when reading seals.log: a canonical line
// is under 300 bytes.
const maxSealLine = 4096

// ChainOptions are the injected parts of a Chain.
type ChainOptions struct {
	// AppendOnly sets FS_APPEND_FL on seals.log when it is created or
	// opened (docs/format.md §3.1: append-only for life); nil = --no-chattr.
	AppendOnly func(*os.File) error
	// Now is the clock for TIME; nil = time.Now.
	Now func() time.Time
	// Head receives "seal head SEQ:MAC\n" after every seal (docs/format.md §4: stderr
	// in production, so that the journal keeps a copy); nil = none.
	Head io.Writer
	// Sealed is called after every seal line is durable, with the size
	// and root of the seals tree it ends (docs/format.md §7.2: the server
	// publishes a signed checkpoint); nil = none. Calls are ordered and
	// made with the Chain's lock held: Sealed must not call the Chain.
	Sealed func(size uint64, root tlog.Hash)
	// OnSeal is called with every seal once its line is durable (the
	// server counts seals for its metrics); it runs under the chain's
	// lock and must not call back into the chain. nil = none.
	OnSeal func(Record)
}

// Chain appends seals to DIR/seals.log with the server's evolving key.
// It is safe for concurrent use.
type Chain struct {
	path    string // DIR/seals.log
	keyPath string
	now     func() time.Time
	head    io.Writer
	sealed  func(uint64, tlog.Hash)
	onSeal  func(Record)
	// tree is the seals tree (docs/format.md §7.2): one leaf per seal
	// line, built in the same pass as the load and grown by every seal.
	tree *tlog.Tree

	warnings []string // found at open, for the start event

	mu sync.Mutex // guards everything below
	f  *os.File   // seals.log, O_APPEND, flock'ed
	// mem holds the key for the next seal (s.st.seq) and the MAC of the
	// last, in locked memory outside the Go heap (secret.go); s is mem.s.
	mem            *secretMem
	s              *secrets
	closedSeq      uint64 // Head after Close
	closedMAC      [32]byte
	last           map[string]Record
	torn           TornLine     // interrupted seal line ended by OpenChain
	pending        *pendingSeal // a seal line not yet complete on disk
	persistPending bool         // st is newer than the file at keyPath
	buf            []byte
}

// pendingSeal is a seal whose line the kernel took only in part, or whose
// fsync failed. Its key stays in use until the line is whole and durable.
type pendingSeal struct {
	rec  Record
	leaf tlog.Hash // the line's leaf in the seals tree
	tail []byte    // bytes of the line not yet written
}

// OpenChain opens (creating, 0640) DIR/seals.log for appending and loads
// the key state at keyPath (docs/format.md §4).
//
// It reads seals.log once, streaming, to learn the head and the last seal
// of every file, and checks what it can without K1: SEQ 1, 2, 3 … and each
// PREV equal to the MAC before it. Against the key state:
//   - last SEQ == state seq-1 and its MAC == state prev: the normal case.
//   - last SEQ >= state seq: a crash after the seal line was fsynced but
//     before the evolved key was persisted (or an older seal.key restored).
//     The state's key can still check those lines' MACs; OpenChain does,
//     then evolves the key past the last SEQ and persists it, so that no
//     key is ever used twice and SEQ has no gap.
//   - anything else (seals lost from seals.log, a foreign key) is an error
//     wrapping ErrKeyState: continuing would hide the damage.
//
// A torn last line (no LF) is left by a seal whose write was interrupted
// (disk full or an I/O error, then a stop or a crash before the rest could
// be written). seals.log is append-only, so the fragment stays; OpenChain
// ends it with an LF and goes on, and Torn reports it so the server can
// log a recover event. If the fragment is in fact a whole seal line that
// lacks only its LF and verifies with the held key, it is that seal and
// the key moves past it. Otherwise its seal never happened: its key was
// never spent on a complete line, the next seal takes its SEQ, and verify
// notes the interrupted line when that seal continues the chain after it.
// Refusing to start instead would stop all logging until an operator
// intervened, losing events to protect nothing.
func OpenChain(dir, keyPath string, opt ChainOptions) (*Chain, error) {
	c := &Chain{
		path:    filepath.Join(dir, SealsName),
		keyPath: keyPath,
		now:     opt.Now,
		head:    opt.Head,
		sealed:  opt.Sealed,
		tree:    tlog.NewTree(),
		onSeal:  opt.OnSeal,
		last:    make(map[string]Record),
	}
	if c.now == nil {
		c.now = time.Now
	}
	warnings, err := cleanKeyDir(keyPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyState, err)
	}
	c.warnings = append(warnings, keyFSWarnings(keyPath)...)
	mem, err := newSecrets()
	if err != nil {
		return nil, err
	}
	if err := mem.lockErr(); err != nil {
		c.warnings = append(c.warnings, fmt.Sprintf("%v: the key may be written to swap; raise RLIMIT_MEMLOCK (LimitMEMLOCK=) or run without swap", err))
	}
	c.mem, c.s = mem, mem.s
	scrubStack() // grow the stack before any key is on it
	if err := loadState(keyPath, c.s); err != nil {
		mem.free()
		return nil, err
	}
	if err := c.openFile(opt.AppendOnly); err != nil {
		mem.free()
		return nil, err
	}
	if err := c.load(); err != nil {
		c.f.Close()
		mem.free()
		return nil, err
	}
	scrubStack()
	if c.torn.Bytes > 0 {
		if err := c.endTornLine(); err != nil {
			c.f.Close()
			mem.free()
			return nil, err
		}
	}
	return c, nil
}

// Warnings returns what OpenChain found that an operator must know
// (docs/format.md §10.2): key state copies left in the key directory, a
// verify key next to the seal key, key memory that could not be locked.
func (c *Chain) Warnings() []string { return c.warnings }

// TornLine describes an interrupted seal line found at the end of
// seals.log by OpenChain.
type TornLine struct {
	Line     int  // line number in seals.log
	Bytes    int  // bytes of the fragment
	Complete bool // a whole seal lacking only its LF, now counted as a seal
}

// Torn reports the interrupted seal line OpenChain found and ended, if any.
func (c *Chain) Torn() (TornLine, bool) { return c.torn, c.torn.Bytes > 0 }

// endTornLine terminates the fragment with an LF so the next seal starts
// on a line of its own, and makes that durable before anything else.
func (c *Chain) endTornLine() error {
	if _, err := c.f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("%s: end the torn last line: %w", c.path, err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("%s: end the torn last line: %w", c.path, err)
	}
	return nil
}

// openFile opens seals.log for appending, refusing a symlink or other
// non-regular file, takes an exclusive lock and sets append-only.
func (c *Chain) openFile(appendOnly func(*os.File) error) error {
	created := false
	if fi, err := os.Lstat(c.path); errors.Is(err, os.ErrNotExist) {
		created = true
	} else if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w: not a regular file", c.path, ErrChain)
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o640)
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", c.path, ErrLocked)
	}
	if created {
		// docs/format.md §3.1: files 0640 whatever the umask; make the name durable.
		if err := f.Chmod(0o640); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", c.path, err)
		}
		if err := syncDir(filepath.Dir(c.path)); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", c.path, err)
		}
	}
	if appendOnly != nil {
		if err := appendOnly(f); err != nil {
			f.Close()
			return fmt.Errorf("%s: append-only: %w", c.path, err)
		}
	}
	c.f = f
	return nil
}

// load streams seals.log through readSeals, the reader verify uses too
// (see OpenChain), and reconciles it with c.st.
func (c *Chain) load() error {
	r, err := os.Open(c.path)
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	defer r.Close()
	var (
		lastSeq uint64
		lastMAC [32]byte
		keySeq  uint64 // c.s.key2 is the key for seal keySeq, once SEQ reaches the state's
	)
	st := &c.s.st
	defer clear(c.s.key2[:])
	err = readSeals(r, func(e *sealEntry) error {
		switch e.kind {
		case entryBad:
			return fmt.Errorf("%s: line %d: %w: %w", c.path, e.line, ErrChain, e.err)
		case entryFragment:
			// A seal cut by a crash; its key was never spent on a whole
			// line, so the next seal takes its SEQ. Only one still
			// lacking its LF needs ending.
			if e.noLF {
				c.torn = TornLine{Line: e.line, Bytes: e.bytes}
			}
			return nil
		}
		rec := &e.rec
		if !e.linked {
			return fmt.Errorf("%s: line %d: %w: seal %d: %w", c.path, e.line, ErrChain, rec.Seq, e.err)
		}
		if rec.Seq >= st.seq {
			// Lines the key state has not caught up with: check them with
			// a copy of its key in key2, evolved line by line.
			if keySeq == 0 {
				if rec.Prev != st.prev {
					return fmt.Errorf("%s: line %d: %w: seal %d PREV differs from the key state's prev", c.keyPath, e.line, ErrKeyState, rec.Seq)
				}
				c.s.copyKey(&c.s.key2, &st.key)
				keySeq = st.seq
			}
			if keySeq != rec.Seq {
				return fmt.Errorf("%s: line %d: %w: seal %d does not follow the key state's seq %d", c.keyPath, e.line, ErrKeyState, rec.Seq, keySeq)
			}
			var mac [32]byte
			c.s.sealMAC(&c.s.key2, e.body, &mac)
			if !hmac.Equal(mac[:], rec.MAC[:]) {
				return fmt.Errorf("%s: line %d: %w: seal %d MAC does not match the key state", c.keyPath, e.line, ErrKeyState, rec.Seq)
			}
			c.s.evolveKey(&c.s.key2)
			keySeq++
		}
		lastSeq, lastMAC = rec.Seq, rec.MAC
		c.last[rec.File] = *rec
		c.tree.Append(tlog.LeafHash(e.raw))
		if e.noLF {
			c.torn = TornLine{Line: e.line, Bytes: e.bytes, Complete: true}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrChain) || errors.Is(err, ErrKeyState) {
			return err
		}
		return fmt.Errorf("%s: %w", c.path, err)
	}
	switch {
	case keySeq != 0:
		// Crash between the seal line's fsync and the state's save:
		// move the state past the last seal and persist it before use.
		c.s.copyKey(&st.key, &c.s.key2)
		st.seq, st.prev = keySeq, lastMAC
		clear(c.s.key2[:])
		if err := saveState(c.keyPath, c.s); err != nil {
			return fmt.Errorf("%w: %w", ErrKeyState, err)
		}
	case lastSeq+1 != st.seq:
		return fmt.Errorf("key state %s: %w: it is at seq %d but %s ends at seal %d", c.keyPath, ErrKeyState, st.seq, c.path, lastSeq)
	case lastMAC != st.prev:
		return fmt.Errorf("key state %s: %w: its prev is not the MAC of seal %d in %s", c.keyPath, ErrKeyState, lastSeq, c.path)
	}
	return nil
}

// Seal appends one seal line (docs/format.md §4 columns) for the first bytes of
// file, fsyncs seals.log, THEN evolves K(n+1) = HMAC-SHA256(Kn, "sealog key
// evolution"), wipes Kn and overwrites the state file in place. Callers must
// have fsynced the file's data first. lines is the number of LF-terminated
// lines among those bytes and sum their SHA-256.
//
// Errors: ErrSealArgs and a write that wrote nothing leave the chain as it
// was (retry is safe). ErrSealIncomplete (partial write, failed fsync):
// retry; the line is finished first, never written twice, and a retry of
// the same seal returns it. An error wrapping ErrKeyPersist comes with a
// valid Record: the seal is done and must not be repeated.
func (c *Chain) Seal(kind Kind, file string, bytes, lines int64, sum [32]byte) (Record, error) {
	if !kind.valid() {
		return Record{}, fmt.Errorf("seal %s: %w: kind %q", file, ErrSealArgs, kind)
	}
	if _, ok := fileStream([]byte(file)); !ok {
		return Record{}, fmt.Errorf("seal %s: %w: %w", file, ErrSealArgs, ErrFileName)
	}
	if bytes < 0 || lines < 0 || lines > bytes || bytes > 1<<62 {
		return Record{}, fmt.Errorf("seal %s: %w: bytes %d, lines %d", file, ErrSealArgs, bytes, lines)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return Record{}, fmt.Errorf("seal %s: %w", file, os.ErrClosed)
	}
	if c.pending != nil {
		done, err := c.finishPending()
		if err != nil && !errors.Is(err, ErrKeyPersist) {
			return Record{}, fmt.Errorf("seal %s: %w", file, err)
		}
		if done.Kind == kind && done.File == file && done.Bytes == bytes && done.Lines == lines && done.Root == sum {
			return done, err // the caller's retry of the seal just finished
		}
	}
	if c.persistPending {
		// Fail closed (docs/format.md §10.2): no seal with a key the disk
		// does not know. The caller retries, as for a write error.
		if err := saveState(c.keyPath, c.s); err != nil {
			return Record{}, fmt.Errorf("seal %s: %w: %w", file, ErrKeyUnsaved, err)
		}
		c.persistPending = false
	}
	st := &c.s.st
	r := Record{
		Seq:   st.seq,
		Time:  c.now().UTC().Truncate(time.Microsecond),
		Kind:  kind,
		File:  file,
		Bytes: bytes,
		Lines: lines,
		Root:  sum,
		Prev:  st.prev,
	}
	c.buf = appendBody(c.buf[:0], &r)
	scrubStack() // grow the stack first, see scrubStack
	c.s.sealMAC(&st.key, c.buf, &r.MAC)
	scrubStack()
	c.buf = appendLine(c.buf[:0], &r)
	n, err := c.f.Write(c.buf)
	if err != nil && n == 0 {
		return Record{}, fmt.Errorf("seal %s: %s: %w", file, c.path, err)
	}
	c.pending = &pendingSeal{rec: r, leaf: tlog.LeafHash(c.buf[:len(c.buf)-1]), tail: append([]byte(nil), c.buf[n:]...)}
	if err != nil {
		return Record{}, fmt.Errorf("seal %s: %w: %s: %w", file, ErrSealIncomplete, c.path, err)
	}
	return c.finishPending()
}

// finishPending writes what is left of the pending seal line, fsyncs it,
// and only then evolves the key (docs/format.md §4 order on disk). Called with c.mu held.
func (c *Chain) finishPending() (Record, error) {
	p := c.pending
	for len(p.tail) > 0 {
		n, err := c.f.Write(p.tail)
		p.tail = p.tail[n:]
		if err != nil {
			return Record{}, fmt.Errorf("%w: %s: %w", ErrSealIncomplete, c.path, err)
		}
	}
	if err := c.f.Sync(); err != nil {
		return Record{}, fmt.Errorf("%w: %s: fsync: %w", ErrSealIncomplete, c.path, err)
	}
	c.pending = nil
	r, file := p.rec, p.rec.File
	// docs/format.md §4: the seal line is durable; now evolve and forget Kn.
	st := &c.s.st
	scrubStack()
	c.s.evolveKey(&st.key)
	scrubStack()
	st.seq, st.prev = r.Seq+1, r.MAC
	c.last[file] = r
	c.tree.Append(p.leaf)
	if c.onSeal != nil {
		c.onSeal(r)
	}
	if c.head != nil {
		c.buf = append(c.buf[:0], "seal head "...)
		c.buf = strconv.AppendUint(c.buf, r.Seq, 10)
		c.buf = append(c.buf, ':')
		c.buf = hex.AppendEncode(c.buf, r.MAC[:])
		c.buf = append(c.buf, '\n')
		c.head.Write(c.buf) // best effort: the journal copy is a convenience
	}
	if c.sealed != nil {
		c.sealed(c.tree.Head())
	}
	if err := saveState(c.keyPath, c.s); err != nil {
		c.persistPending = true
		return r, fmt.Errorf("seal %s: %w: %w", file, ErrKeyPersist, err)
	}
	return r, nil
}

// SaveKeyState saves the evolved key state again after a seal returned
// an error wrapping ErrKeyPersist; nil when it is on disk. Until it is,
// Seal refuses to seal (ErrKeyUnsaved).
func (c *Chain) SaveKeyState() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.persistPending || c.s == nil {
		return nil
	}
	if err := saveState(c.keyPath, c.s); err != nil {
		return fmt.Errorf("%w: %w", ErrKeyPersist, err)
	}
	c.persistPending = false
	return nil
}

// Last returns the last seal of the file name found in seals.log or made
// since the chain was opened.
func (c *Chain) Last(file string) (Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.last[file]
	return r, ok
}

// SealsTree is the tree of the seal lines (docs/format.md §7.2), for
// checkpoints and the consistency proofs witnesses ask for. It grows
// with every seal; it is safe to read from any goroutine.
func (c *Chain) SealsTree() *tlog.Tree { return c.tree }

// Head returns the SEQ and MAC of the last seal; seq 0 and a zero MAC
// when the chain is empty.
func (c *Chain) Head() (seq uint64, mac [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s == nil {
		return c.closedSeq, c.closedMAC
	}
	return c.s.st.seq - 1, c.s.st.prev
}

// Close persists a pending key state, closes seals.log and wipes the key.
func (c *Chain) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	var errs []error
	if c.pending != nil {
		if _, err := c.finishPending(); err != nil && !errors.Is(err, ErrKeyPersist) {
			errs = append(errs, err)
		}
	}
	if c.persistPending {
		if err := saveState(c.keyPath, c.s); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrKeyPersist, err))
		}
		c.persistPending = false
	}
	if err := c.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", c.path, err))
	}
	c.f = nil
	c.closedSeq, c.closedMAC = c.s.st.seq-1, c.s.st.prev
	c.mem.free()
	c.s = nil
	return errors.Join(errs...)
}
