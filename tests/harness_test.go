// Package tests holds black-box tests of the built sealog binary: they
// build it once, make a throwaway PKI, start `sealog serve` on loopback
// and check what it writes against docs/format.md. This file is the shared
// harness; every other file here is a suite.
package tests

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealog/sealog/devpki"
	"github.com/sealog/sealog/internal/syncbuf"
	"github.com/sealog/sealog/rotate"
)

// sealogBin is the binary under test, built once by TestMain.
var sealogBin string

// raceBuild: SEALOG_TEST_RACE is set, and sealogBin has the race detector
// in it. Memory bounds do not hold for such a binary.
var raceBuild = os.Getenv("SEALOG_TEST_RACE") != ""

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sealog-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sealogBin = filepath.Join(dir, "sealog")
	args := []string{"build", "-o", sealogBin}
	if raceBuild {
		// The race detector in the binary under test: a race makes it
		// print a report and exit 66, which the tests see as a failure.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "..")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sealog:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runSealog runs the binary to completion and returns stdout, stderr and
// the exit status.
func runSealog(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(sealogBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run sealog %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// PKI is a throwaway certificate authority with a server and a client
// certificate, written as PEM files in a temporary directory.
type PKI struct {
	Dir                   string
	CA                    *devpki.CA
	CAFile                string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
	ClientCN              string
}

func newPKI(t *testing.T) *PKI {
	t.Helper()
	ca, err := devpki.NewCA("sealog test CA")
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{Dir: t.TempDir(), CA: ca, ClientCN: "client.example.test"}
	p.CAFile = p.write(t, "ca.pem", ca.CertPEM)
	p.ServerCert, p.ServerKey = p.Issue(t, "server", devpki.CertSpec{CN: "localhost", DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, Server: true})
	p.ClientCert, p.ClientKey = p.Issue(t, "client", devpki.CertSpec{CN: p.ClientCN, DNSNames: []string{p.ClientCN}})
	return p
}

// Issue writes NAME.pem and NAME-key.pem signed by the CA.
func (p *PKI) Issue(t *testing.T, name string, spec devpki.CertSpec) (certFile, keyFile string) {
	t.Helper()
	c, k, err := p.CA.Issue(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".pem", c), p.write(t, name+"-key.pem", k)
}

func (p *PKI) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(p.Dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ClientTLS is a TLS client configuration that trusts the PKI's CA and,
// when certFile is not empty, presents that client certificate.
func (p *PKI) ClientTLS(t *testing.T, certFile, keyFile string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CA.CertPEM)
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

// Sealog is a running `sealog serve`.
type Sealog struct {
	t        *testing.T
	Dir      string // log directory
	KeyDir   string // seal.key and verify.key
	Addr     string // TLS listener
	PKI      *PKI
	Chattr   bool // running with append-only attributes
	cmd      *exec.Cmd
	stderr   *syncBuffer
	exited   chan struct{}
	exitCode int
}

// syncBuffer is a peer's or sealog's output, read by the test while it
// runs.
type syncBuffer = syncbuf.Buffer

// freePort returns a loopback address with a port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freeUDPPort returns a loopback UDP address that was free a moment ago.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

// poll calls cond every 20 ms until it returns true or within has
// passed, and reports whether it returned true. The suite's waits are
// made of it, so none sleeps a fixed time hoping for the best.
func poll(within time.Duration, cond func() bool) bool {
	return pollEvery(within, 20*time.Millisecond, cond)
}

// pollEvery is poll with another interval, for a cond that reads a lot
// (every event line of a flood) and would compete with the server for
// the CPU if it ran every 20 ms.
func pollEvery(within, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
}

// chattrWorks reports whether dir supports append-only attributes for us
// (root on ext4 and the like). Suites that need them skip otherwise.
func chattrWorks(dir string) bool { return rotate.CheckAttributes(dir) == nil }

// startSealog starts `sealog serve` with mutual TLS on a free loopback
// port, a fresh key and log directory, and extra flags. It uses real
// chattr when the filesystem and privileges allow, else --no-chattr.
// The server is stopped (SIGTERM) at the end of the test if still running.
func startSealog(t *testing.T, extra ...string) *Sealog {
	t.Helper()
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(t.TempDir(), "logs"), KeyDir: t.TempDir()}
	if _, _, code := runSealog(t, "", "keygen", "--out", s.KeyDir); code != 0 {
		t.Fatalf("keygen failed")
	}
	s.startWith(extra...)
	return s
}

// startWith (re)starts the server on the same directory and key.
func (s *Sealog) startWith(extra ...string) {
	t := s.t
	t.Helper()
	if s.Addr == "" {
		s.Addr = freePort(t)
	}
	os.MkdirAll(s.Dir, 0o750)
	s.Chattr = chattrWorks(s.Dir)
	args := []string{"serve", "--listen", s.Addr, "--dir", s.Dir, "--key", filepath.Join(s.KeyDir, "seal.key"),
		"--tls-cert", s.PKI.ServerCert, "--tls-key", s.PKI.ServerKey, "--tls-client-ca", s.PKI.CAFile,
		"--instance", "testhost"}
	if !s.Chattr {
		args = append(args, "--no-chattr")
	}
	args = append(args, extra...)
	s.launch(exec.Command(sealogBin, args...))
	s.waitListening()
}

// waitListening waits until the server accepts TCP on its address, and
// fails the test if it exits first or takes longer than 15 s.
func (s *Sealog) waitListening() {
	t := s.t
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.exited:
			t.Fatalf("sealog exited with %d before listening:\n%s", s.exitCode, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sealog did not listen on %s:\n%s", s.Addr, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// launch starts cmd as this server's process: output collected, exit
// status recorded, stopped and its directory's attributes cleared when
// the test ends.
func (s *Sealog) launch(cmd *exec.Cmd) {
	t := s.t
	t.Helper()
	s.cmd = cmd
	s.stderr = &syncBuffer{}
	s.cmd.Stderr, s.cmd.Stdout = s.stderr, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() {
		err := s.cmd.Wait()
		s.exitCode = 0
		if ee, ok := err.(*exec.ExitError); ok {
			s.exitCode = ee.ExitCode()
		}
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.Stop()
		clearAttributes(s.Dir)
	})
}

// Stop sends SIGTERM and waits for a graceful exit; it returns the exit status.
func (s *Sealog) Stop() int {
	select {
	case <-s.exited:
		return s.exitCode
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("sealog did not stop within 60s after SIGTERM:\n%s", s.stderr.String())
	}
	return s.exitCode
}

// Kill sends SIGKILL (a crash) and waits for the process to be gone.
func (s *Sealog) Kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// Stderr is what the server printed so far.
func (s *Sealog) Stderr() string { return s.stderr.String() }

// Dial opens a mutual-TLS connection with the PKI's client certificate.
func (s *Sealog) Dial(t *testing.T) *tls.Conn {
	t.Helper()
	c, err := s.DialTLS(s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey))
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	return c
}

// DialTLS opens a TLS connection to the server with cfg and returns the
// error instead of failing the test, for clients the server may refuse
// and for use from many goroutines.
func (s *Sealog) DialTLS(cfg *tls.Config) (*tls.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.Addr, cfg)
}

// Send writes octet-counted frames on a fresh connection and closes it
// the way a careful sender does (close_notify, then wait for the server).
func (s *Sealog) Send(t *testing.T, frames ...string) {
	t.Helper()
	c := s.Dial(t)
	var b bytes.Buffer
	for _, f := range frames {
		fmt.Fprintf(&b, "%d %s", len(f), f)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	closeAndDrain(c)
}

func closeAndDrain(c *tls.Conn) {
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	bufio.NewReader(c).WriteTo(discard{})
	c.Close()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// files returns the names of DIR's files with the prefix, oldest first.
func (s *Sealog) files(prefix string) []string {
	m, _ := filepath.Glob(filepath.Join(s.Dir, prefix+"-*.log"))
	sort.Strings(m)
	return m
}

// lines returns every complete line of every file of a stream, in order.
func (s *Sealog) lines(prefix string) []string {
	var out []string
	for _, f := range s.files(prefix) {
		data, err := os.ReadFile(f)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if strings.HasSuffix(l, "\n") {
				out = append(out, strings.TrimSuffix(l, "\n"))
			}
		}
	}
	return out
}

// Events returns the event lines split into their 15 columns.
func (s *Sealog) Events() [][]string { return splitAll(s.lines("events")) }

// Security returns the security lines split into their 9 columns.
func (s *Sealog) Security() [][]string { return splitAll(s.lines("security")) }

func splitAll(lines []string) [][]string {
	out := make([][]string, len(lines))
	for i, l := range lines {
		out[i] = strings.Split(l, "\t")
	}
	return out
}

// Matching returns the lines of a stream ("events" or "security") for
// which keep is true; a nil keep keeps every line.
func (s *Sealog) Matching(stream string, keep func(l []string) bool) [][]string {
	all := splitAll(s.lines(stream))
	if keep == nil {
		return all
	}
	var out [][]string
	for _, l := range all {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}

// WaitLines waits until at least n lines of a stream ("events" or
// "security") satisfy keep (nil: any line) and returns them. After 20 s
// it fails the test, saying what it waited for and what is there.
func (s *Sealog) WaitLines(t *testing.T, stream string, n int, what string, keep func(l []string) bool) [][]string {
	t.Helper()
	var got [][]string
	if !poll(20*time.Second, func() bool { got = s.Matching(stream, keep); return len(got) >= n }) {
		t.Fatalf("%s: got %d %s lines, want %d; security lines:\n%s\nstderr:\n%s", what, len(got), stream, n,
			strings.Join(s.lines("security"), "\n"), s.Stderr())
	}
	return got
}

// WaitEvents waits until at least n event lines are in the files.
func (s *Sealog) WaitEvents(t *testing.T, n int) [][]string {
	t.Helper()
	return s.WaitLines(t, "events", n, "events", nil)
}

// WaitSecurity waits until a security line with the action exists and
// returns all lines with it.
func (s *Sealog) WaitSecurity(t *testing.T, action string) [][]string {
	t.Helper()
	return s.WaitLines(t, "security", 1, action+" event", securityAction(action))
}

// SecurityOf returns the security lines with ACTION action, without
// waiting.
func (s *Sealog) SecurityOf(action string) [][]string {
	return s.Matching("security", securityAction(action))
}

// securityAction keeps the security lines with ACTION action.
func securityAction(action string) func(l []string) bool {
	return func(l []string) bool { return len(l) == 9 && l[6] == action }
}

// Verify runs `sealog verify` on the log directory.
func (s *Sealog) Verify(t *testing.T, extra ...string) (string, int) {
	t.Helper()
	args := append([]string{"verify", "--key", filepath.Join(s.KeyDir, "verify.key")}, extra...)
	args = append(args, s.Dir)
	out, errOut, code := runSealog(t, "", args...)
	return out + errOut, code
}

// clearAttributes removes append-only and immutable flags so the test's
// temporary directory can be deleted.
func clearAttributes(dir string) {
	if _, err := exec.LookPath("chattr"); err != nil {
		return
	}
	exec.Command("chattr", "-R", "-i", "-a", dir).Run()
}
