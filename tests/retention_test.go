package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
)

// rtExt4 makes a real ext4 file system in a file, loop-mounts it and
// returns the mount point; it is unmounted when the test ends. Retention
// lifts +i and +a before deleting, so it is tested where the kernel
// enforces them.
func rtExt4(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts an ext4 image (mount -o loop) and uses chattr")
	}
	for _, tool := range []string{"mkfs.ext4", "mount", "umount", "chattr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (e2fsprogs, mount)", tool)
		}
	}
	img := filepath.Join(t.TempDir(), "ext4.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("needs loop devices to mount an ext4 image: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("chattr", "-R", "-i", "-a", mnt).Run()
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	})
	return mnt
}

// rtStart starts sealog with its log directory on a fresh ext4 mount.
func rtStart(t *testing.T, extra ...string) *Sealog {
	t.Helper()
	mnt := rtExt4(t)
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(mnt, "logs"), KeyDir: t.TempDir()}
	if _, _, code := runSealog(t, "", "keygen", "--out", s.KeyDir); code != 0 {
		t.Fatalf("keygen failed")
	}
	s.startWith(extra...)
	if !s.Chattr {
		t.Fatalf("chattr does not work on the ext4 mount %s", mnt)
	}
	return s
}

// rtSecurity reads the security lines as they are now, tolerating files
// that retention removes while they are read.
func rtSecurity(s *Sealog) [][]string {
	var out [][]string
	names, _ := filepath.Glob(filepath.Join(s.Dir, "security-*.log"))
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue
		}
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if strings.HasSuffix(l, "\n") {
				out = append(out, strings.Split(strings.TrimSuffix(l, "\n"), "\t"))
			}
		}
	}
	return out
}

type rtPrune struct {
	File, Reason string
	Seq, Bytes   int64
}

// rtPrunes returns the successful prune events so far.
func rtPrunes(t *testing.T, s *Sealog) []rtPrune {
	var out []rtPrune
	for _, l := range rtSecurity(s) {
		if len(l) != 9 || l[6] != "prune" || l[7] != "success" {
			continue
		}
		var p rtPrune
		var d struct {
			File   string `json:"file"`
			Reason string `json:"reason"`
			Seq    int64  `json:"seq"`
			Bytes  int64  `json:"bytes"`
		}
		if err := json.Unmarshal([]byte(l[8]), &d); err != nil {
			t.Fatalf("prune DETAIL %q: %v", l[8], err)
		}
		p.File, p.Reason, p.Seq, p.Bytes = d.File, d.Reason, d.Seq, d.Bytes
		out = append(out, p)
	}
	return out
}

func rtWaitPrunes(t *testing.T, s *Sealog, n int, within time.Duration) []rtPrune {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if p := rtPrunes(t, s); len(p) >= n {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d prune events after %s, want %d; stderr:\n%s", len(rtPrunes(t, s)), within, n, s.Stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rtSeals returns seals.log's lines split into columns.
func rtSeals(t *testing.T, s *Sealog) [][]string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "seals.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		out = append(out, strings.Split(l, "\t"))
	}
	return out
}

// rtCheckPruned: each pruned file is gone, and its chain ends in a pruned
// seal (the SEQ of the event) that repeats its final seal.
func rtCheckPruned(t *testing.T, s *Sealog, prunes []rtPrune) {
	t.Helper()
	seals := rtSeals(t, s)
	for _, p := range prunes {
		if _, err := os.Lstat(filepath.Join(s.Dir, p.File)); !os.IsNotExist(err) {
			t.Errorf("%s: still there after its prune event (%v)", p.File, err)
		}
		var final, pruned []string
		for _, c := range seals {
			if len(c) == 10 && c[4] == p.File {
				switch c[3] {
				case "final", "recovered":
					final = c
				case "pruned":
					pruned = c
				}
			}
		}
		if pruned == nil || final == nil {
			t.Errorf("%s: final seal %v, pruned seal %v; want both", p.File, final, pruned)
			continue
		}
		if pruned[2] != fmt.Sprint(p.Seq) || pruned[5] != fmt.Sprint(p.Bytes) {
			t.Errorf("%s: event says seq %d bytes %d, pruned seal is %v", p.File, p.Seq, p.Bytes, pruned)
		}
		if pruned[5] != final[5] || pruned[6] != final[6] || pruned[7] != final[7] {
			t.Errorf("%s: pruned seal %v does not repeat the final seal %v", p.File, pruned[5:8], final[5:8])
		}
	}
}

