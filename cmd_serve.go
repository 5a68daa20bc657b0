package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sealog/sealog/devpki"
	"github.com/sealog/sealog/sendclient"
	"github.com/sealog/sealog/server"
	"github.com/sealog/sealog/systemd"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/witness"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// First of all: with socket activation the ports are open before the
	// process even starts (see server.Hooks.Hangup).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg := server.DefaultConfig()
	cfg.Version = version
	fs := newFlagSet("serve", "serve [flags]", stdout)
	fs.StringArrayVar(&cfg.Listen, "listen", nil, "TLS listener address (RFC 5425), repeatable (default :6514)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM server certificate (chain allowed); required unless --dev")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM server private key; required unless --dev")
	fs.StringVar(&cfg.TLSClientCA, "tls-client-ca", "", "PEM CA bundle; when set every client must present a certificate it verifies (mutual TLS)")
	fs.StringArrayVar(&cfg.PermittedPeers, "permitted-peer", nil, "client certificate CN or DNS SAN pattern that may connect ('*' = one label), repeatable; needs --tls-client-ca")
	minVersion := fs.String("tls-min-version", "1.2", "lowest TLS version accepted: 1.2 or 1.3")
	fs.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", cfg.HandshakeTimeout, "time a client has to finish the TLS handshake")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", cfg.ShutdownGrace, "on stop, how long open connections are still read")
	fs.StringArrayVar(&cfg.ListenTCP, "listen-tcp", nil, "plain-text TCP listener for legacy senders (unencrypted), repeatable")
	fs.StringArrayVar(&cfg.ListenUDP, "listen-udp", nil, "plain-text UDP listener for legacy senders (unencrypted), repeatable")
	allowFrom := fs.StringArray("allow-from", nil, "CIDR allowed to connect, repeatable; others are refused and logged")
	fs.StringArrayVar(&cfg.ListenRELP, "listen-relp", nil, "RELP over TLS listener (rsyslog omrelp tls=\"on\"), repeatable; acknowledged once on disk")
	fs.StringArrayVar(&cfg.ListenRELPTCP, "listen-relp-tcp", nil, "RELP listener in plain text (unencrypted), repeatable")
	proxyFrom := fs.StringArray("proxy-from", nil, "CIDR of load balancers whose connections begin with a PROXY protocol header (v1 or v2), repeatable")
	fs.StringArrayVar(&cfg.TLSCRLs, "tls-crl", nil, "certificate revocation list for client certificates (PEM or DER, signed by the client CA), repeatable; reloaded on SIGHUP")
	fs.IntVar(&cfg.MaxConnections, "max-connections", cfg.MaxConnections, "most stream connections open at once; more are refused and logged")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "close a connection that sent nothing for this long (0 = never)")
	fs.DurationVar(&cfg.FrameTimeout, "frame-timeout", cfg.FrameTimeout, "a frame once begun must be complete within this time")
	maxMsg := byteSize(cfg.MaxMessageSize)
	fs.Var(&maxMsg, "max-message-size", "largest frame kept whole (at least 10240 bytes)")
	fs.StringVar(&cfg.Instance, "instance", cfg.Instance, "instance name that begins every event ID ([A-Za-z0-9.-]+)")
	dirFlag := fs.String("dir", "", "log directory (default /var/log/sealog, ./sealog-dev with --dev)")
	keyFlag := fs.String("seal-key", "", "sealing key state file made by 'sealog keygen' (default /var/lib/sealog/seal.key)")
	oldName(fs, "key", "seal-key")
	logKeyFlag := fs.String("log-key", "", "checkpoint signer made by sealog keygen (default log.key in the directory of --seal-key)")
	rotateSize := byteSize(cfg.RotateSize)
	fs.Var(&rotateSize, "rotate-size", "rotate a file before it grows past this size")
	fs.DurationVar(&cfg.RotateInterval, "rotate-interval", cfg.RotateInterval, "rotate on UTC-aligned multiples of this interval (0 = never)")
	fs.DurationVar(&cfg.SealInterval, "seal-interval", cfg.SealInterval, "checkpoint-seal active files this often (0 = only at rotation)")
	fs.DurationVar(&cfg.FsyncInterval, "fsync-interval", cfg.FsyncInterval, "data is on disk at most this long after it was read (0 = every batch)")
	witnessFlags := fs.StringArray("witness", nil, "VKEY,URL: a witness to ask for cosignatures of each checkpoint (C2SP tlog-witness), repeatable")
	fs.BoolVar(&cfg.NoChattr, "no-chattr", false, "run without append-only/immutable file attributes")
	retainFor := longDuration(0)
	fs.Var(&retainFor, "retain", "prune final-sealed files this long after their final seal, e.g. 90d or 2160h (0 = keep for ever)")
	retainSize := byteSize(0)
	fs.Var(&retainSize, "retain-size", "prune the oldest final-sealed files while the log files exceed this size, e.g. 500GiB (0 = no limit)")
	metricsListen := fs.String("metrics-listen", "", "serve Prometheus metrics over HTTP on this address, GET /metrics only (off by default)")
	fs.BoolVar(&cfg.Dev, "dev", false, "try sealog with no setup: dev PKI and key, 127.0.0.1:6514, mutual TLS")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("serve: unexpected argument %q", fs.Arg(0))
	}
	for _, v := range *witnessFlags {
		w, err := witness.ParseWitness(v)
		if err != nil {
			return usageErrorf("--witness %q: %v", v, err)
		}
		cfg.Witnesses = append(cfg.Witnesses, w)
	}
	cfg.MaxMessageSize = int(maxMsg)
	cfg.RotateSize = int64(rotateSize)
	cfg.Retain, cfg.RetainSize = time.Duration(retainFor), int64(retainSize)
	switch *minVersion {
	case "1.2":
		cfg.TLSMinVersion = tls.VersionTLS12
	case "1.3":
		cfg.TLSMinVersion = tls.VersionTLS13
	default:
		return usageErrorf("--tls-min-version must be 1.2 or 1.3, not %q", *minVersion)
	}
	var err error
	if cfg.AllowFrom, err = parseCIDRs("--allow-from", *allowFrom); err != nil {
		return err
	}
	if cfg.ProxyFrom, err = parseCIDRs("--proxy-from", *proxyFrom); err != nil {
		return err
	}
	for _, f := range cfg.TLSCRLs {
		if strings.TrimSpace(f) == "" {
			return usageErrorf("--tls-crl is empty: give a CRL file (PEM or DER)")
		}
	}
	cfg.Dir, cfg.KeyPath = *dirFlag, *keyFlag
	if fs.Changed("metrics-listen") {
		if *metricsListen == "" {
			return usageErrorf("--metrics-listen must not be empty (give host:port, e.g. 127.0.0.1:9514)")
		}
		cfg.MetricsListen = *metricsListen
	}
	inherited, err := inheritedListeners()
	if err != nil {
		return fmt.Errorf("socket activation: %w", err)
	}
	if cfg.Dev {
		devDefaults(&cfg)
	}
	if cfg.Dir == "" {
		cfg.Dir = "/var/log/sealog"
	}
	if cfg.KeyPath == "" {
		cfg.KeyPath = "/var/lib/sealog/seal.key"
	}
	if inherited != nil {
		// The sockets come from systemd; record what they are.
		cfg.Listen, cfg.ListenTCP, cfg.ListenUDP, cfg.ListenRELP, cfg.ListenRELPTCP = nil, nil, nil, nil, nil
		for _, l := range inherited.TLS {
			cfg.Listen = append(cfg.Listen, l.Addr().String())
		}
		for _, l := range inherited.TCP {
			cfg.ListenTCP = append(cfg.ListenTCP, l.Addr().String())
		}
		for _, l := range inherited.UDP {
			cfg.ListenUDP = append(cfg.ListenUDP, l.LocalAddr().String())
		}
		for _, l := range inherited.RELP {
			cfg.ListenRELP = append(cfg.ListenRELP, l.Addr().String())
		}
		for _, l := range inherited.RELPTCP {
			cfg.ListenRELPTCP = append(cfg.ListenRELPTCP, l.Addr().String())
		}
	}
	if len(cfg.Listen)+len(cfg.ListenTCP)+len(cfg.ListenUDP)+len(cfg.ListenRELP)+len(cfg.ListenRELPTCP) == 0 {
		cfg.Listen = []string{":6514"}
	}
	if err := cfg.Validate(); err != nil {
		return asUsage(err)
	}
	if cfg.Dev {
		// Only now that the flags are known to be good: --dev makes files.
		if err := server.CheckDir(cfg.Dir); err != nil {
			return asUsage(err)
		}
		if _, err := devpki.PrepareDev(cfg.Dir); err != nil {
			return err
		}
	}
	if cfg.LogKeyPath = *logKeyFlag; !fs.Changed("log-key") {
		// The default is a convenience: without it sealog still seals,
		// it only signs no checkpoints, and the start event says so.
		def := filepath.Join(filepath.Dir(cfg.KeyPath), tlog.SignerKeyName)
		if _, err := os.Stat(def); err == nil {
			cfg.LogKeyPath = def
		} else if _, err := os.Stat(cfg.KeyPath); err == nil {
			// (With no seal key either, that is the one error to report.)
			fmt.Fprintf(stderr, "sealog: warning: no %s: no signed checkpoints (make one with sealog keygen, or name it with --log-key)\n", def)
		}
	} else if cfg.LogKeyPath == "" {
		return usageErrorf("--log-key must not be empty")
	}
	var ls *server.Listeners
	if inherited != nil {
		ls = inherited
		if err := ls.OpenMetrics(&cfg); err != nil {
			ls.Close()
			return asUsage(err)
		}
	} else if ls, err = server.OpenListeners(&cfg); err != nil {
		return asUsage(err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	notifier := systemd.NewNotifier()
	ack := systemd.NewReloadAck(systemd.RuntimeDir()) // for `sealog reload` (cmd_reload.go)
	hooks := server.Hooks{
		Hangup: hup,
		Ready: func() {
			if cfg.Dev {
				// After every check has passed, so the banner never
				// precedes an error.
				printDevHelp(stderr, &cfg, ls)
			}
			fmt.Fprintf(stderr, "sealog: listening: %s\n", strings.Join(ls.Describe(), ", "))
			notifier.Notify("READY=1\nSTATUS=serving " + strings.Join(ls.Describe(), ", "))
			notifier.StartWatchdog(ctx)
		},
		Stopping: func() {
			fmt.Fprintf(stderr, "sealog: stopping: reading open connections for up to %s, then writing and final-sealing the files\n", cfg.ShutdownGrace)
			notifier.Notify("STOPPING=1\nSTATUS=stopping: draining connections and sealing files")
		},
		Reloading: ack.Begin,
		Reloaded: func(err error) {
			if aerr := ack.Done(err); aerr != nil {
				fmt.Fprintf(stderr, "sealog: %v\n", aerr)
			}
			if err != nil {
				notifier.Notify("STATUS=reload failed, old certificates kept")
			} else {
				notifier.Notify("STATUS=reloaded TLS material")
			}
		},
	}
	if err := server.Run(ctx, cfg, ls, hooks, stderr); err != nil {
		return asUsage(err)
	}
	fmt.Fprintln(stderr, "sealog: stopped: everything received is written and final-sealed")
	return nil
}

// asUsage maps configuration errors of the server and the send client to
// exit status 2.
func asUsage(err error) error {
	for _, sentinel := range []error{server.ErrConfig, sendclient.ErrConfig} {
		if errors.Is(err, sentinel) {
			return usageErrorf("%s", strings.Replace(err.Error(), sentinel.Error()+": ", "", 1))
		}
	}
	return err
}

// devDefaults fills in what --dev promises (docs/format.md §1.1,
// Development) without touching the disk: the dev directory's files are
// made only once the flags have been validated.
func devDefaults(cfg *server.Config) {
	if cfg.Dir == "" {
		cfg.Dir = "sealog-dev"
	}
	files := devpki.DevPaths(cfg.Dir)
	if cfg.TLSCert == "" {
		cfg.TLSCert, cfg.TLSKey = files.ServerCert, files.ServerKey
	}
	if cfg.TLSClientCA == "" {
		cfg.TLSClientCA = files.CA
	}
	if cfg.KeyPath == "" {
		cfg.KeyPath = files.SealKey
	}
	if len(cfg.Listen)+len(cfg.ListenTCP)+len(cfg.ListenUDP)+len(cfg.ListenRELP)+len(cfg.ListenRELPTCP) == 0 {
		cfg.Listen = []string{"127.0.0.1:6514"}
	}
	if !cfg.NoChattr {
		cfg.DevChattrFallback = true
	}
}

func printDevHelp(stderr io.Writer, cfg *server.Config, ls *server.Listeners) {
	self := "sealog"
	if exe, err := os.Executable(); err == nil && strings.Contains(exe, "go-build") {
		self = "go run ."
	} else if len(os.Args) > 0 {
		self = os.Args[0]
	}
	addr := "127.0.0.1:6514"
	if len(ls.TLS) > 0 {
		addr = ls.TLS[0].Addr().String()
	}
	dirArg := ""
	if filepath.Clean(cfg.Dir) != "sealog-dev" {
		dirArg = " --dir " + cfg.Dir
	}
	files := devpki.DevPaths(cfg.Dir)
	fmt.Fprintf(stderr, `sealog --dev: writing to %s/, mutual TLS on %s
  send a message from another terminal:
    %s send --dev%s --server %s "hello from sealog"
  then look:    cat %s/events-*.log
  verify seals: %s verify --verify-key %s %s
`, cfg.Dir, addr, self, dirArg, addr, cfg.Dir, self, files.VerifyKey, cfg.Dir)
}

// inheritedListeners maps sockets from systemd socket activation to
// listeners: FileDescriptorName= "tcp" or "udp" marks plain ones, every
// other stream socket serves TLS. nil when not socket-activated.
func inheritedListeners() (*server.Listeners, error) {
	socks, err := systemd.InheritedSockets()
	if err != nil || socks == nil {
		return nil, err
	}
	ls := &server.Listeners{}
	for _, s := range socks {
		switch {
		case s.Packet != nil:
			ls.UDP = append(ls.UDP, s.Packet)
		case s.Name == "tcp":
			ls.TCP = append(ls.TCP, s.Listener)
		case s.Name == "relp":
			ls.RELP = append(ls.RELP, s.Listener)
		case s.Name == "relp-tcp":
			ls.RELPTCP = append(ls.RELPTCP, s.Listener)
		default:
			ls.TLS = append(ls.TLS, s.Listener)
		}
	}
	return ls, nil
}
