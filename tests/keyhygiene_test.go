package tests

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Key hygiene as an intruder with root on the log host tests it
// (docs/format.md §10.2): read the process memory of a running serve, and
// the raw blocks of its file system, for any key older than the current
// one — raw, as hex, or as the HMAC pads and hash states that compute
// MACs as well as the key does.

// chainKeys returns K1 … K(n) derived from K1 (index 0 unused).
func chainKeys(k1 [32]byte, n int) [][32]byte {
	keys := make([][32]byte, n+1)
	keys[1] = k1
	for i := 2; i <= n; i++ {
		m := hmac.New(sha256.New, keys[i-1][:])
		m.Write([]byte("sealog key evolution"))
		m.Sum(keys[i][:0])
	}
	return keys
}

// keyForms are the byte strings that give key k away: the key, its hex,
// the first half of K⊕ipad and K⊕opad (the second half is the pad byte
// alone), and SHA-256's state after either padded block, as big-endian
// bytes and as the little-endian words a digest holds in memory.
func keyForms(k [32]byte) map[string][]byte {
	forms := map[string][]byte{
		"raw": k[:],
		"hex": []byte(hex.EncodeToString(k[:])),
	}
	for _, p := range []struct {
		name string
		b    byte
	}{{"ipad", 0x36}, {"opad", 0x5c}} {
		var block [64]byte
		for i := range block {
			block[i] = p.b
		}
		for i, c := range k {
			block[i] ^= c
		}
		forms[p.name] = append([]byte(nil), block[:32]...)
		h := sha256.New()
		h.Write(block[:])
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic(err)
		}
		be := st[4:36] // "sha\x03", then the eight state words big-endian
		forms[p.name+" state"] = append([]byte(nil), be...)
		le := make([]byte, 32)
		for i := range 8 {
			binary.LittleEndian.PutUint32(le[4*i:], binary.BigEndian.Uint32(be[4*i:]))
		}
		forms[p.name+" state (words)"] = le
	}
	return forms
}

// finder looks for many patterns of at least 8 bytes at once.
type finder struct {
	first map[uint64][]finderPat
	seen  map[string]bool // names found
}

type finderPat struct {
	name string
	b    []byte
}

func newFinder() *finder {
	return &finder{first: map[uint64][]finderPat{}, seen: map[string]bool{}}
}

func (f *finder) add(name string, b []byte) {
	k := binary.LittleEndian.Uint64(b)
	f.first[k] = append(f.first[k], finderPat{name, b})
}

// scan looks through b; patterns may straddle calls only if the caller
// overlaps the buffers it passes.
func (f *finder) scan(b []byte) {
	for i := 0; i+8 <= len(b); i++ {
		ps, ok := f.first[binary.LittleEndian.Uint64(b[i:])]
		if !ok {
			continue
		}
		for _, p := range ps {
			if bytes.HasPrefix(b[i:], p.b) {
				f.seen[p.name] = true
			}
		}
	}
}

// scanProcess reads every readable mapping of pid through /proc/PID/mem.
func (f *finder) scanProcess(t *testing.T, pid int) (scanned int64) {
	t.Helper()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	const chunk, overlap = 1 << 20, 128
	buf := make([]byte, chunk+overlap)
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[1][0] != 'r' {
			continue
		}
		if len(fields) >= 6 && (fields[5] == "[vvar]" || fields[5] == "[vsyscall]" || fields[5] == "[vvar_vclock]") {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		for off := start; off < end; off += chunk {
			n := min(uint64(len(buf)), end-off)
			k, _ := mem.ReadAt(buf[:n], int64(off))
			if k > 0 {
				f.scan(buf[:k])
				scanned += int64(k)
			}
		}
	}
	return scanned
}

// sealCount is the number of complete seal lines in dir's seals.log.
func sealCount(t *testing.T, dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "seals.log"))
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

// readK1 reads a verify key file.
func readK1(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var k [32]byte
	if _, err := hex.Decode(k[:], bytes.TrimSpace(b)); err != nil {
		t.Fatal(err)
	}
	return k
}

// sealMany sends events until the server has made at least n seals.
func sealMany(t *testing.T, s *Sealog, dir string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; sealCount(t, dir) < n; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d seals after 60 s, want %d:\n%s", sealCount(t, dir), n, s.Stderr())
		}
		s.Send(t, "<13>1 2026-12-07T04:00:00Z host app - - - key hygiene "+strconv.Itoa(i))
		time.Sleep(30 * time.Millisecond)
	}
}

