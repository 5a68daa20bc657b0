package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
	"golang.org/x/mod/sumdb/note"
)

// Seals is the seals tree of a directory (docs/format.md §7.2): the seal
// lines of seals.log in order, each without its LF, leaf SEQ-1 being seal
// SEQ. Lines that are no seal (a seal line cut by a crash) are not leaves.
type Seals struct {
	Records []seal.Record
	Lines   [][]byte // Lines[i] is the line of Records[i]
	Tree    *tlog.Tree
}

// ReadSeals reads DIR/seals.log once and builds its tree. A seal whose
// SEQ is not its position in the tree (a seal removed, inserted or
// reordered) is an error: its tree would not be the log's.
func ReadSeals(dir string) (*Seals, error) {
	path := filepath.Join(dir, seal.SealsName)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	s := &Seals{Tree: tlog.NewTree()}
	// The one reader of seals.log that the server's start-up and verify
	// use too, so that a proof's seals tree is the one they see.
	err = seal.ReadSeals(f, func(l seal.SealLine) error {
		s.Records = append(s.Records, l.Record)
		s.Lines = append(s.Lines, append([]byte(nil), l.Raw...))
		s.Tree.Append(tlog.LeafHash(l.Raw))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Errors of checking a checkpoint against a seals tree.
var (
	// ErrRollback: seals.log holds fewer seals than a checkpoint signed
	// for it: the newest seals (and likely files) were removed.
	ErrRollback = errors.New("rollback")
	// ErrRewrite: the seals tree at the checkpoint's size has another
	// root: seals were changed after they were signed.
	ErrRewrite = errors.New("rewrite")
)

// CheckCheckpoint opens a signed checkpoint note with the log's verifier
// (and witnesses' cosignature verifiers, whose valid signatures come back
// in the note) and checks it against the seals tree: its size must be in
// the tree and the tree's root at that size must be its root.
func CheckCheckpoint(msg []byte, log note.Verifier, tree *tlog.Tree, witnesses ...note.Verifier) (tlog.Checkpoint, *note.Note, error) {
	c, n, err := tlog.Open(msg, log, witnesses...)
	if err != nil {
		return c, nil, err
	}
	if have := tree.Size(); c.Size > have {
		return c, n, fmt.Errorf("%w: the checkpoint is signed for %d seals, seals.log holds %d (the newest seals were removed)", ErrRollback, c.Size, have)
	}
	root, err := tree.RootAt(c.Size)
	if err != nil {
		return c, n, err
	}
	if root != c.Root {
		return c, n, fmt.Errorf("%w: the first %d seals of seals.log are not the ones the checkpoint signed (seal lines changed)", ErrRewrite, c.Size)
	}
	return c, n, nil
}

// Cosigned counts the distinct witnesses among ws whose signatures n
// carries verified (tlog.Open checked them).
func Cosigned(n *note.Note, ws []note.Verifier) int {
	count := 0
	for _, w := range ws {
		for _, s := range n.Sigs {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				count++
				break
			}
		}
	}
	return count
}
