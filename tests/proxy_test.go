package tests

// PROXY protocol (docs/format.md §9.2) with a real HAProxy in mode tcp in
// front of sealog's TLS listener (send-proxy-v2) and RELP listener
// (send-proxy, v1), configured with the README's own configuration; the
// client binds 127.0.0.5 so that the client, the balancer (127.0.0.1)
// and the server can be told apart. Then what an attacker or a broken
// balancer sends: no header, a malformed one, a header from a source that
// is not a balancer, a LOCAL health check, a client --allow-from refuses.

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealog/sealog/proxyproto"
)

const clientIP = "127.0.0.5"

func haproxyBin(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"haproxy", "/usr/sbin/haproxy"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("haproxy not found: install the Debian package haproxy (tests/install-peers.sh)")
	return ""
}

// readmeHAProxy is the HAProxy configuration of README.md's "Behind a
// load balancer" section, with its addresses replaced. Every address it
// names must be replaced, so that the README and the test cannot drift.
func readmeHAProxy(t *testing.T, repl map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(data), "## Behind a load balancer")
	if !ok {
		t.Fatal(`README.md has no "Behind a load balancer" section`)
	}
	_, block, ok := strings.Cut(sec, "```haproxy\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("README.md's load balancer section has no ```haproxy block")
	}
	for from, to := range repl {
		if !strings.Contains(block, from) {
			t.Fatalf("README's HAProxy configuration no longer holds %q", from)
		}
		block = strings.ReplaceAll(block, from, to)
	}
	return block
}

// dialFrom connects to addr from the local address ip.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	return c
}

// sendTLS runs mutual TLS over c and sends one octet-counted frame.
func sendTLS(t *testing.T, s *Sealog, c net.Conn, msg string) error {
	t.Helper()
	tc := tls.Client(c, s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey))
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		return err
	}
	frame := "<13>1 2026-11-22T10:15:00Z host app - - - " + msg
	if _, err := fmt.Fprintf(tc, "%d %s", len(frame), frame); err != nil {
		return err
	}
	tc.CloseWrite()
	_, err := tc.Read(make([]byte, 1))
	if err != nil && !strings.Contains(err.Error(), "EOF") {
		return err
	}
	return nil
}

