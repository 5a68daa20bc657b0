package tests

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

	"github.com/sealog/sealog/internal/gotool"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/witness"
)

// goInstalled finds litewitness or witnessctl, which
// tests/install-peers.sh go-installs, or skips the test.
func goInstalled(t *testing.T, name string) string {
	t.Helper()
	return gotool.Path(t, name, "filippo.io/torchwood v0.6.1")
}

// liteWitness is litewitness run the way README.md's witness section
// runs it: its key made by ssh-keygen and held by a dedicated ssh-agent,
// the log registered with witnessctl, listening on 127.0.0.1.
type liteWitness struct {
	t                  *testing.T
	bin, dir, sock, fp string
	addr, vkey         string
	cmd                *exec.Cmd
	exited             chan struct{} // closed once cmd has been waited for
	out                syncBuffer
}

func newLiteWitness(t *testing.T, origin, logPub string) *liteWitness {
	t.Helper()
	w := &liteWitness{t: t, bin: goInstalled(t, "litewitness")}
	ctl := goInstalled(t, "witnessctl")
	for _, p := range []string{"ssh-keygen", "ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s (Debian openssh-client; tests/install-peers.sh installs it)", p)
		}
	}
	// A short directory: the agent's socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "lw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w.dir, w.sock = dir, filepath.Join(dir, "litewitness.sock")
	// The commands of README.md's witness section, as written there, in
	// a shell in the witness's directory (log.pub copied into it).
	if err := os.WriteFile(filepath.Join(dir, "log.pub"), []byte(logPub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sh := func(script string) string {
		t.Helper()
		cmd := exec.Command("sh", "-ec", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(ctl)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	sh(`ssh-keygen -t ed25519 -N '' -f witness.key`)
	agentOut := sh(`ssh-agent -a "$PWD/litewitness.sock"`)
	m := regexp.MustCompile(`SSH_AGENT_PID=(\d+)`).FindStringSubmatch(agentOut)
	if m == nil {
		t.Fatalf("ssh-agent said %q", agentOut)
	}
	if pid, err := strconv.Atoi(m[1]); err == nil {
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) })
	}
	sh(`SSH_AUTH_SOCK="$PWD/litewitness.sock" ssh-add witness.key`)
	if got := strings.TrimSpace(sh(`ORIGIN=$(cut -d+ -f1 log.pub); echo "$ORIGIN"`)); got != origin {
		t.Fatalf("README's origin command gives %q, want %q", got, origin)
	}
	sh(`ORIGIN=$(cut -d+ -f1 log.pub)
witnessctl add-log -db litewitness.db -origin "$ORIGIN"
witnessctl add-key -db litewitness.db -origin "$ORIGIN" -key "$(cat log.pub)"`)
	w.fp = strings.TrimSpace(sh(`ssh-keygen -l -f witness.key.pub | cut -d' ' -f2`))
	w.addr = freePort(t)
	w.start()
	t.Cleanup(w.stop)
	return w
}

var liteVKey = regexp.MustCompile(`vkey=(\S+)`)

