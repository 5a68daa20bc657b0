package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProveUsage: prove and verify-proof name the flag or file at fault
// and exit 2 for usage mistakes, 1 for a proof that does not check.
func TestProveUsage(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	runCmd(t, "", "keygen", "--out", keys).wantCode(t, 0)
	pub := filepath.Join(keys, "log.pub")
	dir := t.TempDir()
	garbage := filepath.Join(t.TempDir(), "proof.json")
	os.WriteFile(garbage, []byte(`{"version":1,"unknown":2}`), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"prove", "--dir", dir}, 2, "event ID"},
		{[]string{"prove", "--dir", filepath.Join(dir, "missing"), "x"}, 2, "--dir"},
		{[]string{"prove", "--dir", dir, "x"}, 2, "--checkpoint"},
		{[]string{"prove", "--dir", dir, "--checkpoint", pub, "x"}, 1, "checkpoint"},
		{[]string{"verify-proof", garbage}, 2, "--log-pub"},
		{[]string{"verify-proof", "--log-pub", filepath.Join(keys, "log.key"), garbage}, 2, "--log-pub"},
		{[]string{"verify-proof", "--log-pub", pub, filepath.Join(dir, "none.json")}, 2, "none.json"},
		{[]string{"verify-proof", "--log-pub", pub, garbage}, 1, "malformed proof"},
		{[]string{"verify", dir}, 2, "--log-pub"},
		{[]string{"verify", "--verify-key", filepath.Join(keys, "verify.key"), "--checkpoint", pub, dir}, 2, "--log-pub"},
		{[]string{"verify", "--log-pub", pub, "--checkpoint", filepath.Join(dir, "nope"), dir}, 2, "--checkpoint"},
	} {
		r := runCmd(t, "", tc.args...)
		r.wantCode(t, tc.code)
		if !strings.Contains(r.stderr, tc.say) {
			t.Errorf("%v: stderr %q does not name %q", tc.args, r.stderr, tc.say)
		}
	}
}
