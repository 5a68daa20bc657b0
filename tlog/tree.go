package tlog

import (
	"errors"
	"fmt"
	"sync"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// ErrRange is wrapped by the errors of proofs asked for sizes or indexes
// the tree does not have.
var ErrRange = errors.New("outside the tree")

// Tree is a growing RFC 9162 tree that keeps every complete subtree's hash
// (about two hashes, 64 bytes, per leaf, in the stored-hash layout of
// golang.org/x/mod/sumdb/tlog), so it can give the root at any earlier
// size and cut inclusion and consistency proofs without re-reading its
// leaves. The server holds the seals tree this way (one leaf per seal), so
// that witnesses can be sent consistency proofs (docs/format.md §7.3);
// prove builds one for a file's lines.
//
// A Tree is safe for concurrent use: one goroutine appends while others
// ask for roots and proofs of sizes it already has.
type Tree struct {
	mu       sync.RWMutex
	hashes   []sumtlog.Hash // stored hashes of leaves [0, front.Size())
	front    Frontier
	readFunc sumtlog.HashReaderFunc
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	t := &Tree{}
	t.readFunc = t.read
	return t
}

// read is the HashReader over t.hashes; called with t.mu held.
func (t *Tree) read(indexes []int64) ([]sumtlog.Hash, error) {
	out := make([]sumtlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, fmt.Errorf("stored hash %d: %w", x, ErrRange)
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

// Append adds one leaf hash (LeafHash) and returns the new size.
func (t *Tree) Append(leaf Hash) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int64(t.front.Size())
	// The reader only looks at hashes already stored, so this cannot fail.
	hs, err := sumtlog.StoredHashesForRecordHash(n, leaf, t.readFunc)
	if err != nil {
		panic("tlog: stored hashes of a complete tree are missing: " + err.Error())
	}
	t.hashes = append(t.hashes, hs...)
	t.front.Append(leaf)
	return t.front.Size()
}

// Size is the number of leaves.
func (t *Tree) Size() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.front.Size()
}

// Root is the tree hash at the current size.
func (t *Tree) Root() Hash {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.front.Root()
}

// Head returns the size and root together, as one consistent view.
func (t *Tree) Head() (uint64, Hash) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.front.Size(), t.front.Root()
}

// RootAt is the tree hash of the first size leaves.
func (t *Tree) RootAt(size uint64) (Hash, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if size > t.front.Size() {
		return Hash{}, fmt.Errorf("root at size %d of a tree of %d: %w", size, t.front.Size(), ErrRange)
	}
	if size == 0 {
		return EmptyRoot(), nil
	}
	return sumtlog.TreeHash(int64(size), t.readFunc)
}

// InclusionProof is the RFC 9162 §2.1.3.1 audit path of leaf index in
// the tree of the first size leaves, leaf upward.
func (t *Tree) InclusionProof(index, size uint64) ([]Hash, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if index >= size || size > t.front.Size() {
		return nil, fmt.Errorf("inclusion proof of leaf %d in size %d of a tree of %d: %w", index, size, t.front.Size(), ErrRange)
	}
	p, err := sumtlog.ProveRecord(int64(size), int64(index), t.readFunc)
	return hashes(p), err
}

// ConsistencyProof is the RFC 9162 §2.1.4.1 proof that the tree of the
// first size leaves extends the tree of the first old leaves. It is empty
// when old is 0 or old == size (RFC 9162: nothing to prove).
func (t *Tree) ConsistencyProof(old, size uint64) ([]Hash, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if old > size || size > t.front.Size() {
		return nil, fmt.Errorf("consistency proof from size %d to %d of a tree of %d: %w", old, size, t.front.Size(), ErrRange)
	}
	if old == 0 || old == size {
		return []Hash{}, nil
	}
	p, err := sumtlog.ProveTree(int64(size), int64(old), t.readFunc)
	return hashes(p), err
}

func hashes(p []sumtlog.Hash) []Hash {
	out := make([]Hash, len(p))
	for i, h := range p {
		out[i] = h
	}
	return out
}
