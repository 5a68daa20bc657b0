// Command soak is the helper of tests/soak.sh: it plays the
// hostile clients during a soak run and counts the load messages found in
// the event files afterwards. It is not a test and is never run by
// `go test`.
//
//	soak hostile -tls ADDR -tcp ADDR -ca F -cert F -key F   (until SIGTERM)
//	soak count DIR                                         (per HOSTNAME: lines, distinct tags)
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: soak hostile|count ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "hostile":
		hostile(os.Args[2:])
	case "count":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: soak count DIR")
			os.Exit(2)
		}
		if err := count(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "soak count:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: soak hostile|count ...")
		os.Exit(2)
	}
}

// count reads every events-*.log in dir and prints, per HOSTNAME of the
// "load C-N" messages, how many complete lines carry one and how many
// distinct tags there are: "HOST LINES DISTINCT". A torn last line (a
// kill -9 mid-write) is not a line and is not counted.
func count(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "events-*.log"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	lines := map[string]int{}
	tags := map[string]map[string]struct{}{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		r := bufio.NewReaderSize(fh, 1<<20)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				break // EOF; a torn tail has no LF
			}
			cols := strings.Split(strings.TrimSuffix(l, "\n"), "\t")
			if len(cols) != 15 || !strings.HasPrefix(cols[14], "load ") {
				continue
			}
			host := cols[9]
			tag := cols[14]
			if i := strings.IndexByte(tag[5:], ' '); i >= 0 {
				tag = tag[:5+i]
			}
			lines[host]++
			if tags[host] == nil {
				tags[host] = map[string]struct{}{}
			}
			tags[host][tag] = struct{}{}
		}
		fh.Close()
	}
	hosts := make([]string, 0, len(lines))
	for h := range lines {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		fmt.Printf("%s %d %d\n", h, lines[h], len(tags[h]))
	}
	return nil
}

// hostile runs rounds of attacks until SIGTERM and prints what it did.
// Errors are expected (the server is killed and restarted in the middle)
// and only counted.
func hostile(args []string) {
	fs := flag.NewFlagSet("hostile", flag.ExitOnError)
	tlsAddr := fs.String("tls", "", "TLS listener")
	tcpAddr := fs.String("tcp", "", "plain TCP listener")
	caFile := fs.String("ca", "", "CA PEM")
	certFile := fs.String("cert", "", "client certificate PEM")
	keyFile := fs.String("key", "", "client key PEM")
	fs.Parse(args)
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{cert}}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var stats struct{ rounds, conns, errors atomic.Int64 }
	dialTLS := func() (*tls.Conn, error) {
		stats.conns.Add(1)
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", *tlsAddr, cfg)
		if err != nil {
			stats.errors.Add(1)
		}
		return c, err
	}
	dialTCP := func(addr string) (net.Conn, error) {
		stats.conns.Add(1)
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			stats.errors.Add(1)
		}
		return c, err
	}
	parallel := func(n int, f func(i int)) {
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); f(i) }()
		}
		wg.Wait()
	}
	junk := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }

	for {
		select {
		case <-stop:
			fmt.Printf("hostile rounds=%d connections=%d dial_errors=%d\n", stats.rounds.Load(), stats.conns.Load(), stats.errors.Load())
			return
		default:
		}
		stats.rounds.Add(1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // 50 connections stalled in a 60,000-byte frame for 3 s
			defer wg.Done()
			parallel(50, func(i int) {
				c, err := dialTLS()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "60000 <13>1 - soak-h stall - - - stalled %s", strings.Repeat("s", 20000))
				time.Sleep(3 * time.Second)
				c.Close()
			})
		}()
		wg.Add(1)
		go func() { // declared length 2,000,000,000, 4 MiB of it
			defer wg.Done()
			c, err := dialTLS()
			if err != nil {
				return
			}
			defer c.Close()
			io.WriteString(c, "2000000000 <13>1 - soak-h huge - - - ")
			chunk := make([]byte, 64<<10)
			for range 64 {
				c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}()
		parallel(20, func(i int) { // 200 rapid connects and disconnects
			for range 10 {
				if c, err := dialTCP(*tlsAddr); err == nil {
					if i%2 == 0 {
						c.(*net.TCPConn).SetLinger(0)
					}
					c.Close()
				}
			}
		})
		parallel(10, func(i int) { // random bytes on both ports
			for _, a := range []string{*tlsAddr, *tcpAddr} {
				if c, err := dialTCP(a); err == nil {
					c.SetWriteDeadline(time.Now().Add(5 * time.Second))
					c.Write(junk(16 << 10))
					c.Close()
				}
			}
		})
		parallel(5, func(i int) { // plain text on the TLS port; 11-digit counts
			if c, err := dialTCP(*tlsAddr); err == nil {
				io.WriteString(c, "hello, this is not TLS\n")
				c.Close()
			}
			if c, err := dialTLS(); err == nil {
				io.WriteString(c, "12345678901 <13>1 - soak-h eleven - - - x")
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, c)
				c.Close()
			}
		})
		wg.Wait()
		select {
		case <-stop:
			fmt.Printf("hostile rounds=%d connections=%d dial_errors=%d\n", stats.rounds.Load(), stats.conns.Load(), stats.errors.Load())
			return
		case <-time.After(2 * time.Second):
		}
	}
}
