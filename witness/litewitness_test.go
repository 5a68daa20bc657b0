package witness

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/sealog/sealog/internal/gotool"
)

// goBin finds litewitness or witnessctl, which tests/install-peers.sh
// go-installs, or skips the test.
func goBin(t *testing.T, name string) string {
	t.Helper()
	return gotool.Path(t, name, "filippo.io/torchwood v0.6.1")
}

// litewitness is a real litewitness (filippo.io/torchwood) on 127.0.0.1,
// with its key in its own ssh-agent, as its README runs it.
type litewitness struct {
	t     *testing.T
	dir   string
	bin   string
	sock  string
	fp    string // the key's SSH fingerprint
	addr  string
	vkey  string
	cmd   *exec.Cmd
	agent *exec.Cmd
	mu    sync.Mutex
	log   strings.Builder
}

func startLitewitness(t *testing.T, origin, logVKey string) *litewitness {
	t.Helper()
	lw := &litewitness{t: t, bin: goBin(t, "litewitness")}
	ctl := goBin(t, "witnessctl")
	for _, p := range []string{"ssh-keygen", "ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s (Debian openssh-client)", p)
		}
	}
	// The agent's socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "lw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	lw.dir, lw.sock = dir, filepath.Join(dir, "agent.sock")
	run(t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "witness", "-f", filepath.Join(dir, "witness.key"))
	lw.agent = exec.Command("ssh-agent", "-D", "-a", lw.sock)
	if err := lw.agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lw.agent.Process.Kill(); lw.agent.Wait() })
	waitFor(t, func() bool { _, err := os.Stat(lw.sock); return err == nil })
	run(t, []string{"SSH_AUTH_SOCK=" + lw.sock}, "ssh-add", "-q", filepath.Join(dir, "witness.key"))
	fp := strings.Fields(run(t, nil, "ssh-keygen", "-l", "-f", filepath.Join(dir, "witness.key.pub")))
	if len(fp) < 2 || !strings.HasPrefix(fp[1], "SHA256:") {
		t.Fatalf("ssh-keygen -l: %q", fp)
	}
	lw.fp = fp[1]
	db := filepath.Join(dir, "litewitness.db")
	run(t, nil, ctl, "add-log", "-db", db, "-origin", origin)
	run(t, nil, ctl, "add-key", "-db", db, "-origin", origin, "-key", logVKey)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lw.addr = l.Addr().String()
	l.Close()
	lw.start()
	t.Cleanup(lw.stop)
	return lw
}

var vkeyRE = regexp.MustCompile(`vkey=(\S+)`)

// start runs litewitness and waits until it listens and has said its key.
func (lw *litewitness) start() {
	t := lw.t
	lw.cmd = exec.Command(lw.bin, "-db", filepath.Join(lw.dir, "litewitness.db"), "-name", "witness.test/litewitness",
		"-key", lw.fp, "-ssh-agent", lw.sock, "-listen", lw.addr)
	stderr, err := lw.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := lw.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lw.mu.Lock()
			lw.log.WriteString(sc.Text() + "\n")
			lw.mu.Unlock()
			if m := vkeyRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case keyc <- strings.Trim(m[1], `"`):
				default:
				}
			}
		}
	}()
	select {
	case lw.vkey = <-keyc:
	case <-time.After(10 * time.Second):
		t.Fatalf("litewitness did not print its verifier key:\n%s", lw.output())
	}
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", lw.addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// stop ends litewitness with SIGINT, its graceful stop.
func (lw *litewitness) stop() {
	if lw.cmd == nil || lw.cmd.Process == nil {
		return
	}
	lw.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { lw.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		lw.cmd.Process.Kill()
		<-done
	}
	lw.cmd = nil
}

func (lw *litewitness) output() string {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.log.String()
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// TestLitewitness runs the package against a real, independent witness:
// litewitness from filippo.io/torchwood. Its cosignatures must verify
// with the key it prints; an outage is one failure event; a restart is one
// success event; and a fresh Pool (a restarted sealog that does not know
// what the witness holds) resyncs through the 409 reply.
func TestLitewitness(t *testing.T) {
	l := newTestLog(t, "sealog.test/log")
	lw := startLitewitness(t, l.origin, l.vkey)
	key, err := ParseKey(lw.vkey)
	if err != nil {
		t.Fatalf("litewitness's key %q: %v", lw.vkey, err)
	}
	w := Witness{Key: key, URL: "http://" + lw.addr}
	rec := newRecorder()
	cfg := rec.config(l, w)
	cfg.Timeout = 2 * time.Second
	p := Start(cfg)
	n := 0
	submit := func() (uint64, []byte) {
		size, cp := l.grow(3)
		p.Submit(size, cp)
		n++
		rec.wait(t, n)
		return size, cp
	}
	size, cp := submit()
	rec.mu.Lock()
	line := rec.cosigned[size]
	rec.mu.Unlock()
	if line == nil {
		t.Fatalf("no cosignature from litewitness; events %+v\n%s", rec.events, lw.output())
	}
	// The checkpoint with litewitness's line opens with
	// golang.org/x/mod/sumdb/note given the log's key and this Key.
	cosigned := append(append([]byte(nil), cp...), line...)
	nt, err := note.Open(cosigned, note.VerifierList(l.verif, key))
	if err != nil || len(nt.Sigs) != 2 {
		t.Fatalf("note.Open of the cosigned checkpoint: %v", err)
	}
	submit() // with a consistency proof from the first

	lw.stop()
	submit()
	submit()
	lw.start()
	last, _ := submit()
	p.Stop(context.Background())

	rec.mu.Lock()
	var states []string
	for _, e := range rec.events {
		if e.OK {
			states = append(states, "success")
		} else {
			states = append(states, "failure:"+e.Reason)
		}
	}
	cosignedLast := rec.cosigned[last] != nil
	rec.mu.Unlock()
	if strings.Join(states, " ") != "success failure:unreachable success" || !cosignedLast {
		t.Fatalf("events %v, last cosigned %v; want success, failure:unreachable, success\n%s", states, cosignedLast, lw.output())
	}

	// A restarted log client knows nothing of the witness's size: its
	// first request (old 0) gets the 409, and the resend is cosigned.
	rec2 := newRecorder()
	p2 := Start(rec2.config(l, w))
	size2, cp2 := l.grow(1)
	p2.Submit(size2, cp2)
	rec2.wait(t, 1)
	p2.Stop(context.Background())
	if rec2.cosigned[size2] == nil {
		t.Fatalf("no cosignature after the resync: %+v\n%s", rec2.events, lw.output())
	}
}
