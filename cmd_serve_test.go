package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeListeningLine: once listeners are bound, serve says so on
// stderr, one line naming each.
func TestServeListeningLine(t *testing.T) {
	s := serveDev(t, "--listen-tcp", "127.0.0.1:0")
	line := ""
	for _, l := range strings.Split(s.stderr.String(), "\n") {
		if strings.HasPrefix(l, "sealog: listening: ") {
			if line != "" {
				t.Fatalf("two listening lines:\n%s", s.stderr.String())
			}
			line = l
		}
	}
	if !strings.Contains(line, "tls "+s.addr) || !strings.Contains(line, ", tcp 127.0.0.1:") {
		t.Errorf("listening line %q does not name both listeners", line)
	}
	s.stop().wantCode(t, 0)
}

// TestServeConfigErrors: configuration mistakes exit 2 with one sentence
// naming the flag, before anything listens or the --dev banner shows.
func TestServeConfigErrors(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	runCmd(t, "", "keygen", "--out", keys).wantCode(t, 0)
	devDir := filepath.Join(t.TempDir(), "dev")
	// A --dev run makes the certificates the other cases use.
	s := serveDevDir(t, devDir)
	s.stop().wantCode(t, 0)
	cert, key := filepath.Join(devDir, "pki", "server.pem"), filepath.Join(devDir, "pki", "server-key.pem")
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	base := func(extra ...string) []string {
		return append([]string{"serve", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key,
			"--dir", filepath.Join(t.TempDir(), "logs"), "--seal-key", filepath.Join(keys, "seal.key"), "--no-chattr"}, extra...)
	}
	for _, c := range []struct {
		name string
		args []string
		want []string // all in stderr
	}{
		{"empty --listen", base("--listen", ""), []string{"--listen is empty"}},
		{"empty --listen-tcp", base("--listen-tcp", ""), []string{"--listen-tcp is empty"}},
		{"empty --listen-udp", base("--listen-udp", ""), []string{"--listen-udp is empty"}},
		{"blank --listen-udp", base("--listen-udp", " "), []string{"--listen-udp is empty"}},
		{"empty --allow-from", base("--allow-from", ""), []string{"--allow-from is empty"}},
		{"port out of range", base("--listen", "127.0.0.1:99999"), []string{"--listen", "127.0.0.1:99999", "0 to 65535"}},
		{"no port", base("--listen-udp", "127.0.0.1"), []string{"--listen-udp", "HOST:PORT"}},
		{"empty port", base("--listen-tcp", "127.0.0.1:"), []string{"--listen-tcp", "0 to 65535"}},
		{"--dir through a file", base("--dir", filepath.Join(file, "logs")), []string{"--dir", "cannot create it"}},
		{"missing seal key", base("--seal-key", filepath.Join(keys, "none.key")), []string{"--seal-key", "does not exist", "sealog keygen"}},
		{"verify key as seal key", base("--seal-key", filepath.Join(keys, "verify.key")), []string{"--seal-key", "is the verify key"}},
		{"missing --tls-cert", base("--tls-cert", "/nonexistent/cert.pem"), []string{"--tls-cert /nonexistent/cert.pem"}},
		{"missing --tls-key", base("--tls-key", "/nonexistent/key.pem"), []string{"--tls-key /nonexistent/key.pem"}},
		{"--max-connections abc", base("--max-connections", "abc"), []string{`--max-connections "abc" is not a whole number`}},
		{"empty --listen-relp", base("--listen-relp", ""), []string{"--listen-relp is empty"}},
		{"empty --listen-relp-tcp", base("--listen-relp-tcp", ""), []string{"--listen-relp-tcp is empty"}},
		{"empty --proxy-from", base("--proxy-from", ""), []string{"--proxy-from is empty"}},
		{"bad --proxy-from", base("--proxy-from", "balancer"), []string{"--proxy-from", "balancer"}},
		{"empty --tls-crl", base("--tls-crl", ""), []string{"--tls-crl is empty"}},
		{"--tls-crl without a client CA", base("--tls-crl", file), []string{"--tls-crl needs --tls-client-ca"}},
		{"--tls-crl not a CRL", base("--tls-client-ca", cert, "--tls-crl", file), []string{"--tls-crl " + file, "is not a CRL"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCmd(t, "", c.args...)
			r.wantCode(t, 2)
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
				t.Errorf("more than one line:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "listening") || strings.Contains(r.stderr, "strconv") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
		})
	}
	// The seal key's path is said once, not three times.
	r := runCmd(t, "", base("--seal-key", filepath.Join(keys, "none.key"))...)
	if n := strings.Count(r.stderr, "none.key"); n != 1 {
		t.Errorf("the missing key's path appears %d times:\n%s", n, r.stderr)
	}
}

// TestServeUnwritableDir: a --dir sealog cannot write is a configuration
// error that says so, not a complaint about chattr.
func TestServeUnwritableDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Root writes through modes; an immutable directory stops it.
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("needs chattr +i on %s (root bypasses modes): %v %s", dir, err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
	} else if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "", "serve", "--dev", "--dir", dir, "--listen", "127.0.0.1:0")
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "--dir "+dir+" is not writable") || strings.Contains(r.stderr, "chattr") || strings.Contains(r.stderr, "CAP_LINUX_IMMUTABLE") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestServeDevBannerAfterChecks: --dev prints its banner only when the
// server is about to serve, and makes no files for flags that are wrong.
func TestServeDevBannerAfterChecks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	r := runCmd(t, "", "serve", "--dev", "--dir", dir, "--max-connections", "0")
	r.wantCode(t, 2)
	if strings.Contains(r.stderr, "sealog --dev") {
		t.Errorf("banner before a usage error:\n%s", r.stderr)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("--dev made %s for a command line it refused", dir)
	}
	r = runCmd(t, "", "serve", "--dev", "--dir", dir, "--listen", "127.0.0.1:0", "--seal-key", filepath.Join(dir, "none.key"))
	r.wantCode(t, 2)
	if strings.Contains(r.stderr, "sealog --dev") {
		t.Errorf("banner before a key error:\n%s", r.stderr)
	}
	s := serveDevDir(t, filepath.Join(t.TempDir(), "dev2"))
	out := s.stderr.String()
	if b, l := strings.Index(out, "sealog --dev:"), strings.Index(out, "sealog: listening:"); b < 0 || b > l {
		t.Errorf("banner missing or after the listening line:\n%s", out)
	}
}