// eventWithMsg waits for the event whose MSG is msg.
func eventWithMsg(t *testing.T, s *Sealog, msg string) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, e := range s.Events() {
			if len(e) == 15 && strings.TrimSuffix(e[14], "%0A") == msg {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event with MSG %q; stderr:\n%s", msg, s.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// securityWhere returns the security lines of action whose PEER starts
// with peer and whose DETAIL holds every part.
func securityWhere(s *Sealog, action, peer string, parts ...string) [][]string {
	var out [][]string
	for _, l := range s.Security() {
		if len(l) != 9 || l[6] != action || !strings.HasPrefix(l[3], peer) {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l[8], p)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

func waitSecurityWhere(t *testing.T, s *Sealog, n int, action, peer string, parts ...string) [][]string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got := securityWhere(s, action, peer, parts...); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d %s events from %s with %q; security:\n%s", n, action, peer, parts, strings.Join(s.lines("security"), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proxyWantEvent checks an event that came through the balancer: PEER is
// the client behind it, FLAGS start with flags (ending in the balancer's
// via=ADDR:), and AUTH is the client certificate's CN (mutual TLS end to
// end).
func proxyWantEvent(t *testing.T, e []string, clientIP, flags, cn string) {
	t.Helper()
	if !strings.HasPrefix(e[3], clientIP+":") {
		t.Errorf("PEER %q, want the client %s", e[3], clientIP)
	}
	if !strings.HasPrefix(e[6], flags) {
		t.Errorf("FLAGS %q, want %sPORT (the balancer)", e[6], flags)
	}
	if e[4] != cn {
		t.Errorf("AUTH %q, want %q: mutual TLS end to end", e[4], cn)
	}
}

func TestProxyHAProxy(t *testing.T) {
	bin := haproxyBin(t)
	relpAddr := freePort(t)
	s := startSealog(t, "--listen-relp", relpAddr, "--proxy-from", "127.0.0.1/32")
	feTLS, feRELP := freePort(t), freePort(t)
	conf := readmeHAProxy(t, map[string]string{
		"bind :6514": "bind " + feTLS, "bind :2514": "bind " + feRELP,
		"10.0.0.11:6514": s.Addr, "10.0.0.12:6514": s.Addr,
		"10.0.0.11:2514": relpAddr, "10.0.0.12:2514": relpAddr,
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	hp := ioStartPeer(t, "haproxy", nil, bin, "-db", "-f", cfg)
	hp.logs = []string{cfg}
	for _, a := range []string{feTLS, feRELP} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.Dial("tcp", a)
			if err == nil {
				c.Close() // HAProxy passes this probe on: sealog refuses it (no TLS), fine
				break
			}
			if hp.Exited() || time.Now().After(deadline) {
				t.Fatalf("haproxy does not listen on %s: %v\n%s", a, err, hp.out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	t.Run("tls send-proxy-v2", func(t *testing.T) {
		if err := sendTLS(t, s, dialFrom(t, clientIP, feTLS), "through haproxy v2"); err != nil {
			t.Fatal(err)
		}
		proxyWantEvent(t, eventWithMsg(t, s, "through haproxy v2"), clientIP, "rfc5424,via=127.0.0.1:", s.PKI.ClientCN)
		waitSecurityWhere(t, s, 1, "connect", clientIP+":", `"proxy":"127.0.0.1:`)
	})

	t.Run("relp send-proxy v1 from omrelp", func(t *testing.T) {
		// omrelp over TLS with its client certificate, bound to the
		// client address.
		p, inAddr := startOmrelpFrom(t, feRELP, s.PKI, clientIP)
		msg := "relp through haproxy v1"
		ioFeedTCP(t, p, inAddr, []byte("<14>1 2026-11-22T10:15:00.000001Z host app - - - "+msg+"\n"))
		proxyWantEvent(t, eventWithMsg(t, s, msg), clientIP, "rfc5424,relp,via=127.0.0.1:", s.PKI.ClientCN)
		p.Stop()
	})

	before := len(securityWhere(s, "connect", "127.0.0.1:", `"reason":"proxy_header"`))
	t.Run("header missing", func(t *testing.T) {
		if err := sendTLS(t, s, dialFrom(t, "127.0.0.1", s.Addr), "no header"); err == nil {
			t.Error("a balancer's connection without a header was served")
		}
		waitSecurityWhere(t, s, before+1, "connect", "127.0.0.1:", `"reason":"proxy_header"`)
	})
	t.Run("header malformed", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", s.Addr)
		defer c.Close()
		c.Write([]byte("PROXY TCP4 192.0.2.1 not-an-address 1 2\r\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, _ := c.Read(make([]byte, 10)); n > 0 {
			t.Error("the server answered a malformed header")
		}
		waitSecurityWhere(t, s, before+2, "connect", "127.0.0.1:", `"reason":"proxy_header"`)
	})
	t.Run("header from a source not listed", func(t *testing.T) {
		// 127.0.0.5 is no balancer: its header claiming 192.0.2.66 is
		// not honoured; the bytes are taken for TLS, which fails.
		c := dialFrom(t, clientIP, s.Addr)
		h := proxyproto.AppendV2(nil, proxyproto.Header{Source: netip.MustParseAddrPort("192.0.2.66:1234"), Dest: netip.MustParseAddrPort("127.0.0.1:6514")})
		c.Write(h)
		if err := sendTLS(t, s, c, "forged source"); err == nil {
			t.Error("a header from a source not in --proxy-from was honoured")
		}
		waitSecurityWhere(t, s, 1, "tls_handshake_failed", clientIP+":", `"reason":"not_tls"`)
		for _, e := range s.Events() {
			if strings.HasPrefix(e[3], "192.0.2.66") {
				t.Errorf("event with the forged PEER: %q", e)
			}
		}
		for _, l := range s.Security() {
			if strings.HasPrefix(l[3], "192.0.2.66") {
				t.Errorf("security event with the forged PEER: %q", l)
			}
		}
	})
	t.Run("LOCAL keeps the balancer", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", s.Addr)
		local := c.LocalAddr().String()
		c.Write(proxyproto.AppendV2(nil, proxyproto.Header{Local: true}))
		if err := sendTLS(t, s, c, "health check"); err != nil {
			t.Fatal(err)
		}
		e := eventWithMsg(t, s, "health check")
		if e[3] != local || e[6] != "rfc5424" {
			t.Errorf("PEER %q FLAGS %q, want %q and no via", e[3], e[6], local)
		}
		l := waitSecurityWhere(t, s, 1, "connect", local, `"proxy_local":true`)[0]
		var d map[string]any
		json.Unmarshal([]byte(l[8]), &d)
		if d["proxy"] != local {
			t.Errorf("connect DETAIL proxy %v, want %s", d["proxy"], local)
		}
	})
	hp.Stop()
	ioStopAndVerify(t, s)
}

// TestProxyAllowFrom: --allow-from applies to the client a header names,
// not only to the balancer.
func TestProxyAllowFrom(t *testing.T) {
	s := startSealog(t, "--proxy-from", "127.0.0.1/32", "--allow-from", "127.0.0.1/32", "--allow-from", "198.51.100.0/24")
	send := func(src string, msg string) error {
		c := dialFrom(t, "127.0.0.1", s.Addr)
		c.Write(proxyproto.AppendV1(nil, proxyproto.Header{Source: netip.MustParseAddrPort(src), Dest: netip.MustParseAddrPort("127.0.0.1:6514")}))
		return sendTLS(t, s, c, msg)
	}
	if err := send("192.0.2.9:5000", "refused client"); err == nil {
		t.Error("a client outside --allow-from was served through the balancer")
	}
	l := waitSecurityWhere(t, s, 1, "connect", "192.0.2.9:5000", `"reason":"not_allowed"`, `"proxy":"127.0.0.1:`)[0]
	if l[7] != "failure" {
		t.Errorf("got %q, want a connect failure", l)
	}
	if err := send("198.51.100.7:5000", "allowed client"); err != nil {
		t.Fatal(err)
	}
	if e := eventWithMsg(t, s, "allowed client"); e[3] != "198.51.100.7:5000" {
		t.Errorf("PEER %q, want 198.51.100.7:5000", e[3])
	}
	ioStopAndVerify(t, s)
}

// TestProxyHeaderTimeout: a listed balancer (or someone on its address)
// that sends no header, or drips one byte by byte, holds its connection
// no longer than --handshake-timeout, then is refused with reason
// proxy_header.
func TestProxyHeaderTimeout(t *testing.T) {
	s := startSealog(t, "--proxy-from", "127.0.0.1/32", "--handshake-timeout", "1s")
	for _, tt := range []struct {
		name string
		drip string
	}{{"silent", ""}, {"dripping v1", "PROXY TCP4 192.0.2.1 127.0.0.1 1000 6514"}} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialFrom(t, "127.0.0.1", s.Addr)
			defer c.Close()
			local := c.LocalAddr().String()
			start := time.Now()
			closed := make(chan time.Duration, 1)
			go func() {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				c.Read(make([]byte, 1))
				closed <- time.Since(start)
			}()
			for i := 0; i < len(tt.drip); i++ {
				if _, err := c.Write([]byte{tt.drip[i]}); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if d := <-closed; d > 4*time.Second {
				t.Errorf("the connection was held %v, want about the 1s --handshake-timeout", d)
			}
			l := waitSecurityWhere(t, s, 1, "connect", local, `"reason":"proxy_header"`)[0]
			if l[7] != "failure" || !strings.Contains(l[8], "timeout") {
				t.Errorf("got %q, want a connect failure naming the timeout", l)
			}
		})
	}
	ioStopAndVerify(t, s)
}

// TestProxyPlainListeners: the plain listeners (syslog over TCP, RELP
// over TCP) take a balancer's header like the TLS ones; a PROXY header
// from a source not in --proxy-from is not honoured: its bytes are data
// (a raw syslog frame) or a broken RELP frame, and PEER stays the
// socket's.
func TestProxyPlainListeners(t *testing.T) {
	tcpAddr, relpAddr := freePort(t), freePort(t)
	s := startSealog(t, "--proxy-from", "127.0.0.1/32", "--listen-tcp", tcpAddr, "--listen-relp-tcp", relpAddr)
	forged := string(proxyproto.AppendV1(nil, proxyproto.Header{Source: netip.MustParseAddrPort("192.0.2.66:1234"), Dest: netip.MustParseAddrPort("127.0.0.1:514")}))

	// From the balancer (127.0.0.1), v2 before plain syslog and v1
	// before RELP: PEER is the client the header names.
	claimed := proxyproto.Header{Source: netip.MustParseAddrPort("198.51.100.7:5000"), Dest: netip.MustParseAddrPort("127.0.0.1:514")}
	b := dialFrom(t, "127.0.0.1", tcpAddr)
	fmt.Fprintf(b, "%s<13>1 2026-11-22T10:15:00Z host app - - - plain through a balancer\n", proxyproto.AppendV2(nil, claimed))
	b.Close()
	if e := eventWithMsg(t, s, "plain through a balancer"); e[3] != "198.51.100.7:5000" || !strings.HasPrefix(e[6], "rfc5424,via=127.0.0.1:") {
		t.Errorf("PEER %q FLAGS %q, want 198.51.100.7:5000 via the balancer", e[3], e[6])
	}
	b = dialFrom(t, "127.0.0.1", relpAddr)
	offers := "relp_version=0\ncommands=syslog"
	msg := "<13>1 2026-11-22T10:15:00Z host app - - - relp through a balancer"
	fmt.Fprintf(b, "%s1 open %d %s\n2 syslog %d %s\n3 close 0\n", proxyproto.AppendV1(nil, claimed), len(offers), offers, len(msg), msg)
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	if ans, _ := io.ReadAll(b); !strings.Contains(string(ans), "2 rsp 6 200 OK\n") {
		t.Errorf("RELP through the balancer answered %q, want 2 acknowledged", ans)
	}
	b.Close()
	if e := eventWithMsg(t, s, "relp through a balancer"); e[3] != "198.51.100.7:5000" || !strings.HasPrefix(e[6], "rfc5424,relp,via=127.0.0.1:") {
		t.Errorf("PEER %q FLAGS %q, want 198.51.100.7:5000, relp, via the balancer", e[3], e[6])
	}

	c := dialFrom(t, clientIP, tcpAddr)
	fmt.Fprintf(c, "%s<13>1 2026-11-22T10:15:00Z host app - - - after a forged header\n", forged)
	c.Close()
	e := eventWithMsg(t, s, "after a forged header")
	if !strings.HasPrefix(e[3], clientIP+":") || strings.Contains(e[6], "via=") {
		t.Errorf("PEER %q FLAGS %q, want the socket's %s and no via", e[3], e[6], clientIP)
	}

	r := dialFrom(t, clientIP, relpAddr)
	fmt.Fprintf(r, "%s1 open %d %s\n", forged, len("relp_version=0\ncommands=syslog"), "relp_version=0\ncommands=syslog")
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	ans, _ := io.ReadAll(r)
	r.Close()
	if !strings.Contains(string(ans), "serverclose") || strings.Contains(string(ans), "200 OK") {
		t.Errorf("RELP after a forged header answered %q, want only serverclose", ans)
	}
	waitSecurityWhere(t, s, 1, "frame_error", clientIP+":", `"reason":"malformed_frame"`)
	ioStopAndVerify(t, s)
	for _, l := range append(s.Events(), s.Security()...) {
		if strings.HasPrefix(l[3], "192.0.2.66") || strings.Contains(strings.Join(l, "\t"), "via=192.0.2.66") {
			t.Errorf("a line with the forged source as PEER: %q", l)
		}
	}
}
