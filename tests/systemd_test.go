package tests

// Suite TestSystemd*: sealog as systemd runs it (docs/operations.md, signals),
// sd_notify over $NOTIFY_SOCKET, socket activation with
// LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, and the unit files checked by
// systemd-analyze. No running systemd is needed: the tests play its part.

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sdOpts says how sdStart launches sealog.
type sdOpts struct {
	env   []string   // added to the environment
	files []*os.File // become fds 3, 4, … (socket activation)
	// listenPID runs sealog through /bin/sh so that LISTEN_PID is the
	// pid sealog will have: the shell sets it to its own pid and execs.
	listenPID bool
	noListen  bool // do not pass --listen (the sockets are inherited)
	noTLS     bool // do not pass the --tls-* flags (plain listeners only)
}

// sdSetup prepares what startSealog prepares (PKI, log directory,
// sealing key, a free port) without starting the server.
func sdSetup(t *testing.T) *Sealog {
	t.Helper()
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(t.TempDir(), "logs"), KeyDir: t.TempDir()}
	if _, errOut, code := runSealog(t, "", "keygen", "--out", s.KeyDir); code != 0 {
		t.Fatalf("keygen failed: %s", errOut)
	}
	s.Addr = freePort(t)
	return s
}

// sdStart starts sealog as systemd would, with the options, and returns
// at once; the caller waits for what it is testing.
func (s *Sealog) sdStart(t *testing.T, o sdOpts, extra ...string) {
	t.Helper()
	os.MkdirAll(s.Dir, 0o750)
	s.Chattr = chattrWorks(s.Dir)
	args := []string{"serve", "--dir", s.Dir, "--key", filepath.Join(s.KeyDir, "seal.key"), "--instance", "testhost"}
	if !o.noTLS {
		args = append(args, "--tls-cert", s.PKI.ServerCert, "--tls-key", s.PKI.ServerKey, "--tls-client-ca", s.PKI.CAFile)
	}
	if !o.noListen {
		args = append(args, "--listen", s.Addr)
	}
	if !s.Chattr {
		args = append(args, "--no-chattr")
	}
	args = append(args, extra...)
	var cmd *exec.Cmd
	if o.listenPID {
		args = append([]string{"-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`, sealogBin}, args...)
		cmd = exec.Command("/bin/sh", args...)
	} else {
		cmd = exec.Command(sealogBin, args...)
	}
	cmd.Env = append(os.Environ(), o.env...)
	cmd.ExtraFiles = o.files
	s.launch(cmd)
}

// sdNotifySocket is a unixgram socket playing systemd's notification socket.
type sdNotifySocket struct {
	c    *net.UnixConn
	path string
}

func newSDNotifySocket(t *testing.T) *sdNotifySocket {
	t.Helper()
	// sun_path holds 108 bytes; t.TempDir() can be longer than that.
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sdNotifySocket{c: c, path: path}
}

type sdNotifyMsg struct {
	at     time.Time
	fields map[string]string
	raw    string
}

// next returns the next datagram, or ok false after wait.
func (n *sdNotifySocket) next(wait time.Duration) (sdNotifyMsg, bool) {
	buf := make([]byte, 4096)
	n.c.SetReadDeadline(time.Now().Add(wait))
	k, err := n.c.Read(buf)
	if err != nil {
		return sdNotifyMsg{}, false
	}
	m := sdNotifyMsg{at: time.Now(), fields: map[string]string{}, raw: string(buf[:k])}
	for _, l := range strings.Split(m.raw, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m.fields[k] = v
		}
	}
	return m, true
}

// waitFor returns the first datagram holding key=value, failing after wait.
func (n *sdNotifySocket) waitFor(t *testing.T, s *Sealog, key, value string, wait time.Duration) sdNotifyMsg {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		m, ok := n.next(time.Until(deadline))
		if ok && m.fields[key] == value {
			return m
		}
	}
	t.Fatalf("no %s=%s from sealog within %v; stderr:\n%s", key, value, wait, s.Stderr())
	return sdNotifyMsg{}
}

