package systemd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listenNotify opens a unixgram socket where a Notifier can send and
// returns its address as NOTIFY_SOCKET would hold it.
func listenNotify(t *testing.T, abstract bool) (*net.UnixConn, string) {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "notify")
	env := addr
	if abstract {
		// Go writes a leading '@' as the abstract namespace's NUL byte.
		env = fmt.Sprintf("@sealog-test-%d-%d", os.Getpid(), time.Now().UnixNano())
		addr = env
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, env
}

func readDatagram(t *testing.T, c *net.UnixConn, wait time.Duration) (string, bool) {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}

func TestSystemdNotifier(t *testing.T) {
	tests := []struct {
		name     string
		abstract bool
	}{
		{"path", false},
		{"abstract", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, env := listenNotify(t, tt.abstract)
			t.Setenv("NOTIFY_SOCKET", env)
			n := NewNotifier()
			if got := os.Getenv("NOTIFY_SOCKET"); got != "" {
				t.Errorf("got NOTIFY_SOCKET %q after NewNotifier, want it unset for children", got)
			}
			if !n.Enabled() {
				t.Fatalf("got Enabled false for NOTIFY_SOCKET=%q, want true", env)
			}
			const msg = "READY=1\nSTATUS=serving tls 127.0.0.1:6514"
			if err := n.Notify(msg); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			got, ok := readDatagram(t, c, 2*time.Second)
			if !ok || got != msg {
				t.Errorf("got datagram %q (received %v), want %q", got, ok, msg)
			}
		})
	}
}

// Without a usable NOTIFY_SOCKET every call is a quiet no-op: a sealog
// run by hand or by another init must not fail for want of systemd.
func TestSystemdNotifierDisabled(t *testing.T) {
	for _, env := range []string{"", "relative/path", "@", "/", "vsock:2:1234"} {
		t.Run(strconv.Quote(env), func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", env)
			n := NewNotifier()
			if n.Enabled() {
				t.Errorf("got Enabled true for NOTIFY_SOCKET=%q, want false", env)
			}
			if err := n.Notify("READY=1"); err != nil {
				t.Errorf("got Notify error %v, want nil", err)
			}
			n.StartWatchdog(context.Background()) // must not start anything
		})
	}
	var nilN *Notifier
	if err := nilN.Notify("READY=1"); err != nil || nilN.Enabled() {
		t.Errorf("nil Notifier: got (%v, %v), want (nil, false)", err, nilN.Enabled())
	}
}

// A socket nobody listens on is an error for the caller to ignore, not a
// panic or a hang.
func TestSystemdNotifierGone(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "nobody"))
	if err := NewNotifier().Notify("READY=1"); err == nil {
		t.Error("got nil error sending to a missing socket, want one")
	}
}

func TestSystemdWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		usec, pid string
		want      time.Duration
	}{
		{"", "", 0},
		{"2000000", "", time.Second},
		{"2000000", self, time.Second},
		{"2000000", "1", 0}, // meant for another process
		{"30000000", "", 15 * time.Second},
		{"0", "", 0},
		{"-5", "", 0},
		{"abc", "", 0},
		{"99999999999999999999", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.usec+"/"+tt.pid, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			if got := WatchdogInterval(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSystemdStartWatchdog(t *testing.T) {
	c, env := listenNotify(t, false)
	t.Setenv("NOTIFY_SOCKET", env)
	t.Setenv("WATCHDOG_USEC", "200000") // ping every 100 ms
	t.Setenv("WATCHDOG_PID", "")
	n := NewNotifier()
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	n.StartWatchdog(ctx)
	for i := 0; i < 3; i++ {
		got, ok := readDatagram(t, c, 2*time.Second)
		if !ok || got != "WATCHDOG=1" {
			cancel()
			t.Fatalf("ping %d: got %q (received %v), want %q", i+1, got, ok, "WATCHDOG=1")
		}
	}
	if el := time.Since(start); el < 250*time.Millisecond || el > 2*time.Second {
		t.Errorf("got 3 pings in %v, want about 300ms (half of WATCHDOG_USEC each)", el)
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	for {
		if _, ok := readDatagram(t, c, 10*time.Millisecond); !ok {
			break // drained what was in flight
		}
	}
	if got, ok := readDatagram(t, c, 300*time.Millisecond); ok {
		t.Errorf("got %q after the context ended, want no more pings", got)
	}
}

func TestSystemdSplitNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"tls", []string{"tls"}},
		{"tls:tcp:udp", []string{"tls", "tcp", "udp"}},
		{"tls::udp", []string{"tls", "", "udp"}},
		{":", []string{"", ""}},
	}
	for _, tt := range tests {
		got := splitNames(tt.in)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
			t.Errorf("splitNames(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSplitNames checks that the names rejoin to the input, one per
// colon-separated field, as systemd joins FileDescriptorName= values.
func FuzzSplitNames(f *testing.F) {
	for _, s := range []string{"", "tls", "tls:tcp:udp", "tls::udp", ":", "a:b:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := splitNames(s)
		if s == "" {
			if got != nil {
				t.Fatalf("got %q for empty input, want nil", got)
			}
			return
		}
		if j := strings.Join(got, ":"); j != s {
			t.Fatalf("joined %q, want %q", j, s)
		}
		if len(got) != strings.Count(s, ":")+1 {
			t.Fatalf("got %d names, want %d", len(got), strings.Count(s, ":")+1)
		}
	})
}

// The socket-activation tests run InheritedSockets in a child process,
// because it reads fds 3… of its own process and unsets the environment.
// The child is this test binary, started with helperEnv set.
const helperEnv = "SEALOG_SYSTEMD_TEST_HELPER"

// TestSystemdHelperProcess is not a test: it is the child of the socket
// activation tests. It sets LISTEN_PID to its own pid when asked (the
// parent cannot know it before the start), calls InheritedSockets and
// reports each socket on stdout, then serves one echo per stream socket.
func TestSystemdHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process for the socket activation tests")
	}
	if os.Getenv("LISTEN_PID") == "self" {
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	}
	socks, err := InheritedSockets()
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		if _, set := os.LookupEnv(v); set && err == nil && socks != nil {
			fmt.Printf("env %s still set\n", v)
		}
	}
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(0)
	}
	if socks == nil {
		fmt.Println("none")
		os.Exit(0)
	}
	for _, s := range socks {
		switch {
		case s.Listener != nil:
			fmt.Printf("stream %q %s\n", s.Name, s.Listener.Addr())
		case s.Packet != nil:
			fmt.Printf("packet %q %s\n", s.Name, s.Packet.LocalAddr())
		}
	}
	fmt.Println("end")
	for _, s := range socks {
		if s.Listener != nil {
			c, err := s.Listener.Accept()
			if err != nil {
				os.Exit(3)
			}
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			c.Write(append([]byte("echo "), buf[:n]...))
			c.Close()
		}
	}
	os.Exit(0)
}