func (w *liteWitness) start() {
	t := w.t
	t.Helper()
	w.cmd = exec.Command(w.bin, "-db", "litewitness.db", "-name", "witness.test/litewitness",
		"-key", w.fp, "-ssh-agent", w.sock, "-listen", w.addr)
	w.cmd.Dir = w.dir
	pr, pw := io.Pipe()
	w.cmd.Stderr = pw
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			w.out.Write([]byte(sc.Text() + "\n"))
			if m := liteVKey.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case keyc <- strings.Trim(m[1], `"`):
				default:
				}
			}
		}
	}()
	w.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); pw.Close(); close(exited) }(w.cmd, w.exited)
	select {
	case w.vkey = <-keyc: // "verifier key" vkey=NAME+ID+BASE64, its first lines
	case <-time.After(15 * time.Second):
		t.Fatalf("litewitness printed no verifier key:\n%s", w.out.String())
	}
	waitUntil(t, "litewitness listening", func() bool {
		c, err := net.Dial("tcp", w.addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (w *liteWitness) stop() {
	if w.cmd == nil {
		return
	}
	w.cmd.Process.Signal(syscall.SIGINT) // litewitness's graceful stop
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		<-w.exited
	}
	w.cmd = nil
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(20*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// witnessEvents returns the RESULT of each `witness` security event about
// the witness named name, in order.
func witnessEvents(t *testing.T, s *Sealog, name string) []string {
	t.Helper()
	var out []string
	for _, l := range s.Security() {
		if len(l) != 9 || l[6] != "witness" {
			continue
		}
		var d struct {
			Witness, Reason string
			Size            int
		}
		if err := json.Unmarshal([]byte(l[8]), &d); err != nil {
			t.Fatalf("witness event DETAIL %q: %v", l[8], err)
		}
		if d.Witness != name {
			continue
		}
		if l[7] == "failure" {
			out = append(out, "failure:"+d.Reason)
		} else {
			out = append(out, l[7])
		}
	}
	return out
}

// cosignedBy reads DIR/checkpoint and returns it with its size when it
// carries a valid cosignature by key and the log's signature.
func cosignedBy(t *testing.T, s *Sealog, logPub string, key *witness.Key) ([]byte, uint64, bool) {
	t.Helper()
	msg, err := os.ReadFile(filepath.Join(s.Dir, "checkpoint"))
	if err != nil {
		return nil, 0, false
	}
	v, err := tlog.ParseVerifier(logPub)
	if err != nil {
		t.Fatal(err)
	}
	c, n, err := tlog.Open(msg, v, key)
	if err != nil {
		t.Fatalf("DIR/checkpoint does not open with log.pub and the witness key: %v\n%s", err, msg)
	}
	for _, sig := range n.Sigs {
		if sig.Name == key.Name() && sig.Hash == key.KeyHash() {
			return msg, c.Size, true
		}
	}
	return msg, c.Size, false
}

// junkWitness answers every add-checkpoint with something that is not a
// cosignature, in turn: garbage, 16 MiB of signature-looking lines, a
// reply that never comes within the client's bound, a cosignature by
// another key, and a 409 naming a tree larger than the log's.
type junkWitness struct {
	srv     *httptest.Server
	key     *witness.Key
	n       atomic.Int64
	release chan struct{}
	once    sync.Once
}

func newJunkWitness(t *testing.T) *junkWitness {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := witness.NewKey("junk.test/w", pub)
	j := &junkWitness{key: k, release: make(chan struct{})}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		switch j.n.Add(1) % 5 {
		case 1:
			w.Write([]byte("<html>\x00\xff not a witness\n"))
		case 2:
			line := []byte(strings.Repeat("\u2014 junk.test/w AAAAAQID\n", 4096))
			for i := 0; i < 160; i++ {
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		case 3:
			w.(http.Flusher).Flush()
			select {
			case <-j.release:
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		case 4:
			other, priv, _ := ed25519.GenerateKey(rand.Reader)
			_ = other
			w.Write([]byte(fmt.Sprintf("\u2014 junk.test/w %x\n", priv[:8])))
		default:
			w.Header().Set("Content-Type", "text/x.tlog.size")
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte("99999999\n"))
		}
	}))
	t.Cleanup(func() { j.once.Do(func() { close(j.release) }); j.srv.Close() })
	return j
}

// TestWitnessLitewitness runs sealog with a real, independent witness
// (litewitness) and a hostile one. It checks real cosignatures in
// DIR/checkpoint, a proof an auditor checks with public keys only
// (verify-proof --witness-key, refused when the cosignature is changed),
// that an outage is one `witness failure` event while ingestion goes on, that
// the restart is one `witness success` and cosigned checkpoints again,
// that a restarted sealog resyncs through the 409 reply, that a graceful
// stop has its final checkpoint cosigned, and that the hostile witness
// costs one failure event and nothing else.
func TestWitnessLitewitness(t *testing.T) {
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(t.TempDir(), "logs"), KeyDir: t.TempDir()}
	if _, errOut, code := runSealog(t, "", "keygen", "--out", s.KeyDir, "--origin", "sealog.test/witnessed"); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	logPubFile := filepath.Join(s.KeyDir, "log.pub")
	b, err := os.ReadFile(logPubFile)
	if err != nil {
		t.Fatal(err)
	}
	logPub := strings.TrimSpace(string(b))
	lw := newLiteWitness(t, "sealog.test/witnessed", logPub)
	key, err := witness.ParseKey(lw.vkey)
	if err != nil {
		t.Fatalf("litewitness's key %q: %v", lw.vkey, err)
	}
	junk := newJunkWitness(t)
	maddr := freePort(t)
	args := []string{"--seal-interval", "1s", "--metrics-listen", maddr,
		"--witness", lw.vkey + ",http://" + lw.addr,
		"--witness", junk.key.String() + "," + junk.srv.URL}
	s.startWith(args...)

	// The start event names the witnesses.
	if start := s.WaitSecurity(t, "start"); !strings.Contains(start[0][8], `"witnesses":["witness.test/litewitness","junk.test/w"]`) {
		t.Errorf("start DETAIL %s does not name the witnesses", start[0][8])
	}

	// Cosigned by litewitness.
	s.Send(t, "<13>1 2026-12-07T00:00:00Z host app - - - first")
	s.WaitEvents(t, 1)
	waitUntil(t, "a cosigned DIR/checkpoint", func() bool { _, _, ok := cosignedBy(t, s, logPub, key); return ok })
	waitUntil(t, "the success event", func() bool { return len(witnessEvents(t, s, key.Name())) >= 1 })
	if got := witnessEvents(t, s, key.Name()); len(got) != 1 || got[0] != "success" {
		t.Fatalf("litewitness events %v, want [success]", got)
	}

	// An auditor with public keys only: prove one event, verify the proof
	// with log.pub and the witness key.
	id := s.Events()[0][2]
	var proof, proveErr string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var code int
		proof, proveErr, code = runSealog(t, "", "prove", "--dir", s.Dir, id)
		if code == 0 && strings.Contains(proof, "witness.test/litewitness") {
			break
		}
		if time.Now().After(deadline) {
			cp, _ := os.ReadFile(filepath.Join(s.Dir, "checkpoint"))
			t.Fatalf("no proof of %s under a cosigned checkpoint: %s%s\nDIR/checkpoint:\n%s\n%s", id, proof, proveErr, cp, s.Stderr())
		}
	}
	proofFile := filepath.Join(t.TempDir(), "proof.json")
	os.WriteFile(proofFile, []byte(proof), 0o644)
	out, errOut, code := runSealog(t, "", "verify-proof", "--log-pub", logPubFile, "--witness-key", lw.vkey, proofFile)
	if code != 0 || !strings.Contains(out, "cosigned by 1 of 1") {
		t.Fatalf("verify-proof --witness-key: exit %d\n%s%s", code, out, errOut)
	}
	// Tampered: the proof's checkpoint with litewitness's line corrupted.
	var pj map[string]any
	if err := json.Unmarshal([]byte(proof), &pj); err != nil {
		t.Fatal(err)
	}
	cpText := pj["checkpoint"].(string)
	i := strings.Index(cpText, "\u2014 witness.test/litewitness ") + len("\u2014 witness.test/litewitness ") + 20
	pj["checkpoint"] = cpText[:i] + flipB64(cpText[i]) + cpText[i+1:]
	bad, _ := json.Marshal(pj)
	badFile := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(badFile, bad, 0o644)
	out, errOut, code = runSealog(t, "", "verify-proof", "--log-pub", logPubFile, "--witness-key", lw.vkey, badFile)
	if code != 1 || !strings.Contains(errOut, "invalid signature for key "+key.Name()) {
		t.Errorf("verify-proof of a proof whose cosignature was changed: exit %d, want 1\n%s%s", code, out, errOut)
	}
	// The same proof against a key the checkpoint has no cosignature by fails.
	if _, _, code := runSealog(t, "", "verify-proof", "--log-pub", logPubFile, "--witness-key", junk.key.String(), proofFile); code != 1 {
		t.Errorf("verify-proof with a witness that did not cosign: exit %d, want 1", code)
	}

	// The auditor keeps a copy of the cosigned checkpoint off the host.
	kept := filepath.Join(t.TempDir(), "checkpoint.kept")
	keptMsg, _, _ := cosignedBy(t, s, logPub, key)
	if err := os.WriteFile(kept, keptMsg, 0o644); err != nil {
		t.Fatal(err)
	}

	// Outage: litewitness stops; ingestion goes on; one failure event
	// however many checkpoints it misses.
	lw.stop()
	_, sizeBefore, _ := cosignedBy(t, s, logPub, key)
	for i := 0; i < 3; i++ {
		start := time.Now()
		s.Send(t, fmt.Sprintf("<13>1 2026-12-07T00:00:00Z host app - - - during outage %d", i))
		s.WaitEvents(t, 2+i)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("an event took %v to be written while the witness was down", took)
		}
		time.Sleep(1200 * time.Millisecond) // a checkpoint seal each
	}
	waitUntil(t, "the failure event", func() bool { return len(witnessEvents(t, s, key.Name())) == 2 })
	if _, size, _ := cosignedBy(t, s, logPub, key); size <= sizeBefore {
		t.Fatalf("no checkpoint published during the outage (size %d)", size)
	}
	if got := witnessEvents(t, s, key.Name()); got[1] != "failure:unreachable" {
		t.Fatalf("litewitness events %v, want [success failure:unreachable]", got)
	}

	// Recovery: restart; the next checkpoint is cosigned again.
	lw.start()
	s.Send(t, "<13>1 2026-12-07T00:00:00Z host app - - - after recovery")
	s.WaitEvents(t, 5)
	waitUntil(t, "a cosigned checkpoint after the restart", func() bool {
		_, size, ok := cosignedBy(t, s, logPub, key)
		return ok && size > sizeBefore
	})
	waitUntil(t, "the success event", func() bool { return len(witnessEvents(t, s, key.Name())) >= 3 })
	if got := witnessEvents(t, s, key.Name()); strings.Join(got, " ") != "success failure:unreachable success" {
		t.Fatalf("litewitness events %v, want [success failure:unreachable success]", got)
	}

	// The hostile witness: one failure, whatever it answered since.
	if junk.n.Load() < 3 {
		t.Errorf("the hostile witness was asked %d times, want at least 3", junk.n.Load())
	}
	waitUntil(t, "the hostile witness's event", func() bool { return len(witnessEvents(t, s, junk.key.Name())) >= 1 })
	if got := witnessEvents(t, s, junk.key.Name()); len(got) != 1 || !strings.HasPrefix(got[0], "failure:") {
		t.Errorf("hostile witness events %v, want one failure", got)
	}

	// Every request is counted for the metrics, by witness and result.
	counts := map[string]float64{}
	for k, v := range mtScrape(t, maddr) {
		if strings.HasPrefix(k, "sealog_witness_requests_total{") {
			for _, name := range []string{key.Name(), junk.key.Name()} {
				for _, res := range []string{"success", "failure"} {
					if strings.Contains(k, `witness="`+name+`"`) && strings.Contains(k, `result="`+res+`"`) {
						counts[name+" "+res] += v
					}
				}
			}
		}
	}
	if counts[key.Name()+" success"] < 2 || counts[key.Name()+" failure"] < 1 || counts[junk.key.Name()+" failure"] < 1 || counts[junk.key.Name()+" success"] != 0 {
		t.Errorf("sealog_witness_requests_total: %v", counts)
	}

	// A graceful stop: the final checkpoint is cosigned within the grace.
	if code := s.Stop(); code != 0 {
		t.Fatalf("sealog exit %d:\n%s", code, s.Stderr())
	}
	msg, size, ok := cosignedBy(t, s, logPub, key)
	if seals := bbCountSeals(s.Dir); !ok || int(size) != seals {
		t.Fatalf("after the stop DIR/checkpoint (size %d, cosigned %v) is not the cosigned checkpoint of all %d seals:\n%s\n%s", size, ok, seals, msg, s.Stderr())
	}

	// The auditor, with public keys only: the directory against its
	// cosigned DIR/checkpoint, and against the copy kept off the host
	// since the first cosignature (README).
	vout, verr, vcode := runSealog(t, "", "verify", "--log-pub", logPubFile, "--witness-key", lw.vkey, s.Dir)
	if vcode != 0 {
		t.Fatalf("verify --log-pub --witness-key: exit %d\n%s%s", vcode, vout, verr)
	}
	if vout, verr, vcode = runSealog(t, "", "verify", "--log-pub", logPubFile, "--checkpoint", kept, "--witness-key", lw.vkey, s.Dir); vcode != 0 {
		t.Fatalf("verify --checkpoint KEPT --witness-key: exit %d\n%s%s", vcode, vout, verr)
	}
	both := []string{"verify", "--log-pub", logPubFile, "--witness-key", lw.vkey, "--witness-key", junk.key.String()}
	if vout, verr, vcode = runSealog(t, "", append(both, s.Dir)...); vcode != 1 {
		t.Errorf("verify requiring the hostile witness's cosignature too: exit %d, want 1\n%s%s", vcode, vout, verr)
	}
	if vout, verr, vcode = runSealog(t, "", append(both, "--min-cosignatures", "1", s.Dir)...); vcode != 0 {
		t.Errorf("verify --min-cosignatures 1 of the two: exit %d, want 0\n%s%s", vcode, vout, verr)
	}

	// A restarted sealog does not know the witness's size: its first
	// request (old 0) draws a 409 naming it, and the resend is cosigned.
	s.startWith(args...)
	s.Send(t, "<13>1 2026-12-07T00:00:00Z host app - - - after restart")
	waitUntil(t, "a cosigned checkpoint after sealog's restart", func() bool {
		_, sz, ok := cosignedBy(t, s, logPub, key)
		return ok && sz > size
	})

	// What the witness itself holds (the auditor's cross-check, README):
	// its page lists the log at the size and root it cosigned last.
	resp, err := http.Get("http://" + lw.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	msg, size, _ = cosignedBy(t, s, logPub, key)
	lines := strings.Split(string(msg), "\n")
	if want := fmt.Sprintf("size %d, root %s", size, lines[2]); !strings.Contains(string(page), want) {
		t.Errorf("litewitness's page does not show %q:\n%s", want, page)
	}

}

