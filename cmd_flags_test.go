package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagRenames: --seal-key, --verify-key and send's --tls-key are the
// names; --key still works for each, and giving both spellings is a usage
// error rather than one silently winning.
func TestFlagRenames(t *testing.T) {
	s := serveDev(t)
	dev := func(name string) string { return filepath.Join(s.dir, "pki", name) }
	for _, keyFlag := range []string{"--tls-key", "--key"} {
		r := runCmd(t, "", "send", "--server", s.addr, "--ca", dev("ca.pem"), "--cert", dev("client.pem"), keyFlag, dev("client-key.pem"), "via "+keyFlag)
		r.wantCode(t, 0)
	}
	r := runCmd(t, "", "send", "--server", s.addr, "--ca", dev("ca.pem"), "--cert", dev("client.pem"),
		"--tls-key", dev("client-key.pem"), "--key", dev("client-key.pem"), "both")
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "--tls-key") || !strings.Contains(r.stderr, "--key") {
		t.Errorf("both spellings: %q", r.stderr)
	}
	s.stop().wantCode(t, 0)
	events := readGlob(t, s.dir, "events-*.log")
	for _, want := range []string{"via --tls-key", "via --key"} {
		if !strings.Contains(events, want) {
			t.Errorf("%q not written", want)
		}
	}

	verifyKey := filepath.Join(s.dir, "keys", "verify.key")
	runCmd(t, "", "verify", "--verify-key", verifyKey, s.dir).wantCode(t, 0)
	runCmd(t, "", "verify", "--key", verifyKey, s.dir).wantCode(t, 0)
	runCmd(t, "", "verify", "--key", verifyKey, "--verify-key", verifyKey, s.dir).wantCode(t, 2)

	// serve: a fresh seal key under either name.
	for _, keyFlag := range []string{"--seal-key", "--key"} {
		keys := filepath.Join(t.TempDir(), "keys")
		runCmd(t, "", "keygen", "--out", keys).wantCode(t, 0)
		s2 := serveDev(t, keyFlag, filepath.Join(keys, "seal.key"))
		s2.send(t, "", "sealed with "+keyFlag).wantCode(t, 0)
		s2.stop().wantCode(t, 0)
		runCmd(t, "", "verify", "--verify-key", filepath.Join(keys, "verify.key"), s2.dir).wantCode(t, 0)
	}
	sealKey := filepath.Join(s.dir, "keys", "seal.key")
	r = runCmd(t, "", "serve", "--dev", "--dir", t.TempDir(), "--seal-key", sealKey, "--key", sealKey)
	r.wantCode(t, 2)

	// -h shows the new names only.
	for _, c := range []struct{ cmd, want string }{{"serve", "--seal-key"}, {"verify", "--verify-key"}, {"send", "--tls-key"}} {
		r := runCmd(t, "", c.cmd, "-h")
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, c.want) || strings.Contains(r.stdout, "--key ") {
			t.Errorf("%s -h:\n%s", c.cmd, r.stdout)
		}
	}
}

// TestFlagValueErrors: a bad flag value names the flag and what it wants,
// in words, without Go's parser errors.
func TestFlagValueErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--max-connections", "abc"}, `--max-connections "abc" is not a whole number`},
		{[]string{"serve", "--shutdown-grace", "3x"}, `--shutdown-grace "3x" is not a duration`},
		{[]string{"serve", "--max-message-size", "lots"}, `--max-message-size: "lots" is not a size`},
		{[]string{"send", "--rate", "fast"}, `--rate "fast" is not a number`},
		{[]string{"send", "--count", "-"}, `--count "-" is not a whole number`},
	} {
		r := runCmd(t, "", c.args...)
		r.wantCode(t, 2)
		if !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "strconv") || strings.Contains(r.stderr, "time:") {
			t.Errorf("%v: stderr %q, want %q", c.args, r.stderr, c.want)
		}
	}
}