// TestKeyMemoryForgetsOldKeys: after n seals, no K_m with m <= n is in
// the memory of the running serve in any form of keyForms. The current
// key K(n+1) must be found: that proves the scan reads the right memory.
func TestKeyMemoryForgetsOldKeys(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to read another process's memory (/proc/PID/mem)")
	}
	s := startSealog(t, "--seal-interval", "20ms", "--fsync-interval", "10ms")
	const want = 40
	sealMany(t, s, s.Dir, want)
	// Let the last seals settle: no new data, so no new checkpoint.
	time.Sleep(300 * time.Millisecond)
	n := sealCount(t, s.Dir)
	keys := chainKeys(readK1(t, filepath.Join(s.KeyDir, "verify.key")), n+1)
	f := newFinder()
	for m := 1; m <= n+1; m++ {
		for name, b := range keyForms(keys[m]) {
			f.add(fmt.Sprintf("K%d %s", m, name), b)
		}
	}
	scanned := f.scanProcess(t, s.cmd.Process.Pid)
	if after := sealCount(t, s.Dir); after != n {
		t.Fatalf("seals went on during the scan (%d, then %d); the result would not say which key is current", n, after)
	}
	var old []string
	for name := range f.seen {
		var m int
		fmt.Sscanf(name, "K%d", &m)
		if m <= n {
			old = append(old, name)
		}
	}
	if !f.seen[fmt.Sprintf("K%d raw", n+1)] {
		t.Fatalf("the current key K%d is not in the %d bytes scanned: the scan does not see the key memory", n+1, scanned)
	}
	if len(old) > 0 {
		t.Fatalf("after %d seals, %d forms of earlier keys are in serve's memory (%d bytes scanned): %s",
			n, len(old), scanned, strings.Join(sortedStrings(old), ", "))
	}
	t.Logf("%d seals; %d bytes of serve's memory scanned; only the current key K%d found", n, scanned, n+1)
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestKeyDiskExt4: keygen (printing K1 instead of writing it) and serve on
// a real ext4 file system in a loop image; after unmounting, the raw image
// holds no earlier key state and no K1, in any form: the state is
// overwritten in place, never written anew and renamed.
func TestKeyDiskExt4(t *testing.T) { keyDiskExt4(t, nil, nil, "loop", "") }

// mountExt4 makes a 64 MiB ext4 image with mkfsArgs (then tune2fs
// tuneArgs, if any), mounts it with mountOpts and returns the image and
// the mount point, which is unmounted when the test ends if it still is.
// Without root, mkfs.ext4 or loop mounts the test is skipped.
func mountExt4(t *testing.T, mkfsArgs, tuneArgs []string, mountOpts string) (img, mnt string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mkfs.ext4 and mount -o loop)")
	}
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("needs mkfs.ext4 (e2fsprogs)")
	}
	img = filepath.Join(t.TempDir(), "ext4.img")
	mnt = t.TempDir()
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 << 20)
	f.Close()
	mustRun(t, "mkfs.ext4", append(append([]string{"-q", "-F"}, mkfsArgs...), img)...)
	if tuneArgs != nil {
		mustRun(t, "tune2fs", append(tuneArgs, img)...)
	}
	if out, err := exec.Command("mount", "-o", mountOpts, img, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a loop image here: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if m, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(m), " "+mnt+" ") {
			exec.Command("umount", mnt).Run()
		}
	})
	return img, mnt
}