// flipB64 returns another base64 character than c.
func flipB64(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestWitnessHung: a witness that accepts the request and never answers
// delays no event, and a graceful stop gives it --shutdown-grace, not
// the request's 10 s, then exits 0 with its files final-sealed.
func TestWitnessHung(t *testing.T) {
	release := make(chan struct{})
	var asked atomic.Int64
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := witness.NewKey("hung.test/w", pub)
	s := startSealog(t, "--seal-interval", "1s", "--shutdown-grace", "1s", "--witness", k.String()+","+hung.URL)
	for i := 0; i < 3; i++ {
		start := time.Now()
		s.Send(t, fmt.Sprintf("<13>1 2026-12-07T00:00:00Z host app - - - while the witness hangs %d", i))
		s.WaitEvents(t, i+1)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("event %d took %v to be written while the witness hangs", i, took)
		}
		time.Sleep(1100 * time.Millisecond)
	}
	if asked.Load() == 0 {
		t.Fatal("the witness was never asked")
	}
	start := time.Now()
	if code := s.Stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.Stderr())
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("the stop took %v with --shutdown-grace 1s and a hung witness", took)
	}
	if n := bbCountSeals(s.Dir); n == 0 {
		t.Fatal("no seals")
	}
	if _, code := s.Verify(t); code != 0 {
		t.Errorf("verify after the stop: exit %d", code)
	}
}
