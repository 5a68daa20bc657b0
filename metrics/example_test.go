package metrics_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/sealog/sealog/metrics"
)

// Counting into a Metrics and reading it back the way Prometheus does.
func Example() {
	m := metrics.New("/")
	m.Written("events", 100, 25600) // one write of 100 lines
	l := m.Listener("tls 0.0.0.0:6514")
	l.Accepted()
	m.HandshakeFailed("unknown_ca")

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "sealog_events_total") || strings.HasPrefix(line, "sealog_connections_open") ||
			strings.HasPrefix(line, `sealog_tls_handshake_failures_total{reason="unknown_ca"}`) {
			fmt.Println(line)
		}
	}
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println("GET /:", rec.Code)
	// Output:
	// sealog_connections_open{listener="tls 0.0.0.0:6514"} 1
	// sealog_events_total{stream="events"} 100
	// sealog_events_total{stream="security"} 0
	// sealog_tls_handshake_failures_total{reason="unknown_ca"} 1
	// GET /: 404
}
