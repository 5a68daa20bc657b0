package tests

// Hostile connections, each against its own server while a well-behaved
// client keeps sending (see hostile_test.go for the helpers and the
// bounds checked afterwards).

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hsCase is one attack. run performs it and returns once the attacking
// connections are gone (closed by the client or cut by the server);
// it calls g.progress while the attack is under way.
type hsCase struct {
	name  string
	flags []string
	// rssMiB bounds VmHWM. Measured on 2 shared cores with Go 1.26: an
	// idle server peaks at about 12–14 MiB; each bound adds what the
	// attack may legitimately pin (see the case) with a margin for the
	// garbage collector (GOGC=100 lets the heap reach twice the live set).
	rssMiB int64
	tcp    bool // also listen on a plain TCP port, passed to run
	run    func(t *testing.T, s *Sealog, g *hsGood, tcpAddr string)
}

// TestHostileConnections runs each attack against its own server.
func TestHostileConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile clients take about a minute; skipped with -short")
	}
	for _, tc := range hsCases() {
		t.Run(tc.name, func(t *testing.T) {
			flags, tcpAddr := tc.flags, ""
			if tc.tcp {
				tcpAddr = freePort(t)
				flags = append(flags, "--listen-tcp", tcpAddr)
			}
			s := hsStart(t, flags...)
			g := hsStartGood(t, s)
			g.progress(t)
			base := hsGoroutines(t, s)
			tc.run(t, s, g, tcpAddr)
			hsWaitGoroutines(t, s, base, 15*time.Second)
			g.progress(t)
			hwm := hsStatus(t, s, "VmHWM")
			t.Logf("%s: VmHWM %.1f MiB (bound %d MiB), goroutines back to %d", tc.name, float64(hwm)/hsMiB, tc.rssMiB, base)
			if raceBuild {
				t.Logf("race build (SEALOG_TEST_RACE): the detector's shadow memory makes the bound meaningless; not checked")
			} else if hwm > tc.rssMiB*hsMiB {
				t.Errorf("VmHWM: got %.1f MiB, want at most %d MiB", float64(hwm)/hsMiB, tc.rssMiB)
			}
			g.finish(t)
			if code := s.Stop(); code != 0 {
				t.Errorf("stop: exit %d, want 0; stderr:\n%s", code, s.Stderr())
			}
			hsCheckFiles(t, s)
			if out, code := s.Verify(t); code != 0 {
				t.Errorf("verify: exit %d, want 0:\n%s", code, out)
			}
		})
	}
}

