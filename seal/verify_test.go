package seal

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestVerifyIntact(t *testing.T) {
	d := newLogDir(t)
	d.standard()
	res, report := d.verify(nil)
	mustPass(t, res, report)
	seq, mac := d.c.Head()
	if res.Seq != 10 || res.Seq != seq || res.MAC != mac {
		t.Fatalf("got head %s, want %s", FormatHead(res.Seq, res.MAC), FormatHead(seq, mac))
	}
	lines := strings.Split(strings.TrimSuffix(report, "\n"), "\n")
	want := []string{
		ev2 + ": torn last line (recovered)",
		ev3 + ": unsealed tail: ",
		sec2 + ": unsealed tail: ",
		"verified " + d.dir,
		"  files:  5",
		"  lines:  135 ",
		"  seals:  10 (SEQ 1 to 10)",
		"  checks: MACs with the verify key, ",
		"chain head " + FormatHead(seq, mac),
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d report lines, want %d:\n%s", len(lines), len(want), report)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: got %q, want prefix %q", i+1, lines[i], w)
		}
	}
}

func TestVerifyEmptyChain(t *testing.T) {
	d := newLogDir(t)
	d.write(ev1, 3) // freshly opened active file, no checkpoint yet
	res, report := d.verify(nil)
	mustPass(t, res, report)
	mustContain(t, report, ev1+": unsealed tail: ")
	mustContain(t, report, "chain head 0:"+strings.Repeat("0", 64))
}

// TestVerifyTamper: one case per kind of tampering of docs/format.md §4 and the
// brief; each must fail and name the file, seal and problem.
func TestVerifyTamper(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(d *logDir)
		want   []string
	}{
		{"changed byte", func(d *logDir) {
			b := readFile(t, d.path(ev1))
			i := bytes.Index(b, []byte("message number"))
			b[i] = 'M' // still printable, same length: only the hash shows it
			writeFile(t, d.path(ev1), b)
		}, []string{ev1, "seal 1:", "ROOT of the first"}},
		{"changed byte in final range only", func(d *logDir) {
			b := readFile(t, d.path(ev1))
			b[len(b)-3] = 'X'
			writeFile(t, d.path(ev1), b)
		}, []string{ev1, "seal 3:", "content changed"}},
		{"truncated file", func(d *logDir) {
			if err := os.Truncate(d.path(ev1), 100); err != nil {
				t.Fatal(err)
			}
		}, []string{ev1, "seal 1:", "file is truncated: 100 bytes"}},
		{"truncated to a checkpoint", func(d *logDir) {
			b := readFile(t, d.path(ev1))
			writeFile(t, d.path(ev1), b[:len(b)-1])
		}, []string{ev1, "seal 3:", "truncated"}},
		{"appended after final", func(d *logDir) {
			d.write(ev1, 1)
		}, []string{ev1, "seal 3:", "appended after the final seal"}},
		{"appended after recovered", func(d *logDir) {
			d.appendRaw(ev2, []byte("x"))
		}, []string{ev2, "seal 6:", "1 bytes appended after the recovered seal"}},
		{"appended to a final security file", func(d *logDir) {
			d.write(sec1, 1)
		}, []string{sec1, "seal 4:", "appended"}},
		{"deleted file", func(d *logDir) {
			rm(t, d.path(ev1))
		}, []string{ev1, "seal 3:", "file is missing"}},
		{"deleted active file", func(d *logDir) {
			rm(t, d.path(ev3))
		}, []string{ev3, "seal 9:", "file is missing"}},
		{"renamed file (old name)", func(d *logDir) {
			mv(t, d.path(ev1), d.path("events-20261122T101501.000Z.log"))
		}, []string{ev1, "seal 3:", "missing"}},
		{"renamed file (new name)", func(d *logDir) {
			mv(t, d.path(ev1), d.path("events-20261122T101501.000Z.log"))
		}, []string{"events-20261122T101501.000Z.log: not in the seal chain"}},
		{"unsealed old file", func(d *logDir) {
			d.write("events-20261122T090000.000Z.log", 2)
		}, []string{"events-20261122T090000.000Z.log: not in the seal chain"}},
		{"deleted seal line", func(d *logDir) {
			d.rewriteSeals(func(l []string) []string { return append(l[:4:4], l[5:]...) })
		}, []string{"seals.log: line 5: seal 6:", "SEQ gap: seal 5 missing", "PREV"}},
		{"deleted first seal line", func(d *logDir) {
			d.rewriteSeals(func(l []string) []string { return l[1:] })
		}, []string{"seals.log: line 1: seal 2:", "SEQ gap"}},
		{"altered seal line", func(d *logDir) {
			d.rewriteSeals(func(l []string) []string {
				l[1] = strings.Replace(l[1], "2026-11-22T10:15", "2026-11-22T10:16", 1)
				return l
			})
		}, []string{"seals.log: line 2: seal 2:", "MAC mismatch"}},
		{"altered BYTES to hide an append", func(d *logDir) {
			d.write(ev1, 1)
			size := int64(len(readFile(t, d.path(ev1))))
			d.rewriteSeals(func(l []string) []string {
				l[2] = relen(setCol(l[2], 6, itoa(size)))
				return l
			})
		}, []string{"seals.log: line 3: seal 3:", "MAC mismatch"}},
		{"inserted seal line", func(d *logDir) {
			d.rewriteSeals(func(l []string) []string {
				return append(l[:3:3], append([]string{l[1]}, l[3:]...)...)
			})
		}, []string{"seals.log: line 4: seal 2:", "SEQ out of order: want 4"}},
		{"reordered seal lines", func(d *logDir) {
			d.rewriteSeals(func(l []string) []string { l[3], l[4] = l[4], l[3]; return l })
		}, []string{"seals.log: line 4: seal 5:", "SEQ gap"}},
		{"seal line with bad LEN", func(d *logDir) {
			d.rewriteSeals(func(l []string) []string { l[1] = "9" + l[1]; return l })
		}, []string{"seals.log: line 2:", "LEN says"}},
		{"seal line with a wrong column count", func(d *logDir) {
			d.rewriteSeals(func(l []string) []string { l[1] = relen(l[1] + "\textra"); return l })
		}, []string{"seals.log: line 2:", "columns"}},
		{"torn seal line", func(d *logDir) {
			b := readFile(t, d.path(SealsName))
			writeFile(t, d.path(SealsName), b[:len(b)-10])
		}, []string{"seals.log: line 10: torn last line"}},
		{"seals.log deleted", func(d *logDir) {
			rm(t, d.path(SealsName))
		}, []string{"seals.log: missing"}},
		{"seal forged with another key", func(d *logDir) {
			other := newLogDir(t)
			other.write(ev1, 1)
			r := other.seal(KindCheckpoint, ev1)
			r.Seq, r.Prev = 11, d.headMAC()
			d.rewriteSeals(func(l []string) []string {
				return append(l, strings.TrimSuffix(string(appendLine(nil, &r)), "\n"))
			})
		}, []string{"seals.log: line 11: seal 11:", "MAC mismatch"}},
		{"seal with a forged huge SEQ", func(d *logDir) {
			d.rewriteSeals(func(l []string) []string {
				return append(l, relen(setCol(l[9], 3, "9000000000000000000")))
			})
		}, []string{"seals.log: line 11: seal 9000000000000000000:", "SEQ gap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newLogDir(t)
			d.standard()
			d.close()
			tt.tamper(d)
			res, report := d.verify(nil)
			mustFail(t, res, report, tt.want...)
		})
	}
}

