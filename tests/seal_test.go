package tests

// Black-box tests of docs/format.md §3.1 rotation and §4 sealing and verify.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bbSeals returns the lines of DIR/seals.log split into their 10
// columns, checking each against docs/format.md §4 (LEN, TIME, column count).
func bbSeals(t *testing.T, dir string) [][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "seals.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			t.Errorf("seals.log: torn last line %q", l)
			continue
		}
		l = strings.TrimSuffix(l, "\n")
		if p := bbCheckLine(l, 10); len(p) > 0 {
			t.Errorf("seals.log line %q: %s", l, strings.Join(p, "; "))
		}
		out = append(out, strings.Split(l, "\t"))
	}
	return out
}

// bbFileLines splits a file into its lines (without LF) and reports
// whether it ends in LF.
func bbFileLines(t *testing.T, path string) (lines []string, endsLF bool, size int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	endsLF = len(s) == 0 || strings.HasSuffix(s, "\n")
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasSuffix(l, "\n") {
			lines = append(lines, strings.TrimSuffix(l, "\n"))
		}
	}
	return lines, endsLF, len(data)
}

// bbCheckSealOf checks a seal line against the file it names: BYTES,
// LINES and ROOT of that prefix (docs/format.md §4 columns 5–8), ROOT
// computed with golang.org/x/mod/sumdb/tlog.
func bbCheckSealOf(t *testing.T, dir string, sl []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, sl[4]))
	if err != nil {
		t.Errorf("seal %s names %s: %v", sl[2], sl[4], err)
		return
	}
	n, err := strconv.Atoi(sl[5])
	if err != nil || n > len(data) {
		t.Errorf("seal %s: BYTES %q beyond %s's %d bytes", sl[2], sl[5], sl[4], len(data))
		return
	}
	prefix := data[:n]
	sum := sumdbLinesRoot(prefix)
	if got, want := sl[6], strconv.Itoa(bytes.Count(prefix, []byte("\n"))); got != want {
		t.Errorf("seal %s of %s: got LINES %s, want %s", sl[2], sl[4], got, want)
	}
	if got, want := sl[7], hex.EncodeToString(sum[:]); got != want {
		t.Errorf("seal %s of %s: got ROOT %s, want %s", sl[2], sl[4], got, want)
	}
	if sl[3] == "final" && n != len(data) {
		t.Errorf("final seal %s of %s covers %d of %d bytes", sl[2], sl[4], n, len(data))
	}
}

// bbCheckChain checks SEQ 1, 2, 3… without gaps and PREV = previous MAC.
func bbCheckChain(t *testing.T, seals [][]string) {
	t.Helper()
	prev := strings.Repeat("0", 64)
	for i, sl := range seals {
		if sl[2] != strconv.Itoa(i+1) {
			t.Errorf("seal line %d: got SEQ %s, want %d", i+1, sl[2], i+1)
		}
		if sl[8] != prev {
			t.Errorf("seal %s: PREV %s is not the previous MAC %s", sl[2], sl[8], prev)
		}
		if len(sl[9]) != 64 || !bbHexRE.MatchString(sl[9]) {
			t.Errorf("seal %s: MAC %q is not 64 lowercase hex digits", sl[2], sl[9])
		}
		switch sl[3] {
		case "checkpoint", "final", "recovered":
		default:
			t.Errorf("seal %s: KIND %q", sl[2], sl[3])
		}
		prev = sl[9]
	}
}

var bbHeadRE = regexp.MustCompile(`seal head (\d+):([0-9a-f]{64})`)

// bbLastHead is the last "seal head SEQ:MAC" the server printed on stderr.
func bbLastHead(t *testing.T, stderr string) string {
	t.Helper()
	m := bbHeadRE.FindAllStringSubmatch(stderr, -1)
	if len(m) == 0 {
		t.Fatalf("no \"seal head SEQ:MAC\" on stderr:\n%s", stderr)
	}
	return m[len(m)-1][1] + ":" + m[len(m)-1][2]
}

// bbStream sends n messages of about size bytes on one connection.
func bbStream(t *testing.T, s *Sealog, tag string, n, size int) []string {
	t.Helper()
	var fr []string
	for i := 0; i < n; i++ {
		m := fmt.Sprintf("%s %04d ", tag, i)
		fr = append(fr, bbMsg(m+strings.Repeat("z", max(0, size-len(m)))))
	}
	s.Send(t, fr...)
	return fr
}

