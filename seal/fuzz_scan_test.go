package seal

import (
	"bytes"
	"testing"

	"github.com/sealog/sealog/writer"
)

// fuzzScanBufs are shared by every fuzz input: the chunks are 1 MiB each.
var fuzzScanBufs = newScanBuffers()

// FuzzScan feeds verify's file reader (scan and its lineChecker, the part
// of `sealog verify` that reads the log files, docs/format.md §4) arbitrary bytes.
// It checks the reader against a direct computation: the ROOT, LF
// count and "ends in LF" of the prefix at a target offset, the bytes
// read, and — with the stream cut into two chunks anywhere — the same
// line problems (line number, end offset) as checking every complete line
// with writer.CheckLine. The part after the last LF is never checked.
func FuzzScan(f *testing.F) {
	f.Add([]byte(sampleLine), uint16(10), uint16(5), false)
	f.Add([]byte("3\tabc\n"+"x\ty\n"+"4\tab\tc\n"+"torn"), uint16(7), uint16(6), true)
	f.Add([]byte("\n\n5\tabcd\n"), uint16(1), uint16(1), true)
	f.Add([]byte("12\tab\tcd\tef\tgh\n\x00\t\n"), uint16(3), uint16(100), false)
	f.Fuzz(func(t *testing.T, data []byte, cut, off uint16, security bool) {
		columns := writer.SealColumns
		if security {
			columns = writer.SecurityColumns
		}
		o := min(int64(off), int64(len(data)))
		targets := []target{{off: o}}
		res := scan(bytes.NewReader(data), int64(len(data)), targets, columns, fuzzScanBufs, nil)
		if res.err != nil || res.n != int64(len(data)) {
			t.Fatalf("scan: got n=%d err=%v, want %d bytes and no error", res.n, res.err, len(data))
		}
		tg := targets[0]
		if !tg.reached || tg.sum != linesRoot(data[:o]) || tg.lines != int64(bytes.Count(data[:o], []byte{'\n'})) ||
			tg.endsLF != (o == 0 || data[o-1] == '\n') {
			t.Fatalf("target %d: got reached=%v lines=%d endsLF=%v sum=%x", o, tg.reached, tg.lines, tg.endsLF, tg.sum)
		}

		// Reference: every complete line, checked on its own.
		var want []lineProblem
		count := 0
		var line, end int64
		for rest := data; ; {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			line++
			end += int64(i) + 1
			if err := writer.CheckLine(rest[:i], columns); err != nil {
				count++
				if len(want) < maxLineProblems {
					want = append(want, lineProblem{line: line, end: end})
				}
			}
			rest = rest[i+1:]
		}
		c := int(cut) % (len(data) + 1)
		for name, chunks := range map[string][][]byte{
			"scan":      nil, // what scan's own checker found
			"two parts": {data[:c], data[c:]},
		} {
			got := res.lineProblems
			gotCount := res.lineProblemCount
			if chunks != nil {
				lc := &lineChecker{columns: columns}
				for _, ch := range chunks {
					lc.feed(ch)
				}
				got, gotCount = lc.problems, lc.count
			}
			if gotCount != count || len(got) != len(want) {
				t.Fatalf("%s: got %d problems (%d kept), want %d (%d kept)", name, gotCount, len(got), count, len(want))
			}
			for i := range want {
				if got[i].line != want[i].line || got[i].end != want[i].end || got[i].err == nil {
					t.Fatalf("%s: problem %d: got line %d end %d err %v, want line %d end %d", name, i,
						got[i].line, got[i].end, got[i].err, want[i].line, want[i].end)
				}
			}
		}
	})
}
