package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSuppressFloodOfFailures checks docs/format.md §5 "floods of failures are
// summarised": 1,000 plain-text connections to the TLS
// port from one source and 30 frames that are neither RFC 5424 nor 3164
// give at most 10 individual failure events per source and UTC minute;
// `suppressed` summaries (written at stop here) account for every other
// failure, per action; and all 30 frames are still written as events,
// because the data is never suppressed.
func TestSuppressFloodOfFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 handshakes; skipped with -short")
	}
	s := startSealog(t)
	const bad = 1000
	err := hsParallel(bad, 10, func(i int) error {
		c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintf(c, "hello %d, this is not TLS\n", i)
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		io.Copy(io.Discard, c) // the server hangs up
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const raw = 30
	c := s.Dial(t)
	peer := c.LocalAddr().String()
	for i := 0; i < raw; i++ {
		fmt.Fprintf(c, "not syslog %d\n", i)
	}
	closeAndDrain(c)
	if ev := hsWaitEvents(t, s, raw, func(l []string) bool { return l[3] == peer }); len(ev) != raw {
		t.Fatalf("raw frames: got %d events, want %d (the data is never suppressed)", len(ev), raw)
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d:\n%s", code, s.Stderr())
	}

	// Failures the server saw from 127.0.0.1: ours, plus the harness's
	// readiness probe (a TCP connect without TLS: tls_handshake_failed).
	want := map[string]int{"tls_handshake_failed": bad + 1, "parse_failed": raw}
	individual := map[string]int{}  // action -> events written one by one
	perMinute := map[string]int{}   // UTC minute -> individual failure events
	suppressed := map[string]int{}  // action -> summarised
	summarised := map[string]bool{} // minutes with a summary
	for _, l := range s.Security() {
		if len(l) != 9 {
			t.Fatalf("security line with %d columns: %q", len(l), l)
		}
		action, peerCol := l[6], l[3]
		if _, ok := want[action]; ok && strings.HasPrefix(peerCol, "127.0.0.1:") {
			individual[action]++
			perMinute[l[1][:16]]++
		}
		if action != "suppressed" {
			continue
		}
		var d struct {
			Source string         `json:"source"`
			Count  int            `json:"count"`
			Counts map[string]int `json:"counts"`
			Minute string         `json:"minute"`
		}
		if err := json.Unmarshal([]byte(l[8]), &d); err != nil {
			t.Fatalf("suppressed DETAIL %s: %v", l[8], err)
		}
		if peerCol != "-" || d.Source != "127.0.0.1" {
			t.Errorf("suppressed: got PEER %q source %q, want - and 127.0.0.1", peerCol, d.Source)
		}
		sum := 0
		for a, n := range d.Counts {
			sum += n
			suppressed[a] += n
		}
		if sum != d.Count || d.Count == 0 {
			t.Errorf("suppressed: count %d, counts %v add up to %d", d.Count, d.Counts, sum)
		}
		if len(d.Minute) < 16 {
			t.Errorf("suppressed: minute %q is not a TIME", d.Minute)
		} else {
			summarised[d.Minute[:16]] = true
		}
	}
	for m, n := range perMinute {
		if n > 10 {
			t.Errorf("minute %s: got %d individual failure events from one source, want at most 10", m, n)
		}
		if summarised[m] && n != 10 {
			t.Errorf("minute %s has a summary but %d individual events, want 10 before summarising", m, n)
		}
	}
	for a, n := range want {
		if got := individual[a] + suppressed[a]; got != n {
			t.Errorf("%s: %d written + %d summarised = %d, want %d", a, individual[a], suppressed[a], got, n)
		}
	}
	if len(summarised) == 0 {
		t.Errorf("no suppressed summary after %d failures", bad+raw)
	}
	t.Logf("individual %v, suppressed %v over %d minute(s)", individual, suppressed, len(perMinute))
	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify: exit %d:\n%s", code, out)
	}
}