// TestVerifyBadSeals: seals the server could make only by mistake or
// with a stolen current key; verify must still refuse them.
func TestVerifyBadSeals(t *testing.T) {
	tests := []struct {
		name  string
		build func(d *logDir)
		want  []string
	}{
		{"two final seals", func(d *logDir) {
			d.write(ev1, 3)
			d.seal(KindFinal, ev1)
			d.seal(KindFinal, ev1)
		}, []string{ev1, "seal 2:", "second final seal (seal 1 was final)"}},
		{"recovered after final", func(d *logDir) {
			d.write(ev1, 3)
			d.seal(KindFinal, ev1)
			d.seal(KindRecovered, ev1)
		}, []string{ev1, "seal 2:", "second recovered seal"}},
		{"checkpoint after final", func(d *logDir) {
			d.write(ev1, 3)
			d.seal(KindFinal, ev1)
			d.seal(KindCheckpoint, ev1)
		}, []string{ev1, "seal 2:", "checkpoint after final seal 1"}},
		{"checkpoint shrinks", func(d *logDir) {
			d.write(ev1, 3)
			d.seal(KindCheckpoint, ev1)
			b := readFile(t, d.path(ev1))
			k := bytes.IndexByte(b, '\n') + 1
			d.sealRaw(KindCheckpoint, ev1, int64(k), 1, linesRoot(b[:k]))
		}, []string{ev1, "seal 2:", "range shrinks"}},
		{"checkpoint SHA differs", func(d *logDir) {
			d.write(ev1, 3)
			b := readFile(t, d.path(ev1))
			d.sealRaw(KindCheckpoint, ev1, int64(len(b)), 3, linesRoot([]byte("something else")))
		}, []string{ev1, "seal 1:", "ROOT"}},
		{"LINES wrong", func(d *logDir) {
			d.write(ev1, 3)
			b := readFile(t, d.path(ev1))
			d.sealRaw(KindFinal, ev1, int64(len(b)), 2, linesRoot(b))
		}, []string{ev1, "seal 1:", "LINES says 2, the sealed range has 3"}},
		{"final ends inside a line", func(d *logDir) {
			d.write(ev1, 3)
			d.appendRaw(ev1, []byte("12\tabc"))
			d.seal(KindFinal, ev1)
		}, []string{ev1, "seal 1:", "final seal ends inside a line"}},
		{"old file without final seal", func(d *logDir) {
			d.write(ev1, 3)
			d.seal(KindCheckpoint, ev1)
			d.write(ev2, 3)
			d.seal(KindCheckpoint, ev2)
		}, []string{ev1, "seal 1:", "no final seal, yet a newer file"}},
		{"wrong column count", func(d *logDir) {
			d.write(ev1, 3)
			d.appendRaw(ev1, appendTestLine(nil, 14, 99))
			d.write(ev1, 2)
			d.seal(KindFinal, ev1)
		}, []string{ev1, "seal 1:", "line 4:", "14 columns, want 15"}},
		{"security line with event columns", func(d *logDir) {
			d.write(sec1, 2)
			d.appendRaw(sec1, appendTestLine(nil, 15, 99))
			d.seal(KindCheckpoint, sec1)
		}, []string{sec1, "seal 1:", "line 3:", "15 columns, want 9"}},
		{"bad LEN", func(d *logDir) {
			d.write(ev1, 3)
			l := appendTestLine(nil, 15, 99)
			l[0]++
			d.appendRaw(ev1, l)
			d.seal(KindCheckpoint, ev1)
			d.write(ev1, 1)
			d.seal(KindCheckpoint, ev1)
		}, []string{ev1, "seal 1:", "line 4:", "LEN says"}},
		{"non-ASCII byte, line in second checkpoint", func(d *logDir) {
			d.write(ev1, 3)
			d.seal(KindCheckpoint, ev1)
			l := appendTestLine(nil, 15, 99)
			l[len(l)-5] = 0xE2
			d.appendRaw(ev1, l)
			d.seal(KindCheckpoint, ev1)
		}, []string{ev1, "seal 2:", "line 4:", "0xE2", "not printable ASCII"}},
		{"raw LF inside a column", func(d *logDir) {
			l := appendTestLine(nil, 15, 99)
			l[len(l)-10] = '\n' // splits the line in two broken ones
			d.appendRaw(ev1, l)
			d.seal(KindFinal, ev1)
		}, []string{ev1, "seal 1:", "line 1:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newLogDir(t)
			tt.build(d)
			d.close()
			res, report := d.verify(nil)
			mustFail(t, res, report, tt.want...)
		})
	}
}