func hsCases() []hsCase {
	return []hsCase{
		{
			// 300 TLS connections each declare a 60,000-byte frame, send
			// 40,000 bytes of it and stall. Measured: 300 idle TLS
			// connections cost ~45 KiB each (goroutine, TLS state and
			// record buffers, 4 KiB frame buffer); the stalled frame adds
			// its buffer (60,000 bytes) and TLS record data, ~75 KiB.
			// Live: ~11 MiB + 300 × 120 KiB ≈ 46 MiB (VmRSS measured
			// 46 MiB); the GC may let the heap reach twice its live size
			// before collecting, so the peak lands at 55–65 MiB. Bound:
			// 90 MiB. The server must cut them itself at --frame-timeout
			// while the clients keep their sockets open, and write each
			// as a partial event.
			name:   "300 stalled partial frames",
			flags:  []string{"--frame-timeout", "4s"},
			rssMiB: 90,
			run: func(t *testing.T, s *Sealog, g *hsGood, tcpAddr string) {
				const n = 300
				cfg := s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey)
				conns := make([]net.Conn, n)
				head := fmt.Sprintf("60000 <13>1 - stall app - - - stalled-")
				defer func() {
					for _, c := range conns {
						if c != nil {
							c.Close()
						}
					}
				}()
				// First as idle connections that sent one small frame, to
				// see what an open connection costs by itself.
				err := hsParallel(n, 8, func(i int) error {
					c, err := s.DialTLS(cfg)
					if err != nil {
						return err
					}
					conns[i] = c
					m := "<13>1 - stall app - - - hello-" + strconv.Itoa(i)
					_, err = fmt.Fprintf(c, "%d %s", len(m), m)
					return err
				})
				if err != nil {
					t.Fatalf("opening %d connections: %v", n, err)
				}
				hsWaitEvents(t, s, n, func(l []string) bool { return strings.HasPrefix(l[14], "hello-") })
				idle := hsStatus(t, s, "VmRSS")
				t.Logf("VmRSS with %d idle TLS connections: %.1f MiB", n, float64(idle)/hsMiB)
				err = hsParallel(n, 8, func(i int) error {
					body := head + strconv.Itoa(i) + " " + strings.Repeat("x", 40000-len(head))
					_, err := conns[i].Write([]byte(body))
					return err
				})
				if err != nil {
					t.Fatalf("stalling %d connections: %v", n, err)
				}
				g.progress(t)
				if got := hsGoroutines(t, s); got < n {
					t.Errorf("server goroutines while %d connections stall: got %d, want at least %d (are they served?)", n, got, n)
				}
				time.Sleep(500 * time.Millisecond) // let the last bytes arrive
				t.Logf("VmRSS with %d connections stalled in a 60,000-byte frame: %.1f MiB", n, float64(hsStatus(t, s, "VmRSS"))/hsMiB)
				// The server cuts them at the frame timeout, not we.
				err = hsParallel(n, 50, func(i int) error {
					if _, err := hsWaitClosed(conns[i], 30*time.Second); err != nil {
						return fmt.Errorf("stalled connection %d: %w", i, err)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				ev := hsWaitEvents(t, s, n, func(l []string) bool {
					return strings.Contains(l[14], "stalled-")
				})
				partial := 0
				for _, l := range ev {
					if bbHasFlag(l, "partial") {
						partial++
					}
				}
				if len(ev) != n || partial != n {
					t.Errorf("events of stalled frames: got %d (%d partial), want %d, all partial", len(ev), partial, n)
				}
				if d := s.SecurityOf("disconnect"); !hsAnyDetail(d, `"reason":"timeout"`) {
					t.Errorf("no disconnect event with reason timeout")
				}
			},
		},
		{
			// Declared length 2,000,000,000: one connection dribbles data,
			// four push 32 MiB each as fast as they can. The reader keeps
			// the first --max-message-size (64 KiB) bytes and hashes the
			// rest: ~70 KiB per connection, whatever is declared. Bound:
			// 14 MiB idle + TLS record buffers and the batch of a maximum
			// frame + GC headroom; 40 MiB is far below what buffering even
			// one 32 MiB stream would take.
			name:   "declared length 2,000,000,000",
			rssMiB: 40,
			run: func(t *testing.T, s *Sealog, g *hsGood, tcpAddr string) {
				cfg := s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey)
				hdr := "2000000000 <13>1 - huge app - - - huge "
				chunk := bytes.Repeat([]byte("y"), 64<<10)
				var peers sync.Map
				err := hsParallel(5, 5, func(i int) error {
					c, err := s.DialTLS(cfg)
					if err != nil {
						return err
					}
					defer c.Close()
					peers.Store(c.LocalAddr().String(), true)
					if _, err := c.Write([]byte(hdr)); err != nil {
						return err
					}
					if i == 0 { // slow: 1 KiB every 100 ms for 3 s
						for range 30 {
							if _, err := c.Write(chunk[:1024]); err != nil {
								return err
							}
							time.Sleep(100 * time.Millisecond)
						}
					} else {
						for range 32 << 20 / len(chunk) {
							c.SetWriteDeadline(time.Now().Add(30 * time.Second))
							if _, err := c.Write(chunk); err != nil {
								return err
							}
						}
					}
					closeAndDrain(c)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				g.progress(t)
				ev := hsWaitEvents(t, s, 5, func(l []string) bool {
					_, ok := peers.Load(l[3])
					return ok && bbHasFlag(l, "trunc=2000000000") && bbHasFlag(l, "partial")
				})
				for _, l := range ev {
					if !strings.HasPrefix(l[14], "huge y") || len(l[14]) > 65536 {
						t.Errorf("kept part: got %d bytes starting %.20q, want at most 65536 starting \"huge y\"", len(l[14]), l[14])
					}
				}
				over := s.SecurityOf("oversized")
				if len(over) != 5 {
					t.Errorf("oversized events: got %d, want 5", len(over))
				}
				// The SHA-256 covers every byte received: the four fast
				// streams went through the server whole, not buffered.
				h := sha256.New()
				io.WriteString(h, strings.TrimPrefix(hdr, "2000000000 "))
				for range 32 << 20 / len(chunk) {
					h.Write(chunk)
				}
				fast := `"sha256":"` + hex.EncodeToString(h.Sum(nil)) + `"`
				nfast := 0
				for _, l := range over {
					if !strings.Contains(l[8], `"length":2000000000`) {
						t.Errorf("oversized DETAIL: got %s, want length 2000000000", l[8])
					}
					if strings.Contains(l[8], fast) {
						nfast++
					}
				}
				if nfast != 4 {
					t.Errorf("oversized events with the SHA-256 of a whole 32 MiB stream: got %d, want 4", nfast)
				}
			},
		},
		{
			// 50 connections send a good frame, then an 11-digit octet
			// count: frame_error, connection closed, the good frame kept.
			// Nothing is buffered: bound as for an idle server plus 50
			// handshakes, 30 MiB.
			name:   "11-digit octet count",
			rssMiB: 30,
			run: func(t *testing.T, s *Sealog, g *hsGood, tcpAddr string) {
				const n = 50
				cfg := s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey)
				err := hsParallel(n, 10, func(i int) error {
					c, err := s.DialTLS(cfg)
					if err != nil {
						return err
					}
					defer c.Close()
					ok := fmt.Sprintf("<13>1 - eleven app - - - before-%d", i)
					fmt.Fprintf(c, "%d %s12345678901 <13>1 - eleven app - - - after", len(ok), ok)
					if _, err := hsWaitClosed(c, 10*time.Second); err != nil {
						return fmt.Errorf("after an 11-digit count the connection is %w", err)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				g.progress(t)
				ev := hsWaitEvents(t, s, n, func(l []string) bool {
					return strings.HasPrefix(l[14], "before-")
				})
				if len(ev) != n {
					t.Errorf("frames before the bad count: got %d, want %d", len(ev), n)
				}
				for _, l := range s.Events() {
					if len(l) == 15 && strings.Contains(l[14], "after") && !strings.Contains(l[14], "good") {
						t.Errorf("bytes after the malformed count became an event: %q", l)
					}
				}
				if fe := s.SecurityOf("frame_error"); len(fe) == 0 || len(fe) > 10 {
					t.Errorf("frame_error events: got %d, want 1–10 (the rest summarised)", len(fe))
				}
			},
		},
		{
			// Random bytes: 100 connections on the TLS port and 100 on a
			// plain TCP port, 64 KiB each. On TLS they fail the handshake;
			// on TCP they become raw, partial or truncated events or frame
			// errors. A connection holds at most one 64 KiB frame: bound
			// as for the stalled case scaled to the concurrency (20 at a
			// time), 50 MiB.
			name:   "random bytes",
			tcp:    true,
			rssMiB: 50,
			run: func(t *testing.T, s *Sealog, g *hsGood, tcpAddr string) {
				for _, target := range []struct {
					name string
					addr string
				}{{"tls", s.Addr}, {"tcp", tcpAddr}} {
					err := hsParallel(100, 20, func(i int) error {
						c, err := net.DialTimeout("tcp", target.addr, 10*time.Second)
						if err != nil {
							return err
						}
						defer c.Close()
						junk := make([]byte, 64<<10)
						rand.Read(junk)
						c.SetWriteDeadline(time.Now().Add(20 * time.Second))
						c.Write(junk) // the server may close early (frame error, failed handshake)
						if tc, ok := c.(*net.TCPConn); ok {
							tc.CloseWrite()
						}
						hsWaitClosed(c, 20*time.Second)
						return nil
					})
					if err != nil {
						t.Fatalf("random bytes on %s: %v", target.name, err)
					}
					g.progress(t)
				}
				if len(s.SecurityOf("tls_handshake_failed")) == 0 {
					t.Errorf("random bytes on the TLS port: no tls_handshake_failed event")
				}
			},
		},
		{
			// 1,000 TCP connects and disconnects on the TLS port, half
			// closed with a reset (SO_LINGER 0), 20 at a time. Nothing is
			// buffered; bound 30 MiB.
			name:   "1000 rapid connects",
			rssMiB: 30,
			run: func(t *testing.T, s *Sealog, g *hsGood, tcpAddr string) {
				err := hsParallel(1000, 20, func(i int) error {
					c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
					if err != nil {
						return err
					}
					if i%2 == 1 {
						c.(*net.TCPConn).SetLinger(0)
					}
					return c.Close()
				})
				if err != nil {
					t.Fatal(err)
				}
				g.progress(t)
			},
		},
		{
			// With --handshake-timeout 1s: 50 connections send nothing and
			// 50 send half a ClientHello, then both keep their sockets
			// open. The server must close every one within about a second.
			// Bound 30 MiB (nothing held but sockets).
			name:   "handshakes that never finish",
			flags:  []string{"--handshake-timeout", "1s"},
			rssMiB: 30,
			run: func(t *testing.T, s *Sealog, g *hsGood, tcpAddr string) {
				const n = 100
				conns := make([]net.Conn, n)
				defer func() {
					for _, c := range conns {
						if c != nil {
							c.Close()
						}
					}
				}()
				for i := range conns {
					c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
					if err != nil {
						t.Fatal(err)
					}
					conns[i] = c
					if i%2 == 1 {
						// A TLS record header announcing 512 bytes of
						// handshake, and only the first few of them.
						c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03})
					}
				}
				g.progress(t)
				var slowest atomic.Int64
				err := hsParallel(n, n, func(i int) error {
					d, err := hsWaitClosed(conns[i], 15*time.Second)
					if err != nil {
						return fmt.Errorf("unfinished handshake %d: %w", i, err)
					}
					for {
						old := slowest.Load()
						if int64(d) <= old || slowest.CompareAndSwap(old, int64(d)) {
							break
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				// 1 s plus scheduling on a loaded machine.
				if d := time.Duration(slowest.Load()); d > 6*time.Second {
					t.Errorf("unfinished handshakes: the last was closed after %s, want about 1s", d)
				}
				// The events are written after the close the clients saw.
				var timeouts int
				reasons := map[string]int{}
				for deadline := time.Now().Add(10 * time.Second); timeouts == 0 && time.Now().Before(deadline); {
					time.Sleep(50 * time.Millisecond)
					clear(reasons)
					for _, l := range s.SecurityOf("tls_handshake_failed") {
						if strings.Contains(l[8], `"reason":"timeout"`) {
							timeouts++
						}
						reasons[hsReasonRE.FindString(l[8])]++
					}
				}
				t.Logf("tls_handshake_failed reasons written (10 per minute, the rest summarised): %v", reasons)
				if timeouts == 0 {
					t.Errorf("no tls_handshake_failed event with reason timeout; got:\n%q", s.SecurityOf("tls_handshake_failed"))
				}
			},
		},
	}
}
