package tests

// The command line from the outside (docs/format.md §1): exit statuses
// and messages.

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCoreCommandLine: exit statuses and messages of docs/format.md §1.
func TestCoreCommandLine(t *testing.T) {
	p := newPKI(t)
	keyDir := t.TempDir()
	if _, e, code := bbRun(t, "keygen", "--out", keyDir); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, e)
	}
	base := func(extra ...string) []string {
		a := []string{"serve", "--listen", freePort(t), "--dir", filepath.Join(t.TempDir(), "logs"),
			"--seal-key", filepath.Join(keyDir, "seal.key"), "--tls-cert", p.ServerCert, "--tls-key", p.ServerKey,
			"--tls-client-ca", p.CAFile, "--no-chattr"}
		return append(a, extra...)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		mention  string // stderr must contain this
		wantOut  string // stdout must contain this
		noStderr bool
	}{
		{"no subcommand", nil, 2, "", "", false},
		{"unknown subcommand", []string{"frobnicate"}, 2, "frobnicate", "", false},
		{"max-message-size below 10240", base("--max-message-size", "1000"), 2, "--max-message-size", "", false},
		{"unknown flag", base("--no-such-flag"), 2, "no-such-flag", "", false},
		{"missing --tls-cert file", base("--tls-cert", "/nonexistent/server-cert.pem"), 2, "/nonexistent/server-cert.pem", "", false},
		{"missing --tls-key file", base("--tls-key", "/nonexistent/server-key.pem"), 2, "/nonexistent/server-key.pem", "", false},
		{"missing --tls-client-ca file", base("--tls-client-ca", "/nonexistent/ca.pem"), 2, "/nonexistent/ca.pem", "", false},
		{"missing sealing key", base("--seal-key", "/nonexistent/seal.key"), 2, "/nonexistent/seal.key", "", false},
		{"bad --tls-min-version", base("--tls-min-version", "1.1"), 2, "--tls-min-version", "", false},
		{"bad --allow-from", base("--allow-from", "not-a-cidr"), 2, "--allow-from", "", false},
		{"verify without --verify-key", []string{"verify", t.TempDir()}, 2, "--verify-key", "", false},
		{"version", []string{"version"}, 0, "", runtime.Version(), true},
		{"-h", []string{"-h"}, 0, "", "serve", false},
		{"--version", []string{"--version"}, 0, "", runtime.Version(), true},
		{"empty --listen", base("--listen", ""), 2, "--listen is empty", "", false},
		{"empty --listen-udp", base("--listen-udp", ""), 2, "--listen-udp is empty", "", false},
		{"--listen port out of range", base("--listen", "127.0.0.1:99999"), 2, "0 to 65535", "", false},
		{"--listen-udp without a port", base("--listen-udp", "127.0.0.1"), 2, "--listen-udp", "", false},
		{"--seal-key missing", base("--seal-key", "/nonexistent/seal.key"), 2, "sealog keygen", "", false},
		{"--max-connections abc", base("--max-connections", "abc"), 2, `--max-connections "abc" is not a whole number`, "", false},
		{"export of a directory", []string{"export", t.TempDir()}, 2, "is a directory", "", false},
	}
	for _, sub := range []string{"serve", "send", "keygen", "verify", "export", "version"} {
		cases = append(cases, struct {
			name     string
			args     []string
			code     int
			mention  string
			wantOut  string
			noStderr bool
		}{sub + " -h", []string{sub, "-h"}, 0, "", "usage", false})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := bbRun(t, tc.args...)
			if code != tc.code {
				t.Fatalf("got exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.mention) {
				t.Errorf("got stderr %q, want it to name %q", errOut, tc.mention)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("got stdout %q, want it to contain %q", out, tc.wantOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stack trace on stderr: %s", errOut)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(errOut), "\n") > 15 {
				t.Errorf("error is not one clear sentence: %s", errOut)
			}
			if tc.name == "version" && (!strings.Contains(out, "sealog") || !strings.Contains(out, "commit")) {
				t.Errorf("version: got %q, want version, Go version and commit", out)
			}
		})
	}
}