// TestSystemdNotify plays systemd for a Type=notify service: READY=1 comes
// only when the TLS port serves, with a STATUS= line; WATCHDOG=1 comes at
// half of WATCHDOG_USEC; SIGTERM brings STOPPING=1.
func TestSystemdNotify(t *testing.T) {
	ns := newSDNotifySocket(t)
	s := sdSetup(t)
	s.sdStart(t, sdOpts{env: []string{"NOTIFY_SOCKET=" + ns.path, "WATCHDOG_USEC=2000000"}})

	ready := ns.waitFor(t, s, "READY", "1", 20*time.Second)
	// No retry: when READY=1 arrives, a client must be served at once.
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr,
		s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey))
	if err != nil {
		t.Fatalf("got %v dialing right after READY=1, want a served TLS connection", err)
	}
	c.Close()
	if st := ready.fields["STATUS"]; !strings.Contains(st, s.Addr) {
		t.Errorf("got STATUS=%q with READY=1, want it to name the listener %s", st, s.Addr)
	}

	// Pings every ~1 s (half of 2 s): take three, measure the spacing.
	var pings []time.Time
	for len(pings) < 3 {
		m := ns.waitFor(t, s, "WATCHDOG", "1", 3*time.Second)
		pings = append(pings, m.at)
	}
	for i := 1; i < len(pings); i++ {
		if d := pings[i].Sub(pings[i-1]); d < 700*time.Millisecond || d > 1500*time.Millisecond {
			t.Errorf("got %v between watchdog pings, want about 1s (half of WATCHDOG_USEC=2s)", d)
		}
	}

	s.cmd.Process.Signal(syscall.SIGTERM)
	stopping := ns.waitFor(t, s, "STOPPING", "1", 20*time.Second)
	if stopping.fields["STATUS"] == "" {
		t.Errorf("got %q with STOPPING=1, want a STATUS= line too", stopping.raw)
	}
	if code := s.Stop(); code != 0 {
		t.Errorf("got exit status %d after SIGTERM, want 0; stderr:\n%s", code, s.Stderr())
	}
	// The notify socket is not handed on: a restarted child must not
	// inherit it (the Notifier unsets NOTIFY_SOCKET).
	if strings.Contains(s.Stderr(), "NOTIFY_SOCKET") {
		t.Errorf("stderr mentions NOTIFY_SOCKET:\n%s", s.Stderr())
	}
}

// TestSystemdNotifyWatchdogOtherPID: WATCHDOG_PID naming another process
// means the watchdog is not sealog's, so no pings (sd_watchdog_enabled(3)).
func TestSystemdNotifyWatchdogOtherPID(t *testing.T) {
	ns := newSDNotifySocket(t)
	s := sdSetup(t)
	s.sdStart(t, sdOpts{env: []string{"NOTIFY_SOCKET=" + ns.path, "WATCHDOG_USEC=400000", "WATCHDOG_PID=1"}})
	ns.waitFor(t, s, "READY", "1", 20*time.Second)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if m, ok := ns.next(time.Until(deadline)); ok && m.fields["WATCHDOG"] == "1" {
			t.Fatalf("got WATCHDOG=1 although WATCHDOG_PID names another process")
		}
	}
}

// sdListenerFile opens a loopback TCP listener and returns its *os.File,
// the way systemd holds a socket for a .socket unit.
func sdListenerFile(t *testing.T) (net.Listener, *os.File) {
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
	return l, f
}

// TestSystemdSocketActivation passes listening sockets the way systemd
// does (fd 3 and on, LISTEN_FDS, LISTEN_PID = sealog's pid,
// LISTEN_FDNAMES) and checks that sealog serves TLS on the one named
// "tls" and plain TCP on the one named "tcp", binding nothing itself.
func TestSystemdSocketActivation(t *testing.T) {
	tlsL, tlsF := sdListenerFile(t)
	tcpL, tcpF := sdListenerFile(t)
	s := sdSetup(t)
	s.Addr = tlsL.Addr().String()
	// --listen points at a port nobody may use: inherited sockets win.
	unused := freePort(t)
	s.sdStart(t, sdOpts{
		files:     []*os.File{tlsF, tcpF},
		env:       []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=tls:tcp"},
		listenPID: true,
		noListen:  true,
	}, "--listen", unused)
	// Our copies of the sockets stay open in this process; closing them
	// here proves sealog holds its own.
	tlsL.Close()
	tcpL.Close()

	s.Send(t, "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - over inherited tls")
	c, err := net.DialTimeout("tcp", tcpL.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial inherited plain TCP socket: %v", err)
	}
	c.Write([]byte("<13>1 2026-11-22T10:15:01Z host app 43 ID48 - over inherited tcp\n"))
	c.Close()
	ev := s.WaitEvents(t, 2)
	byMsg := map[string][]string{}
	for _, e := range ev {
		byMsg[e[14]] = e
	}
	if e := byMsg["over inherited tls"]; e == nil || !strings.HasPrefix(e[5], "TLS1.") || e[4] != s.PKI.ClientCN {
		t.Errorf("got event %q, want one over TLS with AUTH %s", e, s.PKI.ClientCN)
	}
	if e := byMsg["over inherited tcp"]; e == nil || e[5] != "tcp" {
		t.Errorf("got event %q, want one with TLS column tcp", e)
	}
	if c, err := net.DialTimeout("tcp", unused, time.Second); err == nil {
		c.Close()
		t.Errorf("sealog listens on --listen %s although sockets were inherited", unused)
	}
	start := s.WaitSecurity(t, "start")[0]
	if !strings.Contains(start[8], "tls "+s.Addr) || !strings.Contains(start[8], "tcp "+tcpL.Addr().String()+" unencrypted") {
		t.Errorf("got start DETAIL %s, want it to name the inherited listeners", start[8])
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("verify exit %d:\n%s", code, out)
	}
}

