package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mtScrape fetches /metrics from addr and returns every sample, keyed by
// its name and labels as exposed ("sealog_events_total{stream=\"events\"}").
func mtScrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("scrape: Content-Type %q, want the text format", ct)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// mtWaitMetric polls until the sample key has the value want.
func mtWaitMetric(t *testing.T, addr, key string, want float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := mtScrape(t, addr)
		if m[key] == want {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %v, want %v", key, m[key], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsCounts: after known traffic, the counters of docs/format.md
// §10.1 hold exactly what happened — events and bytes as written in the
// files, each refusal and handshake failure under its reason, flagged
// frames, connections by listener.
func TestMetricsCounts(t *testing.T) {
	maddr := freePort(t)
	s := startSealog(t, "--metrics-listen", maddr, "--max-connections", "2", "--seal-interval", "1s")
	listener := `{listener="tls ` + s.Addr + `"}`
	// The harness's readiness probe: accepted, then a handshake that saw EOF.
	mtWaitMetric(t, maddr, `sealog_tls_handshake_failures_total{reason="eof"}`, 1)
	mtWaitMetric(t, maddr, "sealog_connections_open"+listener, 0)

	// A TCP client that speaks no TLS.
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("<34>1 - plain text to a TLS port\n"))
	io.Copy(io.Discard, nc)
	nc.Close()
	mtWaitMetric(t, maddr, `sealog_tls_handshake_failures_total{reason="not_tls"}`, 1)

	// Two connections held open, a third refused by --max-connections.
	a, b := s.Dial(t), s.Dial(t)
	a.Write(bbOctet(bbMsg("held a")))
	b.Write(bbOctet(bbMsg("held b")))
	mtWaitMetric(t, maddr, "sealog_connections_open"+listener, 2)
	if _, err := bbDialTLS(t, s.Addr, s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey)); err == nil {
		t.Errorf("third connection with --max-connections 2 was served")
	}
	mtWaitMetric(t, maddr, `sealog_connections_refused_total{reason="too_many_connections"}`, 1)

	// On a, N ordinary events, one oversized, one that is not syslog; on b,
	// a frame the connection's end cuts short.
	const n = 40
	var frames []byte
	for i := 0; i < n; i++ {
		frames = append(frames, bbOctet(bbMsg(fmt.Sprintf("event %d", i)))...)
	}
	frames = append(frames, bbOctet(bbMsg(strings.Repeat("x", 70000)))...)
	frames = append(frames, bbOctet("not syslog at all")...)
	a.Write(frames)
	closeAndDrain(a)
	b.Write([]byte("100 <34>Oct 11 22:14:15 host app: cut short")) // RFC 3164, so only partial
	closeAndDrain(b)
	const events = 2 + n + 2 + 1
	s.WaitEvents(t, events)
	mtWaitMetric(t, maddr, "sealog_connections_open"+listener, 0)
	// Lines and bytes as the files hold them, once the last flush is done.
	mtWaitMetric(t, maddr, `sealog_events_total{stream="events"}`, events)
	mtWaitMetric(t, maddr, `sealog_event_bytes_total{stream="events"}`, float64(mtBytes(t, s, "events")))
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := mtScrape(t, maddr)
		lines, bytes := len(s.lines("security")), mtBytes(t, s, "security")
		if m[`sealog_events_total{stream="security"}`] == float64(lines) && m[`sealog_event_bytes_total{stream="security"}`] == float64(bytes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("security stream: metrics say %v lines %v bytes, the files hold %d lines %d bytes",
				m[`sealog_events_total{stream="security"}`], m[`sealog_event_bytes_total{stream="security"}`], lines, bytes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Checkpoint seals every second, each followed by a signed checkpoint
	// of the seals tree: its size is the number of seals.
	for deadline := time.Now().Add(10 * time.Second); ; {
		m := mtScrape(t, maddr)
		b, _ := os.ReadFile(filepath.Join(s.Dir, "seals.log"))
		seals := float64(strings.Count(string(b), "\n"))
		if seals >= 2 && m["sealog_checkpoint_size"] == seals && m[`sealog_seals_total{kind="checkpoint"}`] == seals {
			if last := m["sealog_last_seal_timestamp_seconds"]; time.Since(time.Unix(int64(last), 0)) > time.Minute {
				t.Errorf("sealog_last_seal_timestamp_seconds %v is not recent", last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint size %v, checkpoint seals %v, seals.log has %v", m["sealog_checkpoint_size"], m[`sealog_seals_total{kind="checkpoint"}`], seals)
		}
		time.Sleep(50 * time.Millisecond)
	}

	m := mtScrape(t, maddr)
	for key, want := range map[string]float64{
		"sealog_connections_accepted_total" + listener:                    4, // probe, not TLS, a, b
		`sealog_connections_refused_total{reason="too_many_connections"}`: 1,
		`sealog_connections_refused_total{reason="not_allowed"}`:          0,
		`sealog_tls_handshake_failures_total{reason="not_tls"}`:           1,
		`sealog_tls_handshake_failures_total{reason="eof"}`:               1,
		`sealog_tls_handshake_failures_total{reason="unknown_ca"}`:        0,
		"sealog_frames_truncated_total":                                   1,
		"sealog_frames_partial_total":                                     1,
		"sealog_frames_unparsed_total":                                    1,
		"sealog_write_errors_total":                                       0,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s: got %v (present %v), want %v", key, got, ok, want)
		}
	}
	if m["sealog_dir_free_bytes"] <= 0 {
		t.Errorf("sealog_dir_free_bytes: got %v, want > 0", m["sealog_dir_free_bytes"])
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
}

// TestMetricsFlag: --metrics-listen is checked like every address flag,
// and the endpoint serves nothing but /metrics.
func TestMetricsFlag(t *testing.T) {
	s := startSealog(t)
	_, stderr, code := runSealog(t, "", "serve", "--dev", "--dir", t.TempDir(), "--listen", freePort(t), "--metrics-listen", "")
	if code != 2 || !strings.Contains(stderr, "--metrics-listen") {
		t.Errorf("empty --metrics-listen: exit %d, stderr %q; want 2 naming the flag", code, stderr)
	}
	// An address in use: the server's own TLS port.
	_, stderr, code = runSealog(t, "", "serve", "--dev", "--dir", t.TempDir(), "--listen", freePort(t), "--metrics-listen", s.Addr)
	if code != 2 || !strings.Contains(stderr, "--metrics-listen "+s.Addr) {
		t.Errorf("--metrics-listen on a bound port: exit %d, stderr %q; want 2 naming the flag", code, stderr)
	}
	maddr := freePort(t)
	s2 := startSealog(t, "--metrics-listen", maddr)
	s2.Send(t, bbMsg("secret-content-7f3a"))
	s2.WaitEvents(t, 1)
	for _, path := range []string{"/", "/metrics/", "/debug/pprof/", "/events", "/metrics?x=1"} {
		resp, err := http.Get("http://" + maddr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := 404
		if path == "/metrics?x=1" {
			want = 200
		}
		if resp.StatusCode != want {
			t.Errorf("GET %s: got %d, want %d", path, resp.StatusCode, want)
		}
		if strings.Contains(string(body), "secret-content") {
			t.Errorf("GET %s: log content served", path)
		}
	}
	resp, err := http.Post("http://"+maddr+"/metrics", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("POST /metrics: got %d, want 404", resp.StatusCode)
	}
	for key := range mtScrape(t, maddr) {
		if strings.Contains(key, "secret-content") || strings.Contains(key, "client.example") {
			t.Errorf("metric %s carries client data", key)
		}
		if !strings.HasPrefix(key, "sealog_") && !strings.HasPrefix(key, "go_") && !strings.HasPrefix(key, "process_") {
			t.Errorf("unexpected metric %s", key)
		}
	}
}

// mtBytes is the size of every file of a stream.
func mtBytes(t *testing.T, s *Sealog, stream string) int64 {
	var n int64
	for _, f := range s.files(stream) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
