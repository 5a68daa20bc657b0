package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rowKey is one line of the table: message size × connections.
type rowKey struct{ size, conns int }

// result is one run of one receiver on one row.
type result struct {
	receiver  string
	row       rowKey
	rep       int // 1…repeat; 0 for calibration and profile runs
	regime    regime
	count     int
	sent      int64         // the loader's own count
	lines     int64         // lines the receiver wrote
	elapsed   time.Duration // loader start → last growth of the output
	cpu       time.Duration // receiver utime+stime over the run
	sys       time.Duration // of which stime: the kernel working for the receiver
	hwmKiB    int64         // receiver VmHWM
	loaderCPU time.Duration
	loaderSec float64 // the loader's own duration (until the receiver closed every connection)
	mallocs   uint64  // sealog with SEALOG_MEMPROFILE: runtime.MemStats.Mallocs at stop
	err       string
}

func (r *result) label() string {
	return fmt.Sprintf("%s %dB x %d", r.receiver, r.row.size, r.row.conns)
}

func (r *result) msgsPerSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.lines) / r.elapsed.Seconds()
}

func (r *result) cpuPerMsg() float64 { // µs
	if r.lines == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.lines)
}

func (r *result) sysPerMsg() float64 { // µs
	if r.lines == 0 {
		return 0
	}
	return float64(r.sys.Microseconds()) / float64(r.lines)
}

func (r *result) loaderPerMsg() float64 { // µs
	if r.sent == 0 {
		return 0
	}
	return float64(r.loaderCPU.Microseconds()) / float64(r.sent)
}

func (r *result) lost() int64 { return r.sent - r.lines }

func (r *result) summary() string {
	s := fmt.Sprintf("%s run %d: %s msgs/s, %.2f µs CPU/msg (%.2f kernel), RSS %.0f MiB, lost %d (sent %d, written %d, %.1fs; loader %.2f µs/msg)",
		r.label(), r.rep, human(r.msgsPerSec()), r.cpuPerMsg(), r.sysPerMsg(), float64(r.hwmKiB)/1024, r.lost(), r.sent, r.lines,
		r.elapsed.Seconds(), r.loaderPerMsg())
	if r.err != "" {
		s += "; ERROR: " + r.err
	}
	return s
}

const rawHeader = "regime\treceiver\tsize\tconns\trep\tsent\twritten\tlost\tseconds\tmsgs_per_s\tcpu_us_per_msg\tsys_us_per_msg\tpeak_rss_kib\tloader_us_per_msg\tloader_seconds\terror"

func (r *result) rawLine() string {
	return fmt.Sprintf("%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.3f\t%.0f\t%.3f\t%.3f\t%d\t%.3f\t%.3f\t%s",
		r.regime, r.receiver, r.row.size, r.row.conns, r.rep, r.sent, r.lines, r.lost(), r.elapsed.Seconds(),
		r.msgsPerSec(), r.cpuPerMsg(), r.sysPerMsg(), r.hwmKiB, r.loaderPerMsg(), r.loaderSec, r.err)
}