// TestSystemdSocketActivationNotOurs: LISTEN_PID naming another process
// means the fds are not for sealog (sd_listen_fds(3)); it binds --listen.
func TestSystemdSocketActivationNotOurs(t *testing.T) {
	_, f := sdListenerFile(t)
	s := sdSetup(t)
	s.sdStart(t, sdOpts{files: []*os.File{f}, env: []string{"LISTEN_FDS=1", "LISTEN_PID=1"}})
	s.waitListening()
	s.Send(t, "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - bound itself")
	s.WaitEvents(t, 1)
}

// TestSystemdSocketActivationTool runs sealog under systemd's own
// systemd-socket-activate, which sets the variables exactly as PID 1 does.
func TestSystemdSocketActivationTool(t *testing.T) {
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate not installed (apt-get install -y systemd)")
	}
	s := sdSetup(t)
	os.MkdirAll(s.Dir, 0o750)
	s.Chattr = chattrWorks(s.Dir)
	args := []string{"-l", s.Addr, "--fdname=tls", sealogBin, "serve", "--dir", s.Dir,
		"--key", filepath.Join(s.KeyDir, "seal.key"), "--tls-cert", s.PKI.ServerCert, "--tls-key", s.PKI.ServerKey,
		"--tls-client-ca", s.PKI.CAFile, "--instance", "testhost", "--listen", freePort(t)}
	if !s.Chattr {
		args = append(args, "--no-chattr")
	}
	s.launch(exec.Command(tool, args...))
	// systemd-socket-activate binds first, then execs sealog on the
	// first connection (this probe, then a handshake failure with eof).
	s.waitListening()
	s.Send(t, "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - activated")
	ev := s.WaitEvents(t, 1)
	if ev[0][14] != "activated" {
		t.Errorf("got MSG %q, want %q", ev[0][14], "activated")
	}
	if code := s.Stop(); code != 0 {
		t.Errorf("got exit %d, want 0\n%s", code, s.Stderr())
	}
}

// sdUnitCopy writes the unit files to a temporary directory with ExecStart
// pointing at the binary under test, because verify checks that the
// command exists.
func sdUnitCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"sealog.service", "sealog.socket"} {
		data, err := os.ReadFile(filepath.Join("..", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("/usr/bin/sealog"), []byte(sealogBin))
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sdNeedAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install -y systemd)")
	}
	return p
}

func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze := sdNeedAnalyze(t)
	dir := sdUnitCopy(t)
	cmd := exec.Command(analyze, "verify", "--man=no",
		filepath.Join(dir, "sealog.service"), filepath.Join(dir, "sealog.socket"))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var sdExposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

