package rotate

import (
	"testing"

	"github.com/sealog/sealog/internal/sumdbref"
	"github.com/sealog/sealog/tlog"
)

// linesRoot is the reference ROOT (golang.org/x/mod/sumdb/tlog) the
// File's trees are checked against.
var linesRoot = sumdbref.LinesRoot

// testLines are the lines the WriteLines tests write (one empty), as
// bytes with their LFs and as the leaf hashes a caller would pass.
func testLines() (lines []string, data []byte, leaves []tlog.Hash) {
	lines = []string{"12\ta\tb", "", "x\ty", "last line"}
	for _, l := range lines {
		data = append(append(data, l...), '\n')
		leaves = append(leaves, tlog.LeafHash([]byte(l)))
	}
	return lines, data, leaves
}

// TestWriteLinesLeaves: lines written with leaf hashes made elsewhere give
// the same ROOT as lines the File hashes itself (checked against sumdb),
// also when the kernel takes a line in two parts (advance is what Write
// does with the bytes the kernel accepted).
func TestWriteLinesLeaves(t *testing.T) {
	lines, data, leaves := testLines()
	f, err := Create(t.TempDir(), "events", t0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, used, err := f.WriteLines(data, leaves)
	if err != nil || n != len(data) || used != len(lines) {
		t.Fatalf("WriteLines: n %d used %d err %v", n, used, err)
	}
	if f.Root() != linesRoot(data) || f.Lines() != int64(len(lines)) {
		t.Errorf("root %x lines %d, want %x %d", f.Root(), f.Lines(), linesRoot(data), len(lines))
	}
	for cut := 0; cut <= len(data); cut++ {
		for _, hashed := range []bool{false, true} {
			var g File
			var lv []tlog.Hash
			if hashed {
				lv = leaves
			}
			used := g.advance(data[:cut], lv)
			if cut < len(data) && g.Root() != linesRoot(data[:cut]) {
				t.Fatalf("cut %d (hashed %v): torn root %x, want %x", cut, hashed, g.Root(), linesRoot(data[:cut]))
			}
			if hashed {
				lv = leaves[used:]
			}
			g.advance(data[cut:], lv)
			if g.Root() != linesRoot(data) || g.lines != int64(len(lines)) {
				t.Fatalf("cut %d (hashed %v): root %x, want %x", cut, hashed, g.Root(), linesRoot(data))
			}
		}
	}
}

// TestWriteLinesWholeAfterTorn: WriteLines of the rest of a batch after a
// short write took part of a line (the retry in the server's flush) gives
// the root of all the lines, whether the rest is written whole (the path
// that only appends the leaves) or not.
func TestWriteLinesWholeAfterTorn(t *testing.T) {
	lines, data, leaves := testLines()
	for cut := 0; cut < len(data); cut++ {
		f, err := Create(t.TempDir(), "events", t0, false)
		if err != nil {
			t.Fatal(err)
		}
		// What a write(2) that took only cut bytes leaves behind.
		if _, err := f.f.Write(data[:cut]); err != nil {
			t.Fatal(err)
		}
		used := f.advance(data[:cut], leaves)
		f.size += int64(cut)
		n, used2, err := f.WriteLines(data[cut:], leaves[used:])
		if err != nil || n != len(data)-cut || used+used2 != len(lines) {
			t.Fatalf("cut %d: WriteLines n %d used %d+%d err %v", cut, n, used, used2, err)
		}
		if f.Root() != linesRoot(data) || f.Lines() != int64(len(lines)) || f.Size() != int64(len(data)) {
			t.Fatalf("cut %d: root %x lines %d size %d, want %x %d %d", cut, f.Root(), f.Lines(), f.Size(), linesRoot(data), len(lines), len(data))
		}
		f.Close()
	}
}
