package tlog

import (
	"crypto/sha256"
	"hash"
	"math/bits"
)

// HashSize is the size of every hash in a tree.
const HashSize = sha256.Size

// Hash is a SHA-256 tree hash.
type Hash = [HashSize]byte

// LeafHash is the RFC 9162 §2.1.1 hash of one leaf: SHA-256(0x00 || data).
// For the trees of sealog, data is a line without its LF. It allocates;
// a loop over many lines uses a LeafHasher.
func LeafHash(data []byte) Hash {
	var l LeafHasher
	return l.Sum(data)
}

// LeafHasher computes leaf hashes without allocating after its first
// use. It is not safe for concurrent use: each goroutine that makes lines
// keeps its own.
type LeafHasher struct {
	h   hash.Hash
	out Hash // scratch: a slice of it passes through the hash.Hash interface
}

var leafPrefix = []byte{0}

// Sum returns LeafHash(data).
func (l *LeafHasher) Sum(data []byte) Hash {
	if l.h == nil {
		l.h = sha256.New()
	} else {
		l.h.Reset()
	}
	l.h.Write(leafPrefix)
	l.h.Write(data)
	l.h.Sum(l.out[:0])
	return l.out
}

// NodeHash is the RFC 9162 §2.1.1 hash of an interior node:
// SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot is the root of the tree with no leaves: SHA-256 of nothing.
func EmptyRoot() Hash { return sha256.Sum256(nil) }

// Frontier is the right edge of a growing tree: the roots of its complete
// subtrees, one per set bit of its size, so at most 64 hashes whatever the
// size. Appending a leaf costs one node hash on average; Root folds the
// frontier (at most 63 node hashes) without changing it. The zero value
// is the empty tree.
//
// A Frontier is a value without pointers; it is not safe for concurrent
// use: its owner (the goroutine that writes a file) appends and asks for
// roots.
type Frontier struct {
	n     uint64
	stack [64]Hash // stack[:bits.OnesCount64(n)], left (largest) first
}

// Size is the number of leaves appended.
func (f *Frontier) Size() uint64 { return f.n }

// Append adds one leaf hash (LeafHash) at the right edge.
func (f *Frontier) Append(leaf Hash) {
	top := bits.OnesCount64(f.n)
	f.stack[top] = leaf
	top++
	// Every trailing one bit of the old size is a complete subtree of
	// the same height as the one just completed on its right: merge.
	for k := f.n; k&1 == 1; k >>= 1 {
		f.stack[top-2] = NodeHash(f.stack[top-2], f.stack[top-1])
		top--
	}
	f.n++
}

// AppendSubtree adds, at the right edge, the root of a complete subtree
// of 1<<height leaves, as if they were appended one by one. The size must
// be a multiple of 1<<height (the subtree is aligned, as in the tree of
// the whole); AppendSubtree panics otherwise. This lets leaves and the
// nodes above them be hashed elsewhere (in parallel) and joined in order.
func (f *Frontier) AppendSubtree(root Hash, height uint) {
	if height >= 64 || f.n&(1<<height-1) != 0 {
		panic("tlog: AppendSubtree not aligned")
	}
	top := bits.OnesCount64(f.n)
	f.stack[top] = root
	top++
	for k := f.n >> height; k&1 == 1; k >>= 1 {
		f.stack[top-2] = NodeHash(f.stack[top-2], f.stack[top-1])
		top--
	}
	f.n += 1 << height
}

// Root is the RFC 9162 Merkle tree hash of the leaves appended so far:
// the complete subtrees folded from the right, since the tree hash splits
// at the largest power of two below the size (RFC 9162 §2.1.1).
func (f *Frontier) Root() Hash {
	top := bits.OnesCount64(f.n)
	if top == 0 {
		return EmptyRoot()
	}
	r := f.stack[top-1]
	for i := top - 2; i >= 0; i-- {
		r = NodeHash(f.stack[i], r)
	}
	return r
}