// mustRun runs a tool the test needs and fails the test, with its output,
// if the tool fails.
func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// keyDiskExt4 runs the scan on an image made with mkfsArgs and mounted
// with mountOpts. With wantWarn, the file system is one that keeps old
// states whatever sealog does: serve must say so at start (wantWarn in
// its stderr), and the scan only reports what it finds.
// tuneArgs, if any, are given to tune2fs after mkfs.
func keyDiskExt4(t *testing.T, mkfsArgs, tuneArgs []string, mountOpts, wantWarn string) {
	img, mnt := mountExt4(t, mkfsArgs, tuneArgs, mountOpts)
	keyDir := filepath.Join(mnt, "keys")
	out, errOut, code := runSealog(t, "", "keygen", "--out", keyDir, "--verify-key-to", "-")
	if code != 0 {
		t.Fatalf("keygen --verify-key-to -: exit %d\n%s%s", code, out, errOut)
	}
	var k1 [32]byte
	hexK1 := firstHexLine(out)
	if _, err := hex.Decode(k1[:], []byte(hexK1)); err != nil || len(hexK1) != 64 {
		t.Fatalf("keygen --verify-key-to - printed no verify key on stdout:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(keyDir, "verify.key")); err == nil {
		t.Fatal("keygen --verify-key-to - wrote verify.key anyway")
	}

	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(mnt, "logs"), KeyDir: keyDir}
	s.startWith("--seal-interval", "20ms", "--fsync-interval", "10ms")
	sealMany(t, s, s.Dir, 30)
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, s.Stderr())
	}
	if wantWarn != "" && !strings.Contains(s.Stderr(), wantWarn) {
		t.Errorf("serve did not warn that %s keeps earlier key states (want %q in stderr):\n%s", mountOpts, wantWarn, s.Stderr())
	}
	if wantWarn == "" && strings.Contains(s.Stderr(), "earlier key states") {
		t.Errorf("serve warned about the key's file system on a plain ext4:\n%s", s.Stderr())
	}
	n := sealCount(t, s.Dir)
	state, err := os.ReadFile(filepath.Join(keyDir, "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	clearAttributes(s.Dir)
	mustRun(t, "sync")
	mustRun(t, "umount", mnt)

	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	keys := chainKeys(k1, n+1)
	var found []string
	for m := 1; m <= n; m++ {
		for name, b := range keyForms(keys[m]) {
			if bytes.Contains(raw, b) {
				found = append(found, fmt.Sprintf("K%d %s", m, name))
			}
		}
	}
	if !bytes.Contains(raw, []byte(hex.EncodeToString(keys[n+1][:]))) || !bytes.Contains(raw, state) {
		t.Fatalf("the current state (K%d) is not in the raw image: the scan does not see the file's blocks", n+1)
	}
	if c := bytes.Count(raw, []byte("sealog-key-state 1\nseq=")); c != 1 {
		found = append(found, fmt.Sprintf("%d key states in the image, want 1", c))
	}
	if len(found) > 0 && wantWarn != "" {
		t.Logf("as warned, after %d seals the raw image (%s) holds earlier keys: %d forms", n, mountOpts, len(found))
		return
	}
	if len(found) > 0 {
		t.Fatalf("after %d seals the raw ext4 image holds earlier keys: %s", n, strings.Join(sortedStrings(found), ", "))
	}
	t.Logf("%d seals; the %d MiB image holds only the current state (K%d)", n, len(raw)>>20, n+1)
}

// firstHexLine returns the first line of out that is 64 hex digits.
func firstHexLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if len(l) == 64 {
			if _, err := hex.DecodeString(l); err == nil {
				return l
			}
		}
	}
	return ""
}

var _ = io.EOF

