// Package metrics counts what sealog does, for Prometheus (docs/format.md
// §10.1): lines and bytes written, connections, refusals, handshake
// failures, frames kept with a flag, write errors and back-pressure, seals,
// checkpoints, witness requests, pruned files and the free space of the
// log directory. It serves them in the Prometheus text format on /metrics
// and nothing else.
//
// It knows names and numbers only: no function here takes log content, so
// nothing a client sent can reach a scrape. Label values are fixed sets
// (streams, seal kinds, reasons of docs/format.md §3.4) or names the
// operator configured (listener addresses, witness key names).
//
// All methods are safe for concurrent use and do nothing on a nil
// *Metrics or *Listener, so code that counts need not know whether
// --metrics-listen is set. Each count is one atomic add; callers count per
// batch, not per event, where they can.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
)

// Label values known in advance. They are created at zero, so that a
// rate() or an alert on them works before the first occurrence.
var (
	// SealKinds are the KIND column's values (docs/format.md §4).
	SealKinds = []string{"checkpoint", "final", "recovered", "pruned"}
	// RefuseReasons are the reasons of a refused connect (docs/format.md §3.4, §9.2).
	RefuseReasons = []string{"not_allowed", "too_many_connections", "proxy_header"}
	// HandshakeReasons are the reasons of tls_handshake_failed (docs/format.md §3.4).
	HandshakeReasons = []string{"unknown_ca", "expired", "bad_certificate", "no_certificate",
		"protocol_version", "not_tls", "timeout", "eof", "peer_not_permitted", "revoked", "handshake_error"}
	// PruneReasons are the reasons a file is pruned (docs/format.md §8).
	PruneReasons = []string{"age", "size", "recovered"}
)

// Metrics holds sealog's collectors in a registry of its own (not the
// client library's global one, which any imported package could fill).
type Metrics struct {
	reg *prometheus.Registry

	eventLines, eventBytes       prometheus.Counter
	securityLines, securityBytes prometheus.Counter
	connOpen                     *prometheus.GaugeVec
	connAccepted                 *prometheus.CounterVec
	refused                      *prometheus.CounterVec
	handshake                    *prometheus.CounterVec
	truncated, partial, unparsed prometheus.Counter
	writeErrors                  prometheus.Counter
	backpressure                 prometheus.Counter
	seals                        *prometheus.CounterVec
	lastSeal                     prometheus.Gauge
	checkpointSize               prometheus.Gauge
	witness                      *prometheus.CounterVec
	pruned                       *prometheus.CounterVec
}

// New makes the collectors. dir is the log directory whose free bytes
// each scrape reads (statfs at scrape time, so the number is never stale).
func New(dir string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		m.reg.MustRegister(c)
		return c
	}
	counterVec := func(name, help string, label string, values []string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
		for _, v := range values {
			c.WithLabelValues(v)
		}
		m.reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		m.reg.MustRegister(g)
		return g
	}

	lines := counterVec("sealog_events_total", "Lines written, by stream (events: received events; security: sealog's own events).", "stream", []string{"events", "security"})
	bytes := counterVec("sealog_event_bytes_total", "Bytes of lines written, by stream.", "stream", []string{"events", "security"})
	m.eventLines, m.securityLines = lines.WithLabelValues("events"), lines.WithLabelValues("security")
	m.eventBytes, m.securityBytes = bytes.WithLabelValues("events"), bytes.WithLabelValues("security")

	m.connOpen = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sealog_connections_open", Help: "Stream connections open now, by listener."}, []string{"listener"})
	m.connAccepted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sealog_connections_accepted_total", Help: "Stream connections accepted (not refused), by listener."}, []string{"listener"})
	m.reg.MustRegister(m.connOpen, m.connAccepted)
	m.refused = counterVec("sealog_connections_refused_total", "Connections or datagrams refused before any byte was read, by reason.", "reason", RefuseReasons)
	m.handshake = counterVec("sealog_tls_handshake_failures_total", "Failed TLS handshakes, by reason.", "reason", HandshakeReasons)

	m.truncated = counter("sealog_frames_truncated_total", "Frames longer than --max-message-size, kept cut with trunc= in FLAGS.")
	m.partial = counter("sealog_frames_partial_total", "Frames cut short by the connection's end, kept with partial in FLAGS.")
	m.unparsed = counter("sealog_frames_unparsed_total", "Frames neither RFC 5424 nor RFC 3164, kept raw.")
	m.writeErrors = counter("sealog_write_errors_total", "Write, fsync or seal failures (each failure episode once, as its write_error event).")
	m.backpressure = counter("sealog_backpressure_seconds_total", "Seconds connections waited for the writer to take their lines (summed over connections).")

	m.seals = counterVec("sealog_seals_total", "Seal lines appended to seals.log, by kind.", "kind", SealKinds)
	m.lastSeal = gauge("sealog_last_seal_timestamp_seconds", "Unix time of the last seal line appended.")
	m.checkpointSize = gauge("sealog_checkpoint_size", "Tree size (seals covered) of the last signed checkpoint written.")
	m.witness = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sealog_witness_requests_total", Help: "Cosignature requests to witnesses, by witness key name and result."}, []string{"witness", "result"})
	m.reg.MustRegister(m.witness)
	m.pruned = counterVec("sealog_pruned_files_total", "Files removed by retention, by reason.", "reason", PruneReasons)

	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sealog_dir_free_bytes",
		Help: "Bytes available to sealog on the file system of --dir (statfs at scrape time).",
	}, func() float64 { return freeBytes(dir) }))
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// freeBytes is what an unprivileged writer may still use (f_bavail), the
// number that reaches zero when sealog's writes start to fail; -1 when
// statfs fails, so an alert on "< N" fires rather than stays silent.
func freeBytes(dir string) float64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1
	}
	return float64(st.Bavail) * float64(st.Bsize)
}

