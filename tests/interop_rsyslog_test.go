package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rsyslogd finds the rsyslog binary: $RSYSLOGD, else PATH, else
// /usr/sbin (not on a normal user's PATH). It skips the test, naming
// the package, when rsyslog or the stream driver is missing.
func rsyslogd(t *testing.T, driver string) string {
	t.Helper()
	bin := os.Getenv("RSYSLOGD")
	if bin == "" {
		if p, err := exec.LookPath("rsyslogd"); err == nil {
			bin = p
		} else {
			bin = "/usr/sbin/rsyslogd"
		}
	}
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		t.Skipf("rsyslogd not found (%v): install the Debian package rsyslog (tests/install-peers.sh) or set RSYSLOGD", err)
	}
	// The stream drivers are modules next to the others; rsyslogd -v
	// does not list them, so look for the file.
	pkg := map[string]string{"gtls": "rsyslog-gnutls", "ossl": "rsyslog-openssl"}[driver]
	found := false
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/aarch64-linux-gnu/rsyslog", "/usr/lib/rsyslog", "/usr/lib64/rsyslog"} {
		if _, err := os.Stat(filepath.Join(dir, "lmnsd_"+driver+".so")); err == nil {
			found = true
		}
	}
	if !found {
		t.Skipf("rsyslog stream driver %s not found: install the Debian package %s (tests/install-peers.sh)", driver, pkg)
	}
	t.Logf("sender: %s", ioFirstLine(out))
	return bin
}

// rsyslogCase is one way of configuring omfwd towards sealog.
type rsyslogCase struct {
	driver   string // "gtls" or "ossl"
	octet    bool   // TCP_Framing="octet-counted", else the default LF
	rfc5424  bool   // RSYSLOG_SyslogProtocol23Format, else the default RFC 3164-style template
	clientCA bool   // client certificate and mutual TLS, else neither
}

func (c rsyslogCase) name() string {
	n := c.driver
	n += map[bool]string{true: "/octet", false: "/lf"}[c.octet]
	n += map[bool]string{true: "/rfc5424", false: "/rfc3164"}[c.rfc5424]
	n += map[bool]string{true: "/clientcert", false: "/nocert"}[c.clientCA]
	return n
}

// rsyslogConfig is a complete rsyslog configuration that forwards what
// arrives on a plain loopback imtcp input to sealog over TLS, and
// nothing else: no imuxsock or imklog, its work directory in dir.
func rsyslogConfig(c rsyslogCase, dir, inAddr, sealogAddr string, pki *PKI) string {
	inHost, inPort, _ := strings.Cut(inAddr, ":")
	outHost, outPort, _ := strings.Cut(sealogAddr, ":")
	var b strings.Builder
	fmt.Fprintf(&b, "global(workDirectory=%q maxMessageSize=\"128k\"\n", dir)
	fmt.Fprintf(&b, "  defaultNetstreamDriverCAFile=%q", pki.CAFile)
	if c.clientCA {
		fmt.Fprintf(&b, "\n  defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q", pki.ClientCert, pki.ClientKey)
	}
	b.WriteString(")\n")
	b.WriteString("module(load=\"imtcp\")\n")
	fmt.Fprintf(&b, "input(type=\"imtcp\" address=%q port=%q ruleset=\"toSealog\")\n", inHost, inPort)
	// One worker keeps the order; the action queue is direct (default).
	b.WriteString("ruleset(name=\"toSealog\" queue.type=\"LinkedList\" queue.workerThreads=\"1\") {\n")
	fmt.Fprintf(&b, "  action(type=\"omfwd\" target=%q port=%q protocol=\"tcp\"\n", outHost, outPort)
	fmt.Fprintf(&b, "    streamDriver=%q streamDriverMode=\"1\" streamDriverAuthMode=\"x509/name\" streamDriverPermittedPeers=\"localhost\"", c.driver)
	if c.octet {
		b.WriteString("\n    TCP_Framing=\"octet-counted\"")
	}
	if c.rfc5424 {
		b.WriteString("\n    template=\"RSYSLOG_SyslogProtocol23Format\"")
	}
	b.WriteString(")\n}\n")
	// rsyslog's own messages (start-up, connection errors) go to a file
	// the test shows when it fails.
	fmt.Fprintf(&b, "action(type=\"omfile\" file=%q)\n", filepath.Join(dir, "rsyslog-internal.log"))
	return b.String()
}

