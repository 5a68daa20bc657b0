package tests

// Helpers shared by the interop suites: real senders —
// rsyslog, syslog-ng, openssl s_client, logger — are started with
// configurations generated in a temporary directory, fed messages the
// test chooses, and what sealog wrote is compared with what the sender
// was asked to send, message by message.

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// interopMaxMessage is sealog's --max-message-size in these suites: large
// enough for the 60 KB message of the interop suite plus any sender's header.
const interopMaxMessage = "131072"

// ioBigPayload is the 60 KB message of printable, with a counter
// every 64 bytes so that a lost or repeated block shows in a diff.
func ioBigPayload(tag string) string {
	var b strings.Builder
	b.WriteString(tag)
	for i := 0; b.Len() < 60*1024; i++ {
		b.WriteString(" block-")
		b.WriteString(strings.Repeat("0", 6-len(strconv.Itoa(i))) + strconv.Itoa(i))
		b.WriteString(strings.Repeat("x", 50))
	}
	return b.String()[:60*1024]
}

// startInteropSealog starts sealog for a sender suite. mutual=false runs
// it without client authentication: the harness always passes
// --tls-client-ca, and pflag lets a later "--tls-client-ca=" set it back
// to empty, which is "not set" (docs/operations.md).
func startInteropSealog(t *testing.T, mutual bool, extra ...string) *Sealog {
	t.Helper()
	args := []string{"--max-message-size", interopMaxMessage, "--fsync-interval", "0"}
	if !mutual {
		args = append(args, "--tls-client-ca=")
	}
	return startSealog(t, append(args, extra...)...)
}

// ioCol is an expected client value: ioAbsent is written "-" (docs/format.md §3.2),
// ioField(v) is a present value, written encoded.
type ioCol struct {
	set bool
	v   string
}

func ioField(v string) ioCol { return ioCol{set: true, v: v} }

var ioAbsent = ioCol{}

func (c ioCol) String() string {
	if !c.set {
		return "-"
	}
	return pctColumn(c.v)
}

// ioWant is what columns 7–15 of an events line must hold.
type ioWant struct {
	flags                                 string // column 7
	pri                                   string // column 8, "-" for none
	ts, host, app, procid, msgid, sd, msg ioCol
	// tsContains, when set, replaces the exact TIMESTAMP check: some
	// senders render the time themselves (a guessed year, their zone).
	tsContains string
	// msgSuffix, when set, replaces the exact MSG check: the MSG column
	// of an RFC 3164 frame starts with a timestamp the sender chose.
	msgSuffix string
}

// ioCheckEvents compares sealog's event lines with the wanted ones, in
// order and one for one; auth is the wanted AUTH column and tlsCol the
// wanted TLS column ("TLS1." for any TLS version, else "tcp"/"udp").
func ioCheckEvents(t *testing.T, got [][]string, want []ioWant, auth, tlsCol string) {
	t.Helper()
	if len(got) != len(want) {
		for i, g := range got {
			t.Logf("got line %d: %s", i, ioShorten(strings.Join(g, "\t")))
		}
		t.Fatalf("got %d event lines, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if len(g) != 15 {
			t.Errorf("line %d: got %d columns, want 15: %q", i, len(g), ioShorten(strings.Join(g, "\t")))
			continue
		}
		if len(g[0]) == 0 || strconv.Itoa(len(strings.Join(g[1:], "\t"))) != g[0] {
			t.Errorf("line %d: got LEN %s, want %d", i, g[0], len(strings.Join(g[1:], "\t")))
		}
		if g[4] != auth {
			t.Errorf("line %d: got AUTH %q, want %q", i, g[4], auth)
		}
		if !strings.HasPrefix(g[5], tlsCol) {
			t.Errorf("line %d: got TLS %q, want %q…", i, g[5], tlsCol)
		}
		if g[3] == "-" || !strings.HasPrefix(g[3], "127.0.0.1:") {
			t.Errorf("line %d: got PEER %q, want 127.0.0.1:port", i, g[3])
		}
		cols := []struct {
			name      string
			got, want string
		}{
			{"FLAGS", g[6], w.flags}, {"PRI", g[7], w.pri}, {"HOSTNAME", g[9], w.host.String()},
			{"APP-NAME", g[10], w.app.String()}, {"PROCID", g[11], w.procid.String()},
			{"MSGID", g[12], w.msgid.String()}, {"SD", g[13], w.sd.String()},
		}
		if w.msgSuffix != "" {
			if !strings.HasSuffix(g[14], pctEncode(w.msgSuffix)) {
				t.Errorf("line %d: got MSG %q, want one ending in %q", i, ioShorten(g[14]), ioShorten(pctEncode(w.msgSuffix)))
			}
		} else {
			cols = append(cols, struct{ name, got, want string }{"MSG", g[14], w.msg.String()})
		}
		if w.tsContains != "" {
			if !strings.Contains(g[8], w.tsContains) {
				t.Errorf("line %d: got TIMESTAMP %q, want one containing %q", i, g[8], w.tsContains)
			}
		} else {
			cols = append(cols, struct{ name, got, want string }{"TIMESTAMP", g[8], w.ts.String()})
		}
		for _, c := range cols {
			if c.got != c.want {
				t.Errorf("line %d: got %s %q, want %q", i, c.name, ioShorten(c.got), ioShorten(c.want))
			}
		}
	}
}

