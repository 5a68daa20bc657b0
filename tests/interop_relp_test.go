package tests

// RELP interop (docs/format.md §9.1) with rsyslog's own omrelp from the
// Debian package rsyslog-relp: over TLS with a client certificate and in
// plain text, every message exactly once with FLAGS relp; and the
// no-loss test: sealog is killed with SIGKILL while omrelp sends a
// numbered stream, and no number that omrelp was told is acknowledged
// may be missing at the end.

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rsyslogRELP finds rsyslogd with omrelp, or skips naming the package.
func rsyslogRELP(t *testing.T) string {
	t.Helper()
	bin := rsyslogd(t, "gtls")
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/aarch64-linux-gnu/rsyslog", "/usr/lib/rsyslog", "/usr/lib64/rsyslog"} {
		if _, err := os.Stat(filepath.Join(dir, "omrelp.so")); err == nil {
			return bin
		}
	}
	t.Skip("rsyslog's omrelp not found: install the Debian package rsyslog-relp (tests/install-peers.sh)")
	return ""
}

// omrelpConfig forwards what arrives on a plain loopback imtcp input to
// sealog with omrelp, in RFC 5424 format; with pki, over TLS with the
// PKI's client certificate. The action queue keeps messages while sealog
// is away and retries for ever, as a no-loss setup does.
func omrelpConfig(dir, inAddr, relpAddr string, pki *PKI, localIP string) string {
	inHost, inPort, _ := strings.Cut(inAddr, ":")
	outHost, outPort, _ := strings.Cut(relpAddr, ":")
	var b strings.Builder
	fmt.Fprintf(&b, "global(workDirectory=%q maxMessageSize=\"128k\")\n", dir)
	b.WriteString("module(load=\"imtcp\")\nmodule(load=\"omrelp\")\n")
	fmt.Fprintf(&b, "input(type=\"imtcp\" address=%q port=%q ruleset=\"toSealog\")\n", inHost, inPort)
	b.WriteString("ruleset(name=\"toSealog\") {\n")
	fmt.Fprintf(&b, "  action(type=\"omrelp\" target=%q port=%q template=\"RSYSLOG_SyslogProtocol23Format\"\n", outHost, outPort)
	if localIP != "" {
		fmt.Fprintf(&b, "    localClientIp=%q\n", localIP)
	}
	if pki != nil {
		fmt.Fprintf(&b, "    tls=\"on\" tls.caCert=%q tls.myCert=%q tls.myPrivKey=%q\n", pki.CAFile, pki.ClientCert, pki.ClientKey)
		b.WriteString("    tls.authMode=\"name\" tls.permittedPeer=[\"localhost\"]\n")
	}
	b.WriteString("    queue.type=\"LinkedList\" queue.size=\"200000\" action.resumeRetryCount=\"-1\" action.resumeInterval=\"1\")\n}\n")
	fmt.Fprintf(&b, "action(type=\"omfile\" file=%q)\n", filepath.Join(dir, "rsyslog-internal.log"))
	return b.String()
}

// startOmrelp starts rsyslogd with omrelpConfig and returns it and its
// input address.
func startOmrelp(t *testing.T, relpAddr string, pki *PKI) (*ioPeer, string) {
	t.Helper()
	return startOmrelpFrom(t, relpAddr, pki, "")
}

