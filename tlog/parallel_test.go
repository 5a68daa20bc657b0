package tlog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestParallelLineHasherSameTree: for streams of many line lengths
// (empty lines, lines longer than a write, a torn tail), written in
// pieces of random sizes, with 1 to 5 workers, the root at every write and
// at the end is LineHasher's, whose roots TestAgainstSumdb checks against
// golang.org/x/mod/sumdb/tlog.
func TestParallelLineHasherSameTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, maxLine := range []int{1, 40, 200, 3000, 200 << 10} {
		var stream []byte
		for len(stream) < 600<<10 {
			n := rng.IntN(maxLine)
			for range n {
				stream = append(stream, byte('a'+rng.IntN(26)))
			}
			stream = append(stream, '\n')
		}
		stream = append(stream, "torn tail"...)
		for workers := 1; workers <= 5; workers++ {
			t.Run(fmt.Sprintf("line%d/workers%d", maxLine, workers), func(t *testing.T) {
				var seq LineHasher
				par := NewParallelLineHasher(workers)
				rest := stream
				for len(rest) > 0 {
					n := min(len(rest), 1+rng.IntN(300<<10))
					seq.Write(rest[:n])
					par.Write(rest[:n])
					rest = rest[n:]
					if seq.Root() != par.Root() || seq.Size() != par.Size() || seq.Torn() != par.Torn() {
						t.Fatalf("after %d bytes: parallel root %x size %d, want %x size %d",
							len(stream)-len(rest), par.Root(), par.Size(), seq.Root(), seq.Size())
					}
				}
				if par.Lines() != uint64(bytes.Count(stream, []byte{'\n'})) || !par.Torn() {
					t.Errorf("lines %d torn %v", par.Lines(), par.Torn())
				}
			})
		}
	}
}

// TestAppendSubtree: a subtree's root appended at an aligned size gives
// the frontier of its leaves appended one by one; an unaligned one is
// refused.
func TestAppendSubtree(t *testing.T) {
	leaf := func(i int) Hash { return LeafHash([]byte(fmt.Sprint(i))) }
	for _, start := range []int{0, 4, 8, 12, 16, 24} {
		for h := uint(0); h <= 2; h++ {
			if start%(1<<h) != 0 {
				continue
			}
			var one, sub Frontier
			for i := range start {
				one.Append(leaf(i))
				sub.Append(leaf(i))
			}
			var s Frontier
			for i := start; i < start+1<<h; i++ {
				one.Append(leaf(i))
				s.Append(leaf(i))
			}
			sub.AppendSubtree(s.Root(), h)
			if sub.Root() != one.Root() || sub.Size() != one.Size() {
				t.Errorf("start %d height %d: root %x, want %x", start, h, sub.Root(), one.Root())
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("AppendSubtree of height 1 at size 3 did not panic")
		}
	}()
	var f Frontier
	for i := range 3 {
		f.Append(leaf(i))
	}
	f.AppendSubtree(leaf(9), 1)
}