// ioCheckNoFailures fails on security events that mean a sender's bytes
// were not taken as the sender meant them; allowed maps an action to how
// many of it the test itself provoked.
func ioCheckNoFailures(t *testing.T, s *Sealog, allowed map[string]int) {
	t.Helper()
	probe := true
	for _, l := range s.Security() {
		if len(l) != 9 {
			t.Errorf("security line with %d columns: %q", len(l), l)
			continue
		}
		// startSealog's readiness probe connects and closes: one
		// handshake failure with reason eof, logged whenever sealog
		// notices (possibly after a sender's connect). A second one is
		// the sender's.
		if probe && l[6] == "tls_handshake_failed" && strings.Contains(l[8], `"reason":"eof"`) {
			probe = false
			continue
		}
		if allowed[l[6]] > 0 {
			allowed[l[6]]--
			continue
		}
		switch l[6] {
		case "parse_failed", "frame_error", "oversized", "tls_handshake_failed", "peer_denied", "write_error":
			t.Errorf("unexpected security event %s %s %s", l[6], l[7], l[8])
		}
	}
}

// ioStopAndVerify stops sealog gracefully and checks the seal chain.
func ioStopAndVerify(t *testing.T, s *Sealog) {
	t.Helper()
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("verify exit %d:\n%s", code, out)
	}
}

func ioShorten(s string) string {
	if len(s) <= 300 {
		return s
	}
	return s[:140] + "…(" + strconv.Itoa(len(s)) + " bytes)…" + s[len(s)-140:]
}

// ioPeer is a sender process run in the foreground under the test.
type ioPeer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	logs   []string // files to show when the test fails
	once   sync.Once
	exitOK bool
}

// ioStartPeer starts a sender; it is stopped with SIGTERM (then SIGKILL)
// at the end of the test, and its output and logs are shown on failure.
func ioStartPeer(t *testing.T, name string, env []string, argv ...string) *ioPeer {
	t.Helper()
	p := &ioPeer{t: t, name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
			for _, f := range p.logs {
				data, _ := os.ReadFile(f)
				t.Logf("%s %s:\n%s", name, f, ioShorten(string(data)))
			}
		}
	})
	return p
}

// Stop ends the sender gracefully (it flushes its queues) and waits.
func (p *ioPeer) Stop() {
	p.once.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			// Only our own process group: the sender and its helpers.
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			p.t.Errorf("%s did not stop within 15s after SIGTERM", p.name)
		}
	})
}

// Exited reports whether the sender has already ended.
func (p *ioPeer) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ioFeedTCP connects to a sender's plain local input, retrying while the
// sender starts up, writes data and closes the connection.
func ioFeedTCP(t *testing.T, p *ioPeer, addr string, data []byte) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			if _, err := c.Write(data); err != nil {
				t.Fatalf("feed %s: %v", addr, err)
			}
			c.Close()
			return
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("%s input %s not reachable: %v", p.name, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ioWaitEvents is WaitEvents that also gives up when the sender died.
func ioWaitEvents(t *testing.T, s *Sealog, p *ioPeer, n int) {
	t.Helper()
	died := false
	if !poll(30*time.Second, func() bool {
		died = p != nil && p.Exited()
		return died || len(s.Events()) >= n
	}) {
		t.Fatalf("got %d event lines, want %d; sealog stderr:\n%s", len(s.Events()), n, s.Stderr())
	}
	if died && len(s.Events()) < n {
		t.Fatalf("%s exited early; got %d of %d events\n%s", p.name, len(s.Events()), n, p.out.String())
	}
}

// ioFirstLine is the first line of a program's version output.
func ioFirstLine(b []byte) string {
	l, _, _ := bytes.Cut(b, []byte("\n"))
	return strings.TrimSpace(string(l))
}