// TestSealRotateSize: --rotate-size 4096 (docs/format.md §3.1): several files, none
// past the size unless it holds one big line, no line split, a rotate
// event per rotation, each closed file final-sealed and immutable.
func TestSealRotateSize(t *testing.T) {
	s := startSealog(t, "--rotate-size", "4096")
	want := bbStream(t, s, "rot", 60, 200)
	big := bbMsg(strings.Repeat("B", 6000)) // a line larger than --rotate-size
	s.Send(t, big)
	want = append(want, big)
	want = append(want, bbStream(t, s, "after", 5, 100)...)
	s.WaitEvents(t, len(want))
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	files := s.files("events")
	if len(files) < 5 {
		t.Fatalf("got %d events files, want at least 5 for ~%d bytes at --rotate-size 4096", len(files), 66*250+6000)
	}
	var got []string
	for _, f := range files {
		lines, endsLF, size := bbFileLines(t, f)
		if !endsLF {
			t.Errorf("%s does not end in LF: a line was split", filepath.Base(f))
		}
		if size > 4096 && len(lines) != 1 {
			t.Errorf("%s: %d bytes in %d lines, want at most 4096 unless one line", filepath.Base(f), size, len(lines))
		}
		for _, l := range lines {
			if p := bbCheckLine(l, 15); len(p) > 0 {
				t.Errorf("%s: %s", filepath.Base(f), strings.Join(p, "; "))
				continue
			}
			fr, _ := bbFrame(strings.Split(l, "\t"))
			got = append(got, string(fr))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frames across the rotated files differ from what was sent (got %d, want %d)", len(got), len(want))
	}
	rotated := map[string]bool{}
	for _, l := range s.Security() {
		if len(l) == 9 && l[6] == "rotate" {
			rotated[fmt.Sprint(bbDetail(t, l)["file"])] = true
		}
	}
	finals := map[string]bool{}
	seals := bbSeals(t, s.Dir)
	bbCheckChain(t, seals)
	for _, sl := range seals {
		bbCheckSealOf(t, s.Dir, sl)
		if sl[3] == "final" {
			finals[sl[4]] = true
		}
	}
	for i, f := range files {
		name := filepath.Base(f)
		if i < len(files)-1 && !rotated[name] {
			t.Errorf("no rotate event for %s", name)
		}
		if !finals[name] {
			t.Errorf("%s has no final seal", name)
		}
		if s.Chattr && !bbImmutable(t, f) {
			t.Errorf("%s is not immutable after its final seal", name)
		}
	}
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
}

// TestSealRotateInterval: --rotate-interval 2s rotates on UTC multiples of
// 2 s since the epoch (docs/operations.md), and a line stays in the file of the
// interval it was received in.
func TestSealRotateInterval(t *testing.T) {
	s := startSealog(t, "--rotate-interval", "2s")
	c := s.Dial(t)
	end := time.Now().Add(4500 * time.Millisecond)
	n := 0
	for time.Now().Before(end) {
		c.Write(bbOctet(bbMsg(fmt.Sprintf("tick %d", n))))
		n++
		time.Sleep(100 * time.Millisecond)
	}
	closeAndDrain(c)
	s.WaitEvents(t, n)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	files := s.files("events")
	if len(files) < 2 {
		t.Fatalf("got %d events files in 4.5s with --rotate-interval 2s, want at least 2", len(files))
	}
	const iv = 2000 // ms
	for i, f := range files {
		name := filepath.Base(f)
		opened, err := time.Parse("20060102T150405.000Z", strings.TrimSuffix(strings.TrimPrefix(name, "events-"), ".log"))
		if err != nil {
			t.Fatalf("file name %s: %v", name, err)
		}
		ms := opened.UnixMilli()
		if i > 0 && ms%iv > 500 {
			t.Errorf("%s opened %d ms after a 2s UTC boundary, want a rotation at the boundary", name, ms%iv)
		}
		bucket := ms / iv
		lines, _, _ := bbFileLines(t, f)
		for _, l := range lines {
			tm, err := time.Parse("2006-01-02T15:04:05.000000Z", strings.Split(l, "\t")[1])
			if err != nil {
				t.Fatal(err)
			}
			// allow the timer 300 ms of lateness at the boundary
			if b := tm.UnixMilli() / iv; b != bucket && (tm.UnixMilli()%iv > 300 || b != bucket+1) {
				t.Errorf("%s holds a line received at %s, outside its 2s interval", name, tm.Format(time.StampMicro))
			}
		}
	}
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
}

// bbCountSeals counts the lines of seals.log.
func bbCountSeals(dir string) int {
	data, _ := os.ReadFile(filepath.Join(dir, "seals.log"))
	return bytes.Count(data, []byte("\n"))
}

// TestSealChain: checkpoints for growing files and none for idle ones,
// the head on stderr, SEQ continuous across a restart, verify and
// verify --head, and removal of the newest files and seals (docs/format.md §4).
func TestSealChain(t *testing.T) {
	s := startSealog(t, "--seal-interval", "1s")
	c := s.Dial(t)
	for i := 0; i < 15; i++ {
		c.Write(bbOctet(bbMsg(fmt.Sprintf("growing %d", i))))
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // the checkpoint after the last write
	idle := bbCountSeals(s.Dir)
	time.Sleep(3 * time.Second)
	if got := bbCountSeals(s.Dir); got != idle {
		t.Errorf("seals.log grew from %d to %d lines in 3s with no new data, want no checkpoints for idle files", idle, got)
	}
	var cps int
	events := filepath.Base(s.files("events")[0])
	for _, sl := range bbSeals(t, s.Dir) {
		if sl[3] == "checkpoint" && sl[4] == events {
			cps++
			bbCheckSealOf(t, s.Dir, sl)
		}
	}
	if cps < 2 {
		t.Errorf("got %d checkpoints of %s in 3s of traffic at --seal-interval 1s, want at least 2", cps, events)
	}
	closeAndDrain(c)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	run1Files := map[string]bool{}
	ents, _ := os.ReadDir(s.Dir)
	for _, e := range ents {
		run1Files[e.Name()] = true
	}
	seals := bbSeals(t, s.Dir)
	last := seals[len(seals)-1]
	head1 := last[2] + ":" + last[9]
	if got := bbLastHead(t, s.Stderr()); got != head1 {
		t.Errorf("last head on stderr %s, want the last seals.log line %s", got, head1)
	}

	s.startWith("--seal-interval", "1s")
	bbStream(t, s, "second run", 5, 50)
	s.WaitEvents(t, 20)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	seals = bbSeals(t, s.Dir)
	bbCheckChain(t, seals)
	last = seals[len(seals)-1]
	head2 := last[2] + ":" + last[9]
	if got := bbLastHead(t, s.Stderr()); got != head2 {
		t.Errorf("last head on stderr %s, want the last seals.log line %s", got, head2)
	}
	for _, l := range s.Security() {
		if len(l) == 9 && l[6] == "seal" {
			if k := bbDetail(t, l)["kind"]; k == "checkpoint" {
				t.Errorf("seal event for a checkpoint (docs/format.md §3.4: seals.log only): %q", l)
			}
		}
	}
	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("verify: exit %d\n%s", code, out)
	} else if !strings.Contains(out, head2) {
		t.Errorf("verify output does not end with the chain head %s:\n%s", head2, out)
	}
	if out, code := s.Verify(t, "--head", head2); code != 0 {
		t.Errorf("verify --head %s (from stderr): exit %d\n%s", head2, code, out)
	}
	flip := map[byte]byte{'0': '1'}
	wrong := []byte(head2)
	if c := wrong[len(wrong)-1]; flip[c] != 0 {
		wrong[len(wrong)-1] = flip[c]
	} else {
		wrong[len(wrong)-1] = '0'
	}
	if out, code := s.Verify(t, "--head", string(wrong)); code != 1 {
		t.Errorf("verify --head with a wrong MAC: exit %d, want 1\n%s", code, out)
	}
	seq, _ := strconv.Atoi(last[2])
	if out, code := s.Verify(t, "--head", fmt.Sprintf("%d:%s", seq+1, last[9])); code != 1 {
		t.Errorf("verify --head beyond the chain: exit %d, want 1\n%s", code, out)
	}

	// Remove the second run's files and seals together: the directory
	// alone cannot tell, the head from the journal can.
	cut := bbCopyDir(t, s.Dir)
	var keep []string
	for _, sl := range seals {
		if !run1Files[sl[4]] {
			break
		}
		keep = append(keep, strings.Join(sl, "\t")+"\n")
	}
	if len(keep) == len(seals) {
		t.Fatalf("second run wrote no seals of its own files")
	}
	ents, _ = os.ReadDir(cut)
	for _, e := range ents {
		if !run1Files[e.Name()] {
			os.Remove(filepath.Join(cut, e.Name()))
		}
	}
	os.WriteFile(filepath.Join(cut, "seals.log"), []byte(strings.Join(keep, "")), 0o640)
	if out, code := bbVerifyDir(t, s, cut); code != 0 {
		t.Errorf("verify after removing the newest files and seals together: exit %d, want 0\n%s", code, out)
	}
	if out, code := bbVerifyDir(t, s, cut, "--head", head2); code != 1 {
		t.Errorf("verify --head %s after removing the newest seals: exit %d, want 1\n%s", head2, code, out)
	}
	if out, code := bbVerifyDir(t, s, cut, "--head", head1); code != 0 {
		t.Errorf("verify --head %s (first run's head) on the cut directory: exit %d, want 0\n%s", head1, code, out)
	}
}

// bbCopyDir copies the regular files of dir into a new temporary
// directory, without attributes, so it can be tampered with.
func bbCopyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// bbVerifyDir runs sealog verify with the server's verify key on dir.
func bbVerifyDir(t *testing.T, s *Sealog, dir string, extra ...string) (string, int) {
	t.Helper()
	args := append([]string{"verify", "--key", filepath.Join(s.KeyDir, "verify.key")}, extra...)
	o, e, code := bbRun(t, append(args, dir)...)
	return o + e, code
}

// TestSealTamper: every kind of tampering docs/format.md §4 lists makes the binary's
// verify exit 1 and name the problem.
func TestSealTamper(t *testing.T) {
	s := startSealog(t, "--rotate-size", "4096")
	bbStream(t, s, "tamper", 50, 200)
	s.WaitEvents(t, 50)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	files := s.files("events")
	if len(files) < 3 {
		t.Fatalf("got %d events files, want at least 3", len(files))
	}
	ev0, ev1 := filepath.Base(files[0]), filepath.Base(files[1])
	sec0 := filepath.Base(s.files("security")[0])
	seals := bbSeals(t, s.Dir)
	if len(seals) < 4 {
		t.Fatalf("got %d seals, want at least 4", len(seals))
	}
	sealLines := func(dir string) []string {
		data, _ := os.ReadFile(filepath.Join(dir, "seals.log"))
		return strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	writeSeals := func(dir string, lines []string) {
		out := strings.Join(lines, "")
		if !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		os.WriteFile(filepath.Join(dir, "seals.log"), []byte(out), 0o640)
	}
	withNL := func(l string) string { return strings.TrimSuffix(l, "\n") + "\n" }
	modify := func(dir, name string, f func([]byte) []byte) {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, f(data), 0o640)
	}
	cases := []struct {
		name   string
		tamper func(dir string)
		names  []string // the output must contain one of these
	}{
		{"changed byte", func(d string) {
			modify(d, ev0, func(b []byte) []byte {
				i := bytes.LastIndexByte(b[:len(b)/2], 'z')
				b[i] = 'y'
				return b
			})
		}, []string{ev0}},
		{"truncated file", func(d string) {
			modify(d, ev1, func(b []byte) []byte { return b[:len(b)-40] })
		}, []string{ev1}},
		{"appended after final", func(d string) {
			modify(d, ev0, func(b []byte) []byte {
				l := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
				return append(b, l[len(l)-1]+"\n"...)
			})
		}, []string{ev0}},
		{"deleted file", func(d string) { os.Remove(filepath.Join(d, ev1)) }, []string{ev1}},
		{"deleted security file", func(d string) { os.Remove(filepath.Join(d, sec0)) }, []string{sec0}},
		{"renamed file", func(d string) {
			os.Rename(filepath.Join(d, ev0), filepath.Join(d, "events-20000101T000000.000Z.log"))
		}, []string{ev0, "events-20000101T000000.000Z.log"}},
		{"deleted seal line", func(d string) {
			l := sealLines(d)
			writeSeals(d, append(l[:1:1], l[2:]...))
		}, []string{"seals.log", "seal 2", "seal 3"}},
		{"altered seal line", func(d string) {
			l := sealLines(d)
			c := strings.Split(l[1], "\t")
			c[6] = strconv.Itoa(mustAtoi(c[6]) + 1)
			l[1] = strings.Join(c, "\t")
			writeSeals(d, l)
		}, []string{"seals.log", "seal 2"}},
		{"altered seal time", func(d string) {
			l := sealLines(d)
			c := strings.Split(l[1], "\t")
			c[1] = "2001" + c[1][4:]
			l[1] = strings.Join(c, "\t")
			writeSeals(d, l)
		}, []string{"seals.log", "seal 2"}},
		{"inserted seal line", func(d string) {
			l := sealLines(d)
			writeSeals(d, append(l[:2:2], append([]string{withNL(l[1])}, l[2:]...)...))
		}, []string{"seals.log", "seal 2", "seal 3"}},
		{"reordered seal lines", func(d string) {
			l := sealLines(d)
			l[1], l[2] = withNL(l[2]), withNL(l[1])
			writeSeals(d, l)
		}, []string{"seals.log", "seal 2", "seal 3"}},
		{"seals.log deleted", func(d string) { os.Remove(filepath.Join(d, "seals.log")) }, []string{"seals.log"}},
	}
	if out, code := bbVerifyDir(t, s, bbCopyDir(t, s.Dir)); code != 0 {
		t.Fatalf("an untouched copy does not verify: exit %d\n%s", code, out)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := bbCopyDir(t, s.Dir)
			tc.tamper(d)
			out, code := bbVerifyDir(t, s, d)
			if code != 1 {
				t.Errorf("got exit %d, want 1\n%s", code, out)
			}
			found := false
			for _, n := range tc.names {
				found = found || strings.Contains(out, n)
			}
			if !found {
				t.Errorf("output names none of %q:\n%s", tc.names, out)
			}
		})
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