func TestVerifyManyBadLinesCapped(t *testing.T) {
	d := newLogDir(t)
	var b []byte
	for i := range 25 {
		b = appendTestLine(b, 14, i)
	}
	d.appendRaw(ev1, b)
	d.seal(KindFinal, ev1)
	res, report := d.verify(nil)
	mustFail(t, res, report, ev1, "15 more lines break the format")
	if res.Problems != maxLineProblems+1 {
		t.Fatalf("got %d problems, want %d:\n%s", res.Problems, maxLineProblems+1, report)
	}
}

// TestVerifyLongLines: lines longer than a scan chunk are assembled
// across chunks and checked like any other.
func TestVerifyLongLines(t *testing.T) {
	for _, bad := range []bool{false, true} {
		d := newLogDir(t)
		var b []byte
		for i := range 3 {
			msg := bytes.Repeat([]byte("a"), scanChunk+scanChunk/3*i)
			if bad && i == 2 {
				msg[len(msg)/2] = 0x01
			}
			body := append([]byte("2026-11-22T10:15:00.123456Z\tid\tp\ta\tt\tf\tp\tt\th\ta\tp\tm\ts\t"), msg...)
			b = append(b, itoa(int64(len(body)))...)
			b = append(b, '\t')
			b = append(append(b, body...), '\n')
		}
		d.appendRaw(ev1, b)
		d.seal(KindCheckpoint, ev1)
		d.write(ev1, 1)
		d.seal(KindFinal, ev1)
		res, report := d.verify(nil)
		if bad {
			mustFail(t, res, report, ev1, "seal 1:", "line 3:", "0x01")
		} else {
			mustPass(t, res, report)
		}
	}
}

