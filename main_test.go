package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealog/sealog/internal/syncbuf"
)

// result is what one call of run left behind.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd calls run as main does and returns its output and exit status.
func runCmd(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	code := exitCode(err, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// wantCode fails the test unless r exited with code; it prints the output.
func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
}

// syncBuffer is the serve goroutine's stderr, read by the test while
// it runs.
type syncBuffer = syncbuf.Buffer

// served is a `sealog serve` running in this process.
type served struct {
	dir    string // --dir
	addr   string // the first TLS listener
	stderr *syncBuffer
	stop   func() result // cancels serve and returns how it ended
}

var listeningLine = regexp.MustCompile(`sealog: listening: tls ([0-9.]+:[0-9]+)`)

// serveDev starts `sealog serve --dev` on a fresh directory and a free
// port, without chattr, plus any extra flags, and waits for its
// "listening" line. The test's cleanup stops it.
func serveDev(t *testing.T, extra ...string) *served {
	t.Helper()
	return serveDevDir(t, filepath.Join(t.TempDir(), "logs"), extra...)
}

// serveDevDir is serveDev on a given directory.
func serveDevDir(t *testing.T, dir string, extra ...string) *served {
	t.Helper()
	args := append([]string{"serve", "--dev", "--dir", dir, "--listen", "127.0.0.1:0", "--no-chattr"}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{dir: dir, stderr: &syncBuffer{}}
	done := make(chan result, 1)
	go func() {
		var out bytes.Buffer
		err := run(ctx, args, strings.NewReader(""), &out, s.stderr)
		code := exitCode(err, s.stderr)
		done <- result{stdout: out.String(), stderr: s.stderr.String(), code: code}
	}()
	var once sync.Once
	var final result
	wait := func() result {
		once.Do(func() {
			select {
			case final = <-done:
			case <-time.After(2 * time.Minute):
				final = result{code: -1, stderr: "serve did not stop within 2 minutes:\n" + s.stderr.String()}
			}
		})
		return final
	}
	s.stop = func() result { cancel(); return wait() }
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listeningLine.FindStringSubmatch(s.stderr.String()); m != nil {
			s.addr = m[1]
			return s
		}
		select {
		case r := <-done:
			once.Do(func() { final = r })
			t.Fatalf("serve ended before listening: exit %d\n%s", r.code, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not print its listening line:\n%s", s.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// send runs `sealog send --dev` against s.
func (s *served) send(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCmd(t, stdin, append([]string{"send", "--dev", "--dir", s.dir, "--server", s.addr}, args...)...)
}

// readGlob returns the concatenation of every file in dir whose name
// matches glob.
func readGlob(t *testing.T, dir, glob string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	return all.String()
}
