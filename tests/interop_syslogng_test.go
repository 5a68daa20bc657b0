package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// syslogNG finds syslog-ng unpacked into a private prefix (its
// package conflicts with rsyslog in apt, so tests/install-peers.sh runs
// `apt-get download syslog-ng-core` and `dpkg-deb -x` into
// $SYSLOGNG_PREFIX [/opt/syslog-ng-private]), or installed normally.
// It returns the binary and the environment it needs: syslog-ng's own
// SYSLOGNG_PREFIX (the tree's usr/, from which it finds its modules)
// and LD_LIBRARY_PATH for its private libraries.
func syslogNG(t *testing.T) (string, []string) {
	t.Helper()
	prefix := os.Getenv("SYSLOGNG_PREFIX")
	if prefix == "" {
		prefix = "/opt/syslog-ng-private"
	}
	var bin string
	var env []string
	for _, usr := range []string{filepath.Join(prefix, "usr"), prefix} {
		if _, err := os.Stat(filepath.Join(usr, "sbin", "syslog-ng")); err == nil {
			bin = filepath.Join(usr, "sbin", "syslog-ng")
			env = []string{"SYSLOGNG_PREFIX=" + usr, "LD_LIBRARY_PATH=" + filepath.Join(usr, "lib", "syslog-ng")}
			break
		}
	}
	if bin == "" {
		p, err := exec.LookPath("syslog-ng")
		if err != nil {
			t.Skipf("syslog-ng not found in SYSLOGNG_PREFIX=%s or PATH: unpack the Debian package syslog-ng-core (tests/install-peers.sh)", prefix)
		}
		bin = p
	}
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "afsocket") {
		t.Skipf("syslog-ng at %s does not run or lacks its afsocket module (%v): unpack the Debian package syslog-ng-core and install its libraries (tests/install-peers.sh)\n%s", bin, err, out)
	}
	t.Logf("sender: %s", ioFirstLine(out))
	return bin, env
}

// syslogNGInput is one RFC 5424 message given to syslog-ng's local input.
type syslogNGInput struct {
	pri                              int
	ts, host, app, procid, msgid, sd string
	msg                              string
	ts3164                           string // the BSD timestamp syslog-ng renders (TZ=UTC)
	tsOut                            string // the RFC 3339 timestamp syslog-ng renders (TZ=UTC)
}

func (in syslogNGInput) feed() string {
	return fmt.Sprintf("<%d>1 %s %s %s %s %s %s %s\n", in.pri, in.ts, in.host, in.app, in.procid, in.msgid, in.sd, in.msg)
}

// TestInteropSyslogNG runs the real syslog-ng as a sender with a client
// certificate: its syslog() destination over
// transport(tls) (RFC 5424, octet counting) and its network()
// destination over TLS (RFC 3164 style, LF framing).
func TestInteropSyslogNG(t *testing.T) {
	bin, env := syslogNG(t)
	for _, dest := range []string{"syslog", "network"} {
		t.Run(dest, func(t *testing.T) {
			t.Parallel()
			testSyslogNG(t, bin, env, dest)
		})
	}
}