func TestVerifyHead(t *testing.T) {
	d := newLogDir(t)
	d.standard()
	seq, mac := d.c.Head()
	d.close()
	oldSeq, oldMAC := uint64(7), d.macOf(7)

	t.Run("match", func(t *testing.T) {
		res, report := d.verify(&Head{Seq: seq, MAC: mac})
		mustPass(t, res, report)
	})
	t.Run("older head still in the chain", func(t *testing.T) {
		res, report := d.verify(&Head{Seq: oldSeq, MAC: oldMAC})
		mustPass(t, res, report)
	})
	t.Run("empty head", func(t *testing.T) {
		res, report := d.verify(&Head{})
		mustPass(t, res, report)
	})
	t.Run("mismatch", func(t *testing.T) {
		bad := mac
		bad[0] ^= 1
		res, report := d.verify(&Head{Seq: seq, MAC: bad})
		mustFail(t, res, report, "seals.log: seal 10:", "MAC differs from the recorded head")
	})
	t.Run("beyond the chain", func(t *testing.T) {
		res, report := d.verify(&Head{Seq: seq + 1, MAC: mac})
		mustFail(t, res, report, "seals.log: seal 11:", "chain ends at seal 10")
	})
	// docs/format.md §4: the newest seals and files can be removed together without
	// a trace inside the directory; only a head kept elsewhere shows it.
	t.Run("newest seals and files removed", func(t *testing.T) {
		d.rewriteSeals(func(l []string) []string { return l[:7] })
		rm(t, d.path(ev3))
		res, report := d.verify(nil)
		mustPass(t, res, report)
		res, report = d.verify(&Head{Seq: seq, MAC: mac})
		mustFail(t, res, report, "seals.log: seal 10:", "chain ends at seal 7, before the recorded head")
	})
}

func TestVerifyUnreadableDir(t *testing.T) {
	_, err := Verify(t.TempDir()+"/nope", VerifyOptions{}, new(bytes.Buffer))
	if err == nil {
		t.Fatal("got nil error for a missing directory, want one")
	}
}

func TestVerifyIgnoresOtherFiles(t *testing.T) {
	d := newLogDir(t)
	d.standard()
	writeFile(t, d.path("README"), []byte("hello"))
	writeFile(t, d.path("events-latest.log"), []byte("x"))
	res, report := d.verify(nil)
	mustPass(t, res, report)
}

func TestVerifySymlinkNotFollowed(t *testing.T) {
	d := newLogDir(t)
	d.standard()
	b := readFile(t, d.path(ev1))
	writeFile(t, d.path("copy"), b)
	rm(t, d.path(ev1))
	if err := os.Symlink("copy", d.path(ev1)); err != nil {
		t.Skip(err)
	}
	res, report := d.verify(nil)
	mustFail(t, res, report, ev1, "seal 3:")
}

// sealRaw seals with the counts and sum given, as a faulty server would.
func (d *logDir) sealRaw(kind Kind, name string, n, lines int64, sum [32]byte) {
	d.t.Helper()
	if _, err := d.c.Seal(kind, name, n, lines, sum); err != nil {
		d.t.Fatal(err)
	}
}

func (d *logDir) headMAC() [32]byte {
	_, mac := d.c.Head()
	return mac
}

// macOf returns the MAC of seal seq from seals.log.
func (d *logDir) macOf(seq uint64) [32]byte {
	d.t.Helper()
	for _, l := range strings.Split(strings.TrimSuffix(string(readFile(d.t, d.path(SealsName))), "\n"), "\n") {
		r, _, err := parseLine([]byte(l))
		if err != nil {
			d.t.Fatal(err)
		}
		if r.Seq == seq {
			return r.MAC
		}
	}
	d.t.Fatalf("no seal %d", seq)
	return [32]byte{}
}

// setCol replaces column i (1-based) of a TAB-separated line.
func setCol(line string, i int, v string) string {
	c := strings.Split(line, "\t")
	c[i-1] = v
	return strings.Join(c, "\t")
}

// relen recomputes the LEN column of a line.
func relen(line string) string {
	_, rest, _ := strings.Cut(line, "\t")
	return itoa(int64(len(rest))) + "\t" + rest
}

func itoa(n int64) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int64) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func rm(t testing.TB, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func mv(t testing.TB, a, b string) {
	t.Helper()
	if err := os.Rename(a, b); err != nil {
		t.Fatal(err)
	}
}
