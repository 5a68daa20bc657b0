package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/sealog/sealog/metrics"
)

// Listeners are the sockets a server serves, opened by Open or inherited
// from systemd (socket activation).
type Listeners struct {
	TLS []net.Listener
	TCP []net.Listener
	UDP []net.PacketConn
	// RELP over TLS and in plain text (docs/format.md §9.1).
	RELP, RELPTCP []net.Listener
	// Metrics serves --metrics-listen (HTTP, /metrics only); nil = off.
	Metrics net.Listener
}

// Describe lists the listeners for the start event; plain ones are named
// as unencrypted (docs/operations.md).
func (ls *Listeners) Describe() []string {
	var out []string
	for _, l := range ls.TLS {
		out = append(out, "tls "+l.Addr().String())
	}
	for _, l := range ls.TCP {
		out = append(out, "tcp "+l.Addr().String()+" unencrypted")
	}
	for _, l := range ls.UDP {
		out = append(out, "udp "+l.LocalAddr().String()+" unencrypted")
	}
	for _, l := range ls.RELP {
		out = append(out, "relp "+l.Addr().String())
	}
	for _, l := range ls.RELPTCP {
		out = append(out, "relp-tcp "+l.Addr().String()+" unencrypted")
	}
	if ls.Metrics != nil {
		out = append(out, "metrics http://"+ls.Metrics.Addr().String()+"/metrics")
	}
	return out
}

// Close closes every listener.
func (ls *Listeners) Close() {
	for _, l := range ls.TLS {
		l.Close()
	}
	for _, l := range ls.TCP {
		l.Close()
	}
	for _, l := range ls.UDP {
		l.Close()
	}
	for _, l := range append(ls.RELP, ls.RELPTCP...) {
		l.Close()
	}
	if ls.Metrics != nil {
		ls.Metrics.Close()
	}
}

// OpenListeners binds the configured addresses. A failure names the
// address and closes what was already open.
func OpenListeners(cfg *Config) (*Listeners, error) {
	ls := &Listeners{}
	fail := func(flag, addr string, err error) (*Listeners, error) {
		ls.Close()
		return nil, fmt.Errorf("%s %s: %w", flag, addr, err)
	}
	for _, a := range cfg.Listen {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail("--listen", a, err)
		}
		ls.TLS = append(ls.TLS, l)
	}
	for _, a := range cfg.ListenTCP {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail("--listen-tcp", a, err)
		}
		ls.TCP = append(ls.TCP, l)
	}
	for _, a := range cfg.ListenUDP {
		pc, err := net.ListenPacket("udp", a)
		if err != nil {
			return fail("--listen-udp", a, err)
		}
		ls.UDP = append(ls.UDP, pc)
	}
	for _, a := range cfg.ListenRELP {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail("--listen-relp", a, err)
		}
		ls.RELP = append(ls.RELP, l)
	}
	for _, a := range cfg.ListenRELPTCP {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail("--listen-relp-tcp", a, err)
		}
		ls.RELPTCP = append(ls.RELPTCP, l)
	}
	if err := ls.OpenMetrics(cfg); err != nil {
		ls.Close()
		return nil, err
	}
	return ls, nil
}

// OpenMetrics binds --metrics-listen, if set, into ls.Metrics; socket
// activation passes only the syslog sockets, so this runs for those too.
// A failure is a configuration error naming the flag.
func (ls *Listeners) OpenMetrics(cfg *Config) error {
	if cfg.MetricsListen == "" || ls.Metrics != nil {
		return nil
	}
	l, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return configErrorf("--metrics-listen %s: %v", cfg.MetricsListen, unwrapOpError(err))
	}
	ls.Metrics = l
	return nil
}

// unwrapOpError drops net.OpError's own "listen tcp ADDR:" prefix: the
// message names the flag and address already.
func unwrapOpError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// Hooks lets the caller observe the server's life (systemd notification).
type Hooks struct {
	Ready    func() // every listener is serving
	Stopping func() // graceful stop has begun
	// Reloading is called when a SIGHUP is taken, before the TLS files
	// are read; Reloaded after, with the outcome (nil = new material in
	// use). Both run on Run's goroutine, one pair per reload.
	Reloading func()
	Reloaded  func(err error)
	// Hangup delivers SIGHUP. The caller registers it before it binds
	// the listeners: once a port is open, a client or a `systemctl
	// reload` may send SIGHUP, which must reload, not kill the process
	// (Go's default for SIGHUP); one that comes before the server is
	// ready waits in the channel. Required: with nil, SIGHUP never
	// reloads.
	Hangup <-chan os.Signal
}

// Run serves cfg on ls until ctx is cancelled (SIGTERM/SIGINT), reloading
// TLS material on SIGHUP, then stops gracefully (docs/format.md §5).
func Run(ctx context.Context, cfg Config, ls *Listeners, hooks Hooks, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if ls.Metrics != nil && cfg.Metrics == nil {
		cfg.Metrics = metrics.New(cfg.Dir)
	}
	s, err := New(cfg, ls.Describe(), log, stderr)
	if err != nil {
		ls.Close()
		return err
	}
	s.start()
	if ls.Metrics != nil {
		srv := cfg.Metrics.Server()
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
		go srv.Serve(ls.Metrics)
		// Closed last: a scrape during the stop still sees the final seals.
		defer srv.Close()
	}
	defer startProfiles(stderr)() // developer aid, off unless SEALOG_CPUPROFILE/SEALOG_MEMPROFILE/SEALOG_TRACE (profile.go)
	defer startDebug(stderr)()
	errc := make(chan error, len(ls.TLS)+len(ls.TCP)+len(ls.UDP)+len(ls.RELP)+len(ls.RELPTCP))
	for _, l := range ls.TLS {
		go func() { errc <- s.Serve(l) }()
	}
	for _, l := range ls.TCP {
		go func() { errc <- s.ServePlain(l) }()
	}
	for _, pc := range ls.UDP {
		go func() { errc <- s.ServePacket(pc) }()
	}
	for _, l := range ls.RELP {
		go func() { errc <- s.ServeRELP(l) }()
	}
	for _, l := range ls.RELPTCP {
		go func() { errc <- s.ServeRELPPlain(l) }()
	}
	if hooks.Ready != nil {
		hooks.Ready()
	}

	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hooks.Hangup:
			if hooks.Reloading != nil {
				hooks.Reloading()
			}
			err := s.Reload()
			if err != nil {
				fmt.Fprintf(stderr, "sealog: %v\n", err)
			} else {
				fmt.Fprintln(stderr, "sealog: reloaded TLS certificate, key and client CA")
			}
			if hooks.Reloaded != nil {
				hooks.Reloaded(err)
			}
		case err := <-errc:
			if err != nil && !errors.Is(err, ErrServerClosed) {
				serveErr = fmt.Errorf("listener failed: %w", err)
				break loop
			}
		}
	}
	if hooks.Stopping != nil {
		hooks.Stopping()
	}
	// The grace period plus time to write and seal; a disk that stays
	// full is the only thing that can make this run out.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace+5*time.Minute)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return err
	}
	return serveErr
}