func testSyslogNG(t *testing.T, bin string, env []string, dest string) {
	s := startInteropSealog(t, true)
	dir := t.TempDir()
	inAddr := freePort(t)
	inHost, inPort, _ := strings.Cut(inAddr, ":")
	outHost, outPort, _ := strings.Cut(s.Addr, ":")
	tag := "ng-" + dest
	inputs := []syslogNGInput{
		{pri: 34, ts: "2026-11-22T10:15:00.123456Z", host: "web1.example.test", app: "sshd", procid: "4242", msgid: "AUTH",
			sd: "-", msg: tag + " accepted publickey for alice", ts3164: "Nov 22 10:15:00", tsOut: "2026-11-22T10:15:00.123456+00:00"},
		{pri: 165, ts: "2026-03-02T08:05:09.000001Z", host: "db-2", app: "postgres", procid: "77", msgid: "-",
			sd: `[exampleSDID@32473 iut="3" eventSource="App"]`, msg: tag + " checkpoint complete",
			ts3164: "Mar  2 08:05:09", tsOut: "2026-03-02T08:05:09.000001+00:00"},
		{pri: 13, ts: "2026-11-22T10:15:00.5+01:00", host: "host3", app: "app3", procid: "-", msgid: "-",
			sd: "-", msg: tag + " grüße 日本 ünïcödé", ts3164: "Nov 22 10:15:00", tsOut: "2026-11-22T10:15:00.500000+01:00"},
		{pri: 14, ts: "2026-11-22T10:15:01.000002Z", host: "host4", app: "big", procid: "1", msgid: "BIG",
			sd: "-", msg: ioBigPayload(tag), ts3164: "Nov 22 10:15:01", tsOut: "2026-11-22T10:15:01.000002+00:00"},
		{pri: 191, ts: "2026-11-22T23:59:59.999999Z", host: "host6", app: "last", procid: "9", msgid: "-",
			sd: "-", msg: tag + " last message", ts3164: "Nov 22 23:59:59", tsOut: "2026-11-22T23:59:59.999999+00:00"},
	}
	var feed strings.Builder
	var want []ioWant
	for _, in := range inputs {
		feed.WriteString(in.feed())
		pri := fmt.Sprint(in.pri)
		if dest == "syslog" {
			// RFC 5424; syslog-ng ends every octet-counted frame with
			// an LF of its own, which sealog keeps in MSG (docs/format.md §3.3:
			// verbatim), as it does for rsyslog's template.
			want = append(want, ioWant{flags: "rfc5424", pri: pri, ts: ioField(in.tsOut), host: nilable(in.host),
				app: nilable(in.app), procid: nilable(in.procid), msgid: nilable(in.msgid), sd: nilable(in.sd),
				msg: ioField(in.msg + "\n")})
			continue
		}
		// network(): "<PRI>Mmm dd hh:mm:ss HOST PROGRAM[PID]: MSG" + LF.
		hdr := in.app + "[" + in.procid + "]:"
		procid := nilable(in.procid)
		if in.procid == "-" {
			hdr = in.app + ":"
		}
		want = append(want, ioWant{flags: "rfc3164", pri: pri, ts: ioField(in.ts3164), host: ioField(in.host),
			app: ioField(in.app), procid: procid, msgid: ioAbsent, sd: ioAbsent,
			msg: ioField(in.ts3164 + " " + in.host + " " + hdr + " " + in.msg)})
	}

	// RFC 5424 timestamps keep their microseconds. A BSD timestamp does
	// not (with frac-digits() syslog-ng writes "Nov 22 10:15:00.123456",
	// which go-syslog's RFC 3164 grammar refuses: such frames are kept
	// raw, whole, with a parse_failed event).
	fracDigits := ""
	if dest == "syslog" {
		fracDigits = "frac-digits(6)"
	}
	tlsOpts := fmt.Sprintf("tls(ca-file(%q) cert-file(%q) key-file(%q) peer-verify(required-trusted))",
		s.PKI.CAFile, s.PKI.ClientCert, s.PKI.ClientKey)
	conf := fmt.Sprintf(`@version: 3.38
# Generated by TestInteropSyslogNG: a local RFC 5424 input forwarded to
# sealog over TLS; nothing from the system (no system() source).
options { keep-hostname(yes); keep-timestamp(yes); chain-hostnames(no); use-dns(no);
  log-msg-size(131072); };
source s_in { network(ip(%q) port(%s) transport("tcp") flags(syslog-protocol) log-msg-size(131072)); };
destination d_sealog { %s(%q port(%s) transport("tls") %s %s); };
log { source(s_in); destination(d_sealog); };
`, inHost, inPort, dest, outHost, outPort, fracDigits, tlsOpts)
	confFile := filepath.Join(dir, "syslog-ng.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p := ioStartPeer(t, "syslog-ng", append([]string{"TZ=UTC"}, env...), bin, "-F", "-e", "--no-caps",
		"-f", confFile, "-R", filepath.Join(dir, "syslog-ng.persist"), "-c", filepath.Join(dir, "syslog-ng.ctl"),
		"-p", filepath.Join(dir, "syslog-ng.pid"))
	p.logs = []string{confFile}
	ioFeedTCP(t, p, inAddr, []byte(feed.String()))
	ioWaitEvents(t, s, p, len(inputs))
	p.Stop()
	ioStopAndVerify(t, s)

	ioCheckEvents(t, s.Events(), want, s.PKI.ClientCN, "TLS1.")
	ioCheckNoFailures(t, s, nil)
}
