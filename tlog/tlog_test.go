package tlog

import (
	"encoding/hex"
	"fmt"
	"testing"

	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/sealog/sealog/internal/sumdbref"
)

// rfc6962Leaves are the leaves of the RFC 6962 reference tests (Certificate
// Transparency's merkle_tree_test), with their published roots below.
var rfc6962Leaves = []string{
	"", "\x00", "\x10", "\x20\x21", "\x30\x31", "\x40\x41\x42\x43",
	"\x50\x51\x52\x53\x54\x55\x56\x57",
	"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
}

var rfc6962Roots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

func TestFrontierKnownRoots(t *testing.T) {
	var f Frontier
	tr := NewTree()
	for n := 0; ; n++ {
		if got := hex.EncodeToString(ptr(f.Root())[:]); got != rfc6962Roots[n] {
			t.Errorf("frontier root of %d leaves: got %s, want %s", n, got, rfc6962Roots[n])
		}
		if got := hex.EncodeToString(ptr(tr.Root())[:]); got != rfc6962Roots[n] {
			t.Errorf("tree root of %d leaves: got %s, want %s", n, got, rfc6962Roots[n])
		}
		if n == len(rfc6962Leaves) {
			break
		}
		f.Append(LeafHash([]byte(rfc6962Leaves[n])))
		tr.Append(LeafHash([]byte(rfc6962Leaves[n])))
	}
}

func ptr(h Hash) *Hash { return &h }

// leaves returns n distinct leaf hashes.
func leaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = LeafHash(fmt.Appendf(nil, "line %d", i))
	}
	return out
}