// TestRetentionAge: with --retain, files whose final seal is older are
// sealed `pruned`, their +i lifted and deleted, each with a prune event;
// verify passes and lists them; the start event names the retention.
func TestRetentionAge(t *testing.T) {
	maddr := freePort(t)
	s := rtStart(t, "--rotate-interval", "1s", "--retain", "2s", "--metrics-listen", maddr)
	start := time.Now()
	for i := 0; i < 4; i++ {
		s.Send(t, bbMsg(fmt.Sprintf("retention age %d", i)))
		time.Sleep(time.Second)
	}
	prunes := rtWaitPrunes(t, s, 4, 30*time.Second)
	for _, p := range prunes {
		if p.Reason != "age" {
			t.Errorf("%s: reason %q, want age", p.File, p.Reason)
		}
	}
	// Within a minute of eligibility (docs/format.md §8): the first file
	// was final-sealed about 1 s after the start.
	if el := time.Since(start); el > 3*time.Second+time.Minute {
		t.Errorf("first prunes took %s", el)
	}
	rtCheckPruned(t, s, prunes)
	m := mtScrape(t, maddr)
	if got := m[`sealog_pruned_files_total{reason="age"}`]; got < float64(len(prunes)) {
		t.Errorf("sealog_pruned_files_total{reason=\"age\"}: got %v, want >= %d", got, len(prunes))
	}
	if got := m[`sealog_seals_total{kind="pruned"}`]; got < float64(len(prunes)) {
		t.Errorf("sealog_seals_total{kind=\"pruned\"}: got %v, want >= %d", got, len(prunes))
	}
	// The first security file, with the start event, is pruned by now:
	// the start event's retention is checked on a second start below.
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	out, code := s.Verify(t)
	if code != 0 {
		t.Fatalf("verify of a pruned directory failed (%d):\n%s", code, out)
	}
	for _, p := range prunes {
		if !strings.Contains(out, p.File+": pruned at seal") {
			t.Errorf("verify does not list %s as pruned:\n%s", p.File, out)
		}
	}

	s.startWith("--retain", "30d", "--retain-size", "1GiB")
	st := s.WaitSecurity(t, "start")
	var d map[string]any
	json.Unmarshal([]byte(st[len(st)-1][8]), &d)
	if d["retain"] != "720h0m0s" || d["retain_size"] != float64(1<<30) {
		t.Errorf("start DETAIL retain %v retain_size %v, want 720h0m0s and %d", d["retain"], d["retain_size"], 1<<30)
	}
}

