package tests

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// dfMount makes a small ext4 filesystem on a loop device and mounts it,
// so that "disk full" is a real ENOSPC from the kernel (docs/format.md §5). It
// skips unless we are root with mkfs.ext4 and loop devices.
func dfMount(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full test needs root to mount a loop device")
	}
	for _, p := range []string{"mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("disk-full test needs %s (e2fsprogs, mount)", p)
		}
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "disk.img"), filepath.Join(dir, "mnt")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	f.Close()
	os.Mkdir(mnt, 0o755)
	// -m 0: no blocks reserved for root, who could otherwise keep writing.
	if out, err := exec.Command("mkfs.ext4", "-q", "-m", "0", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4 failed: %v: %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a loop device (no /dev/loop* or not permitted here): %v: %s", err, out)
	}
	t.Cleanup(func() {
		clearAttributes(mnt)
		for i := 0; i < 50; i++ {
			if exec.Command("umount", mnt).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		exec.Command("umount", "-l", mnt).Run()
	})
	return mnt
}

// dfFill writes a filler file until the filesystem says ENOSPC.
func dfFill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 64 << 10, 4 << 10, 1 << 10, 256} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
	}
}

// dfSender is one client sending numbered messages "df-C-N" on its own
// TLS connection: slowly, or as fast as the server takes them.
type dfSender struct {
	id     int
	c      *tls.Conn
	sent   atomic.Int64
	fast   atomic.Bool
	paused atomic.Bool
	// sending is held across the check of paused and the send that
	// follows, so that pause can wait for a send under way.
	sending sync.Mutex
	stop    chan struct{}
	done    chan struct{}
	err     error
}

func (d *dfSender) run() {
	defer close(d.done)
	pad := strings.Repeat("p", 150)
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		d.sending.Lock()
		if d.paused.Load() {
			d.sending.Unlock()
			time.Sleep(5 * time.Millisecond)
			continue
		}
		m := fmt.Sprintf("<13>1 - diskfull app - - - df-%d-%d %s", d.id, d.sent.Load(), pad)
		d.c.SetWriteDeadline(time.Now().Add(2 * time.Minute))
		_, err := fmt.Fprintf(d.c, "%d %s", len(m), m)
		if err == nil {
			d.sent.Add(1)
		}
		d.sending.Unlock()
		if err != nil {
			d.err = err
			return
		}
		if !d.fast.Load() {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// dfPause stops the senders and waits until the last message each sent
// is in the events file. Setting paused alone is not enough: a sender
// that had checked it may still be sending, and the server may write
// that message after anything the test sends next on another
// connection — after the test filled the disk, say, where it would be
// the first write to fail instead of the seal the test is waiting for.
func dfPause(t *testing.T, s *Sealog, senders []*dfSender) {
	t.Helper()
	for _, d := range senders {
		d.paused.Store(true)
		d.sending.Lock() // a send under way has finished
		d.sending.Unlock()
	}
	for _, d := range senders {
		n := d.sent.Load()
		if n == 0 {
			continue
		}
		last := fmt.Sprintf("df-%d-%d ", d.id, n-1)
		if !poll(20*time.Second, func() bool { return dfHasEventPrefix(s, last) }) {
			t.Fatalf("the last message sender %d sent (%s) is not in the events file", d.id, last)
		}
	}
}

// dfHasEventPrefix reports whether an event's MSG begins with prefix.
func dfHasEventPrefix(s *Sealog, prefix string) bool {
	for _, l := range s.lines("events") {
		if strings.Contains(l, "\t"+prefix) {
			return true
		}
	}
	return false
}

// dfWriteErrors returns the stderr lines of write errors that hold
// clients back (the events, security and seals files, the key state).
// A failed write of DIR/checkpoint is a write error too, but seals go on
// past it: with the disk full it usually comes first, after the last
// seal that fitted, and it is not what these tests wait for.
func dfWriteErrors(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "sealog: write error:") && !strings.Contains(l, "sealog: write error: checkpoint ") {
			out = append(out, l)
		}
	}
	return out
}

// dfRecoveries counts the recoveries of such write errors on stderr.
func dfRecoveries(stderr string) int {
	return strings.Count(stderr, "sealog: write recovered after ")
}

var dfMsgRE = regexp.MustCompile(`^df-(\d+)-(\d+) `)

