package tlog

import (
	"bytes"
	"math/bits"
	"runtime"
	"sync"
)

// ParallelLineHasher computes what LineHasher does — the tree of a byte
// stream's lines (docs/format.md §4 ROOT) — with the hashing of whole
// lines spread over several goroutines. For short lines the tree costs
// about three times a plain SHA-256 of the bytes (the 0x00 prefix and the
// padding of every leaf, and one node hash per line), so one core hashes
// a file's tree far slower than the disk delivers it; verify reads files
// in large chunks and hands them to Write.
//
// Write cuts the whole lines of a chunk into one piece per worker, at
// line boundaries. Each worker hashes its piece's leaves and, knowing the
// leaves' positions in the whole tree, the complete aligned subtrees over
// them; the caller then adds those roots to the frontier in order
// (Frontier.AppendSubtree). The result is the same tree, bit for bit, as
// LineHasher's; it is still one pass over the bytes, linear in them, and
// Write returns only when its chunk is hashed, so the caller may reuse it.
// Memory is bounded by the workers and leavesPerBatch, not by the chunk.
//
// It is not safe for concurrent use: the goroutine that reads the stream
// owns it, and it starts the workers of each Write itself.
type ParallelLineHasher struct {
	seq     LineHasher // the frontier, and the line that spans Writes
	workers int
	pieces  []linePiece
}

// parallelMin: a chunk's whole lines shorter than this are hashed on the
// caller; starting a goroutine would cost more than it saves.
const parallelMin = 64 << 10

// leavesPerBatch bounds the leaf hashes a worker holds at once.
const leavesPerBatch = 4096

// maxWorkers bounds the goroutines one Write uses.
const maxWorkers = 8

// linePiece is one worker's share of a Write: its lines, the position of
// its first leaf in the tree, and the roots of the aligned complete
// subtrees over its leaves, in order.
type linePiece struct {
	data  []byte
	start uint64
	h     LeafHasher
	leaf  []Hash
	out   []subtree
}

type subtree struct {
	root   Hash
	height uint
}

// NewParallelLineHasher returns a hasher that uses up to workers
// goroutines per Write (0: GOMAXPROCS, at most 8).
func NewParallelLineHasher(workers int) *ParallelLineHasher {
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), maxWorkers)
	}
	return &ParallelLineHasher{workers: max(workers, 1)}
}

// Write hashes p, which continues the stream. It never fails.
func (l *ParallelLineHasher) Write(p []byte) (int, error) {
	n := len(p)
	if l.seq.open {
		// The rest of the line an earlier Write began.
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.seq.Write(p)
			return n, nil
		}
		l.seq.Write(p[:i+1])
		p = p[i+1:]
	}
	last := bytes.LastIndexByte(p, '\n')
	whole, tail := p[:last+1], p[last+1:]
	if l.workers < 2 || len(whole) < parallelMin {
		l.seq.Write(whole)
	} else {
		l.hashWhole(whole)
	}
	l.seq.Write(tail) // no LF: begins the next line
	return n, nil
}

// hashWhole hashes whole, LF-terminated lines in parallel and adds them
// to the frontier.
func (l *ParallelLineHasher) hashWhole(whole []byte) {
	if l.pieces == nil {
		l.pieces = make([]linePiece, l.workers)
	}
	// Cut into pieces of about equal size, each ending with an LF.
	k := 0
	start := l.seq.front.Size()
	size := len(whole) / l.workers
	for len(whole) > 0 {
		cut := len(whole)
		if k < l.workers-1 && size < len(whole) {
			cut = size + bytes.IndexByte(whole[size:], '\n') + 1 // whole ends with LF
		}
		pc := &l.pieces[k]
		pc.data, pc.start = whole[:cut], start
		start += uint64(bytes.Count(pc.data, []byte{'\n'}))
		whole = whole[cut:]
		k++
	}
	pieces := l.pieces[:k]
	var wg sync.WaitGroup
	for i := 1; i < len(pieces); i++ {
		wg.Add(1)
		go func(pc *linePiece) {
			defer wg.Done()
			pc.hash()
		}(&pieces[i])
	}
	pieces[0].hash()
	wg.Wait()
	for i := range pieces {
		pc := &pieces[i]
		for _, st := range pc.out {
			l.seq.front.AppendSubtree(st.root, st.height)
		}
		pc.data = nil
	}
}

// hash fills out with the aligned subtrees over the piece's leaves.
func (pc *linePiece) hash() {
	pc.out = pc.out[:0]
	if pc.leaf == nil {
		pc.leaf = make([]Hash, 0, leavesPerBatch)
	}
	pos := pc.start
	data := pc.data
	for len(data) > 0 {
		leaf := pc.leaf[:0]
		for len(data) > 0 && len(leaf) < leavesPerBatch {
			i := bytes.IndexByte(data, '\n')
			leaf = append(leaf, pc.h.Sum(data[:i]))
			data = data[i+1:]
		}
		pc.out = appendSubtrees(pc.out, leaf, pos)
		pos += uint64(len(leaf))
	}
}

// appendSubtrees appends the roots of the largest aligned complete
// subtrees that tile leaf, whose first leaf is number pos in the tree.
// It overwrites leaf.
func appendSubtrees(out []subtree, leaf []Hash, pos uint64) []subtree {
	for len(leaf) > 0 {
		h := uint(bits.Len(uint(len(leaf))) - 1) // the largest that fits
		if pos != 0 {
			h = min(h, uint(bits.TrailingZeros64(pos))) // and is aligned
		}
		w := 1 << h
		for ; w > 1; w /= 2 {
			for x := 0; x < w/2; x++ {
				leaf[x] = NodeHash(leaf[2*x], leaf[2*x+1])
			}
		}
		out = append(out, subtree{root: leaf[0], height: h})
		leaf = leaf[1<<h:]
		pos += 1 << h
	}
	return out
}

// Lines is the number of complete (LF-terminated) lines written.
func (l *ParallelLineHasher) Lines() uint64 { return l.seq.Lines() }

// Torn reports whether bytes follow the last LF.
func (l *ParallelLineHasher) Torn() bool { return l.seq.Torn() }

// Size is the number of leaves Root covers: Lines, plus one when Torn.
func (l *ParallelLineHasher) Size() uint64 { return l.seq.Size() }

// Root is the tree hash of the lines written so far, the incomplete last
// line (if any) as one more leaf. Hashing goes on undisturbed.
func (l *ParallelLineHasher) Root() Hash { return l.seq.Root() }