// rsyslogInput is one message handed to rsyslog on its local input,
// with the properties rsyslog holds for it after parsing.
type rsyslogInput struct {
	feed string // the LF-framed line written to rsyslog's imtcp
	pri  int
	// ts is %TIMESTAMP:::date-rfc3339%; tsContains replaces it where
	// rsyslog guesses the year of a BSD timestamp.
	ts, tsContains           string
	ts3164                   string // %TIMESTAMP% in a BSD header
	host, app, procid, msgid string // "-" = NILVALUE
	sd                       string
	msg                      string // %msg% (after a BSD tag it keeps the leading SP)
	tag                      string // %syslogtag%
}

// from5424 is an RFC 5424 line given to rsyslog. rsyslog builds the tag
// of such a message as "APP[PROCID]" or "APP", without a colon.
func from5424(pri int, ts, ts3164, host, app, procid, msgid, sd, msg string) rsyslogInput {
	tag := app
	if procid != "-" {
		tag += "[" + procid + "]"
	}
	return rsyslogInput{
		feed: fmt.Sprintf("<%d>1 %s %s %s %s %s %s %s", pri, ts, host, app, procid, msgid, sd, msg),
		pri:  pri, ts: ts, ts3164: ts3164, host: host, app: app, procid: procid, msgid: msgid, sd: sd, msg: msg, tag: tag,
	}
}

// from3164 is a BSD line "<PRI>Mmm dd hh:mm:ss HOST APP[PROCID]: MSG"
// given to rsyslog (as local programs write it); rsyslog takes the
// year from its clock and the zone from TZ (UTC here).
func from3164(pri int, ts3164, host, app, procid, msg string) rsyslogInput {
	tag := app + "[" + procid + "]:"
	in := rsyslogInput{pri: pri, ts3164: ts3164, host: host, app: app, procid: procid, msgid: "-", sd: "-", msg: " " + msg, tag: tag}
	in.feed = fmt.Sprintf("<%d>%s %s %s%s", pri, ts3164, host, tag, in.msg)
	month := map[string]string{"Jan": "01", "Feb": "02", "Mar": "03", "Apr": "04", "May": "05", "Jun": "06",
		"Jul": "07", "Aug": "08", "Sep": "09", "Oct": "10", "Nov": "11", "Dec": "12"}[ts3164[:3]]
	in.tsContains = "-" + month + "-" + strings.Replace(ts3164[4:6], " ", "0", 1) + "T" + ts3164[7:] + "+00:00"
	return in
}

func nilable(v string) ioCol {
	if v == "-" {
		return ioAbsent
	}
	return ioField(v)
}

// want is what sealog must record for in after rsyslog reformatted it.
func (in rsyslogInput) want(c rsyslogCase) ioWant {
	pri := fmt.Sprint(in.pri)
	if c.rfc5424 {
		// "<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME%
		// %PROCID% %MSGID% %STRUCTURED-DATA% %msg%\n": the template's
		// own LF is inside an octet-counted frame (the sender put it
		// there; sealog keeps MSG verbatim, docs/format.md §3.3) and is the
		// terminator of an LF frame.
		msg := in.msg
		if c.octet {
			msg += "\n"
		}
		return ioWant{flags: "rfc5424", pri: pri, ts: ioField(in.ts), tsContains: in.tsContains, host: nilable(in.host),
			app: nilable(in.app), procid: nilable(in.procid), msgid: nilable(in.msgid), sd: nilable(in.sd), msg: ioField(msg)}
	}
	// RSYSLOG_TraditionalForwardFormat: "<%PRI%>%TIMESTAMP% %HOSTNAME%
	// %syslogtag:1:32%%msg:::sp-if-no-1st-sp%%msg%". MSG is the frame
	// after the PRI. The tag is read back as APP-NAME and PROCID when it
	// is "APP[PROCID]:", "APP:" or "APP[PROCID]" (rsyslog's own parser
	// ends a tag at ':' or SP and takes the PID from the brackets); a
	// bare word is not taken for a tag (parse.Parser guesses nothing).
	msg := in.msg
	if !strings.HasPrefix(msg, " ") {
		msg = " " + msg
	}
	frame := in.ts3164 + " " + in.host + " " + in.tag + msg
	app, procid := ioAbsent, ioAbsent
	if strings.HasSuffix(in.tag, ":") || strings.HasSuffix(in.tag, "]") {
		app = ioField(in.app)
		if in.procid != "-" {
			procid = ioField(in.procid)
		}
	}
	return ioWant{flags: "rfc3164", pri: pri, ts: ioField(in.ts3164), host: ioField(in.host), app: app,
		procid: procid, msgid: ioAbsent, sd: ioAbsent, msg: ioField(frame)}
}

