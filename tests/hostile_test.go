package tests

// Hostile clients (docs/format.md §2 and §5): stalled frames, absurd
// declared lengths, malformed counts, random bytes, connection floods and
// handshakes that never end. Each runs against its own server while a
// well-behaved client keeps sending and must get every message through;
// afterwards the server's peak RSS (VmHWM) must be under a stated bound
// and its goroutine count back at its baseline.
//
// The goroutine count comes from the server itself: with
// SEALOG_DEBUG_GOROUTINES=1 (server/debug.go), SIGUSR1 makes it print
// "goroutines N" on stderr. Thread counts would not do: Go multiplexes
// goroutines on a few threads, so a leak would not show.

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sealog/sealog/writer"
)

// hsMiB is a mebibyte in the kB units of /proc/PID/status.
const hsMiB = 1024

// hsStart starts a server that answers SIGUSR1 with its goroutine count.
func hsStart(t *testing.T, extra ...string) *Sealog {
	t.Helper()
	t.Setenv("SEALOG_DEBUG_GOROUTINES", "1")
	return startSealog(t, extra...)
}

// hsStatus reads a "kB" field of /proc/PID/status (VmRSS, VmHWM).
func hsStatus(t *testing.T, s *Sealog, field string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read status of sealog: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", field, l, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, s.cmd.Process.Pid)
	return 0
}

var hsReasonRE = regexp.MustCompile(`"reason":"[a-z_]*"`)

var hsGoroutinesRE = regexp.MustCompile(`(?m)^goroutines (\d+)$`)

// hsGoroutines asks the server for its goroutine count (SIGUSR1).
func hsGoroutines(t *testing.T, s *Sealog) int {
	t.Helper()
	before := len(hsGoroutinesRE.FindAllString(s.Stderr(), -1))
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatalf("SIGUSR1: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := hsGoroutinesRE.FindAllStringSubmatch(s.Stderr(), -1)
		if len(m) > before {
			n, _ := strconv.Atoi(m[len(m)-1][1])
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine count on stderr after SIGUSR1:\n%s", s.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hsWaitGoroutines waits until the server runs at most want goroutines.
func hsWaitGoroutines(t *testing.T, s *Sealog, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n := hsGoroutines(t, s)
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("server goroutines: got %d after %s, want back at the baseline %d", n, within, want)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hsGood is the well-behaved client: one TLS connection sending a
// numbered RFC 5424 message every few milliseconds.
type hsGood struct {
	s    *Sealog
	c    *tls.Conn
	peer string
	sent atomic.Int64
	stop chan struct{}
	done chan struct{}
	err  error
}

func hsGoodMsg(i int64) string { return fmt.Sprintf("<13>1 - good app - - - good-%d", i) }

func hsStartGood(t *testing.T, s *Sealog) *hsGood {
	t.Helper()
	g := &hsGood{s: s, c: s.Dial(t), stop: make(chan struct{}), done: make(chan struct{})}
	g.peer = g.c.LocalAddr().String()
	go func() {
		defer close(g.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-tick.C:
			}
			m := hsGoodMsg(g.sent.Load())
			// A write blocked this long means the server stopped reading
			// from a client it should still serve.
			g.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			if _, err := fmt.Fprintf(g.c, "%d %s", len(m), m); err != nil {
				g.err = err
				return
			}
			g.sent.Add(1)
		}
	}()
	return g
}

// progress checks, while an attack runs, that the message the good
// client sends now reaches the events file soon.
func (g *hsGood) progress(t *testing.T) {
	t.Helper()
	want := "good-" + strconv.FormatInt(g.sent.Load()+1, 10)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range g.s.lines("events") {
			if strings.HasSuffix(l, "\t"+want) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("the well-behaved client's %s did not reach the events file within 15s (sent %d)", want, g.sent.Load())
}

// finish stops the good client, closes it carefully and checks that each
// of its messages is in the files exactly once and in order.
func (g *hsGood) finish(t *testing.T) {
	t.Helper()
	close(g.stop)
	<-g.done
	if g.err != nil {
		t.Errorf("well-behaved client: write failed after %d messages: %v", g.sent.Load(), g.err)
	}
	closeAndDrain(g.c)
	n := g.sent.Load()
	var got []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		got = got[:0]
		for _, ev := range g.s.Events() {
			if len(ev) == 15 && ev[3] == g.peer {
				got = append(got, ev[14])
			}
		}
		if int64(len(got)) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if int64(len(got)) != n {
		t.Errorf("well-behaved client: got %d events, want %d", len(got), n)
	}
	for i, m := range got {
		if want := "good-" + strconv.Itoa(i); m != want {
			t.Errorf("well-behaved client: event %d is %q, want %q", i, m, want)
			break
		}
	}
}

// hsCheckFiles checks every line of both streams against docs/format.md §3.
func hsCheckFiles(t *testing.T, s *Sealog) {
	t.Helper()
	for _, st := range []struct {
		prefix string
		cols   int
	}{{"events", 15}, {"security", 9}} {
		bad := 0
		for _, l := range s.lines(st.prefix) {
			if err := writer.CheckLine([]byte(l), st.cols); err != nil {
				if bad++; bad <= 3 {
					t.Errorf("%s line breaks docs/format.md §3: %v: %.200q", st.prefix, err, l)
				}
			}
		}
	}
}

// hsWaitEvents waits until at least n event lines match pick (15 s at
// most) and returns the matching lines, however many there are then.
func hsWaitEvents(t *testing.T, s *Sealog, n int, pick func(l []string) bool) [][]string {
	t.Helper()
	var got [][]string
	pollEvery(15*time.Second, 50*time.Millisecond, func() bool {
		got = s.Matching("events", func(l []string) bool { return len(l) == 15 && pick(l) })
		return len(got) >= n
	})
	return got
}

func hsAnyDetail(lines [][]string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l[8], sub) {
			return true
		}
	}
	return false
}

// hsWaitClosed waits until the server closes c (a read returns EOF or a
// reset rather than our own deadline) and returns how long that took.
func hsWaitClosed(c net.Conn, within time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return time.Since(start), fmt.Errorf("still open after %s", within)
	}
	return time.Since(start), nil
}

// hsParallel runs f(i) for i in [0,n) on workers goroutines and returns
// the first error.
func hsParallel(n, workers int, f func(i int) error) error {
	var (
		next  atomic.Int64
		first error
		mu    sync.Mutex
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}