// TestAgainstSumdb checks roots and proofs against golang.org/x/mod/sumdb/tlog
// computed from its own stored hashes, for every size up to 130 (all
// shapes of the right edge up to height 8).
func TestAgainstSumdb(t *testing.T) {
	const max = 130
	ls := leaves(max)
	var stored sumdbref.Stored
	r := &stored
	tr := NewTree()
	var f Frontier
	var roots []Hash
	roots = append(roots, EmptyRoot())
	for n := 0; n < max; n++ {
		if LeafHash(fmt.Appendf(nil, "line %d", n)) != Hash(sumtlog.RecordHash(fmt.Appendf(nil, "line %d", n))) {
			t.Fatal("LeafHash differs from sumdb's RecordHash")
		}
		hs, err := sumtlog.StoredHashes(int64(n), fmt.Appendf(nil, "line %d", n), r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		f.Append(ls[n])
		if got := tr.Append(ls[n]); got != uint64(n+1) {
			t.Fatalf("Append returned size %d, want %d", got, n+1)
		}
		want, err := sumtlog.TreeHash(int64(n+1), r)
		if err != nil {
			t.Fatal(err)
		}
		if f.Root() != Hash(want) || tr.Root() != Hash(want) {
			t.Fatalf("size %d: root differs from sumdb's TreeHash", n+1)
		}
		roots = append(roots, Hash(want))
	}
	for size := uint64(0); size <= max; size++ {
		if got, err := tr.RootAt(size); err != nil || got != roots[size] {
			t.Fatalf("RootAt(%d) = %x, %v", size, got, err)
		}
		for i := uint64(0); i < size; i++ {
			p, err := tr.InclusionProof(i, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(ls[i], i, size, p, roots[size]); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", i, size, err)
			}
			sp, _ := sumtlog.ProveRecord(int64(size), int64(i), r)
			if err := sumtlog.CheckRecord(sp, int64(size), roots[size], int64(i), ls[i]); err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(ls[i], i, size, hashes(sp), roots[size]); err != nil {
				t.Fatalf("sumdb's proof of %d in %d: %v", i, size, err)
			}
			// Every single flipped bit, a wrong index, a short or long path fail.
			for j := range p {
				q := append([]Hash(nil), p...)
				q[j][j%32] ^= 1
				if VerifyInclusion(ls[i], i, size, q, roots[size]) == nil {
					t.Fatalf("inclusion of %d in %d: proof with hash %d altered verifies", i, size, j)
				}
			}
			if len(p) > 0 && VerifyInclusion(ls[i], i, size, p[:len(p)-1], roots[size]) == nil {
				t.Fatalf("inclusion of %d in %d: short proof verifies", i, size)
			}
			if VerifyInclusion(ls[i], i, size, append(p, roots[size]), roots[size]) == nil {
				t.Fatalf("inclusion of %d in %d: long proof verifies", i, size)
			}
			if size > 1 && VerifyInclusion(ls[i], (i+1)%size, size, p, roots[size]) == nil {
				t.Fatalf("inclusion of %d in %d verifies at index %d", i, size, (i+1)%size)
			}
		}
		for old := uint64(0); old <= size; old++ {
			p, err := tr.ConsistencyProof(old, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyConsistency(old, size, roots[old], roots[size], p); err != nil {
				t.Fatalf("consistency %d -> %d: %v", old, size, err)
			}
			if old > 0 && old < size {
				if err := sumtlog.CheckTree(toSum(p), int64(size), roots[size], int64(old), roots[old]); err != nil {
					t.Fatalf("sumdb rejects our consistency proof %d -> %d: %v", old, size, err)
				}
				if VerifyConsistency(old, size, roots[old-1], roots[size], p) == nil {
					t.Fatalf("consistency %d -> %d verifies with the wrong old root", old, size)
				}
				for j := range p {
					q := append([]Hash(nil), p...)
					q[j][0] ^= 0x80
					if VerifyConsistency(old, size, roots[old], roots[size], q) == nil {
						t.Fatalf("consistency %d -> %d: proof with hash %d altered verifies", old, size, j)
					}
				}
			}
		}
	}
	if _, err := tr.InclusionProof(3, max+1); err == nil {
		t.Error("inclusion proof beyond the tree: no error")
	}
	if _, err := tr.ConsistencyProof(5, 4); err == nil {
		t.Error("consistency proof from a larger size: no error")
	}
}

func toSum(p []Hash) sumtlog.TreeProof {
	out := make(sumtlog.TreeProof, len(p))
	for i, h := range p {
		out[i] = h
	}
	return out
}

// TestFrontierAllocs: the writer appends a leaf per line; it must not allocate.
func TestFrontierAllocs(t *testing.T) {
	var f Frontier
	var lh LeafHasher
	line := []byte("an event line")
	lh.Sum(line)
	if n := testing.AllocsPerRun(1000, func() { f.Append(lh.Sum(line)); _ = f.Root() }); n != 0 {
		t.Errorf("LeafHasher.Sum + Frontier.Append + Root: %v allocations, want 0", n)
	}
}

func BenchmarkFrontierAppend(b *testing.B) {
	var f Frontier
	var h Hash
	for b.Loop() {
		f.Append(h)
	}
}

// TestLineHasher: any split of a stream into writes gives the tree of its
// lines, a torn tail as one more leaf, checked against a tree built line
// by line.
func TestLineHasher(t *testing.T) {
	stream := []byte("a\n\nbb\tcc\nlast without LF")
	for cut := 0; cut <= len(stream); cut++ {
		var l LineHasher
		l.Write(stream[:cut])
		l.Write(nil)
		for i := cut; i < len(stream); i++ { // the rest a byte at a time
			l.Write(stream[i : i+1])
		}
		want := NewTree()
		for _, line := range []string{"a", "", "bb\tcc", "last without LF"} {
			want.Append(LeafHash([]byte(line)))
		}
		if l.Root() != want.Root() || l.Lines() != 3 || !l.Torn() || l.Size() != 4 {
			t.Fatalf("cut %d: root %x lines %d torn %v, want %x 3 true", cut, l.Root(), l.Lines(), l.Torn(), want.Root())
		}
		l.Write([]byte("\n"))
		if l.Root() != want.Root() || l.Lines() != 4 || l.Torn() {
			t.Fatalf("cut %d: after the LF: root %x lines %d torn %v", cut, l.Root(), l.Lines(), l.Torn())
		}
	}
	var empty LineHasher
	if empty.Root() != EmptyRoot() || empty.Size() != 0 {
		t.Error("empty stream: root is not SHA-256 of nothing")
	}
}
