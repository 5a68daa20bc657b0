package rotate

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sealog/sealog/tlog"
)

var (
	// ErrNoCapability: the process may not set or clear the append-only or
	// immutable attribute (EPERM from FS_IOC_SETFLAGS).
	ErrNoCapability = errors.New("missing capability CAP_LINUX_IMMUTABLE, needed for append-only and immutable files (run with it, or with --no-chattr)")
	// ErrUnsupported: the filesystem has no append-only/immutable attributes
	// (ENOTTY, EOPNOTSUPP or EINVAL from the ioctl). Wrapping errors name the
	// filesystem type.
	ErrUnsupported = errors.New("filesystem does not support append-only and immutable attributes (use ext4, xfs or btrfs, or --no-chattr)")
)

var errNotRegular = errors.New("not a regular file")

const (
	fileMode = 0o640 // docs/format.md §3.1
	dirMode  = 0o750 // docs/operations.md --dir

	// maxCollisions bounds the +1 ms search for a free name in Create. Two
	// files of one stream in the same millisecond are rare; a thousand in a
	// row means something else is creating names, and looping on is wrong.
	maxCollisions = 1000
)

// EnsureDir makes the log directory (docs/operations.md --dir): missing directories,
// parents included, are created with mode exactly 0750 whatever the umask,
// and their parents are fsynced so that the new entries survive a crash. An
// existing directory (or a symbolic link to one) is accepted as it is: its
// mode is the operator's choice. Anything else at dir is an error.
func EnsureDir(dir string) error {
	if dir == "" {
		return errors.New("log directory: empty path")
	}
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	switch {
	case err == nil:
		if !fi.IsDir() {
			return fmt.Errorf("log directory %s: %w", dir, syscall.ENOTDIR)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("log directory %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := EnsureDir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return EnsureDir(dir) // created concurrently: check what it is
		}
		return fmt.Errorf("log directory %s: %w", dir, err)
	}
	// Mkdir's mode passed through the umask; set it exactly, on the
	// directory just made rather than on whatever the name points to now.
	d, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("log directory %s: %w", dir, err)
	}
	err = d.Chmod(dirMode)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(parent)
	}
	if err != nil {
		return fmt.Errorf("log directory %s: %w", dir, err)
	}
	return nil
}

// File is the active file of one stream. It is not safe for concurrent use:
// the goroutine that writes owns it. Size, Lines and Root describe the same
// prefix of the file as long as no Write runs between the calls, which is
// what a checkpoint seal needs (docs/format.md §4). Sync only touches the descriptor.
type File struct {
	f      *os.File
	name   string
	path   string
	opened time.Time
	size   int64
	lines  int64
	kicked int64 // bytes handed to StartWriteback so far
	// dropped: DropCache advised up to here (page-aligned). Only the one
	// goroutine that syncs the file at a time calls DropCache.
	dropped int64
	// tree is the Merkle tree of the lines written (docs/format.md §4
	// ROOT), kept as its frontier: O(log n) hashes whatever the size.
	tree tlog.Frontier
	// own hashes the leaves of lines Write is given without their leaf
	// hashes (the security stream, tests).
	own tlog.LeafHasher
	// part holds the leaf hash state of a line the kernel took only in
	// part (a short write before an error): 0x00 and the bytes written.
	part     hash.Hash
	partOpen bool
	partSum  [32]byte
	// dirSynced: the directory was fsynced since the file was created, so
	// its name is durable (see SyncDir).
	dirSynced atomic.Bool
}

