package seal

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// sealsLogCases is the one table of seals.log contents that the server's
// start-up (OpenChain) and verify must judge alike, since both read the
// file through readSeals. Each edits the lines of a chain of 10 seals
// (without LFs); noLF drops the file's last LF. The only difference
// allowed is a fragment at the very end: start-up ends it and seals on,
// verify fails it until a seal continues the chain after it.
var sealsLogCases = []struct {
	name     string
	edit     func(l []string) []string
	noLF     bool
	start    bool // OpenChain accepts it
	verifyOK bool // verify finds no problem in seals.log
}{
	{"intact", func(l []string) []string { return l }, false, true, true},
	{"fragment of the next seal between two seals", func(l []string) []string {
		return insert(l, 5, l[5][:40])
	}, false, true, true},
	{"fragment holding SEQ, KIND and part of FILE", func(l []string) []string {
		c := strings.SplitN(l[5], "\t", 6)
		return insert(l, 5, strings.Join(c[:5], "\t")[:len(strings.Join(c[:5], "\t"))-7])
	}, false, true, true},
	{"fragment with the wrong SEQ", func(l []string) []string {
		return insert(l, 5, setCol(l[5], 3, "99")[:45])
	}, false, false, false},
	{"fragment of an earlier seal", func(l []string) []string { return insert(l, 5, l[2][:60]) }, false, false, false},
	{"two fragments in a row", func(l []string) []string {
		return insert(insert(l, 5, l[5][:30]), 5, l[5][:50])
	}, false, false, false},
	{"fragment, then a seal that skips", func(l []string) []string {
		return append(l[:5:5], append([]string{l[5][:40]}, l[6:]...)...)
	}, false, false, false},
	{"empty line", func(l []string) []string { return insert(l, 3, "") }, false, false, false},
	{"junk line", func(l []string) []string { return insert(l, 3, "hello") }, false, false, false},
	{"seal line with LEN-1", func(l []string) []string {
		n, _ := strconv.Atoi(strings.SplitN(l[3], "\t", 2)[0])
		return insert(l, 3, setCol(l[3], 1, strconv.Itoa(n-1)))
	}, false, false, false},
	{"line longer than a seal can be", func(l []string) []string {
		return insert(l, 3, strings.Repeat("1", maxSealLine+10))
	}, false, false, false},
	{"reordered seals", func(l []string) []string { l[3], l[4] = l[4], l[3]; return l }, false, false, false},
	{"whole last seal without its LF", func(l []string) []string { return l }, true, true, true},
	{"fragment at the end, no LF (a crash)", func(l []string) []string {
		return append(l, strings.Join(strings.SplitN(l[9], "\t", 4)[:2], "\t")+"\t11\tch")
	}, true, true, false},
	{"fragment at the end, ended by a start", func(l []string) []string {
		return append(l, strings.Join(strings.SplitN(l[9], "\t", 4)[:2], "\t")+"\t11\tch")
	}, false, true, false},
}

func insert(l []string, i int, s string) []string {
	return append(l[:i:i], append([]string{s}, l[i:]...)...)
}

func TestSealsLogTable(t *testing.T) {
	for _, tt := range sealsLogCases {
		t.Run(tt.name, func(t *testing.T) {
			d := newLogDir(t)
			d.standard()
			d.close()
			d.rewriteSeals(tt.edit)
			if tt.noLF {
				b := readFile(t, d.path(SealsName))
				writeFile(t, d.path(SealsName), b[:len(b)-1])
			}
			// verify first: OpenChain ends a torn last line.
			_, report := d.verify(nil)
			chainProblems := 0
			for _, l := range strings.Split(report, "\n") {
				note := strings.Contains(l, "the chain continues") || strings.Contains(l, "lacks its LF (a crash")
				if strings.HasPrefix(l, SealsName+": ") && !note {
					chainProblems++
				}
			}
			if gotOK := chainProblems == 0; gotOK != tt.verifyOK {
				t.Errorf("verify: got seals.log OK=%v, want %v:\n%s", gotOK, tt.verifyOK, report)
			}
			c, err := OpenChain(d.dir, d.keyPath, ChainOptions{})
			if gotOK := err == nil; gotOK != tt.start {
				t.Errorf("start-up: got accepted=%v (%v), want %v", gotOK, err, tt.start)
			}
			if err == nil {
				c.Close()
			} else if !errors.Is(err, ErrChain) && !errors.Is(err, ErrKeyState) {
				t.Errorf("start-up: got %v, want ErrChain or ErrKeyState", err)
			}
		})
	}
}

// FuzzReadSeals feeds the one seals.log reader arbitrary files (seeded
// with a real chain and the table's edits of it). It must not panic, must
// visit every line exactly once in order, classify each line the same
// whether it arrives in one read or byte by byte, accept as a seal only
// canonical lines (appendLine gives the line back), and accept a fragment
// between seals only when the next seal continues the chain.
func FuzzReadSeals(f *testing.F) {
	d := newLogDir(f)
	d.standard()
	d.close()
	base := readFile(f, d.path(SealsName))
	f.Add(base)
	lines := strings.Split(strings.TrimSuffix(string(base), "\n"), "\n")
	for _, tt := range sealsLogCases {
		out := strings.Join(tt.edit(append([]string(nil), lines...)), "\n") + "\n"
		if tt.noLF {
			out = out[:len(out)-1]
		}
		f.Add([]byte(out))
	}
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("280\t2026"))
	f.Fuzz(func(t *testing.T, data []byte) {
		type seen struct {
			kind   entryKind
			line   int
			linked bool
			atEnd  bool
		}
		collect := func(r interface{ Read([]byte) (int, error) }) []seen {
			var out []seen
			err := readSeals(r, func(e *sealEntry) error {
				if e.kind == entrySeal {
					if got := appendLine(nil, &e.rec); string(got[:len(got)-1]) != string(e.raw) {
						t.Fatalf("line %d accepted as a seal but is not canonical: %q", e.line, e.raw)
					}
				}
				out = append(out, seen{e.kind, e.line, e.linked, e.atEnd})
				return nil
			})
			if err != nil {
				t.Fatalf("read error from memory: %v", err)
			}
			return out
		}
		whole := collect(bytes.NewReader(data))
		bytewise := collect(iotest.OneByteReader(bytes.NewReader(data)))
		if len(whole) != len(bytewise) {
			t.Fatalf("got %d entries whole, %d byte by byte", len(whole), len(bytewise))
		}
		for i := range whole {
			if whole[i] != bytewise[i] {
				t.Fatalf("entry %d: got %+v whole, %+v byte by byte", i, whole[i], bytewise[i])
			}
			if whole[i].line != i+1 {
				t.Fatalf("entry %d is line %d, want %d (each line once, in order)", i, whole[i].line, i+1)
			}
			if whole[i].kind == entryFragment && !whole[i].atEnd {
				if i+1 >= len(whole) || whole[i+1].kind != entrySeal || !whole[i+1].linked {
					t.Fatalf("fragment on line %d accepted without a linked seal after it", i+1)
				}
			}
		}
		if want := bytes.Count(data, []byte{'\n'}); len(data) > 0 && data[len(data)-1] != '\n' {
			want++
			if len(whole) != want {
				t.Fatalf("got %d entries, want %d lines", len(whole), want)
			}
		} else if len(whole) != want {
			t.Fatalf("got %d entries, want %d lines", len(whole), want)
		}
	})
}
