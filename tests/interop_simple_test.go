package tests

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// needProgram skips the test, naming the Debian package, when a program
// is not installed.
func needProgram(t *testing.T, name, pkg string, versionArgs ...string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found: install the Debian package %s", name, pkg)
	}
	out, _ := exec.Command(p, versionArgs...).CombinedOutput()
	t.Logf("sender: %s", ioFirstLine(out))
	return p
}

// TestInteropOpenSSL sends with `openssl s_client -quiet` and a client
// certificate: the simplest TLS sender there is, which
// writes stdin as it is. LF-framed lines and octet-counted frames (one
// holding an LF, which octet counting keeps inside the frame) must each
// arrive as one line.
func TestInteropOpenSSL(t *testing.T) {
	bin := needProgram(t, "openssl", "openssl", "version")
	cases := []struct {
		name  string
		input string
		want  []ioWant
		fails map[string]int // security events the input provokes
	}{
		{"lf", "<34>1 2026-11-22T10:15:00.123456Z web1 sshd 4242 AUTH - ossl-lf first\n" +
			"<13>Nov 22 10:15:01 web1 cron[7]: ossl-lf second\n" +
			"ossl-lf third without PRI\n",
			[]ioWant{
				{flags: "rfc5424", pri: "34", ts: ioField("2026-11-22T10:15:00.123456Z"), host: ioField("web1"), app: ioField("sshd"),
					procid: ioField("4242"), msgid: ioField("AUTH"), sd: ioAbsent, msg: ioField("ossl-lf first")},
				{flags: "rfc3164", pri: "13", ts: ioField("Nov 22 10:15:01"), host: ioField("web1"), app: ioField("cron"),
					procid: ioField("7"), msgid: ioAbsent, sd: ioAbsent, msg: ioField("Nov 22 10:15:01 web1 cron[7]: ossl-lf second")},
				{flags: "raw", pri: "-", ts: ioAbsent, host: ioAbsent, app: ioAbsent, procid: ioAbsent, msgid: ioAbsent, sd: ioAbsent,
					msg: ioField("ossl-lf third without PRI")},
			}, map[string]int{"parse_failed": 1}},
		{"octet", octetFrames("<165>1 2026-11-22T10:15:00Z db-2 postgres 77 - [x@32473 a=\"b\"] ossl-octet one\nline two",
			"<14>1 2026-11-22T10:15:01Z - - - - - ossl-octet second"),
			[]ioWant{
				{flags: "rfc5424", pri: "165", ts: ioField("2026-11-22T10:15:00Z"), host: ioField("db-2"), app: ioField("postgres"),
					procid: ioField("77"), msgid: ioAbsent, sd: ioField(`[x@32473 a="b"]`), msg: ioField("ossl-octet one\nline two")},
				{flags: "rfc5424", pri: "14", ts: ioField("2026-11-22T10:15:01Z"), host: ioAbsent, app: ioAbsent,
					procid: ioAbsent, msgid: ioAbsent, sd: ioAbsent, msg: ioField("ossl-octet second")},
			}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := startInteropSealog(t, true)
			// -quiet implies -ign_eof; -no_ign_eof makes s_client close
			// the connection (close_notify) at the end of stdin.
			cmd := exec.Command(bin, "s_client", "-connect", s.Addr, "-servername", "localhost", "-quiet", "-no_ign_eof",
				"-CAfile", s.PKI.CAFile, "-cert", s.PKI.ClientCert, "-key", s.PKI.ClientKey, "-verify_return_error")
			cmd.Stdin = strings.NewReader(c.input)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("openssl s_client: %v\n%s", err, out)
			}
			ioWaitEvents(t, s, nil, len(c.want))
			ioStopAndVerify(t, s)
			ioCheckEvents(t, s.Events(), c.want, s.PKI.ClientCN, "TLS1.")
			ioCheckNoFailures(t, s, c.fails)
		})
	}
}

func octetFrames(frames ...string) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(' ')
		b.WriteString(f)
	}
	return b.String()
}

// TestInteropLogger sends with util-linux `logger` through the plain
// listeners (--listen-tcp, --listen-udp): RFC 5424 with
// octet counting over TCP, RFC 3164 with LF framing over TCP, and RFC
// 5424 over UDP.
func TestInteropLogger(t *testing.T) {
	bin := needProgram(t, "logger", "bsdutils (util-linux)", "--version")
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// logger writes the short host name in both formats.
	host, _, _ = strings.Cut(host, ".")
	// RFC 5424 without the timeQuality SD that depends on the clock's
	// sync state ("notq").
	sd := []string{"--sd-id", "example@32473", "--sd-param", `origin="interop"`}
	cases := []struct {
		name  string
		proto string // "tcp" or "udp"
		args  []string
		msg   string
		want  ioWant
	}{
		{"tcp/rfc5424/octet", "tcp", append([]string{"--tcp", "--rfc5424=notq", "--octet-count", "--msgid", "ID47"}, sd...),
			"logger-tcp-5424 grüße",
			ioWant{flags: "rfc5424", pri: "165", tsContains: "T", host: ioField(host), app: ioField("interop"),
				procid: ioField("4242"), msgid: ioField("ID47"), sd: ioField(`[example@32473 origin="interop"]`),
				msg: ioField("logger-tcp-5424 grüße")}},
		{"tcp/rfc3164/lf", "tcp", []string{"--tcp", "--rfc3164"},
			"logger-tcp-3164 plain",
			ioWant{flags: "rfc3164", pri: "165", tsContains: ":", host: ioField(host), app: ioField("interop"),
				procid: ioField("4242"), msgid: ioAbsent, sd: ioAbsent,
				msgSuffix: " " + host + " interop[4242]: logger-tcp-3164 plain"}},
		{"udp/rfc5424", "udp", append([]string{"--udp", "--rfc5424=notq"}, sd...),
			"logger-udp-5424 datagram",
			ioWant{flags: "rfc5424", pri: "165", tsContains: "T", host: ioField(host), app: ioField("interop"),
				procid: ioField("4242"), msgid: ioAbsent, sd: ioField(`[example@32473 origin="interop"]`),
				msg: ioField("logger-udp-5424 datagram")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			plain := freePort(t)
			s := startInteropSealog(t, true, "--listen-"+c.proto, plain)
			_, port, _ := strings.Cut(plain, ":")
			args := append([]string{"--server", "127.0.0.1", "--port", port, "-t", "interop", "--id=4242",
				"-p", "local4.notice"}, c.args...)
			args = append(args, c.msg)
			var out bytes.Buffer
			cmd := exec.Command(bin, args...)
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("logger %v: %v\n%s", args, err, out.String())
			}
			ioWaitEvents(t, s, nil, 1)
			ioStopAndVerify(t, s)
			ioCheckEvents(t, s.Events(), []ioWant{c.want}, "-", c.proto)
			ioCheckNoFailures(t, s, nil)
		})
	}
}