// TestRetentionSize: with --retain-size the oldest final-sealed files go
// first, active ones never; tampering with what is left, a pruned file
// put back, and a file deleted without a pruned seal all still fail
// verify.
func TestRetentionSize(t *testing.T) {
	const limit = 24 << 10
	s := rtStart(t, "--rotate-size", "4096", "--retain-size", fmt.Sprint(limit), "--seal-interval", "1s")
	saved := t.TempDir()
	for i := 0; i < 12; i++ {
		var frames []string
		for j := 0; j < 10; j++ {
			frames = append(frames, bbMsg(fmt.Sprintf("retention size %d/%d %s", i, j, strings.Repeat("y", 200))))
		}
		s.Send(t, frames...)
		// Keep copies of the early files, to put one back later.
		if i == 2 {
			names, _ := filepath.Glob(filepath.Join(s.Dir, "events-*.log"))
			for _, n := range names {
				b, _ := os.ReadFile(n)
				os.WriteFile(filepath.Join(saved, filepath.Base(n)), b, 0o640)
			}
		}
	}
	prunes := rtWaitPrunes(t, s, 3, 30*time.Second)
	time.Sleep(12 * time.Second) // two more looks: the limit is reached
	prunes = rtPrunes(t, s)
	for _, p := range prunes {
		if p.Reason != "size" {
			t.Errorf("%s: reason %q, want size", p.File, p.Reason)
		}
	}
	rtCheckPruned(t, s, prunes)
	// Oldest first: every pruned events file is older than every one left.
	left, _ := filepath.Glob(filepath.Join(s.Dir, "events-*.log"))
	sort.Strings(left)
	var total int64
	all, _ := filepath.Glob(filepath.Join(s.Dir, "*-*.log"))
	for _, n := range all {
		if fi, err := os.Stat(n); err == nil {
			total += fi.Size()
		}
	}
	for _, p := range prunes {
		if strings.HasPrefix(p.File, "events-") && len(left) > 0 && p.File > filepath.Base(left[0]) {
			t.Errorf("pruned %s while the older %s is kept", p.File, filepath.Base(left[0]))
		}
	}
	// The active files may take the directory past the limit until they
	// are final-sealed; everything else fits.
	if total > limit+2*4096+4096 {
		t.Errorf("log files hold %d bytes, want about --retain-size %d", total, limit)
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	out, code := s.Verify(t)
	if code != 0 {
		t.Fatalf("verify of a pruned directory failed (%d):\n%s", code, out)
	}

	// Attacks on the pruned directory, each undone after its check.
	remaining := filepath.Base(left[len(left)-1])
	rp := filepath.Join(s.Dir, remaining)
	exec.Command("chattr", "-i", rp).Run()
	orig, _ := os.ReadFile(rp)
	changed := append([]byte(nil), orig...)
	changed[len(changed)/2] ^= 0x20
	os.WriteFile(rp, changed, 0o640)
	if out, code := s.Verify(t); code != 1 || !strings.Contains(out, remaining) {
		t.Errorf("a changed byte in %s: exit %d, want 1 naming it:\n%s", remaining, code, out)
	}
	os.WriteFile(rp, orig, 0o640)

	back := ""
	for _, p := range prunes {
		if _, err := os.Stat(filepath.Join(saved, p.File)); err == nil {
			back = p.File
			break
		}
	}
	if back == "" {
		t.Fatalf("no saved copy of any pruned file (pruned %v)", prunes)
	}
	b, _ := os.ReadFile(filepath.Join(saved, back))
	os.WriteFile(filepath.Join(s.Dir, back), b, 0o640)
	if out, code := s.Verify(t); code != 1 || !strings.Contains(out, back+": seal") || !strings.Contains(out, "still present") {
		t.Errorf("pruned file %s put back: exit %d, want 1 saying it is still present:\n%s", back, code, out)
	}
	os.Remove(filepath.Join(s.Dir, back))

	os.Remove(rp)
	if out, code := s.Verify(t); code != 1 || !strings.Contains(out, remaining+": seal") || !strings.Contains(out, "missing") {
		t.Errorf("%s deleted without a pruned seal: exit %d, want 1 saying it is missing:\n%s", remaining, code, out)
	}
}

// rtFirstRun sends msg to s, stops it and returns the name of the one
// events file that run wrote: the file the crash tests then make a
// pruning victim.
func rtFirstRun(t *testing.T, s *Sealog, msg string) string {
	t.Helper()
	s.Send(t, bbMsg(msg))
	s.WaitEvents(t, 1)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	names, _ := filepath.Glob(filepath.Join(s.Dir, "events-*.log"))
	if len(names) != 1 {
		t.Fatalf("events files: %v", names)
	}
	return filepath.Base(names[0])
}

// TestRetentionCrash: sealog is killed (SIGKILL) after a file's pruned
// seal is durable and before the file is deleted; the next start deletes
// it with a prune event whose reason is "recovered", and verify passes.
// The deletion is held off without a test hook: the directory is made
// immutable, so unlink fails (EPERM) and the pruner keeps retrying.
func TestRetentionCrash(t *testing.T) {
	s := rtStart(t, "--retain", "8s", "--rotate-interval", "0")
	victim := rtFirstRun(t, s, "before the first stop")
	s.startWith("--retain", "8s", "--rotate-interval", "0")
	// The port is open before the server has set up its directory: an
	// event written means it has.
	s.Send(t, bbMsg("after the restart"))
	s.WaitEvents(t, 2)
	if out, err := exec.Command("chattr", "+i", s.Dir).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i %s: %v\n%s", s.Dir, err, out)
	}
	deadline := time.Now().Add(40 * time.Second)
	for !strings.Contains(s.Stderr(), "retention: remove "+filepath.Join(s.Dir, victim)) {
		if time.Now().After(deadline) {
			exec.Command("chattr", "-i", s.Dir).Run()
			t.Fatalf("no failed removal of %s; stderr:\n%s", victim, s.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Kill()
	if out, err := exec.Command("chattr", "-i", s.Dir).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i %s: %v\n%s", s.Dir, err, out)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, victim)); err != nil {
		t.Fatalf("%s gone before the restart: %v", victim, err)
	}
	// Between the crash and the restart the directory fails verify: the
	// pruned file is still there.
	if out, code := s.Verify(t); code != 1 || !strings.Contains(out, "still present") {
		t.Errorf("verify between crash and restart: exit %d, want 1 (pruned file present):\n%s", code, out)
	}
	s.startWith("--rotate-interval", "0") // retention off: the prune is finished anyway
	var got []rtPrune
	for deadline := time.Now().Add(10 * time.Second); ; {
		got = nil
		for _, p := range rtPrunes(t, s) {
			if p.File == victim {
				got = append(got, p)
			}
		}
		if len(got) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != 1 || got[0].Reason != "recovered" {
		t.Fatalf("prune events of %s: %+v, want one with reason recovered", victim, got)
	}
	rtCheckPruned(t, s, got)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	if out, code := s.Verify(t); code != 0 || !strings.Contains(out, victim+": pruned at seal") {
		t.Fatalf("verify after the finished prune: exit %d\n%s", code, out)
	}
}

// TestRetentionLostEvent: a crash after the file was deleted and before
// its prune event was written. The state is made as the crashed run would
// have left it: sealog is killed with its files unsealed, then the chain
// (with the server's own key state) gets the pruned seal of an old file,
// which is deleted. The next start writes the lost prune event (reason
// recovered), once.
func TestRetentionLostEvent(t *testing.T) {
	s := rtStart(t)
	victim := rtFirstRun(t, s, "first run")
	s.startWith()
	s.Send(t, bbMsg("second run, killed"))
	s.WaitEvents(t, 2)
	s.Kill()

	keyPath := filepath.Join(s.KeyDir, "seal.key")
	chain, err := seal.OpenChain(s.Dir, keyPath, seal.ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := chain.Prune(victim)
	if err != nil {
		t.Fatal(err)
	}
	if err := chain.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rotate.Remove(filepath.Join(s.Dir, victim)); err != nil {
		t.Fatal(err)
	}

	for run := 0; run < 2; run++ {
		s.startWith()
		s.Send(t, bbMsg(fmt.Sprintf("run %d after the crash", run+3)))
		s.WaitEvents(t, 2+run) // the first run's event went with its file
		if code := s.Stop(); code != 0 {
			t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
		}
	}
	var got []rtPrune
	for _, p := range rtPrunes(t, s) {
		if p.File == victim {
			got = append(got, p)
		}
	}
	if len(got) != 1 || got[0].Reason != "recovered" || got[0].Seq != int64(rec.Seq) || got[0].Bytes != rec.Bytes {
		t.Fatalf("prune events of %s: %+v, want one: reason recovered, seq %d, bytes %d", victim, got, rec.Seq, rec.Bytes)
	}
	if out, code := s.Verify(t); code != 0 || !strings.Contains(out, victim+": pruned at seal") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
}

// TestRetentionFlags: bad --retain and --retain-size values exit 2 naming
// the flag, before anything is opened.
func TestRetentionFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--retain", "5x"},
		{"--retain", "-1h"},
		{"--retain", "-3d"},
		{"--retain", ""},
		{"--retain-size", "5Q"},
		{"--retain-size", "-1"},
		{"--retain-size", ""},
	} {
		full := append([]string{"serve", "--dev", "--dir", t.TempDir(), "--listen", freePort(t)}, args...)
		_, stderr, code := runSealog(t, "", full...)
		if code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", args, code, stderr, args[0])
		}
	}
}
