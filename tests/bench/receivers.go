package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealog/sealog/devpki"
)

// benchEnv is what every run shares: the binary under test (also the
// loader) and one throwaway PKI, so that every receiver does the same
// TLS work (ECDSA P-256 certificates, client certificates verified).
type benchEnv struct {
	root                   string
	sealog                 string
	ca                     string
	serverCert, serverKey  string
	clientCert, clientKey  string
	rsyslogd               string
	syslogng               string
	syslogngEnv            []string
	rsyslogAuth            string
	settle                 time.Duration
	keep, verify, profiled bool
	// pinReceiver, pinLoader: taskset CPU lists (--pin); empty: unpinned.
	pinReceiver, pinLoader string
	// dropFailed: the page cache could not be dropped (not root); said
	// once, and in the table's header.
	dropFailed bool
	// regime: the write-back limits the current runs are under.
	regime regime
}

// pinned returns cmd run under taskset on cpus, or cmd itself when cpus
// is empty. taskset execs the command, so the process's pid and CPU time
// are the command's own.
func pinned(cmd *exec.Cmd, cpus string) *exec.Cmd {
	if cpus == "" {
		return cmd
	}
	p := exec.Command("taskset", append([]string{"-c", cpus, cmd.Path}, cmd.Args[1:]...)...)
	p.Env, p.Dir = cmd.Env, cmd.Dir
	return p
}

