package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// TestVerifyProgress: on a terminal, verify shows its progress (files and
// bytes done) on stderr and clears it; when stderr is not a terminal it
// prints nothing there.
func TestVerifyProgress(t *testing.T) {
	s := serveDev(t)
	s.send(t, "", "hello progress").wantCode(t, 0)
	s.stop().wantCode(t, 0)
	key := filepath.Join(s.dir, "keys", "verify.key")

	r := runCmd(t, "", "verify", "--verify-key", key, s.dir)
	r.wantCode(t, 0)
	if r.stderr != "" {
		t.Errorf("got %q on stderr that is no terminal, want nothing", r.stderr)
	}
	if !strings.Contains(r.stdout, "verified "+s.dir) || !strings.Contains(r.stdout, "checks: MACs with the verify key") {
		t.Errorf("no summary on success:\n%s", r.stdout)
	}

	ptmx, pts, err := openPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"verify", "--verify-key", key, s.dir}, strings.NewReader(""), &out, pts)
	pts.Close()
	if err != nil {
		t.Fatalf("verify on a terminal: %v\n%s", err, out.String())
	}
	ptmx.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(ptmx)
	if !bytes.Contains(got, []byte("verify: files 0/")) || !bytes.HasSuffix(got, []byte("\r\x1b[K")) {
		t.Fatalf("terminal got %q, want a progress line, then the line cleared", got)
	}
}

// openPTY opens a pseudo-terminal pair (/dev/ptmx and its /dev/pts/N).
func openPTY() (ptmx, pts *os.File, err error) {
	ptmx, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		return nil, nil, err
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		ptmx.Close()
		return nil, nil, err
	}
	pts, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		return nil, nil, err
	}
	return ptmx, pts, nil
}
