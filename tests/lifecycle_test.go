package tests

// Event IDs and file names across restarts, and the graceful stop
// (docs/format.md §3, §5).

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCoreIDsNamesModes: event IDs unique and well-formed across a restart
// on the same directory and across both streams (docs/format.md §3.3 col 3), TIME
// format, file names, file and directory modes (docs/format.md §3.1).
func TestCoreIDsNamesModes(t *testing.T) {
	// The harness creates the directory itself; to see sealog create it,
	// point --dir at a fresh path (the last --dir wins).
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(t.TempDir(), "probe"), KeyDir: t.TempDir()}
	if _, e, code := bbRun(t, "keygen", "--out", s.KeyDir); code != 0 {
		t.Fatalf("keygen: %s", e)
	}
	fresh := filepath.Join(t.TempDir(), "new-logs")
	s.startWith("--dir", fresh)
	s.Dir = fresh
	for round := 0; round < 2; round++ {
		if round == 1 {
			s.startWith("--dir", fresh)
		}
		for i := 0; i < 3; i++ {
			s.Send(t, bbMsg(fmt.Sprintf("round %d conn %d a", round, i)), bbMsg(fmt.Sprintf("round %d conn %d b", round, i)))
		}
		s.WaitEvents(t, 6*(round+1))
		if code := s.Stop(); code != 0 {
			t.Fatalf("stop: exit %d: %s", code, s.Stderr())
		}
	}
	ids := map[string]string{}
	for _, st := range []string{"events", "security"} {
		for _, l := range s.lines(st) {
			c := strings.Split(l, "\t")
			if len(c) < 3 {
				t.Fatalf("short line %q", l)
			}
			if prev, dup := ids[c[2]]; dup {
				t.Errorf("ID %s used twice:\n%s\n%s", c[2], prev, l)
			}
			ids[c[2]] = l
			if !strings.HasPrefix(c[2], "testhost") {
				t.Errorf("ID %q does not start with the instance name testhost", c[2])
			}
		}
	}
	if len(ids) < 12 {
		t.Errorf("got %d IDs, want at least 12", len(ids))
	}
	bbCheckAll(t, s)
	fi, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o750 {
		t.Errorf("directory created %v, want 0750", got)
	}
	ents, _ := os.ReadDir(fresh)
	var nfiles int
	for _, e := range ents {
		info, _ := e.Info()
		switch {
		case bbFileRE.MatchString(e.Name()):
			nfiles++
			ts, _ := time.Parse("20060102T150405.000Z", strings.TrimSuffix(strings.SplitN(e.Name(), "-", 2)[1], ".log"))
			if d := time.Since(ts); d < 0 || d > 10*time.Minute {
				t.Errorf("%s: name time is %v from now, want the UTC open time", e.Name(), d)
			}
		case e.Name() == "seals.log", e.Name() == "checkpoint":
		default:
			t.Errorf("unexpected file %s (want events-YYYYMMDDTHHMMSS.mmmZ.log, security-…, seals.log, checkpoint)", e.Name())
			continue
		}
		if got := info.Mode().Perm(); got != 0o640 {
			t.Errorf("%s: mode %v, want 0640", e.Name(), got)
		}
	}
	if nfiles != 4 {
		t.Errorf("got %d events/security files after two runs, want 4", nfiles)
	}
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
}

// TestCoreGracefulStop: SIGTERM with a connection still open (docs/format.md §5):
// stop accepting, keep reading until the client closes, write all, stop
// event, final seals, exit 0 — before the grace period ends.
func TestCoreGracefulStop(t *testing.T) {
	s := startSealog(t, "--shutdown-grace", "6s")
	c := s.Dial(t)
	peer := c.LocalAddr().String()
	var want []string
	for i := 0; i < 20; i++ {
		f := bbMsg(fmt.Sprintf("before stop %d", i))
		want = append(want, f)
		c.Write(bbOctet(f))
	}
	bbWaitFrom(t, s, peer, 20)
	s.cmd.Process.Signal(syscall.SIGTERM)
	sigAt := time.Now()
	time.Sleep(300 * time.Millisecond)
	if nc, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		nc.Close()
		t.Errorf("still accepting connections after SIGTERM")
	}
	for i := 0; i < 20; i++ {
		f := bbMsg(fmt.Sprintf("during grace %d", i))
		want = append(want, f)
		if _, err := c.Write(bbOctet(f)); err != nil {
			t.Fatalf("write during grace: %v", err)
		}
	}
	closeAndDrain(c)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20s after SIGTERM")
	}
	if d := time.Since(sigAt); d > 5*time.Second {
		t.Errorf("stopped %v after SIGTERM although the only client closed after 0.3s (grace 6s)", d)
	}
	if s.exitCode != 0 {
		t.Errorf("got exit %d, want 0; stderr:\n%s", s.exitCode, s.Stderr())
	}
	ev := bbEventsFrom(s, peer)
	if len(ev) != len(want) {
		t.Fatalf("got %d lines, want %d", len(ev), len(want))
	}
	for i, l := range ev {
		if got, _ := bbFrame(l); string(got) != want[i] {
			t.Errorf("line %d: got %q, want %q", i, got, want[i])
		}
	}
	sec := s.Security()
	last := -1
	stopAt, discAt := -1, -1
	for i, l := range sec {
		switch {
		case l[6] == "stop":
			stopAt = i
		case l[6] == "disconnect" && l[3] == peer:
			discAt = i
		case l[6] == "seal":
			last = i
		}
	}
	if stopAt < 0 || discAt < 0 || discAt > stopAt {
		t.Errorf("want the client's disconnect before the stop event (disconnect at %d, stop at %d)", discAt, stopAt)
	}
	if last < stopAt {
		t.Errorf("want a seal event after the stop event")
	}
	seals := bbSeals(t, s.Dir)
	if len(seals) < 2 {
		t.Fatalf("got %d seals, want final seals for both files", len(seals))
	}
	for _, sl := range seals[len(seals)-2:] {
		if sl[3] != "final" {
			t.Errorf("last seals: got KIND %q for %s, want final", sl[3], sl[4])
		}
	}
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
}
