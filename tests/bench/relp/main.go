// Command relp measures sealog's RELP listener against rsyslog's imrelp
// on the same machine, in the same run: the sender is rsyslog's own
// omrelp (one RELP session over mutual TLS, librelp's default window of
// 128), fed a numbered stream on a loopback imtcp input; the receiver is
// either `sealog serve --listen-relp`, which answers each message only
// once it is fsynced (group commit, default --fsync-interval 1s), or
// `rsyslogd` with imrelp writing to a file, which answers once the message
// is in its memory queue and never fsyncs. What counts is what the
// receiver wrote: the rate runs from the first line to the last, and the
// receiver's CPU time (utime+stime from /proc) is divided by the lines.
//
// Usage, from the repository root (runs are short; the machine is shared):
//
//	go run ./tests/bench/relp --count 50000 --size 512 --repeat 2
//
// It starts and stops only its own processes, in a temporary directory.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sealog/sealog/devpki"
	"github.com/spf13/pflag"
)

type env struct {
	dir, sealog, rsyslogd        string
	ca, srvCert, srvKey, cliCert string
	cliKey                       string
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "bench relp: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("relp", pflag.ContinueOnError)
	count := fs.Int("count", 50000, "messages per run")
	size := fs.Int("size", 512, "message size in bytes (the whole syslog message)")
	repeat := fs.Int("repeat", 2, "runs per receiver, interleaved")
	sealogBin := fs.String("sealog", "", "sealog binary (default: go build the repository)")
	keep := fs.Bool("keep", false, "keep the run directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	e := &env{}
	var err error
	if e.dir, err = os.MkdirTemp("", "sealog-bench-relp-"); err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(e.dir)
	}
	if e.rsyslogd, err = exec.LookPath("rsyslogd"); err != nil {
		e.rsyslogd = "/usr/sbin/rsyslogd"
	}
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/imrelp.so"); len(m) == 0 {
		return errors.New("rsyslog's imrelp/omrelp are not installed (apt-get install rsyslog-relp, or tests/install-peers.sh)")
	}
	if *sealogBin != "" {
		e.sealog, _ = filepath.Abs(*sealogBin)
	} else {
		e.sealog = filepath.Join(e.dir, "sealog")
		cmd := exec.Command("go", "build", "-o", e.sealog, ".")
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build (run from the repository root): %w", err)
		}
	}
	if err := e.pki(); err != nil {
		return err
	}
	type res struct {
		name      string
		rate, cpu []float64
	}
	results := []*res{{name: "sealog --listen-relp (ack after fsync)"}, {name: "rsyslog imrelp (ack from memory, no fsync)"}}
	for rep := 0; rep < *repeat; rep++ {
		for i := range results {
			r := results[(i+rep)%len(results)]
			rate, cpu, err := e.once(strings.HasPrefix(r.name, "sealog"), *count, *size, rep)
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			fmt.Fprintf(stderr, "bench relp: %s: %.0f msgs/s, %.2f µs CPU/msg\n", r.name, rate, cpu)
			r.rate, r.cpu = append(r.rate, rate), append(r.cpu, cpu)
		}
	}
	fmt.Fprintf(stdout, "\nRELP, rsyslog omrelp over mutual TLS (one session, window 128), %d messages of %d B, %d runs each (median):\n\n", *count, *size, *repeat)
	fmt.Fprintln(stdout, "| receiver | msgs/s | receiver CPU µs/msg |")
	fmt.Fprintln(stdout, "|---|---:|---:|")
	for _, r := range results {
		fmt.Fprintf(stdout, "| %s | %.0f | %.2f |\n", r.name, median(r.rate), median(r.cpu))
	}
	return nil
}

