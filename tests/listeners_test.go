package tests

// Listeners and who may use them (docs/format.md §1.1): the plain TCP and
// UDP listeners, --allow-from and --max-connections.

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCorePlainListeners: --listen-tcp and --listen-udp (docs/operations.md, §3.3):
// TLS column tcp/udp, AUTH "-", and a start event naming them unencrypted.
func TestCorePlainListeners(t *testing.T) {
	tcpAddr, udpAddr := freePort(t), freeUDPPort(t)
	s := startSealog(t, "--listen-tcp", tcpAddr, "--listen-udp", udpAddr)
	start := s.WaitSecurity(t, "start")[0]
	ls, _ := bbDetail(t, start)["listeners"].([]any)
	var plain []string
	for _, l := range ls {
		if str, _ := l.(string); strings.Contains(str, "unencrypted") {
			plain = append(plain, str)
		}
	}
	joined := strings.Join(plain, " ")
	if !strings.Contains(joined, tcpAddr) || !strings.Contains(joined, udpAddr) {
		t.Errorf("start listeners %v: want %s and %s named unencrypted", ls, tcpAddr, udpAddr)
	}

	tc, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	tcpPeer := tc.LocalAddr().String()
	tc.Write(bbOctet(bbMsg("over plain tcp")))
	tc.(*net.TCPConn).CloseWrite()
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, tc)
	tc.Close()

	uc, err := net.Dial("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	udpPeer := uc.LocalAddr().String()
	uc.Write([]byte(bbMsg("over udp")))
	uc.Close()

	for _, c := range []struct{ peer, tls, msg string }{{tcpPeer, "tcp", "over plain tcp"}, {udpPeer, "udp", "over udp"}} {
		ev := bbWaitFrom(t, s, c.peer, 1)
		if len(ev) != 1 {
			t.Fatalf("%s: got %d lines, want 1", c.tls, len(ev))
		}
		if ev[0][5] != c.tls || ev[0][4] != "-" || ev[0][14] != c.msg {
			t.Errorf("%s: got TLS %q AUTH %q MSG %q, want %q, \"-\", %q", c.tls, ev[0][5], ev[0][4], ev[0][14], c.tls, c.msg)
		}
	}
	bbCheckAll(t, s)
}

// wantConnectRefused dials s as the valid client and wants the connection
// refused, with a connect failure event giving reason; who says which
// client it was.
func wantConnectRefused(t *testing.T, s *Sealog, reason, who string) {
	t.Helper()
	peer, err := bbDialTLS(t, s.Addr, s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey))
	if err == nil {
		t.Errorf("%s was served", who)
	}
	l := bbSec(t, s, peer, "connect")[0]
	if d := bbDetail(t, l); l[7] != "failure" || d["reason"] != reason {
		t.Errorf("got RESULT %q reason %v, want failure %s", l[7], d["reason"], reason)
	}
}

// TestCoreRefusals: --allow-from and --max-connections refuse with a
// connect failure event (docs/format.md §3.4).
func TestCoreRefusals(t *testing.T) {
	t.Run("allow-from", func(t *testing.T) {
		s := startSealog(t, "--allow-from", "10.0.0.0/8")
		wantConnectRefused(t, s, "not_allowed", "client outside --allow-from")
	})
	t.Run("max-connections", func(t *testing.T) {
		s := startSealog(t, "--max-connections", "2")
		// the harness's readiness probe must be gone before we count
		s.WaitSecurity(t, "tls_handshake_failed")
		time.Sleep(100 * time.Millisecond)
		var open []*tls.Conn
		for i := 0; i < 2; i++ {
			c := s.Dial(t)
			c.Write(bbOctet(bbMsg(fmt.Sprintf("held %d", i))))
			bbWaitFrom(t, s, c.LocalAddr().String(), 1)
			open = append(open, c)
		}
		wantConnectRefused(t, s, "too_many_connections", "third connection with --max-connections 2")
		closeAndDrain(open[0])
		bbSec(t, s, open[0].LocalAddr().String(), "disconnect")
		// A slot is free again once the server has finished with the closed
		// connection; its disconnect event may come just before that.
		var c *tls.Conn
		for deadline := time.Now().Add(5 * time.Second); ; {
			cfg := s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey)
			var err error
			c, err = tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", s.Addr, cfg)
			if err == nil {
				if _, err = c.Write(bbOctet(bbMsg("after a slot freed"))); err == nil {
					break
				}
				c.Close()
			}
			if time.Now().After(deadline) {
				t.Fatalf("no connection 5s after one of two closed (--max-connections 2): %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		bbWaitFrom(t, s, c.LocalAddr().String(), 1)
		closeAndDrain(c)
		closeAndDrain(open[1])
	})
}