func prepare(ctx context.Context, o *options, root string, stderr io.Writer) (*benchEnv, error) {
	env := &benchEnv{root: root, rsyslogAuth: o.rsyslogAuth, keep: o.keep, verify: o.verify}
	if o.pin != "" {
		env.pinReceiver, env.pinLoader, _ = strings.Cut(o.pin, ":")
	}
	env.settle = o.settle
	var err error
	if o.sealogBin != "" {
		env.sealog, err = filepath.Abs(o.sealogBin)
	} else {
		env.sealog, err = buildSealog(ctx, root, stderr)
	}
	if err != nil {
		return nil, err
	}
	ca, err := devpki.NewCA("sealog bench CA")
	if err != nil {
		return nil, err
	}
	sc, sk, err := ca.Issue(devpki.CertSpec{CN: "localhost", DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
	if err != nil {
		return nil, err
	}
	cc, ck, err := ca.Issue(devpki.CertSpec{CN: "bench-client", DNSNames: []string{"bench-client"}})
	if err != nil {
		return nil, err
	}
	pki := filepath.Join(root, "pki")
	if err := os.Mkdir(pki, 0o700); err != nil {
		return nil, err
	}
	env.ca, env.serverCert, env.serverKey = filepath.Join(pki, "ca.pem"), filepath.Join(pki, "server.pem"), filepath.Join(pki, "server-key.pem")
	env.clientCert, env.clientKey = filepath.Join(pki, "client.pem"), filepath.Join(pki, "client-key.pem")
	for _, f := range []struct {
		path string
		data []byte
	}{{env.ca, ca.CertPEM}, {env.serverCert, sc}, {env.serverKey, sk}, {env.clientCert, cc}, {env.clientKey, ck}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// receiver is one program under test. start writes its configuration
// into dir, and returns the command that runs it in the foreground and
// the glob of the files it writes messages to, one line per message.
type receiver struct {
	name    string
	version string
	start   func(env *benchEnv, dir string, port int, extraEnv []string) (*exec.Cmd, string, error)
}

func findReceiver(name string, env *benchEnv, o *options) (*receiver, error) {
	switch name {
	case "sealog", "sealog-noseal", "sealog-nofsync", "sealog-base":
		bin := env.sealog
		if name == "sealog-base" {
			if o.baselineBin == "" {
				return nil, fmt.Errorf("receiver sealog-base needs --baseline BIN, the sealog binary to compare with")
			}
			var err error
			if bin, err = filepath.Abs(o.baselineBin); err != nil {
				return nil, err
			}
		}
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s version: %v", bin, err)
		}
		v := sealogVariants[name]
		start := func(env *benchEnv, dir string, port int, extraEnv []string) (*exec.Cmd, string, error) {
			return startSealog(env, bin, dir, port, extraEnv, v)
		}
		return &receiver{name: name, version: firstLine(out), start: start}, nil
	case "rsyslog", "rsyslog-ossl":
		bin := os.Getenv("RSYSLOGD")
		if bin == "" {
			if p, err := exec.LookPath("rsyslogd"); err == nil {
				bin = p
			} else {
				bin = "/usr/sbin/rsyslogd"
			}
		}
		out, err := exec.Command(bin, "-v").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("rsyslogd not runnable at %s (apt-get install rsyslog rsyslog-gnutls rsyslog-openssl, or tests/install-peers.sh): %v", bin, err)
		}
		driver := "gtls"
		if name == "rsyslog-ossl" {
			driver = "ossl"
		}
		lib := map[string]string{"gtls": "lmnsd_gtls.so", "ossl": "lmnsd_ossl.so"}[driver]
		if m, _ := filepath.Glob("/usr/lib/*/rsyslog/" + lib); len(m) == 0 {
			if m, _ := filepath.Glob("/usr/lib/rsyslog/" + lib); len(m) == 0 {
				return nil, fmt.Errorf("rsyslog's %s stream driver (%s) is not installed (apt-get install rsyslog-%s)", driver, lib,
					map[string]string{"gtls": "gnutls", "ossl": "openssl"}[driver])
			}
		}
		env.rsyslogd = bin
		return &receiver{name: name, version: firstLine(out) + ", " + driver + ", AuthMode " + env.rsyslogAuth,
			start: func(env *benchEnv, dir string, port int, _ []string) (*exec.Cmd, string, error) {
				return startRsyslog(env, driver, dir, port)
			}}, nil
	case "syslog-ng":
		prefix := os.Getenv("SYSLOGNG_PREFIX")
		if prefix == "" {
			prefix = "/opt/syslog-ng-private"
		}
		usr := filepath.Join(prefix, "usr")
		bin := filepath.Join(usr, "sbin", "syslog-ng")
		var extra []string
		if _, err := os.Stat(bin); err == nil {
			extra = []string{"SYSLOGNG_PREFIX=" + usr, "LD_LIBRARY_PATH=" + filepath.Join(usr, "lib", "syslog-ng")}
		} else if p, err := exec.LookPath("syslog-ng"); err == nil {
			bin = p
		} else {
			return nil, fmt.Errorf("syslog-ng not found in SYSLOGNG_PREFIX=%s or PATH (tests/install-peers.sh unpacks it)", prefix)
		}
		cmd := exec.Command(bin, "--version")
		cmd.Env = append(os.Environ(), extra...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %v: %s", bin, err, firstLine(out))
		}
		env.syslogng, env.syslogngEnv = bin, extra
		return &receiver{name: name, version: firstLine(out), start: startSyslogNG}, nil
	}
	return nil, fmt.Errorf("unknown receiver %q (sealog, sealog-noseal, sealog-nofsync, sealog-base, rsyslog, rsyslog-ossl, syslog-ng)", name)
}

func firstLine(b []byte) string {
	l, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(l)
}

// sealogVariant is how a sealog receiver is run: its --seal-interval and
// --fsync-interval.
type sealogVariant struct{ seal, fsync string }

var sealogVariants = map[string]sealogVariant{
	// As the performance target measures it: sealing every second, fsync every second.
	"sealog": {seal: "1s", fsync: "1s"},
	// The sealing-overhead row: checkpoints off, files still
	// hashed and final-sealed at rotation and stop.
	"sealog-noseal": {seal: "0", fsync: "1s"},
	// The durability-cost row: fsync (and with it every
	// checkpoint seal, which covers only durable bytes) once an hour, i.e.
	// never during a run — what rsyslog and syslog-ng do with their
	// defaults. Not a setting to run a log host on.
	"sealog-nofsync": {seal: "1s", fsync: "1h"},
	// Another build (--baseline) with sealog's settings, for an A/B.
	"sealog-base": {seal: "1s", fsync: "1s"},
}

// startSealog runs sealog with mutual TLS and a fresh key. --no-chattr
// because the run directory may be on a filesystem without attributes and
// must be removable afterwards; chattr costs two ioctls per file, not per
// event.
func startSealog(env *benchEnv, bin, dir string, port int, extraEnv []string, v sealogVariant) (*exec.Cmd, string, error) {
	keys := filepath.Join(dir, "keys")
	if out, err := exec.Command(bin, "keygen", "--out", keys).CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("sealog keygen: %v: %s", err, out)
	}
	logs := filepath.Join(dir, "logs")
	cmd := exec.Command(bin, "serve",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--tls-cert", env.serverCert, "--tls-key", env.serverKey, "--tls-client-ca", env.ca,
		"--dir", logs, "--key", filepath.Join(keys, "seal.key"),
		"--seal-interval", v.seal, "--fsync-interval", v.fsync, "--no-chattr", "--instance", "bench")
	cmd.Env = append(os.Environ(), extraEnv...)
	return cmd, filepath.Join(logs, "events-*.log"), nil
}

// startRsyslog configures imtcp as a TLS receiver (StreamDriver.Mode 1)
// writing %msg% to a file. maxMessageSize is raised to sealog's 64 KiB
// default (rsyslog's own is 8 KiB, which would cut the large rows).
// Queues, omfile buffering and flushing are rsyslog's defaults; imtcp's
// flow control holds senders back when the main queue fills, so nothing
// is dropped. rsyslog's own messages go to internal.log, not the output.
func startRsyslog(env *benchEnv, driver, dir string, port int) (*exec.Cmd, string, error) {
	out := filepath.Join(dir, "out.log")
	auth := env.rsyslogAuth
	var b strings.Builder
	fmt.Fprintf(&b, `# generated by sealog tests/bench
global(workDirectory=%q maxMessageSize="64k"
  defaultNetstreamDriver=%q
  defaultNetstreamDriverCAFile=%q
  defaultNetstreamDriverCertFile=%q
  defaultNetstreamDriverKeyFile=%q)
module(load="imtcp" maxSessions="1000"
  streamDriver.name=%q streamDriver.mode="1" streamDriver.authMode=%q)
template(name="bench" type="string" string="%%msg%%\n")
ruleset(name="bench") {
  action(type="omfile" file=%q template="bench")
}
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="bench")
action(type="omfile" file=%q)
`, dir, driver, env.ca, env.serverCert, env.serverKey, driver, auth, out, port, filepath.Join(dir, "internal.log"))
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		return nil, "", err
	}
	cmd := exec.Command(env.rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	return cmd, out, nil
}

// startSyslogNG configures a syslog() source (RFC 5424, octet counting)
// over TLS with client certificates required, writing ${MSG} to a file.
// flags(flow-control) makes it lossless like the others: without it,
// syslog-ng drops messages when the destination queue is full. Windows:
// 1000 messages per connection (log-iw-size / max-connections), a
// destination queue as large as all windows together.
func startSyslogNG(env *benchEnv, dir string, port int, _ []string) (*exec.Cmd, string, error) {
	out := filepath.Join(dir, "out.log")
	conf := fmt.Sprintf(`@version: 3.38
# generated by sealog tests/bench
options { threaded(yes); use-dns(no); use-fqdn(no); keep-hostname(yes); chain-hostnames(no);
  stats-freq(0); log-msg-size(65536); };
source s_bench { syslog(ip("127.0.0.1") port(%d) transport("tls")
  max-connections(100) log-iw-size(100000) log-msg-size(65536)
  tls(ca-file(%q) cert-file(%q) key-file(%q) peer-verify(required-trusted))); };
destination d_bench { file(%q template("${MSG}\n") log-fifo-size(100000)); };
log { source(s_bench); destination(d_bench); flags(flow-control); };
`, port, env.ca, env.serverCert, env.serverKey, out)
	confFile := filepath.Join(dir, "syslog-ng.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return nil, "", err
	}
	cmd := exec.Command(env.syslogng, "-F", "-e", "--no-caps", "-f", confFile,
		"-R", filepath.Join(dir, "syslog-ng.persist"), "-c", filepath.Join(dir, "syslog-ng.ctl"),
		"-p", filepath.Join(dir, "syslog-ng.pid"))
	cmd.Env = append(os.Environ(), env.syslogngEnv...)
	return cmd, out, nil
}