// TestDiskFull fills the log filesystem while clients send (docs/format.md §5 fail
// closed, lose nothing): sealog must stop reading so the
// senders block, keep what it read, report the write error on stderr at
// once, and when space comes back write everything exactly once, log
// write_error and write_recovered, and leave a chain that verifies.
func TestDiskFull(t *testing.T) {
	mnt := dfMount(t, 16<<20)
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(mnt, "logs"), KeyDir: t.TempDir()}
	if _, _, code := runSealog(t, "", "keygen", "--out", s.KeyDir); code != 0 {
		t.Fatal("keygen failed")
	}
	// fsync every batch and seal often, so both the data path and the
	// seal chain meet the full disk; rotate on size too.
	maddr := freePort(t)
	s.startWith("--fsync-interval", "0", "--seal-interval", "200ms", "--rotate-size", "1MiB", "--metrics-listen", maddr)
	if !s.Chattr {
		t.Log("chattr not available on the loop filesystem; running with --no-chattr")
	}

	const clients = 4
	senders := make([]*dfSender, clients)
	for i := range senders {
		d := &dfSender{id: i, c: s.Dial(t), stop: make(chan struct{}), done: make(chan struct{})}
		// A fixed small send buffer: Linux would grow it to 4 MiB per
		// connection on loopback, more backlog than the small disk holds
		// once space comes back.
		d.c.NetConn().(*net.TCPConn).SetWriteBuffer(32 << 10)
		senders[i] = d
		go d.run()
	}
	total := func() (n int64) {
		for _, d := range senders {
			n += d.sent.Load()
		}
		return n
	}
	time.Sleep(time.Second)

	// Fill the disk, then push as fast as possible: once the queue and the
	// socket buffers are full the senders must block.
	filler := filepath.Join(mnt, "filler")
	dfFill(t, filler)
	for _, d := range senders {
		d.fast.Store(true)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.Stderr(), "sealog: write error:") {
		if time.Now().After(deadline) {
			os.Remove(filler)
			t.Fatalf("no write error on stderr 30s after the disk was full:\n%s", s.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("stderr: %s", firstLine(s.Stderr(), "sealog: write error:"))
	if m := mtScrape(t, maddr); m["sealog_write_errors_total"] < 1 || m["sealog_dir_free_bytes"] > 1<<20 {
		t.Errorf("disk full: sealog_write_errors_total %v (want >= 1), sealog_dir_free_bytes %v (want < 1 MiB)",
			m["sealog_write_errors_total"], m["sealog_dir_free_bytes"])
	}
	// Back-pressure: within 20 s, a whole second without any progress.
	held := false
	prev := total()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		time.Sleep(time.Second)
		now := total()
		if now == prev {
			held = true
			break
		}
		prev = now
	}
	blockedAt := total()
	if !held {
		t.Errorf("senders were not held back while the disk was full: still sending (%d messages)", blockedAt)
	}
	time.Sleep(2 * time.Second) // a full disk for a while: retries with backoff
	if got := total(); got != blockedAt {
		t.Errorf("senders progressed from %d to %d messages while the disk stayed full", blockedAt, got)
	}

	// Slow again before space comes back, so that the backlog and what
	// follows cannot fill the disk a second time.
	for _, d := range senders {
		d.fast.Store(false)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for dfRecoveries(s.Stderr()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 30s after space came back:\n%s", s.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The senders move on.
	for deadline := time.Now().Add(20 * time.Second); total() < blockedAt+100; {
		if time.Now().After(deadline) {
			t.Fatalf("senders did not resume after recovery: %d messages, %d when blocked", total(), blockedAt)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The senders were held for seconds: the metric says so once their
	// batches went in, and the free space is back.
	if m := mtScrape(t, maddr); m["sealog_backpressure_seconds_total"] < 1 || m["sealog_dir_free_bytes"] < 4<<20 {
		t.Errorf("after recovery: sealog_backpressure_seconds_total %v (want >= 1), sealog_dir_free_bytes %v (want >= 4 MiB)",
			m["sealog_backpressure_seconds_total"], m["sealog_dir_free_bytes"])
	}

	// Phase 2: the disk fills while the server is quiet, just before a
	// checkpoint seal whose line cannot fit in the last block of seals.log:
	// the seal chain meets ENOSPC, possibly halfway through the line.
	dfSealFull(t, s, mnt, filler, senders)

	for _, d := range senders {
		close(d.stop)
		<-d.done
		if d.err != nil {
			t.Errorf("sender %d: %v", d.id, d.err)
		}
		closeAndDrain(d.c)
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d:\n%s", code, s.Stderr())
	}

	// Every message exactly once.
	seen := make([]map[int64]int, clients)
	for i := range seen {
		seen[i] = map[int64]int{}
	}
	for _, l := range s.Events() {
		if len(l) != 15 {
			t.Fatalf("event line with %d columns: %q", len(l), l)
		}
		m := dfMsgRE.FindStringSubmatch(l[14])
		if m == nil {
			continue
		}
		c, _ := strconv.Atoi(m[1])
		n, _ := strconv.ParseInt(m[2], 10, 64)
		if c < clients {
			seen[c][n]++
		}
	}
	var sum int64
	for i, d := range senders {
		n := d.sent.Load()
		sum += n
		missing, dup := 0, 0
		for k := int64(0); k < n; k++ {
			switch seen[i][k] {
			case 0:
				missing++
			case 1:
			default:
				dup++
			}
		}
		if missing > 0 || dup > 0 || int64(len(seen[i])) != n {
			t.Errorf("sender %d: sent %d, files hold %d distinct: %d missing, %d duplicated", i, n, len(seen[i]), missing, dup)
		}
	}
	t.Logf("%d messages sent by %d clients; they were blocked at %d while the disk was full", sum, clients, blockedAt)

	werr, wrec := s.SecurityOf("write_error"), s.SecurityOf("write_recovered")
	if len(werr) == 0 || len(wrec) == 0 {
		t.Errorf("security file: got %d write_error and %d write_recovered events, want both", len(werr), len(wrec))
	}
	for _, l := range wrec {
		if !strings.Contains(l[8], `"duration_ms":`) {
			t.Errorf("write_recovered DETAIL: got %s, want duration_ms", l[8])
		}
	}
	hsCheckFiles(t, s)
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d, want 0:\n%s\nserver stderr:\n%s", code, out, s.Stderr())
	}
}

// dfSealFull makes a checkpoint seal meet a full disk: it waits until the
// last block of seals.log has less room than a seal line needs, pauses
// the senders (so no event write fails first), sends one event so the
// events file needs a new checkpoint, fills the disk, waits for
// the seal's write error on stderr, frees the space and waits for the
// recovery. A seal may slip in between the check and the fill; then it
// frees the space and tries again.
func dfSealFull(t *testing.T, s *Sealog, mnt, filler string, senders []*dfSender) {
	t.Helper()
	recovered := dfRecoveries(s.Stderr())
	defer func() {
		for _, d := range senders {
			d.paused.Store(false)
		}
	}()
	dfCatchSealOnFullDisk(t, s, mnt, filler, senders)
	time.Sleep(time.Second) // some retries on the full disk
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for dfRecoveries(s.Stderr()) == recovered {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery of the seal 30s after space came back:\n%s", s.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dfCatchSealOnFullDisk does the first half of dfSealFull: it returns
// once a checkpoint seal has failed on the full disk, with the disk
// still full and the senders paused. It reports whether the kernel took
// part of the seal line (so seals.log now ends in a fragment).
func dfCatchSealOnFullDisk(t *testing.T, s *Sealog, mnt, filler string, senders []*dfSender) (partial bool) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	// ext4 reserves space per page for delayed allocation: a write is
	// cut short (n > 0 with ENOSPC) only where it crosses into a page
	// whose block cannot be allocated. So wait for the tail of seals.log
	// to be near the end of a page (a block boundary when blocks are
	// larger), to get the half-written seal line the chain must finish.
	bsize := max(st.Bsize, int64(os.Getpagesize()))
	seals := filepath.Join(s.Dir, "seals.log")
	const minSealLine = 200 // every seal line is longer (docs/format.md §4: two hex MACs alone are 128)
	resume := func() {
		for _, d := range senders {
			d.paused.Store(false)
		}
	}
	nudge := s.Dial(t)
	defer closeAndDrain(nudge)
	for attempt := 0; attempt < 5; attempt++ {
		errs := len(dfWriteErrors(s.Stderr()))
		// Wait until the tail block is nearly full, then freeze.
		deadline := time.Now().Add(30 * time.Second)
		for {
			fi, err := os.Stat(seals)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size()%bsize > bsize-minSealLine {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("seals.log never reached the end of a block (size %d, block %d)", fi.Size(), bsize)
			}
			time.Sleep(5 * time.Millisecond)
		}
		dfPause(t, s, senders)
		// One more event, so the events file has grown since its last
		// seal and the next checkpoint must seal it.
		m := fmt.Sprintf("<13>1 - diskfull app - - - nudge-%d", attempt)
		fmt.Fprintf(nudge, "%d %s", len(m), m)
		for deadline := time.Now().Add(10 * time.Second); !dfHasEvent(s, "nudge-"+strconv.Itoa(attempt)); {
			if time.Now().After(deadline) {
				t.Fatalf("nudge-%d not written", attempt)
			}
			time.Sleep(5 * time.Millisecond)
		}
		dfFill(t, filler)
		fi, _ := os.Stat(seals)
		if fi.Size()%bsize <= bsize-minSealLine {
			os.Remove(filler) // a seal slipped in; start over
			resume()
			continue
		}
		deadline = time.Now().Add(15 * time.Second)
		for len(dfWriteErrors(s.Stderr())) == errs {
			if time.Now().After(deadline) {
				os.Remove(filler)
				t.Fatalf("no write error 15s after the disk filled before a seal:\n%s", s.Stderr())
			}
			time.Sleep(20 * time.Millisecond)
		}
		werrs := dfWriteErrors(s.Stderr())
		last := werrs[len(werrs)-1]
		t.Logf("phase 2 stderr: %s", last)
		partial = strings.Contains(s.Stderr(), "seal line not yet complete")
		if partial {
			t.Logf("phase 2: the kernel took part of the seal line")
		} else {
			t.Logf("phase 2: the kernel took none of the seal line")
		}
		if !strings.Contains(last, "seals.log") {
			t.Errorf("phase 2: the first failure was not the seal: %s", last)
		}
		return partial
	}
	t.Fatalf("could not catch a seal with a full disk in 5 attempts")
	return false
}

func dfHasEvent(s *Sealog, msg string) bool {
	for _, l := range s.lines("events") {
		if strings.HasSuffix(l, "\t"+msg) {
			return true
		}
	}
	return false
}

// firstLine returns the first line of text that contains sub.
func firstLine(text, sub string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
