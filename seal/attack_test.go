package seal

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Attacks on verify by an intruder with root on the log host, as an
// auditor would meet them after an incident (docs/format.md §4). Every
// case was reproduced against the verifier before it read seals.log
// through readSeals and refused non-regular files: each passed or hung
// there.

// stoppedDir builds a directory left by a graceful stop: both streams'
// files final-sealed, the security file ending in `stop` and the `seal`
// event of the events file's final seal.
func stoppedDir(t *testing.T) *logDir {
	d := newLogDir(t)
	d.write(ev1, 40)
	d.write(sec1, 2)
	d.seal(KindCheckpoint, ev1)
	d.seal(KindCheckpoint, sec1)
	d.write(ev1, 10)
	d.appendRaw(sec1, securityLine("stop"))
	d.seal(KindFinal, ev1)
	d.appendRaw(sec1, securityLine("seal"))
	d.seal(KindFinal, sec1)
	d.close()
	return d
}

// securityLine is a well-formed security line with the given ACTION.
func securityLine(action string) []byte {
	body := "2026-11-22T10:20:00.000000Z\thost1-99\t-\t-\t-\t" + action + "\tsuccess\t{}"
	return []byte(strconv.Itoa(len(body)) + "\t" + body + "\n")
}

// sealLines returns seals.log's lines without their LF.
func (d *logDir) sealLines() []string {
	return strings.Split(strings.TrimSuffix(string(readFile(d.t, d.path(SealsName))), "\n"), "\n")
}

func TestVerifyAttacks(t *testing.T) {
	tests := []struct {
		name   string
		root   bool // needs root (mknod)
		attack func(t *testing.T, d *logDir)
		want   []string
	}{
		{"90 junk lines between seals", false, func(t *testing.T, d *logDir) {
			d.rewriteSeals(func(l []string) []string {
				junk := make([]string, 90)
				for i := range junk {
					junk[i] = "interrupted? " + strconv.Itoa(i)
				}
				return append(append(append([]string{}, l[:3]...), junk...), l[3:]...)
			})
		}, []string{"seals.log: line 4:", "not a seal line"}},
		{"a line naming FILE=../../etc/passwd", false, func(t *testing.T, d *logDir) {
			d.rewriteSeals(func(l []string) []string {
				bad := relen(setCol(l[4], 5, "../../etc/passwd"))
				return append(append(append([]string{}, l[:4]...), bad), l[4:]...)
			})
		}, []string{"seals.log: line 5:", "not a seal line"}},
		{"copy of the next seal line with LEN-1", false, func(t *testing.T, d *logDir) {
			d.rewriteSeals(func(l []string) []string {
				n, _ := strconv.Atoi(strings.SplitN(l[4], "\t", 2)[0])
				bad := setCol(l[4], 1, strconv.Itoa(n-1))
				return append(append(append([]string{}, l[:4]...), bad), l[4:]...)
			})
		}, []string{"seals.log: line 5:", "not a seal line"}},
		{"prefix of an earlier seal line between seals", false, func(t *testing.T, d *logDir) {
			d.rewriteSeals(func(l []string) []string {
				return append(append(append([]string{}, l[:6]...), l[2][:60]), l[6:]...)
			})
		}, []string{"seals.log: line 7:", "not a seal line"}},
		{"two fragments of the next seal in a row", false, func(t *testing.T, d *logDir) {
			d.rewriteSeals(func(l []string) []string {
				return append(append(append([]string{}, l[:6]...), l[6][:50], l[6][:70]), l[6:]...)
			})
		}, []string{"seals.log: line 7:", "not a seal line"}},
		{"sealed file replaced by a FIFO", false, func(t *testing.T, d *logDir) {
			rm(t, d.path(ev1))
			if err := syscall.Mkfifo(d.path(ev1), 0o640); err != nil {
				t.Skip(err)
			}
		}, []string{ev1, "seal 3:", "not a regular file (a FIFO)"}},
		{"seals.log replaced by a FIFO", false, func(t *testing.T, d *logDir) {
			rm(t, d.path(SealsName))
			if err := syscall.Mkfifo(d.path(SealsName), 0o640); err != nil {
				t.Skip(err)
			}
		}, []string{"seals.log:", "not a regular file (a FIFO)"}},
		{"seals.log replaced by /dev/zero's device", true, func(t *testing.T, d *logDir) {
			rm(t, d.path(SealsName))
			if err := syscall.Mknod(d.path(SealsName), syscall.S_IFCHR|0o640, 1<<8|5); err != nil {
				t.Skipf("mknod needs root: %v", err)
			}
		}, []string{"seals.log:", "not a regular file (a device)"}},
		{"seals.log a symlink to /dev/zero", false, func(t *testing.T, d *logDir) {
			rm(t, d.path(SealsName))
			if err := os.Symlink("/dev/zero", d.path(SealsName)); err != nil {
				t.Skip(err)
			}
		}, []string{"seals.log:", "not a regular file (a symlink)"}},
		{"sealed file a symlink to a FIFO", false, func(t *testing.T, d *logDir) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o640); err != nil {
				t.Skip(err)
			}
			rm(t, d.path(ev2))
			if err := os.Symlink(fifo, d.path(ev2)); err != nil {
				t.Skip(err)
			}
		}, []string{ev2, "not a regular file (a symlink)"}},
		{"events file added after a graceful stop", false, nil, // stoppedDir, see below
			[]string{"events-20261122T131500.000Z.log", "not in the seal chain", "graceful stop"}},
		{"wrong verify key", false, nil, // see below
			[]string{"seals.log: the verify key does not match this chain (wrong key?)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				t.Skip("needs root (mknod of a device)")
			}
			var d *logDir
			var key [32]byte
			switch tt.name {
			case "events file added after a graceful stop":
				d = stoppedDir(t)
				if res, report := d.verify(nil); !res.OK {
					t.Fatalf("the stopped directory itself does not verify:\n%s", report)
				}
				d.write("events-20261122T131500.000Z.log", 5)
				key = d.k1
			case "wrong verify key":
				d = newLogDir(t)
				d.standard()
				d.close()
				_, key = testKey(t)
			default:
				d = newLogDir(t)
				d.standard()
				d.close()
				tt.attack(t, d)
				key = d.k1
			}
			type out struct {
				res    Result
				report string
			}
			done := make(chan out, 1)
			go func() {
				res, report := verifyDir(t, d.dir, key, nil)
				done <- out{res, report}
			}()
			var o out
			select {
			case o = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("verify still running after 10 s (hung)")
			}
			mustFail(t, o.res, o.report, tt.want...)
			if tt.name == "wrong verify key" {
				if n := strings.Count(o.report, "\n"); n != 1+3 || strings.Contains(o.report, "MAC mismatch") {
					t.Errorf("got %d report lines, want the one key line and the 3 notes about files:\n%s", n, o.report)
				}
				if strings.Contains(o.report, "chain head") {
					t.Errorf("got a chain head printed with a key that verifies nothing:\n%s", o.report)
				}
			}
		})
	}
}