// TestKeySaveFailsClosed: when the evolved key state cannot be saved (the
// key directory remounted read-only while clients send), serve makes no
// further seal with a key the disk does not know: it holds clients back
// as for a write error, says write_error naming the key file, retries,
// and says write_recovered once the state is saved; the chain then
// verifies and the server starts again from the state on disk.
func TestKeySaveFailsClosed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a read-only bind mount over the key directory)")
	}
	s := startSealog(t, "--seal-interval", "30ms", "--fsync-interval", "10ms")
	sealMany(t, s, s.Dir, 5)
	keyPath := filepath.Join(s.KeyDir, "seal.key")

	mount := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Skipf("mount %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	mount("--bind", s.KeyDir, s.KeyDir)
	readOnly := true
	defer func() {
		if readOnly {
			exec.Command("umount", s.KeyDir).Run()
		}
	}()
	mount("-o", "remount,ro,bind", s.KeyDir)

	// Clients keep sending while the key directory is read-only.
	stop := make(chan struct{})
	sent := make(chan int)
	go func() {
		n := 0
		defer func() { sent <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c := s.Dial(t)
			frame := "<13>1 2026-12-07T04:00:00Z host app - - - while the key cannot be saved " + strconv.Itoa(n)
			c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := fmt.Fprintf(c, "%d %s", len(frame), frame); err == nil {
				n++
			}
			c.Close()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if !poll(20*time.Second, func() bool { return strings.Contains(s.Stderr(), "save key state "+keyPath) }) {
		close(stop)
		<-sent
		t.Fatalf("no write error naming %s while it cannot be saved:\n%s", keyPath, s.Stderr())
	}
	seals, events := sealCount(t, s.Dir), len(s.Events())
	time.Sleep(1500 * time.Millisecond)
	if got := sealCount(t, s.Dir); got != seals {
		t.Errorf("got %d seals made while the key state could not be saved, want none (a key the disk does not know)", got-seals)
	}
	if got := len(s.Events()); got != events {
		t.Errorf("got %d events written while failing, want 0 (clients held back)", got-events)
	}

	// The disk comes back: the state is saved, sealing goes on.
	if out, err := exec.Command("umount", s.KeyDir).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v\n%s", err, out)
	}
	readOnly = false
	if !poll(20*time.Second, func() bool { return strings.Contains(s.Stderr(), "write recovered") }) {
		t.Fatalf("no recovery after the key directory became writable:\n%s", s.Stderr())
	}
	close(stop)
	<-sent
	errs := s.WaitSecurity(t, "write_error")
	if !strings.Contains(strings.Join(errs[len(errs)-1], "\t"), "seal.key") {
		t.Errorf("write_error does not name the key file: %q", errs[len(errs)-1])
	}
	s.WaitSecurity(t, "write_recovered")
	sealMany(t, s, s.Dir, sealCount(t, s.Dir)+2)
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, s.Stderr())
	}
	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("verify after the episode: exit %d\n%s", code, out)
	}
	s.startWith()
	if code := s.Stop(); code != 0 {
		t.Fatalf("restart from the saved state exited %d:\n%s", code, s.Stderr())
	}
}

// TestKeyWarningsAtStart: a verify key next to the seal key, one inside
// --dir, and a leftover temporary key state are named on stderr and in
// the start event's warning; the leftover is removed.
func TestKeyWarningsAtStart(t *testing.T) {
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(t.TempDir(), "logs"), KeyDir: t.TempDir()}
	if _, _, code := runSealog(t, "", "keygen", "--out", s.KeyDir); code != 0 {
		t.Fatal("keygen failed")
	}
	os.MkdirAll(s.Dir, 0o750)
	vk, _ := os.ReadFile(filepath.Join(s.KeyDir, "verify.key"))
	os.WriteFile(filepath.Join(s.Dir, "verify.key"), vk, 0o600)
	state, _ := os.ReadFile(filepath.Join(s.KeyDir, "seal.key"))
	leftover := filepath.Join(s.KeyDir, ".seal.key.tmp123456")
	os.WriteFile(leftover, state, 0o600)
	s.startWith()
	for _, want := range []string{
		filepath.Join(s.KeyDir, "verify.key") + " is next to the seal key",
		filepath.Join(s.Dir, "verify.key") + " is inside --dir",
		"overwrote and removed " + leftover,
	} {
		// The listener accepts before start-up has finished: wait.
		if !poll(10*time.Second, func() bool { return strings.Contains(s.Stderr(), want) }) {
			t.Errorf("stderr lacks %q:\n%s", want, s.Stderr())
		}
	}
	start := s.WaitSecurity(t, "start")
	if !strings.Contains(start[0][8], "is next to the seal key") || !strings.Contains(start[0][8], "is inside --dir") {
		t.Errorf("start event's DETAIL lacks the key warnings: %s", start[0][8])
	}
	if _, err := os.Stat(leftover); err == nil {
		t.Errorf("%s still there", leftover)
	}
}

// TestKeyStateCrashes: serve killed (SIGKILL) again and again while it
// seals every 10 ms — some kills land between a seal line's fsync and the
// key state's save — starts every time from the state on disk, leaves no
// temporary key file, and the chain verifies in the end.
func TestKeyStateCrashes(t *testing.T) {
	s := startSealog(t, "--seal-interval", "10ms", "--fsync-interval", "5ms")
	for round := range 6 {
		sealMany(t, s, s.Dir, sealCount(t, s.Dir)+3+round)
		s.Kill()
		s.startWith("--seal-interval", "10ms", "--fsync-interval", "5ms")
		if !poll(10*time.Second, func() bool { return strings.Contains(s.Stderr(), "listening") }) {
			t.Fatalf("round %d: no start after the crash:\n%s", round, s.Stderr())
		}
	}
	sealMany(t, s, s.Dir, sealCount(t, s.Dir)+2)
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, s.Stderr())
	}
	ents, _ := os.ReadDir(s.KeyDir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary key file %s left in the key directory", e.Name())
		}
	}
	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("verify after 6 crashes: exit %d\n%s", code, out)
	}
}