// Registry is the registry the handler serves, for tests and for callers
// that want to add collectors of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Written counts lines and bytes handed to the kernel for one stream
// ("events" or "security"); the writer calls it once per write, not once
// per line.
func (m *Metrics) Written(stream string, lines, bytes int64) {
	if m == nil || (lines == 0 && bytes == 0) {
		return
	}
	if stream == "security" {
		m.securityLines.Add(float64(lines))
		m.securityBytes.Add(float64(bytes))
		return
	}
	m.eventLines.Add(float64(lines))
	m.eventBytes.Add(float64(bytes))
}

// Listener is the counters of one listener, resolved once so that a
// connection's accounting costs no label lookup.
type Listener struct {
	open     prometheus.Gauge
	accepted prometheus.Counter
}

// Listener returns the counters of the listener named name ("tls
// 0.0.0.0:6514": kind and address, as the start event lists it).
func (m *Metrics) Listener(name string) *Listener {
	if m == nil {
		return nil
	}
	return &Listener{open: m.connOpen.WithLabelValues(name), accepted: m.connAccepted.WithLabelValues(name)}
}

// Accepted counts a connection that was let in and is now open.
func (l *Listener) Accepted() {
	if l == nil {
		return
	}
	l.accepted.Inc()
	l.open.Inc()
}

// Closed counts the end of a connection Accepted counted.
func (l *Listener) Closed() {
	if l == nil {
		return
	}
	l.open.Dec()
}

// Refused counts a connection (or datagram) refused before any byte was
// read; reason is one of RefuseReasons.
func (m *Metrics) Refused(reason string) {
	if m == nil {
		return
	}
	m.refused.WithLabelValues(reason).Inc()
}

// HandshakeFailed counts a failed TLS handshake; reason is one of
// HandshakeReasons.
func (m *Metrics) HandshakeFailed(reason string) {
	if m == nil {
		return
	}
	m.handshake.WithLabelValues(reason).Inc()
}

// Frames counts frames kept with a flag: cut at --max-message-size
// (truncated), cut short by the connection's end (partial), or kept raw
// because no syslog format parsed (unparsed).
func (m *Metrics) Frames(truncated, partial, unparsed int) {
	if m == nil {
		return
	}
	if truncated > 0 {
		m.truncated.Add(float64(truncated))
	}
	if partial > 0 {
		m.partial.Add(float64(partial))
	}
	if unparsed > 0 {
		m.unparsed.Add(float64(unparsed))
	}
}

// WriteError counts the start of a write failure (one per write_error
// event, not one per retry).
func (m *Metrics) WriteError() {
	if m == nil {
		return
	}
	m.writeErrors.Inc()
}

// Backpressure adds time a connection was held back because the writer's
// queue was full.
func (m *Metrics) Backpressure(d time.Duration) {
	if m == nil || d <= 0 {
		return
	}
	m.backpressure.Add(d.Seconds())
}

// Sealed counts a seal line appended to seals.log; kind is its KIND and at
// its TIME.
func (m *Metrics) Sealed(kind string, at time.Time) {
	if m == nil {
		return
	}
	m.seals.WithLabelValues(kind).Inc()
	m.lastSeal.Set(float64(at.UnixNano()) / 1e9)
}

// CheckpointWritten records the tree size of a signed checkpoint just
// written to DIR/checkpoint (docs/format.md §7.2).
func (m *Metrics) CheckpointWritten(size uint64) {
	if m == nil {
		return
	}
	m.checkpointSize.Set(float64(size))
}

// WitnessRequest counts one cosignature request to the witness whose key
// is named witness; ok is whether a valid cosignature came back.
func (m *Metrics) WitnessRequest(witness string, ok bool) {
	if m == nil {
		return
	}
	result := "failure"
	if ok {
		result = "success"
	}
	m.witness.WithLabelValues(witness, result).Inc()
}

// Pruned counts a file removed by retention; reason is one of PruneReasons.
func (m *Metrics) Pruned(reason string) {
	if m == nil {
		return
	}
	m.pruned.WithLabelValues(reason).Inc()
}

// Handler serves GET (and HEAD) /metrics in the Prometheus text format and
// answers 404 to every other path and method. At most four scrapes run at
// once and each times out after 10 s, so a scraper cannot pile up work.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	mux.HandleFunc("/", http.NotFound)
	return mux
}

// Server returns an HTTP server for Handler with timeouts on every phase,
// so that an idle or slow scraper holds nothing for long. The caller
// serves it on a listener of its own and closes it at stop.
func (m *Metrics) Server() *http.Server {
	return &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
}