// TestVerifyLastSealForgedNoHead: when the last seal's MAC fails, verify
// does not print that seal as the head it reached.
func TestVerifyLastSealForgedNoHead(t *testing.T) {
	d := newLogDir(t)
	d.standard()
	d.close()
	d.rewriteSeals(func(l []string) []string {
		last := l[len(l)-1]
		c := strings.Split(last, "\t")
		if c[9][0] == '0' {
			c[9] = "1" + c[9][1:]
		} else {
			c[9] = "0" + c[9][1:]
		}
		l[len(l)-1] = strings.Join(c, "\t")
		return l
	})
	res, report := verifyDir(t, d.dir, d.k1, nil)
	mustFail(t, res, report, "seals.log: line 10: seal 10:", "MAC mismatch")
	if strings.Contains(report, "chain head 10:") {
		t.Fatalf("got the forged seal 10 printed as the head reached:\n%s", report)
	}
}

// TestVerifySeqJumpsLinear: 20 forged lines each jumping SEQ by 2^20 must
// not make verify derive keys across the gaps: verifying the forged
// directory may take at most 5 times as long as the intact one (before
// the budgeted key cursor it took over 4000 times as long; the margin is
// for a shared, noisy test machine).
func TestVerifySeqJumpsLinear(t *testing.T) {
	d := newLogDir(t)
	for range 8 {
		d.write(ev1, 4000) // ~1 MiB each, so the intact run is not all noise
		d.seal(KindCheckpoint, ev1)
	}
	d.seal(KindFinal, ev1)
	d.close()
	intactDir := t.TempDir()
	for _, name := range []string{ev1, SealsName} {
		writeFile(t, filepath.Join(intactDir, name), readFile(t, d.path(name)))
	}
	d.rewriteSeals(func(l []string) []string {
		last := l[len(l)-1]
		seq, _ := strconv.ParseUint(strings.Split(last, "\t")[2], 10, 64)
		for i := range 20 {
			seq += 1 << 20
			c := strings.Split(last, "\t")
			c[2] = strconv.FormatUint(seq, 10)
			c[8] = c[9] // PREV = MAC of the line before
			c[9] = strings.Repeat(strconv.Itoa(i%10), 64)
			last = relen(strings.Join(c, "\t"))
			l = append(l, last)
		}
		return l
	})
	// Alternate the two runs, best of 5 each, so that both see the same
	// machine (the test machine is shared).
	intact, forged := time.Duration(1<<62), time.Duration(1<<62)
	for range 5 {
		start := time.Now()
		if res, report := verifyDir(t, intactDir, d.k1, nil); !res.OK {
			t.Fatalf("intact copy does not verify:\n%s", report)
		}
		intact = min(intact, time.Since(start))
		start = time.Now()
		verifyDir(t, d.dir, d.k1, nil)
		forged = min(forged, time.Since(start))
	}
	res, report := verifyDir(t, d.dir, d.k1, nil)
	mustFail(t, res, report, "seals.log: line 10: seal", "SEQ gap")
	if forged > 5*intact {
		t.Fatalf("verify took %v with 20 forged SEQ jumps of 2^20, %v intact: %.1fx, want at most 5x", forged, intact, float64(forged)/float64(intact))
	}
	t.Logf("intact %v, with 20 SEQ jumps of 2^20 %v (%.2fx)", intact, forged, float64(forged)/float64(intact))
}
