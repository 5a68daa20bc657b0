package seal

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/sealog/sealog/internal/sumdbref"
)

// linesRoot is the reference ROOT (golang.org/x/mod/sumdb/tlog) the
// records' sums are checked against.
var linesRoot = sumdbref.LinesRoot

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
