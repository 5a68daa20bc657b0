package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sealog/sealog/devpki"
	"github.com/sealog/sealog/sendclient"
)

var facilityNames = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

var severityNames = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func runSend(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	host, _ := os.Hostname()
	cfg := sendclient.Config{Timeout: 30 * time.Second}
	fs := newFlagSet("send", "send [flags] [MESSAGE...]  (no MESSAGE: one message per stdin line)", stdout)
	fs.StringVar(&cfg.Server, "server", "127.0.0.1:6514", "HOST:PORT of the sealog (or any RFC 5425) server")
	fs.StringVar(&cfg.CA, "ca", "", "PEM CA bundle that verifies the server (default: system roots)")
	fs.StringVar(&cfg.Cert, "cert", "", "PEM client certificate for mutual TLS")
	fs.StringVar(&cfg.Key, "tls-key", "", "PEM client private key for mutual TLS")
	oldName(fs, "key", "tls-key")
	dev := fs.Bool("dev", false, "use the certificates that 'sealog serve --dev' made")
	devDir := fs.String("dir", "sealog-dev", "with --dev: the directory 'serve --dev' uses")
	fs.BoolVar(&cfg.Plain, "plain", false, "plain TCP, no TLS (for --listen-tcp)")
	fs.StringVar(&cfg.Framing, "framing", "octet", "octet (RFC 6587 octet counting) or lf")
	fs.StringVar(&cfg.Format, "format", "rfc5424", "rfc5424 or rfc3164")
	fs.BoolVar(&cfg.Raw, "raw", false, "send each MESSAGE as the whole syslog frame, without a header")
	fs.BoolVar(&cfg.BOM, "bom", false, "put a UTF-8 BOM before MSG (rfc5424)")
	fs.StringVar(&cfg.Hostname, "hostname", host, "HOSTNAME field")
	fs.StringVar(&cfg.AppName, "app-name", "sealog-send", "APP-NAME field (rfc3164: TAG)")
	severity := fs.String("severity", "notice", "severity name or number 0-7")
	facility := fs.String("facility", "user", "facility name or number 0-23")
	fs.IntVar(&cfg.Count, "count", 0, "load mode: send this many generated messages")
	fs.IntVar(&cfg.Size, "size", 200, "load mode: bytes per message")
	fs.IntVar(&cfg.Connections, "connections", 1, "load mode: connections in parallel")
	fs.Float64Var(&cfg.Rate, "rate", 0, "load mode: messages per second over all connections (0 = unlimited)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "connect timeout, and how long to wait for the server to confirm the end")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if cfg.Severity, err = lookupName(*severity, severityNames, "--severity"); err != nil {
		return err
	}
	if cfg.Facility, err = lookupName(*facility, facilityNames, "--facility"); err != nil {
		return err
	}
	if cfg.Count < 0 || cfg.Connections < 1 || cfg.Size < 0 || cfg.Rate < 0 {
		return usageErrorf("--count, --size and --rate must not be negative, --connections at least 1")
	}
	if *dev {
		files := devpki.DevPaths(*devDir)
		if cfg.CA == "" {
			cfg.CA = files.CA
		}
		if cfg.Cert == "" && cfg.Key == "" {
			cfg.Cert, cfg.Key = files.ClientCert, files.ClientKey
		}
	}
	var msgs [][]byte
	for _, a := range fs.Args() {
		msgs = append(msgs, []byte(a))
	}
	return asUsage(sendclient.Send(ctx, cfg, msgs, stdin, stderr))
}

func lookupName(v string, names []string, flag string) (int, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < len(names) {
		return n, nil
	}
	for i, name := range names {
		if strings.EqualFold(v, name) {
			return i, nil
		}
	}
	return 0, usageErrorf("%s %q is not one of %s or 0-%d", flag, v, strings.Join(names, ","), len(names)-1)
}
