package seal

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// linesRoot is the ROOT of docs/format.md §4 for b, computed with
// golang.org/x/mod/sumdb/tlog (code other than ours): each line without
// its LF is a leaf, a last line without LF one more.
func linesRoot(b []byte) [32]byte {
	var stored []sumtlog.Hash
	r := sumtlog.HashReaderFunc(func(idx []int64) ([]sumtlog.Hash, error) {
		out := make([]sumtlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	lines := bytes.SplitAfter(b, []byte("\n"))
	var n int64
	for _, l := range lines {
		if len(l) == 0 {
			continue // SplitAfter's empty last piece after a final LF
		}
		hs, _ := sumtlog.StoredHashes(n, bytes.TrimSuffix(l, []byte("\n")), r)
		stored = append(stored, hs...)
		n++
	}
	h, _ := sumtlog.TreeHash(n, r)
	return h
}

// TestVerifyParallelRoot: files of many 1 MiB chunks, whose trees verify
// hashes on several goroutines, verify; a line changed deep inside one
// (one byte, same length) is a ROOT mismatch, with any number of hashers.
func TestVerifyParallelRoot(t *testing.T) {
	d := newLogDir(t)
	paths := genDir(t, d, 12<<20, 4<<20)
	d.close()
	for _, workers := range []int{1, 2, 3} {
		contentWorkers = workers
		res, err := Verify(d.dir, VerifyOptions{Key: testVerifyKey(t, d.k1)}, io.Discard)
		if err != nil || !res.OK || res.Files < 2 {
			t.Fatalf("%d hashers: got %+v %v, want OK over the files", workers, res, err)
		}
	}
	contentWorkers = 0
	f, err := os.OpenFile(paths[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(3<<20 + 12345)
	b := make([]byte, 1)
	f.ReadAt(b, off)
	if b[0] == '\n' || b[0] == '\t' {
		off++
		f.ReadAt(b, off)
	}
	b[0] ^= 0x20 // a letter's case, or a digit into another byte: same length
	f.WriteAt(b, off)
	f.Close()
	for _, workers := range []int{1, 0} {
		contentWorkers = workers
		var out strings.Builder
		res, _ := Verify(d.dir, VerifyOptions{Key: testVerifyKey(t, d.k1)}, &out)
		if res.OK || !strings.Contains(out.String(), "ROOT") {
			t.Errorf("%d hashers: one byte changed at %d: got %+v\n%s", workers, off, res, out.String())
		}
	}
	contentWorkers = 0
}