func sdExposure(t *testing.T, analyze, unit string) float64 {
	t.Helper()
	out, _ := exec.Command(analyze, "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	m := sdExposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in systemd-analyze security output for %s:\n%s", unit, out)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSystemdAnalyzeSecurity holds the sandbox to its target:
// an exposure of 2.0 or less, and below Debian's rsyslog.service.
func TestSystemdAnalyzeSecurity(t *testing.T) {
	analyze := sdNeedAnalyze(t)
	got := sdExposure(t, analyze, filepath.Join("..", "systemd", "sealog.service"))
	if got > 2.0 {
		t.Errorf("got exposure %.1f for sealog.service, want 2.0 or less", got)
	}
	t.Logf("sealog.service exposure %.1f", got)
	const rsyslog = "/lib/systemd/system/rsyslog.service"
	if _, err := os.Stat(rsyslog); err != nil {
		t.Logf("%s not installed (apt-get install -y rsyslog); comparison skipped", rsyslog)
		return
	}
	rs := sdExposure(t, analyze, rsyslog)
	t.Logf("rsyslog.service exposure %.1f", rs)
	if got >= rs {
		t.Errorf("got exposure %.1f for sealog.service, want below rsyslog.service's %.1f", got, rs)
	}
}

// sdUnitSettings reads KEY=VALUE lines of a unit (continuation lines joined).
func sdUnitSettings(t *testing.T, name string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	m := map[string][]string{}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == '[' {
			continue
		}
		k, v, _ := strings.Cut(l, "=")
		m[k] = append(m[k], strings.Join(strings.Fields(v), " "))
	}
	return m
}

// TestSystemdUnitContents pins what the service needs of the units, and that
// every flag in ExecStart is one `sealog serve` knows, so the unit cannot
// drift from the binary unnoticed.
func TestSystemdUnitContents(t *testing.T) {
	u := sdUnitSettings(t, "sealog.service")
	want := map[string]string{
		"Type": "notify", "User": "sealog", "Group": "sealog", "NoNewPrivileges": "yes",
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
		"ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
		"ProtectControlGroups": "yes", "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes",
		"RestrictNamespaces": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"CapabilityBoundingSet": "CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE",
		"AmbientCapabilities":   "CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE",
		"ExecReload":            "/usr/bin/sealog reload --pid $MAINPID", "Restart": "on-failure",
		"ReadWritePaths":   "/var/log/sealog /var/lib/sealog",
		"RuntimeDirectory": "sealog", "EnvironmentFile": "-/etc/default/sealog",
		"Wants": "network-online.target",
		"After": "network-online.target time-sync.target",
	}
	for k, v := range want {
		if got := u[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	if got := u["SystemCallFilter"]; len(got) == 0 || got[0] != "@system-service" {
		t.Errorf("SystemCallFilter: got %q, want @system-service first", got)
	}
	// Go exits with 2 after a panic or the watchdog's SIGABRT, as sealog
	// does for a configuration error: those must be restarted.
	if u["RestartPreventExitStatus"] != nil {
		t.Errorf("got RestartPreventExitStatus %q, want none", u["RestartPreventExitStatus"])
	}
	if len(u["WatchdogSec"]) != 1 || u["DynamicUser"] != nil {
		t.Errorf("got WatchdogSec %q, DynamicUser %q; want one WatchdogSec and no DynamicUser", u["WatchdogSec"], u["DynamicUser"])
	}
	exec := strings.Fields(u["ExecStart"][0])
	if exec[0] != "/usr/bin/sealog" || exec[1] != "serve" || exec[len(exec)-1] != "$SEALOG_OPTS" {
		t.Fatalf("got ExecStart %q, want /usr/bin/sealog serve … $SEALOG_OPTS", exec)
	}
	if _, _, code := runSealog(t, "", "reload", "-h"); code != 0 {
		t.Errorf("ExecReload's `sealog reload -h` exited %d, want 0", code)
	}
	help, _, _ := runSealog(t, "", "serve", "-h")
	for _, a := range exec[2:] {
		if strings.HasPrefix(a, "--") && !strings.Contains(help, a+" ") {
			t.Errorf("ExecStart flag %s is not a `sealog serve` flag", a)
		}
	}
	for _, f := range []string{"--dir /var/log/sealog", "--seal-key /var/lib/sealog/seal.key", "--tls-cert ", "--tls-key ", "--tls-client-ca "} {
		if !strings.Contains(u["ExecStart"][0], f) {
			t.Errorf("ExecStart %q lacks %q", u["ExecStart"][0], f)
		}
	}
	sock := sdUnitSettings(t, "sealog.socket")
	for k, v := range map[string]string{"FileDescriptorName": "tls", "Service": "sealog.service", "Accept": "no"} {
		if got := sock[k]; len(got) != 1 || got[0] != v {
			t.Errorf("sealog.socket %s: got %q, want %q", k, got, v)
		}
	}
}