// TestVerifyMemoryForgetsKeys: verify derives K2, K3, … from K1 going
// forward and wipes each behind it. It is held mid-run (its report fills
// a pipe nobody reads, after every seal was checked) and its memory read:
// K1 (the auditor's key it was given) and the cursor's K(n+1) may be
// there, no K2 … K(n) in any form.
func TestVerifyMemoryForgetsKeys(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to read another process's memory (/proc/PID/mem)")
	}
	s := startSealog(t, "--seal-interval", "20ms", "--fsync-interval", "10ms")
	sealMany(t, s, s.Dir, 25)
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	n := sealCount(t, s.Dir)
	f, err := os.OpenFile(filepath.Join(s.Dir, "seals.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 { // problems enough to fill the pipe
		fmt.Fprintf(f, "junk line %d that is no seal\n", i)
	}
	f.Close()

	cmd := exec.Command(sealogBin, "verify", "--verify-key", filepath.Join(s.KeyDir, "verify.key"), s.Dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		go io.Copy(io.Discard, stdout)
		cmd.Wait()
	}()
	time.Sleep(1500 * time.Millisecond) // blocked on the full pipe by now
	keys := chainKeys(readK1(t, filepath.Join(s.KeyDir, "verify.key")), n+1)
	fd := newFinder()
	for m := 1; m <= n+1; m++ {
		for name, b := range keyForms(keys[m]) {
			fd.add(fmt.Sprintf("K%d %s", m, name), b)
		}
	}
	scanned := fd.scanProcess(t, cmd.Process.Pid)
	if !fd.seen["K1 raw"] {
		t.Fatalf("the verify key K1 is not in the %d bytes scanned: the scan misses verify's memory", scanned)
	}
	var old []string
	for name := range fd.seen {
		var m int
		fmt.Sscanf(name, "K%d", &m)
		if m >= 2 && m <= n {
			old = append(old, name)
		}
	}
	if len(old) > 0 {
		t.Fatalf("verify holds keys it derived and passed: %s", strings.Join(sortedStrings(old), ", "))
	}
	t.Logf("%d seals verified; %d bytes of verify's memory scanned; K1 and K%d only", n, scanned, n+1)
}

// TestVerifyExtraFileAfterStop: after a real graceful stop, an events
// file that is in no seal fails verify (nothing may be unsealed then);
// after a restart, the new files it opens are merely unsealed tails.
func TestVerifyExtraFileAfterStop(t *testing.T) {
	s := startSealog(t)
	s.Send(t, "<13>1 2026-12-07T04:00:00Z host app - - - before the stop")
	s.WaitEvents(t, 1)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("verify after a graceful stop: exit %d\n%s", code, out)
	}
	copyDir := bbCopyDir(t, s.Dir)
	events := s.files("events")
	line, _ := os.ReadFile(events[len(events)-1])
	extra := filepath.Join(copyDir, "events-29991231T235959.999Z.log")
	if err := os.WriteFile(extra, line, 0o640); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runSealog(t, "", "verify", "--verify-key", filepath.Join(s.KeyDir, "verify.key"), copyDir)
	if code != 1 || !strings.Contains(out, "events-29991231T235959.999Z.log: not in the seal chain, which ends with a graceful stop") {
		t.Fatalf("verify with a file added after the stop: exit %d, want 1 naming it\n%s%s", code, out, errOut)
	}

	s.startWith()
	s.Send(t, "<13>1 2026-12-07T04:00:00Z host app - - - after the restart")
	s.WaitEvents(t, 2)
	if out, code := s.Verify(t); code != 0 || !strings.Contains(out, "unsealed tail") {
		t.Fatalf("verify of a running server after a restart: exit %d, want 0 with unsealed tails\n%s", code, out)
	}
}