// runOnce starts a fresh receiver in its own directory, drives it with
// count messages from the loader, waits until it has written everything
// it is going to write (its output stopped growing for --settle after
// the loader ended), takes its CPU time and peak RSS, and stops it.
func runOnce(ctx context.Context, env *benchEnv, r *receiver, row rowKey, count, rep int, extraEnv []string, stderr io.Writer) *result {
	res := &result{receiver: r.name, row: row, rep: rep, count: count, regime: env.regime}
	fail := func(format string, a ...any) *result {
		res.err = fmt.Sprintf(format, a...)
		return res
	}
	dir, err := os.MkdirTemp(env.root, fmt.Sprintf("%s-%d-%d-", r.name, row.size, row.conns))
	if err != nil {
		return fail("%v", err)
	}
	if !env.keep {
		defer os.RemoveAll(dir)
	}
	if err := coldStart(env); err != nil {
		fmt.Fprintf(stderr, "bench: WARNING: %v\n", err)
	}
	port, err := freePort()
	if err != nil {
		return fail("free port: %v", err)
	}
	cmd, glob, err := r.start(env, dir, port, extraEnv)
	if err != nil {
		return fail("%v", err)
	}
	cmd = pinned(cmd, env.pinReceiver)
	logPath := filepath.Join(dir, "receiver.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fail("%v", err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fail("start %s: %v", r.name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		stopProcess(cmd, exited)
	}
	defer stop()
	tail := func() string { return lastLines(logPath, 5) }

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitPort(ctx, addr, exited, 30*time.Second); err != nil {
		return fail("%s did not start listening: %v; its log: %s", r.name, err, tail())
	}
	pid := cmd.Process.Pid
	cpu0, sys0, err := procCPU(pid)
	if err != nil {
		return fail("%v", err)
	}

	loader := exec.Command(env.sealog, "send", "--server", addr, "--ca", env.ca,
		"--cert", env.clientCert, "--key", env.clientKey,
		"--count", strconv.Itoa(count), "--size", strconv.Itoa(row.size),
		"--connections", strconv.Itoa(row.conns), "--rate", "0", "--timeout", "5m")
	loader = pinned(loader, env.pinLoader)
	var lout bytes.Buffer
	loader.Stdout, loader.Stderr = &lout, &lout
	loader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t0 := time.Now()
	if err := loader.Start(); err != nil {
		return fail("start loader: %v", err)
	}
	ldone := make(chan error, 1)
	go func() { ldone <- loader.Wait() }()

	// Poll the output's size (cheap) rather than counting lines while the
	// receiver works: the harness shares the CPUs it measures.
	const poll = 50 * time.Millisecond
	tick := time.NewTicker(poll)
	defer tick.Stop()
	limit := time.NewTimer(30 * time.Minute)
	defer limit.Stop()
	var (
		lastSize, countedSize int64 = -1, -1
		lastChange                  = t0
		loaderEnd             time.Time
		loaderErr             error
		loaderDone            bool
	)
	for {
		select {
		case <-ctx.Done():
			syscall.Kill(-loader.Process.Pid, syscall.SIGKILL)
			return fail("interrupted")
		case <-limit.C:
			syscall.Kill(-loader.Process.Pid, syscall.SIGKILL)
			<-ldone
			res.lines, _ = countLines(glob)
			return fail("run took longer than 30 minutes; %d lines written", res.lines)
		case err := <-ldone:
			loaderDone, loaderErr, loaderEnd = true, err, time.Now()
			ldone = nil
		case <-tick.C:
		}
		now := time.Now()
		size, err := globSize(glob)
		if err != nil {
			return fail("%v", err)
		}
		if size != lastSize {
			lastSize, lastChange = size, now
		}
		select {
		case <-exited:
			return fail("%s exited during the run: %s", r.name, tail())
		default:
		}
		if !loaderDone || now.Sub(lastChange) < env.settle || now.Sub(loaderEnd) < env.settle {
			continue
		}
		if size != countedSize {
			countedSize = size
			if res.lines, err = countLines(glob); err != nil {
				return fail("%v", err)
			}
		}
		if res.sent == 0 {
			res.sent, res.loaderSec = parseLoader(lout.String())
		}
		// All there, or nothing more for five settle periods: drained.
		if res.lines >= res.sent || now.Sub(lastChange) >= 5*env.settle {
			break
		}
	}
	res.elapsed = lastChange.Sub(t0)
	if ps := loader.ProcessState; ps != nil {
		res.loaderCPU = ps.UserTime() + ps.SystemTime()
	}
	if loaderErr != nil {
		res.err = fmt.Sprintf("loader: %v: %s", loaderErr, strings.TrimSpace(lout.String()))
	}
	cpu1, sys1, err := procCPU(pid)
	if err != nil {
		return fail("%v", err)
	}
	res.cpu, res.sys = cpu1-cpu0, sys1-sys0
	res.hwmKiB = procHWM(pid)
	stop()
	if m := findAfter(logPath, "sealog: profile: mallocs="); m != "" {
		res.mallocs, _ = strconv.ParseUint(strings.Fields(m)[0], 10, 64)
	}
	if r.name == "sealog" && env.verify {
		out, err := exec.Command(env.sealog, "verify", "--key", filepath.Join(dir, "keys", "verify.key"),
			filepath.Join(dir, "logs")).CombinedOutput()
		if err != nil {
			res.err = strings.TrimSpace(res.err + " verify failed: " + lastLinesOf(string(out), 3))
		}
	}
	return res
}

// parseLoader reads `sealog send`'s load-mode summary line (docs/operations.md).
func parseLoader(out string) (sent int64, secs float64) {
	for _, f := range strings.Fields(out) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "messages":
			sent, _ = strconv.ParseInt(v, 10, 64)
		case "seconds":
			secs, _ = strconv.ParseFloat(v, 64)
		}
	}
	return sent, secs
}

// stopProcess ends a receiver gracefully (SIGTERM: sealog final-seals,
// the peers flush their queues), and kills its process group, which is
// ours alone (Setpgid), if it takes longer than two minutes.
func stopProcess(cmd *exec.Cmd, exited chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until addr accepts TCP connections. The probe closes at
// once, which every receiver logs as a failed handshake; that is all.
func waitPort(ctx context.Context, addr string, exited chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("it exited")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if v, perr := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && perr == nil && v > 0 {
		return v
	}
	return 100
}()

// procCPU is utime+stime of every thread of pid, and stime alone: the
// time the kernel spent in the receiver's system calls and faults
// (proc(5), fields 14, 15). Write-back by the kernel's flusher threads
// is not in it; sync and fsync done by the receiver are.
func procCPU(pid int) (total, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, state
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	tick := func(v float64) time.Duration { return time.Duration(v / clkTck * float64(time.Second)) }
	return tick(ut + st), tick(st), nil
}

// procHWM is VmHWM, the peak resident set, in KiB.
func procHWM(pid int) int64 {
	v := findAfter(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:")
	n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return n
}

// findAfter returns what follows the first occurrence of prefix at the
// start of a line of file, up to the end of that line.
func findAfter(file, prefix string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(l[len(prefix):])
		}
	}
	return ""
}

func lastLines(file string, n int) string {
	b, _ := os.ReadFile(file)
	return lastLinesOf(string(b), n)
}

func lastLinesOf(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

func globSize(glob string) (int64, error) {
	m, err := filepath.Glob(glob)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range m {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n, nil
}

// countLines counts LF bytes in every file of glob.
func countLines(glob string) (int64, error) {
	m, err := filepath.Glob(glob)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	var n int64
	for _, name := range m {
		f, err := os.Open(name)
		if err != nil {
			return 0, err
		}
		for {
			k, err := f.Read(buf)
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return 0, err
			}
		}
		f.Close()
	}
	return n, nil
}
