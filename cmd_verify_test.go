package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyServed verifies what an in-process serve wrote and sealed, and
// fails a chain head it never reached.
func TestVerifyServed(t *testing.T) {
	s := serveDev(t)
	s.send(t, "", "hello verify").wantCode(t, 0)
	s.stop().wantCode(t, 0)
	key := filepath.Join(s.dir, "keys", "verify.key")
	r := runCmd(t, "", "verify", "--key", key, s.dir)
	r.wantCode(t, 0)

	r = runCmd(t, "", "verify", "--key", key, "--head", "999999:"+strings.Repeat("00", 32), s.dir)
	r.wantCode(t, 1)
}

func TestVerifyUsage(t *testing.T) {
	dir := t.TempDir()
	runCmd(t, "", "verify", dir).wantCode(t, 2)
	runCmd(t, "", "verify", "--key", filepath.Join(dir, "none.key"), dir).wantCode(t, 2)
}

// TestVerifyBadHead: a malformed --head names the flag, its value once,
// and the form it wants.
func TestVerifyBadHead(t *testing.T) {
	s := serveDev(t)
	s.stop().wantCode(t, 0)
	r := runCmd(t, "", "verify", "--verify-key", filepath.Join(s.dir, "keys", "verify.key"), "--head", "99:abc", s.dir)
	r.wantCode(t, 2)
	if strings.Count(r.stderr, "99:abc") != 1 || !strings.Contains(r.stderr, "--head") || !strings.Contains(r.stderr, "SEQ:MAC") {
		t.Errorf("stderr: %q", r.stderr)
	}
}