// Create opens a new active file DIR/<stream>-YYYYMMDDTHHMMSS.mmmZ.log
// (docs/format.md §3.1), named for now in UTC truncated to the millisecond; when that
// name exists, 1 ms is added until a free one is found, so a name is never
// reused and names still sort by opening time. Opened returns the time in the
// name.
//
// The file is opened O_WRONLY|O_CREATE|O_EXCL|O_APPEND|O_CLOEXEC and set to
// mode exactly 0640 with fchmod (the umask is ignored; this must happen
// before chattr +a, which forbids chmod). When chattr is true, FS_APPEND_FL
// is set before the first byte. The directory is fsynced by the file's first
// Sync (or SyncDir), so that the new name is durable before anything in the
// file is sealed, but not here: on ext4 that fsync waits for a journal
// commit, which waits for the data the previous file still has in flight,
// and the caller is the one goroutine that writes (a quarter of
// the time it was busy under load went to rotations). On any failure the
// empty file is closed and removed, and the error is returned (wrapping
// ErrNoCapability or ErrUnsupported when the attribute could not be set).
//
// stream must be 1 to 32 lowercase ASCII letters ("events", "security").
func Create(dir, stream string, now time.Time, chattr bool) (*File, error) {
	if !validStream(stream) {
		return nil, fmt.Errorf("create log file in %s: invalid stream name %q", dir, stream)
	}
	t := now.UTC().Truncate(time.Millisecond)
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("create %s file in %s: time %s has no 4-digit year", stream, dir, t)
	}
	var (
		f    *os.File
		name string
		path string
		err  error
	)
	for i := 0; ; i++ {
		if i == maxCollisions {
			return nil, fmt.Errorf("create %s file in %s: %d names in a row from %s exist", stream, dir, maxCollisions, FormatStamp(now))
		}
		name = string(appendName(make([]byte, 0, len(stream)+30), stream, t))
		path = filepath.Join(dir, name)
		// os.OpenFile adds O_CLOEXEC. O_EXCL also refuses to follow a
		// symbolic link planted under the name.
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, fileMode)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create %s file: %w", stream, err)
		}
		t = t.Add(time.Millisecond)
	}
	// Nothing after SetAppendOnly can fail, so the file to remove never
	// carries an attribute.
	fail := func(err error) (*File, error) {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	if err := f.Chmod(fileMode); err != nil {
		return fail(fmt.Errorf("create %s: %w", path, err))
	}
	if chattr {
		if err := SetAppendOnly(f); err != nil {
			return fail(err)
		}
	}
	return &File{f: f, name: name, path: path, opened: t}, nil
}

// Write appends p with write(2), repeating on short writes until all of p is
// written or the kernel returns an error. Size, Lines and the tree of
// lines (Root) advance by exactly the bytes the kernel accepted, so they always
// describe the file as it is on disk. On an error (ENOSPC, EIO, ...) it
// returns the number of bytes written, possibly more than 0, and the error;
// the caller retries with p[n:] later (docs/format.md §5 fail closed), and
// nothing is written twice or hidden. Write hashes the lines' leaves
// itself; WriteLines takes them hashed already.
func (f *File) Write(p []byte) (int, error) {
	n, _, err := f.WriteLines(p, nil)
	return n, err
}

// WriteLines is Write for lines whose leaf hashes (tlog.LeafHash of each
// line without its LF) were computed where the lines were made, on the
// connection goroutines: leaves holds exactly one hash per line that ends
// (with its LF) in p, leaves[i] that of the i-th. The writer then adds
// one node hash per line on average instead of hashing every byte, and
// when all of p is written it does not look at p's bytes again. used is
// the number of leaves consumed: the lines completed by the n bytes
// written; a retry passes p[n:] and leaves[used:]. leaves == nil: Write.
func (f *File) WriteLines(p []byte, leaves []tlog.Hash) (n, used int, err error) {
	// os.File.Write is the write(2) loop: it returns n < len(p) only
	// together with an error.
	n, err = f.f.Write(p)
	if n > 0 {
		if n == len(p) && leaves != nil && p[n-1] == '\n' {
			// All of p is written and it ends a line: every leaf is a
			// complete line, so no second pass over the bytes for their
			// LFs (the common case; a short write is walked by advance).
			used = f.appendLeaves(leaves)
		} else {
			used = f.advance(p[:n], leaves)
		}
		f.size += int64(n)
	}
	return n, used, err
}

// appendLeaves adds complete lines, given by their leaf hashes, to the
// tree. A line begun by a short write is completed by the first.
func (f *File) appendLeaves(leaves []tlog.Hash) int {
	for i := range leaves {
		f.tree.Append(leaves[i])
	}
	f.partOpen = false
	f.lines += int64(len(leaves))
	return len(leaves)
}

// advance adds the lines completed in q, the bytes just written, to the
// tree; bytes after q's last LF are a line cut short, kept in part.
func (f *File) advance(q []byte, leaves []tlog.Hash) (used int) {
	for len(q) > 0 {
		i := bytes.IndexByte(q, '\n')
		if i < 0 {
			f.partial(q)
			return used
		}
		var leaf tlog.Hash
		switch {
		case leaves != nil:
			leaf = leaves[used]
			used++
		case f.partOpen:
			f.part.Write(q[:i])
			f.part.Sum(f.partSum[:0])
			leaf = f.partSum
		default:
			leaf = f.own.Sum(q[:i])
		}
		f.partOpen = false
		f.tree.Append(leaf)
		f.lines++
		q = q[i+1:]
	}
	return used
}

// partial records the start (or more) of a line the kernel took only in
// part, so that Root counts it as one more leaf until its LF is written.
func (f *File) partial(b []byte) {
	if !f.partOpen {
		if f.part == nil {
			f.part = sha256.New()
		}
		f.part.Reset()
		f.part.Write([]byte{0})
		f.partOpen = true
	}
	f.part.Write(b)
}

