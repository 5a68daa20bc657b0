package tests

// --frame-timeout and --idle-timeout against clients that stall
// (docs/format.md §5).

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHostileTimeouts checks --frame-timeout and --idle-timeout (docs/format.md §5:
// idle and slow clients cannot pin memory forever). A frame once begun
// must be complete within --frame-timeout: a half frame that stalls and
// a frame dribbled one byte per 500 ms are both cut, and written as
// partial events. --idle-timeout closes a connection quiet between
// frames; its default 0 keeps quiet connections open (appliances keep
// them for days).
func TestHostileTimeouts(t *testing.T) {
	if testing.Short() {
		t.Skip("timeouts take several seconds; skipped with -short")
	}
	// On 2 shared cores a deadline can fire late; early never.
	const slack = 3 * time.Second

	t.Run("frame timeout 2s, idle timeout 0", func(t *testing.T) {
		s := hsStart(t, "--frame-timeout", "2s")
		var wg sync.WaitGroup
		run := func(name string, f func(t *testing.T)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(name, f)
			}()
		}
		// The subtests run in goroutines so the three waits overlap; the
		// t.Run calls return when each is done, so errors land in order.
		run("half a frame, then silence", func(t *testing.T) {
			c := s.Dial(t)
			defer c.Close()
			peer := c.LocalAddr().String()
			start := time.Now()
			io.WriteString(c, "100 <13>1 - half app - - - half")
			d, err := hsWaitClosed(c, 2*time.Second+slack+5*time.Second)
			if err != nil {
				t.Fatalf("half frame: connection %v", err)
			}
			d = time.Since(start)
			if d < 1900*time.Millisecond || d > 2*time.Second+slack {
				t.Errorf("half frame: closed after %s, want about 2s", d.Round(time.Millisecond))
			}
			ev := hsWaitEvents(t, s, 1, func(l []string) bool { return l[3] == peer })
			if len(ev) != 1 || ev[0][14] != "half" || !bbHasFlag(ev[0], "partial") {
				t.Errorf("half frame: got events %q, want one partial event with MSG \"half\"", ev)
			}
			hsWaitDisconnect(t, s, peer, "timeout")
		})
		run("one byte per 500 ms", func(t *testing.T) {
			c := s.Dial(t)
			defer c.Close()
			peer := c.LocalAddr().String()
			frame := "<13>1 - dribble app - - - " + strings.Repeat("d", 40) + "\n"
			start := time.Now()
			closed := make(chan time.Duration, 1)
			go func() {
				d, _ := hsWaitClosed(c, 2*time.Second+slack+5*time.Second)
				closed <- d
			}()
			sent := 0
		dribble:
			for i := 0; i < len(frame); i++ {
				if _, err := c.Write([]byte{frame[i]}); err != nil {
					break
				}
				sent++
				select {
				case <-closed:
					break dribble
				case <-time.After(500 * time.Millisecond):
				}
			}
			d := time.Since(start)
			if sent == len(frame) || d < 1900*time.Millisecond || d > 2*time.Second+slack {
				t.Errorf("dribbler: cut after %s and %d of %d bytes, want about 2s", d.Round(time.Millisecond), sent, len(frame))
			}
			ev := hsWaitEvents(t, s, 1, func(l []string) bool { return l[3] == peer })
			if len(ev) != 1 || !bbHasFlag(ev[0], "partial") {
				t.Errorf("dribbler: got events %q, want one partial event", ev)
			}
			hsWaitDisconnect(t, s, peer, "timeout")
		})
		run("idle between frames is not a frame", func(t *testing.T) {
			c := s.Dial(t)
			peer := c.LocalAddr().String()
			m := "<13>1 - quiet app - - - quiet-1"
			fmt.Fprintf(c, "%d %s", len(m), m)
			// Longer than the frame timeout: with --idle-timeout 0 the
			// connection must stay open.
			if d, err := hsWaitClosed(c, 2*time.Second+slack); err == nil {
				t.Fatalf("quiet connection closed by the server after %s with --idle-timeout 0", d)
			}
			m = "<13>1 - quiet app - - - quiet-2"
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := fmt.Fprintf(c, "%d %s", len(m), m); err != nil {
				t.Fatalf("write after a quiet spell: %v", err)
			}
			closeAndDrain(c)
			if ev := hsWaitEvents(t, s, 2, func(l []string) bool { return l[3] == peer }); len(ev) != 2 {
				t.Errorf("quiet connection: got %d events, want 2", len(ev))
			}
		})
		wg.Wait()
	})

	t.Run("idle timeout 1s", func(t *testing.T) {
		s := hsStart(t, "--idle-timeout", "1s")
		var wg sync.WaitGroup
		wg.Add(1)
		var busyErr error
		var busyPeer string
		busy := s.Dial(t)
		go func() {
			// A connection that sends every 300 ms is never idle for 1 s.
			defer wg.Done()
			busyPeer = busy.LocalAddr().String()
			for i := 0; i < 12; i++ {
				m := fmt.Sprintf("<13>1 - busy app - - - busy-%d", i)
				busy.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := fmt.Fprintf(busy, "%d %s", len(m), m); err != nil {
					busyErr = err
					return
				}
				time.Sleep(300 * time.Millisecond)
			}
			closeAndDrain(busy)
		}()
		c := s.Dial(t)
		defer c.Close()
		peer := c.LocalAddr().String()
		m := "<13>1 - idle app - - - idle-1"
		start := time.Now()
		fmt.Fprintf(c, "%d %s", len(m), m)
		if _, err := hsWaitClosed(c, time.Second+slack+5*time.Second); err != nil {
			t.Fatalf("idle connection: %v", err)
		}
		if d := time.Since(start); d < 900*time.Millisecond || d > time.Second+slack {
			t.Errorf("idle connection closed after %s, want about 1s", d.Round(time.Millisecond))
		}
		hsWaitDisconnect(t, s, peer, "timeout")
		wg.Wait()
		if busyErr != nil {
			t.Errorf("busy connection: %v", busyErr)
		}
		if ev := hsWaitEvents(t, s, 12, func(l []string) bool { return l[3] == busyPeer }); len(ev) != 12 {
			t.Errorf("busy connection: got %d events, want 12", len(ev))
		}
	})
}

// hsWaitDisconnect waits for the disconnect event of peer and checks its
// reason.
func hsWaitDisconnect(t *testing.T, s *Sealog, peer, reason string) {
	t.Helper()
	var ev []string
	if !pollEvery(10*time.Second, 50*time.Millisecond, func() bool {
		for _, l := range s.SecurityOf("disconnect") {
			if l[3] == peer {
				ev = l
				return true
			}
		}
		return false
	}) {
		t.Errorf("no disconnect event for %s", peer)
		return
	}
	if !strings.Contains(ev[8], `"reason":"`+reason+`"`) {
		t.Errorf("disconnect of %s: got DETAIL %s, want reason %s", peer, ev[8], reason)
	}
}