func (e *env) pki() error {
	ca, err := devpki.NewCA("sealog relp bench CA")
	if err != nil {
		return err
	}
	sc, sk, err := ca.Issue(devpki.CertSpec{CN: "localhost", DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
	if err != nil {
		return err
	}
	cc, ck, err := ca.Issue(devpki.CertSpec{CN: "bench-client", DNSNames: []string{"bench-client"}})
	if err != nil {
		return err
	}
	e.ca, e.srvCert, e.srvKey = filepath.Join(e.dir, "ca.pem"), filepath.Join(e.dir, "server.pem"), filepath.Join(e.dir, "server-key.pem")
	e.cliCert, e.cliKey = filepath.Join(e.dir, "client.pem"), filepath.Join(e.dir, "client-key.pem")
	for p, d := range map[string][]byte{e.ca: ca.CertPEM, e.srvCert: sc, e.srvKey: sk, e.cliCert: cc, e.cliKey: ck} {
		if err := os.WriteFile(p, d, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// once runs one receiver with one sender and returns msgs/s and the
// receiver's CPU µs per message.
func (e *env) once(sealog bool, count, size, rep int) (float64, float64, error) {
	dir := filepath.Join(e.dir, fmt.Sprintf("run-%v-%d", sealog, rep))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, 0, err
	}
	relpAddr := freePort()
	host, port, _ := strings.Cut(relpAddr, ":")
	var recv *exec.Cmd
	var outGlob string
	if sealog {
		keys := filepath.Join(dir, "keys")
		if out, err := exec.Command(e.sealog, "keygen", "--out", keys).CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("keygen: %v: %s", err, out)
		}
		recv = exec.Command(e.sealog, "serve", "--listen-relp", relpAddr, "--dir", filepath.Join(dir, "logs"),
			"--seal-key", filepath.Join(keys, "seal.key"), "--tls-cert", e.srvCert, "--tls-key", e.srvKey,
			"--tls-client-ca", e.ca, "--no-chattr", "--instance", "bench")
		outGlob = filepath.Join(dir, "logs", "events-*.log")
	} else {
		conf := filepath.Join(dir, "imrelp.conf")
		cfg := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
module(load="imrelp")
input(type="imrelp" address=%q port=%q tls="on" tls.caCert=%q tls.myCert=%q tls.myPrivKey=%q tls.authMode="certvalid" ruleset="out")
ruleset(name="out") { action(type="omfile" file=%q template="RSYSLOG_FileFormat") }
`, dir, host, port, e.ca, e.srvCert, e.srvKey, filepath.Join(dir, "out.log"))
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			return 0, 0, err
		}
		recv = exec.Command(e.rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "recv.pid"))
		outGlob = filepath.Join(dir, "out.log")
	}
	recvLog := &bytes.Buffer{}
	recv.Stdout, recv.Stderr = recvLog, recvLog
	recv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := recv.Start(); err != nil {
		return 0, 0, err
	}
	defer stop(recv)
	if err := waitListen(relpAddr); err != nil {
		return 0, 0, fmt.Errorf("receiver: %v\n%s", err, recvLog)
	}

	// The sender: rsyslog with omrelp, a queue that holds the whole run.
	inAddr := freePort()
	inHost, inPort, _ := strings.Cut(inAddr, ":")
	sconf := filepath.Join(dir, "omrelp.conf")
	scfg := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address=%q port=%q ruleset="send")
ruleset(name="send" queue.type="LinkedList" queue.size="%d") {
  action(type="omrelp" target=%q port=%q template="RSYSLOG_SyslogProtocol23Format"
    tls="on" tls.caCert=%q tls.myCert=%q tls.myPrivKey=%q tls.authMode="name" tls.permittedPeer=["localhost"]
    queue.type="LinkedList" queue.size="%d" action.resumeRetryCount="-1")
}
`, dir, inHost, inPort, count*2, host, port, e.ca, e.cliCert, e.cliKey, count*2)
	if err := os.WriteFile(sconf, []byte(scfg), 0o600); err != nil {
		return 0, 0, err
	}
	sender := exec.Command(e.rsyslogd, "-n", "-f", sconf, "-i", filepath.Join(dir, "send.pid"))
	sendLog := &bytes.Buffer{}
	sender.Stdout, sender.Stderr = sendLog, sendLog
	sender.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sender.Start(); err != nil {
		return 0, 0, err
	}
	defer stop(sender)
	if err := waitListen(inAddr); err != nil {
		return 0, 0, fmt.Errorf("sender: %v\n%s", err, sendLog)
	}
	var feed bytes.Buffer
	hdr := "<14>1 2026-11-22T10:15:00.000001Z bench app - - - "
	for i := 0; i < count; i++ {
		line := hdr + strconv.Itoa(i) + " "
		feed.WriteString(line)
		feed.WriteString(strings.Repeat("x", max(size-len(line), 0)))
		feed.WriteByte('\n')
	}
	cpu0, err := cpuTime(recv.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	c, err := net.Dial("tcp", inAddr)
	if err != nil {
		return 0, 0, err
	}
	go func() { c.Write(feed.Bytes()); c.Close() }()

	lc := &lineCounter{glob: outGlob, offsets: map[string]int64{}}
	var first, last time.Time
	deadline := time.Now().Add(5 * time.Minute)
	for {
		n := lc.count()
		now := time.Now()
		if n > 0 && first.IsZero() {
			first = now
		}
		if n >= count {
			last = now
			break
		}
		if now.After(deadline) {
			return 0, 0, fmt.Errorf("only %d of %d lines after 5 minutes\nreceiver:\n%s\nsender:\n%s", n, count, recvLog, sendLog)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cpu1, err := cpuTime(recv.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	secs := last.Sub(first).Seconds()
	return float64(count) / secs, (cpu1 - cpu0).Seconds() * 1e6 / float64(count), nil
}

// lineCounter counts the LFs of the files matching glob, reading only
// what was added since the last call.
type lineCounter struct {
	glob    string
	offsets map[string]int64
	n       int
	buf     [256 << 10]byte
}

func (lc *lineCounter) count() int {
	files, _ := filepath.Glob(lc.glob)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		off := lc.offsets[f]
		for {
			k, err := fh.ReadAt(lc.buf[:], off)
			lc.n += bytes.Count(lc.buf[:k], []byte{'\n'})
			off += int64(k)
			if err != nil || k == 0 {
				break
			}
		}
		lc.offsets[f] = off
		fh.Close()
	}
	return lc.n
}

func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / 100, nil // CLK_TCK is 100 on Linux
}

func waitListen(addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends a process group we started: SIGTERM, then SIGKILL.
func stop(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