// TestInteropRsyslog runs the real rsyslogd as a sender: omfwd over TLS
// with the gtls and ossl drivers, octet-counted and LF framing, the
// RFC 5424 and the default RFC 3164-style template, with and without a
// client certificate. Every message must arrive as
// exactly one line, in order, with the right columns, and a 60 KB
// message whole.
func TestInteropRsyslog(t *testing.T) {
	var cases []rsyslogCase
	for _, driver := range []string{"gtls", "ossl"} {
		for _, octet := range []bool{true, false} {
			for _, rfc5424 := range []bool{true, false} {
				for _, clientCA := range []bool{true, false} {
					cases = append(cases, rsyslogCase{driver, octet, rfc5424, clientCA})
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			bin := rsyslogd(t, c.driver)
			t.Parallel()
			testRsyslog(t, bin, c)
		})
	}
}

func testRsyslog(t *testing.T, bin string, c rsyslogCase) {
	s := startInteropSealog(t, c.clientCA)
	dir := t.TempDir()
	inAddr := freePort(t)
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, []byte(rsyslogConfig(c, dir, inAddr, s.Addr, s.PKI)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A payload unique to this case, so that nothing from another run
	// can be mistaken for what this one sent.
	tag := "rs-" + strings.ReplaceAll(c.name(), "/", "-")
	inputs := []rsyslogInput{
		from5424(34, "2026-11-22T10:15:00.123456Z", "Nov 22 10:15:00", "web1.example.test", "sshd", "4242", "AUTH",
			"-", tag+" accepted publickey for alice"),
		from5424(165, "2026-03-02T08:05:09.000001Z", "Mar  2 08:05:09", "db-2", "postgres", "77", "-",
			`[exampleSDID@32473 iut="3" eventSource="App"]`, tag+" checkpoint complete"),
		from5424(13, "2026-11-22T10:15:00.5+01:00", "Nov 22 10:15:00", "host3", "app3", "-", "-",
			"-", tag+" grüße 日本 ünïcödé"),
		from5424(14, "2026-11-22T10:15:01.000002Z", "Nov 22 10:15:01", "host4", "big", "1", "BIG",
			"-", ioBigPayload(tag)),
		from3164(86, "Nov 22 10:15:02", "host5", "cron", "99", tag+" job ran"),
		from5424(191, "2026-11-22T23:59:59.999999Z", "Nov 22 23:59:59", "host6", "last", "9", "-",
			"-", tag+" last message"),
	}
	var feed strings.Builder
	var want []ioWant
	for _, in := range inputs {
		feed.WriteString(in.feed)
		feed.WriteByte('\n')
		want = append(want, in.want(c))
	}

	p := ioStartPeer(t, "rsyslogd", []string{"TZ=UTC"}, bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	p.logs = []string{filepath.Join(dir, "rsyslog-internal.log"), conf}
	ioFeedTCP(t, p, inAddr, []byte(feed.String()))
	ioWaitEvents(t, s, p, len(inputs))
	p.Stop()
	ioStopAndVerify(t, s)

	auth := "-"
	if c.clientCA {
		auth = s.PKI.ClientCN
	}
	ioCheckEvents(t, s.Events(), want, auth, "TLS1.")
	ioCheckNoFailures(t, s, nil)
}
