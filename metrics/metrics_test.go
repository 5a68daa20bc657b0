package metrics

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// serve runs m's server on a real loopback port and returns its base URL.
func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := m.Server()
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "http://" + l.Addr().String()
}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCountsAfterEvents(t *testing.T) {
	m := New(t.TempDir())
	const n = 1000
	// Counted per batch, as the writer does: 10 writes of 100 lines.
	for i := 0; i < n/100; i++ {
		m.Written("events", 100, 100*50)
	}
	m.Written("security", 3, 300)
	l := m.Listener("tls 127.0.0.1:6514")
	l.Accepted()
	l.Accepted()
	l.Closed()
	m.Refused("not_allowed")
	m.Refused("too_many_connections")
	m.Refused("too_many_connections")
	m.HandshakeFailed("not_tls")
	m.Frames(1, 2, 3)
	m.WriteError()
	m.Backpressure(1500 * time.Millisecond)
	at := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	m.Sealed("checkpoint", at.Add(-time.Minute))
	m.Sealed("final", at)
	m.CheckpointWritten(42)
	m.WitnessRequest("witness.example", true)
	m.WitnessRequest("witness.example", false)
	m.WitnessRequest("witness.example", false)
	m.Pruned("age")

	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"events", testutil.ToFloat64(m.eventLines), n},
		{"event bytes", testutil.ToFloat64(m.eventBytes), n * 50},
		{"security lines", testutil.ToFloat64(m.securityLines), 3},
		{"open", testutil.ToFloat64(m.connOpen.WithLabelValues("tls 127.0.0.1:6514")), 1},
		{"accepted", testutil.ToFloat64(m.connAccepted.WithLabelValues("tls 127.0.0.1:6514")), 2},
		{"refused not_allowed", testutil.ToFloat64(m.refused.WithLabelValues("not_allowed")), 1},
		{"refused too_many", testutil.ToFloat64(m.refused.WithLabelValues("too_many_connections")), 2},
		{"handshake not_tls", testutil.ToFloat64(m.handshake.WithLabelValues("not_tls")), 1},
		{"handshake eof", testutil.ToFloat64(m.handshake.WithLabelValues("eof")), 0},
		{"truncated", testutil.ToFloat64(m.truncated), 1},
		{"partial", testutil.ToFloat64(m.partial), 2},
		{"unparsed", testutil.ToFloat64(m.unparsed), 3},
		{"write errors", testutil.ToFloat64(m.writeErrors), 1},
		{"backpressure", testutil.ToFloat64(m.backpressure), 1.5},
		{"seals final", testutil.ToFloat64(m.seals.WithLabelValues("final")), 1},
		{"seals pruned", testutil.ToFloat64(m.seals.WithLabelValues("pruned")), 0},
		{"last seal", testutil.ToFloat64(m.lastSeal), float64(at.Unix())},
		{"checkpoint size", testutil.ToFloat64(m.checkpointSize), 42},
		{"witness failure", testutil.ToFloat64(m.witness.WithLabelValues("witness.example", "failure")), 2},
		{"pruned age", testutil.ToFloat64(m.pruned.WithLabelValues("age")), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// A nil *Metrics (no --metrics-listen) takes every call and does nothing.
func TestNilIsOff(t *testing.T) {
	var m *Metrics
	m.Written("events", 1, 1)
	m.Listener("x").Accepted()
	m.Listener("x").Closed()
	m.Refused("not_allowed")
	m.HandshakeFailed("eof")
	m.Frames(1, 1, 1)
	m.WriteError()
	m.Backpressure(time.Second)
	m.Sealed("final", time.Now())
	m.CheckpointWritten(1)
	m.WitnessRequest("w", true)
	m.Pruned("size")
}

// Only GET /metrics is served; every other path is 404 and carries no
// metric.
func TestOnlyMetricsServed(t *testing.T) {
	m := New(t.TempDir())
	m.Written("events", 7, 70)
	base := serve(t, m)

	code, body := get(t, "GET", base+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: got %d, want 200", code)
	}
	for _, want := range []string{
		`sealog_events_total{stream="events"} 7`,
		`sealog_event_bytes_total{stream="events"} 70`,
		`sealog_seals_total{kind="pruned"} 0`,
		`sealog_pruned_files_total{reason="size"} 0`,
		`sealog_connections_refused_total{reason="too_many_connections"} 0`,
		`sealog_tls_handshake_failures_total{reason="unknown_ca"} 0`,
		"sealog_dir_free_bytes ",
		"sealog_backpressure_seconds_total 0",
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "sealog_") && !strings.HasPrefix(line, "go_") && !strings.HasPrefix(line, "process_") {
			t.Errorf("unexpected metric line %q", line)
		}
	}

	for _, c := range []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/metrics/"},
		{"GET", "/metrics/x"},
		{"GET", "/metricsx"},
		{"GET", "/debug/pprof/"},
		{"GET", "/../metrics"},
		{"POST", "/metrics"},
		{"PUT", "/metrics"},
		{"DELETE", "/metrics"},
	} {
		code, body := get(t, c.method, base+c.path)
		if code != http.StatusNotFound && !(c.path == "/../metrics" && code == 200) {
			t.Errorf("%s %s: got %d, want 404", c.method, c.path, code)
		}
		if c.path != "/../metrics" && strings.Contains(body, "sealog_") {
			t.Errorf("%s %s: served metrics", c.method, c.path)
		}
	}
}

// The free bytes of --dir are read at scrape time from the real file
// system; a directory that is gone reads -1, so "free < N" alerts fire.
func TestDirFreeBytes(t *testing.T) {
	dir := t.TempDir()
	if got := freeBytes(dir); got <= 0 {
		t.Errorf("free bytes of %s: got %v, want > 0", dir, got)
	}
	if got := freeBytes(dir + "/missing"); got != -1 {
		t.Errorf("free bytes of a missing dir: got %v, want -1", got)
	}
}