var newline = []byte{'\n'}

// Sync flushes the file's data to disk. fdatasync is enough: it writes the
// data and the size (needed to read it back), but not the modification time.
func (f *File) Sync() error {
	if err := syncData(f.f); err != nil {
		return fmt.Errorf("sync %s: %w", f.path, err)
	}
	return f.SyncDir()
}

// SyncDir fsyncs the file's directory once, so that its name survives a
// crash; later calls do nothing. Sync calls it; a caller that seals a file
// it never synced (an empty one) calls it first. Safe to call from the
// goroutine that syncs the file while another writes it.
func (f *File) SyncDir() error {
	if f.dirSynced.Load() {
		return nil
	}
	if err := syncDir(filepath.Dir(f.path)); err != nil {
		return fmt.Errorf("sync directory of %s: %w", f.path, err)
	}
	f.dirSynced.Store(true)
	return nil
}

// StartWriteback asks the kernel to begin writing the bytes written since
// the last call to disk now, without waiting for it (sync_file_range
// SYNC_FILE_RANGE_WRITE), once at least threshold of them have
// accumulated. It promises nothing about durability — only Sync does — but
// it keeps the disk streaming instead of idling until the next fsync dumps
// a second's worth of dirty pages on it at once (the durable write
// rate became steady, and sealog's 1 KiB × 8 rate rose by 10 %; measured
// with tests/bench/writeback and tests/bench). An error means only that
// the advice was not taken.
func (f *File) StartWriteback(threshold int64) error {
	n := f.size - f.kicked
	if n < threshold || n <= 0 {
		return nil
	}
	off := f.kicked
	f.kicked = f.size
	if err := startWriteback(f.f, off, n); err != nil {
		return fmt.Errorf("start writeback of %s: %w", f.path, err)
	}
	return nil
}

// DropCache tells the kernel that the first upTo bytes, which an earlier
// Sync made durable, will not be read again by this process, so their page
// cache pages can be freed now (posix_fadvise DONTNEED). A log host writes
// far more than it reads back: without this every byte ever written stays
// cached until memory pressure evicts it, and each new page of the file
// comes from fresh memory. Freed right away, the same few hundred
// megabytes are reused, and writing a byte costs up to 4x less kernel
// time (measured under a VM with tests/bench/writeback). Pages
// not yet written back are left alone by the kernel, so this never loses
// data; it is advice, and its error only says the advice was not taken.
//
// Each call advises only from where the previous one ended (rounded down
// to a page: the kernel keeps a partly covered page), so the cost does
// not grow with the file.
func (f *File) DropCache(upTo int64) error {
	if upTo <= f.dropped {
		return nil
	}
	from := f.dropped
	f.dropped = upTo &^ (pageSize - 1)
	if err := dropCache(f.f, from, upTo-from); err != nil {
		return fmt.Errorf("drop page cache of %s: %w", f.path, err)
	}
	return nil
}

// pageSize is the unit the kernel drops; a smaller real page size would
// only make DropCache look at a page again.
var pageSize = int64(os.Getpagesize())

// Name is the file's base name, as written in seal lines (docs/format.md §4 FILE).
func (f *File) Name() string { return f.name }

// Path is the file's path: the dir given to Create joined with Name.
func (f *File) Path() string { return f.path }

// Opened is the UTC time in the file's name.
func (f *File) Opened() time.Time { return f.opened }

// Size is the number of bytes written.
func (f *File) Size() int64 { return f.size }

// Lines is the number of LF bytes written, i.e. complete lines.
func (f *File) Lines() int64 { return f.lines }

// Root is the Merkle tree hash of the lines written so far (docs/format.md
// §4 ROOT; bytes after the last LF, if a write was cut short, are one more
// leaf). The tree goes on undisturbed, so Root serves checkpoint seals
// without re-reading the file and costs at most 64 node hashes.
func (f *File) Root() [32]byte {
	if !f.partOpen {
		return f.tree.Root()
	}
	t := f.tree
	f.part.Sum(f.partSum[:0])
	t.Append(f.partSum)
	return t.Root()
}

// Close closes the descriptor. It neither syncs (call Sync first) nor makes
// the file immutable (SetImmutable, after the final seal, docs/format.md §3.1).
func (f *File) Close() error {
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.path, err)
	}
	return nil
}

// withFd runs fn with f's descriptor without f.Fd()'s side effect of
// switching the descriptor to blocking mode.
func withFd(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// syncDir fsyncs a directory so that entries created or removed in it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func validStream(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}
