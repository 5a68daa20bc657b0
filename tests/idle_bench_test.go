package tests

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealog/sealog/devpki"
)

// BenchmarkIdleTLSConnections opens 1,000 mutual-TLS connections that each
// send one message and then stay idle, and reports the server's VmRSS and
// VmHWM (at most 64 MiB with 1,000 idle TLS connections). It is a
// benchmark, not a test, because it measures rather than checks:
//
//	go test -run '^$' -bench IdleTLS -benchtime 1x ./tests
func BenchmarkIdleTLSConnections(b *testing.B) {
	const conns = 1000
	dir := b.TempDir()
	addr := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	cmd := exec.Command(sealogBin, "serve", "--dev", "--dir", dir, "--listen", addr, "--no-chattr")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	files := devpki.DevPaths(dir)
	var cfg *tls.Config
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("sealog did not listen:\n%s", stderr.String())
		}
	}
	caPEM, err := os.ReadFile(files.CA)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(files.ClientCert, files.ClientKey)
	if err != nil {
		b.Fatal(err)
	}
	cfg = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"}

	for i := 0; i < b.N; i++ {
		open := make([]*tls.Conn, 0, conns)
		for j := 0; j < conns; j++ {
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				b.Fatalf("connection %d: %v", j, err)
			}
			msg := fmt.Sprintf("<13>1 - host app - - - idle %d", j)
			fmt.Fprintf(c, "%d %s", len(msg), msg)
			open = append(open, c)
		}
		waitLines(b, filepath.Join(dir, "events-*.log"), (i+1)*conns)
		time.Sleep(time.Second) // let the server settle with everything idle
		rss, hwm := procMemKiB(b, cmd.Process.Pid)
		b.ReportMetric(float64(rss)/1024, "MiB-RSS")
		b.ReportMetric(float64(hwm)/1024, "MiB-HWM")
		b.ReportMetric(float64(rss)/conns, "KiB/conn")
		for _, c := range open {
			c.Close()
		}
	}
}

func waitLines(b *testing.B, glob string, n int) {
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got := 0
		matches, _ := filepath.Glob(glob)
		for _, m := range matches {
			data, _ := os.ReadFile(m)
			got += strings.Count(string(data), "\n")
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d lines arrived", got, n)
		}
	}
}

// procMemKiB reads VmRSS and VmHWM of a process from /proc.
func procMemKiB(b *testing.B, pid int) (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}