// startOmrelpFrom is startOmrelp with omrelp bound to localIP.
func startOmrelpFrom(t *testing.T, relpAddr string, pki *PKI, localIP string) (*ioPeer, string) {
	t.Helper()
	bin := rsyslogRELP(t)
	dir := t.TempDir()
	inAddr := freePort(t)
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, []byte(omrelpConfig(dir, inAddr, relpAddr, pki, localIP)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := ioStartPeer(t, "rsyslogd", []string{"TZ=UTC"}, bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	p.logs = []string{filepath.Join(dir, "rsyslog-internal.log"), conf}
	return p, inAddr
}

// numbered is message i of a test's stream: "<tag> n=<i>".
func numbered(tag string, i int) string {
	return fmt.Sprintf("<14>1 2026-11-22T10:15:00.000001Z host%d app - - - %s n=%d", i%7, tag, i)
}

// numbersIn counts, per number, the events whose MSG is "<tag> n=<i>".
func numbersIn(events [][]string, tag string) map[int]int {
	seen := map[int]int{}
	for _, e := range events {
		if len(e) != 15 {
			continue
		}
		// RSYSLOG_SyslogProtocol23Format ends in LF, which omrelp sends
		// inside the RELP data: part of MSG.
		rest, ok := strings.CutPrefix(strings.TrimSuffix(e[14], "%0A"), tag+" n=")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil {
			seen[n]++
		}
	}
	return seen
}

func TestRELPRsyslog(t *testing.T) {
	for _, useTLS := range []bool{true, false} {
		name := map[bool]string{true: "tls-clientcert", false: "plain"}[useTLS]
		t.Run(name, func(t *testing.T) {
			rsyslogRELP(t)
			t.Parallel()
			relpAddr := freePort(t)
			flag := "--listen-relp-tcp"
			if useTLS {
				flag = "--listen-relp"
			}
			// The default --fsync-interval (1s): acknowledgements must not
			// wait for it (the group commit), or 2000 messages in
			// windows of 128 would take 16 s.
			s := startSealog(t, "--max-message-size", interopMaxMessage, flag, relpAddr)
			var pki *PKI
			if useTLS {
				pki = s.PKI
			}
			p, inAddr := startOmrelp(t, relpAddr, pki)
			tag := "relp-" + name
			const n = 2000
			var feed strings.Builder
			for i := 1; i <= n; i++ {
				feed.WriteString(numbered(tag, i))
				feed.WriteByte('\n')
			}
			big := ioBigPayload(tag + " big")
			fmt.Fprintf(&feed, "<14>1 2026-11-22T10:15:00.000001Z host app - - - %s\n", big)
			start := time.Now()
			ioFeedTCP(t, p, inAddr, []byte(feed.String()))
			ioWaitEvents(t, s, p, n+1)
			t.Logf("%d messages through omrelp in %v", n+1, time.Since(start).Round(time.Millisecond))
			p.Stop()
			ioStopAndVerify(t, s)

			events := s.Events()
			if len(events) != n+1 {
				t.Fatalf("got %d events, want %d (each message once)", len(events), n+1)
			}
			seen := numbersIn(events, tag)
			for i := 1; i <= n; i++ {
				if seen[i] != 1 {
					t.Errorf("message %d: %d times, want once", i, seen[i])
				}
			}
			wantAuth, wantTLS := "-", "tcp"
			if useTLS {
				wantAuth, wantTLS = s.PKI.ClientCN, "TLS1."
			}
			for i, e := range events {
				if e[6] != "rfc5424,relp" {
					t.Errorf("event %d: FLAGS %q, want rfc5424,relp", i, e[6])
				}
				if e[4] != wantAuth || !strings.HasPrefix(e[5], wantTLS) {
					t.Errorf("event %d: AUTH %q TLS %q, want %q %q…", i, e[4], e[5], wantAuth, wantTLS)
				}
			}
			if last := events[n]; last[14] != pctEncode(big+"\n") {
				t.Errorf("the 60 KB message did not arrive whole: %s", ioShorten(last[14]))
			}
			connects := 0
			for _, l := range s.Security() {
				if l[6] == "connect" && strings.Contains(l[8], `"protocol":"relp"`) {
					connects++
				}
			}
			if connects == 0 {
				t.Error("no connect event with protocol relp")
			}
			ioCheckNoFailures(t, s, nil)
		})
	}
}

// TestRELPNoLoss kills sealog with SIGKILL at random moments while
// omrelp sends a numbered stream, restarts it each time, and then
// requires every number: what sealog acknowledged was on disk, and what
// it had not acknowledged omrelp sent again. Duplicates (acknowledgements
// lost with the connection) are allowed and counted.
func TestRELPNoLoss(t *testing.T) {
	rsyslogRELP(t)
	relpAddr := freePort(t)
	args := []string{"--listen-relp-tcp", relpAddr}
	s := startSealog(t, args...)
	p, inAddr := startOmrelp(t, relpAddr, nil)
	const n, kills = 20000, 4
	tag := "noloss"
	// The stream goes in over ~4 s, 250 messages at a time, so that the
	// kills land while omrelp has windows in flight.
	fed := make(chan error, 1)
	go func() {
		var c net.Conn
		var err error
		for try := 0; try < 300; try++ {
			if c, err = net.Dial("tcp", inAddr); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			fed <- err
			return
		}
		defer c.Close()
		var chunk strings.Builder
		for i := 1; i <= n; i++ {
			chunk.WriteString(numbered(tag, i))
			chunk.WriteByte('\n')
			if i%250 == 0 {
				if _, err := c.Write([]byte(chunk.String())); err != nil {
					fed <- err
					return
				}
				chunk.Reset()
				time.Sleep(50 * time.Millisecond)
			}
		}
		fed <- nil
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 19))
	last := 0
	for k := 0; k < kills; k++ {
		// Kill only once this run of sealog has taken some of the
		// stream, at a random moment after that.
		for wait := time.Now().Add(20 * time.Second); len(numbersIn(s.Events(), tag)) < min(last+200, n) && time.Now().Before(wait); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		s.Kill()
		last = len(numbersIn(s.Events(), tag))
		t.Logf("kill %d: SIGKILL with %d distinct numbers on disk", k+1, last)
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		s.startWith(args...)
	}
	if err := <-fed; err != nil {
		t.Fatalf("feeding rsyslog: %v", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(numbersIn(s.Events(), tag)) < n {
		if p.Exited() {
			t.Fatalf("rsyslogd exited:\n%s", p.out.String())
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	ioStopAndVerify(t, s)
	seen := numbersIn(s.Events(), tag)
	missing, dups := 0, 0
	for i := 1; i <= n; i++ {
		switch c := seen[i]; {
		case c == 0:
			if missing < 10 {
				t.Errorf("message %d is missing", i)
			}
			missing++
		case c > 1:
			dups += c - 1
		}
	}
	t.Logf("%d messages, %d kills: %d missing, %d duplicates (sent again after a lost acknowledgement)", n, kills, missing, dups)
	if missing > 0 {
		t.Fatalf("%d of %d messages lost", missing, n)
	}
	recovers := 0
	for _, l := range s.Security() {
		if l[6] == "recover" {
			recovers++
		}
	}
	if recovers < kills {
		t.Errorf("got %d recover events, want at least %d (one per crash)", recovers, kills)
	}
}

// TestRELPTLSAccess: the RELP listener over TLS applies --permitted-peer
// and --tls-crl as --listen does, to rsyslog's omrelp: a permitted
// client is served, one whose name is not permitted is refused
// (peer_denied), and one whose certificate a CRL from `openssl ca
// -gencrl` lists is refused (revoked, with its serial).
func TestRELPTLSAccess(t *testing.T) {
	rsyslogRELP(t)
	dir := t.TempDir()
	root := opensslRoot(t, filepath.Join(dir, "root"), "RELP CRL Test Root")
	goodCert, goodKey := root.issue("good", "good.example.test", "v3_client")
	badCert, badKey := root.issue("bad", "bad.example.test", "v3_client")
	strangerCert, strangerKey := root.issue("stranger", "stranger.example.org", "v3_client")
	root.revoke(badCert)
	crl := root.crl(filepath.Join(dir, "root.crl.pem"))
	blk, _ := pem.Decode(mustRead(t, badCert))
	badX509, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}

	relpAddr := freePort(t)
	s := startSealog(t, "--listen-relp", relpAddr, "--tls-client-ca", root.cert, "--tls-crl", crl, "--permitted-peer", "*.example.test")
	send := func(cert, key, msg string) *ioPeer {
		pki := *s.PKI
		pki.ClientCert, pki.ClientKey = cert, key
		p, inAddr := startOmrelp(t, relpAddr, &pki)
		ioFeedTCP(t, p, inAddr, []byte("<14>1 2026-11-22T10:15:00.000001Z host app - - - "+msg+"\n"))
		return p
	}

	p := send(goodCert, goodKey, "relp permitted")
	if e := eventWithMsg(t, s, "relp permitted"); e[4] != "good.example.test" || e[6] != "rfc5424,relp" {
		t.Errorf("AUTH %q FLAGS %q, want good.example.test and rfc5424,relp", e[4], e[6])
	}
	p.Stop()

	p = send(strangerCert, strangerKey, "relp not permitted")
	waitSecurityWhere(t, s, 1, "peer_denied", "127.0.0.1:", `"reason":"peer_not_permitted"`)
	p.Stop()

	p = send(badCert, badKey, "relp revoked")
	d := waitSecurityWhere(t, s, 1, "tls_handshake_failed", "127.0.0.1:", `"reason":"revoked"`)[0]
	if want := `"serial":"` + serialHex(badX509) + `"`; !strings.Contains(d[8], want) {
		t.Errorf("revoked refusal %s, want %s", d[8], want)
	}
	p.Stop()
	ioStopAndVerify(t, s)
	for _, e := range s.Events() {
		if msg := strings.TrimSuffix(e[14], "%0A"); msg == "relp not permitted" || msg == "relp revoked" {
			t.Errorf("a refused client's message was written: %q", e)
		}
	}
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
