package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSendMessages(t *testing.T) {
	s := serveDev(t)
	s.send(t, "", "hello one", "hello two").wantCode(t, 0)
	s.send(t, "from stdin\n").wantCode(t, 0)
	s.stop().wantCode(t, 0)
	events := readGlob(t, s.dir, "events-*.log")
	for _, want := range []string{"hello one", "hello two", "from stdin"} {
		if !strings.Contains(events, want) {
			t.Errorf("%q not in the events files", want)
		}
	}
}

func TestSendUsage(t *testing.T) {
	runCmd(t, "", "send", "--severity", "loud", "x").wantCode(t, 2)
	runCmd(t, "", "send", "--framing", "cr", "x").wantCode(t, 2)
	runCmd(t, "", "send", "--connections", "0", "--count", "1").wantCode(t, 2)
}

// TestSendRefused: a server that refuses the client (mutual TLS without a
// client certificate, or with one it does not accept) makes send exit 1
// naming the server and the alert, also when TLS 1.3 delivers the alert
// after the client's handshake is done; load mode then counts nothing
// as sent.
func TestSendRefused(t *testing.T) {
	s := serveDev(t)
	ca := filepath.Join(s.dir, "pki", "ca.pem")
	serverCert, serverKey := filepath.Join(s.dir, "pki", "server.pem"), filepath.Join(s.dir, "pki", "server-key.pem")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no certificate, TLS 1.3", []string{"--ca", ca, "hello"}, "certificate required"},
		{"no certificate, stdin", []string{"--ca", ca}, "certificate required"},
		{"server certificate as client, TLS 1.3", []string{"--ca", ca, "--cert", serverCert, "--key", serverKey, "hello"}, "bad certificate"},
		{"no certificate, load", []string{"--ca", ca, "--count", "500", "--connections", "2"}, "certificate required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCmd(t, "one\ntwo\n", append([]string{"send", "--server", s.addr}, c.args...)...)
			r.wantCode(t, 1)
			if !strings.Contains(r.stderr, s.addr) || !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr does not name the server %s and %q:\n%s", s.addr, c.want, r.stderr)
			}
			if strings.Contains(r.stderr, "messages=") && !strings.Contains(r.stderr, "messages=0 bytes=0 ") {
				t.Errorf("load mode counts messages the server refused:\n%s", r.stderr)
			}
		})
	}
	s.stop().wantCode(t, 0)
	if events := readGlob(t, s.dir, "events-*.log"); strings.Contains(events, "hello") {
		t.Errorf("a refused client's message was written:\n%s", events)
	}
}

// TestSendLoadCounts: load mode reports what the server took.
func TestSendLoadCounts(t *testing.T) {
	s := serveDev(t)
	r := s.send(t, "", "--count", "300", "--connections", "3")
	r.wantCode(t, 0)
	if !strings.Contains(r.stderr, "messages=300 ") || strings.Contains(r.stderr, "unconfirmed") {
		t.Errorf("summary: %s", r.stderr)
	}
}

// TestSendRefusedBySource: a server that refuses the source address
// (--allow-from) closes before TLS, or resets a plain connection; send
// exits 1 naming the server either way.
func TestSendRefusedBySource(t *testing.T) {
	s := serveDev(t, "--allow-from", "192.0.2.0/24", "--listen-tcp", "127.0.0.1:0")
	m := regexp.MustCompile(`tcp (127\.0\.0\.1:[0-9]+) unencrypted`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no plain listener in:\n%s", s.stderr.String())
	}
	for _, args := range [][]string{
		{"send", "--dev", "--dir", s.dir, "--server", s.addr, "refused tls"},
		{"send", "--plain", "--server", m[1], "refused plain"},
	} {
		r := runCmd(t, "", args...)
		r.wantCode(t, 1)
		if server := args[len(args)-2]; !strings.Contains(r.stderr, server) {
			t.Errorf("%v: stderr does not name %s: %s", args, server, r.stderr)
		}
	}
}