// TestServeLifecycleOnStderr: start (the listening line), recovery of a
// file a crash left unsealed, stopping and stopped are on stderr, where
// the journal keeps them, as well as in the security log.
func TestServeLifecycleOnStderr(t *testing.T) {
	s := serveDev(t)
	r := s.stop()
	r.wantCode(t, 0)
	for _, want := range []string{"sealog: listening: tls ", "sealog: stopping: ", "sealog: stopped: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Index(r.stderr, "sealog: stopping") > strings.Index(r.stderr, "sealog: stopped") {
		t.Errorf("stopped before stopping:\n%s", r.stderr)
	}

	// A file as a crash leaves it: never sealed, its last line torn.
	const orphan = "events-20200101T000000.000Z.log"
	if err := os.WriteFile(filepath.Join(s.dir, orphan), []byte("a whole line\na torn li"), 0o640); err != nil {
		t.Fatal(err)
	}
	s2 := serveDevDir(t, s.dir)
	out := s2.stderr.String()
	if !strings.Contains(out, "sealog: recovered "+orphan) || !strings.Contains(out, "torn") {
		t.Errorf("recovery not on stderr:\n%s", out)
	}
	if strings.Index(out, "recovered") > strings.Index(out, "listening") {
		t.Errorf("recovery reported after the listening line:\n%s", out)
	}
	s2.stop().wantCode(t, 0)
	if sec := readGlob(t, s.dir, "security-*.log"); !strings.Contains(sec, "\trecover\tsuccess\t") || !strings.Contains(sec, orphan) {
		t.Errorf("no recover event for %s in the security log", orphan)
	}
}