type helperResult struct {
	lines []string
	cmd   *exec.Cmd
	out   *bufio.Reader
}

// runHelper starts the child with files as fds 3… and env, and reads its
// report up to "end", "none" or an error line.
func runHelper(t *testing.T, files []*os.File, env ...string) *helperResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSystemdHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.ExtraFiles = files
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &helperResult{cmd: cmd, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for {
		l, err := r.out.ReadString('\n')
		if err != nil {
			t.Fatalf("helper output ended: %v; got %q", err, r.lines)
		}
		l = strings.TrimSuffix(l, "\n")
		if l == "end" {
			return r
		}
		r.lines = append(r.lines, l)
		if l == "none" || strings.HasPrefix(l, "error ") {
			return r
		}
	}
}

func listenerFile(t *testing.T) (*net.TCPListener, *os.File) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); f.Close() })
	return l.(*net.TCPListener), f
}

func TestSystemdInheritedSockets(t *testing.T) {
	tl, tf := listenerFile(t)
	pl, pf := listenerFile(t)
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uf, err := u.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	defer uf.Close()

	r := runHelper(t, []*os.File{tf, uf, pf}, "LISTEN_PID=self", "LISTEN_FDS=3", "LISTEN_FDNAMES=tls:udp:tcp")
	want := []string{
		fmt.Sprintf("stream %q %s", "tls", tl.Addr()),
		fmt.Sprintf("packet %q %s", "udp", u.LocalAddr()),
		fmt.Sprintf("stream %q %s", "tcp", pl.Addr()),
	}
	if strings.Join(r.lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(r.lines, "\n"), strings.Join(want, "\n"))
	}
	// The inherited listeners really serve: the child echoes on each.
	for _, addr := range []net.Addr{tl.Addr(), pl.Addr()} {
		c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("ping"))
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		c.Close()
		if got := string(buf[:n]); got != "echo ping" {
			t.Errorf("%s: got %q, want %q", addr, got, "echo ping")
		}
	}
	if err := r.cmd.Wait(); err != nil {
		t.Errorf("helper: %v", err)
	}
}

func TestSystemdInheritedSocketsIgnored(t *testing.T) {
	_, tf := listenerFile(t)
	tests := []struct {
		name string
		env  []string
	}{
		{"no LISTEN_PID", []string{"LISTEN_FDS=1"}},
		{"other pid", []string{"LISTEN_PID=1", "LISTEN_FDS=1"}},
		{"zero fds", []string{"LISTEN_PID=self", "LISTEN_FDS=0"}},
		{"bad count", []string{"LISTEN_PID=self", "LISTEN_FDS=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runHelper(t, []*os.File{tf}, tt.env...)
			if got := strings.Join(r.lines, "\n"); got != "none" {
				t.Errorf("got %q, want none", got)
			}
		})
	}
}

// A descriptor sealog cannot serve is an error naming the fd, never a
// listener that fails later: a regular file, or a connected stream socket
// (what a unit with Accept=yes passes).
func TestSystemdInheritedSocketsRejected(t *testing.T) {
	regular, err := os.CreateTemp(t.TempDir(), "notasocket")
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	l, _ := listenerFile(t)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cf, err := conn.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	for name, f := range map[string]*os.File{"regular file": regular, "connected socket": cf} {
		t.Run(name, func(t *testing.T) {
			r := runHelper(t, []*os.File{f}, "LISTEN_PID=self", "LISTEN_FDS=1", "LISTEN_FDNAMES=tls")
			got := strings.Join(r.lines, "\n")
			if !strings.HasPrefix(got, "error ") || !strings.Contains(got, "fd 3") || !strings.Contains(got, ErrNotListening.Error()) {
				t.Errorf("got %q, want an error naming fd 3 and %q", got, ErrNotListening)
			}
		})
	}
}

func BenchmarkNotify(b *testing.B) {
	dir := b.TempDir()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "n"), Net: "unixgram"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	b.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "n"))
	n := NewNotifier()
	b.ReportAllocs()
	for b.Loop() {
		if err := n.Notify("WATCHDOG=1"); err != nil {
			b.Fatal(err)
		}
	}
}
