package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sealog/sealog/internal/syncbuf"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/writer"
)

// panicMarker in a frame makes testHookFrame panic, with a value that
// carries client bytes (a control character and non-ASCII), so the test
// also sees that such a value cannot break the security line format.
const panicMarker = "PANIC-NOW"

// lockedBuffer is the server's stderr: written by connection goroutines,
// read by the test.
type lockedBuffer = syncbuf.Buffer

// testConfig is the configuration of a test Server: a fresh key and
// directory, no chattr, and a loopback listener for the caller to name in
// the listener field it serves.
func testConfig(t *testing.T, instance string) (Config, net.Listener) {
	t.Helper()
	keyDir := t.TempDir()
	if err := seal.Keygen(keyDir); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dir = filepath.Join(t.TempDir(), "logs")
	cfg.KeyPath = filepath.Join(keyDir, "seal.key")
	cfg.NoChattr = true
	cfg.Instance = instance
	return cfg, l
}

// panicServer runs a Server on a plain TCP listener on loopback with a
// fresh key and directory.
func panicServer(t *testing.T) (s *Server, addr string, stderr *lockedBuffer, served chan error) {
	t.Helper()
	cfg, l := testConfig(t, "panictest")
	cfg.ListenTCP = []string{l.Addr().String()}
	stderr = &lockedBuffer{}
	s, err := New(cfg, []string{"tcp " + l.Addr().String() + " unencrypted"}, nil, stderr)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	served = make(chan error, 1)
	go func() { served <- s.ServePlain(l) }()
	return s, l.Addr().String(), stderr, served
}

// readLines returns the lines of every file of a stream, split into columns.
func readLines(t *testing.T, dir, prefix string) [][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, prefix+"-*.log"))
	var out [][]string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if strings.HasSuffix(l, "\n") {
				out = append(out, strings.Split(strings.TrimSuffix(l, "\n"), "\t"))
			}
		}
	}
	return out
}

func octet(frames ...string) []byte {
	var b []byte
	for _, f := range frames {
		b = fmt.Appendf(b, "%d %s", len(f), f)
	}
	return b
}

// TestPanicInConnectionIsRecovered makes one connection's goroutine panic
// (ASVS 16.5.4, docs/format.md §5): the panic becomes an
// internal_error security event, its stack goes to stderr and not into
// the file, that connection alone is closed, frames it sent before the
// panic are kept, and connections open before and after it are served.
func TestPanicInConnectionIsRecovered(t *testing.T) {
	testHookFrame = func(data []byte) {
		if i := bytes.Index(data, []byte(panicMarker)); i >= 0 {
			panic("hook: " + string(data[i:]))
		}
	}
	defer func() { testHookFrame = nil }()
	baseline := runtime.NumGoroutine()

	s, addr, stderr, served := panicServer(t)
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := dial() // open before the panic, used after it
	defer before.Close()
	if _, err := before.Write(octet("<13>1 - h app - - - before-1")); err != nil {
		t.Fatal(err)
	}

	victim := dial()
	defer victim.Close()
	victimPeer := victim.LocalAddr().String()
	// One write: the frame before the panic is in the same batch as the
	// panicking one, so this also checks that the batch is not lost.
	payload := octet("<13>1 - h app - - - victim-kept", "<13>1 - h app - - - "+panicMarker+"\x1b[31m\xff")
	if _, err := victim.Write(payload); err != nil {
		t.Fatal(err)
	}
	// The server closes the victim: a read ends (EOF or reset), not time out.
	victim.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := victim.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("victim connection: got read n=%d err=%v, want it closed by the server", n, err)
	}

	if _, err := before.Write(octet("<13>1 - h app - - - before-2")); err != nil {
		t.Fatal(err)
	}
	after := dial()
	if _, err := after.Write(octet("<13>1 - h app - - - after-1")); err != nil {
		t.Fatal(err)
	}
	closeWait(t, after)
	closeWait(t, before)

	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != ErrServerClosed {
		t.Errorf("ServePlain: got %v, want ErrServerClosed", err)
	}

	// Every frame except the panicking one is an event.
	var msgs []string
	for _, ev := range readLines(t, s.Dir(), "events") {
		if len(ev) != 15 {
			t.Fatalf("event line has %d columns, want 15: %q", len(ev), ev)
		}
		msgs = append(msgs, ev[14])
	}
	for _, want := range []string{"before-1", "victim-kept", "before-2", "after-1"} {
		found := false
		for _, m := range msgs {
			found = found || m == want
		}
		if !found {
			t.Errorf("event %q missing; events: %q", want, msgs)
		}
	}
	for _, m := range msgs {
		if strings.Contains(m, panicMarker) {
			t.Errorf("the panicking frame was written as an event: %q", m)
		}
	}

	// The security event: internal_error, RESULT error, PEER the victim,
	// DETAIL error naming the panic; the line stays printable ASCII.
	secFiles, _ := filepath.Glob(filepath.Join(s.Dir(), "security-*.log"))
	var internal [][]string
	for _, f := range secFiles {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte("goroutine ")) || bytes.Contains(data, []byte("panic_test.go")) {
			t.Errorf("%s holds a stack trace; it belongs on stderr only", filepath.Base(f))
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if err := writer.CheckLine(sc.Bytes(), 9); err != nil {
				t.Errorf("security line breaks the format: %v: %q", err, sc.Text())
			}
		}
	}
	for _, l := range readLines(t, s.Dir(), "security") {
		if l[6] == "internal_error" {
			internal = append(internal, l)
		}
	}
	if len(internal) != 1 {
		t.Fatalf("got %d internal_error events, want 1; stderr:\n%s", len(internal), stderr.String())
	}
	ev := internal[0]
	if ev[3] != victimPeer || ev[7] != "error" {
		t.Errorf("internal_error: got peer %q result %q, want %q error", ev[3], ev[7], victimPeer)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(ev[8]), &d); err != nil {
		t.Fatalf("internal_error DETAIL %q: %v", ev[8], err)
	}
	if e, _ := d["error"].(string); !strings.Contains(e, "hook: "+panicMarker) {
		t.Errorf("internal_error DETAIL error: got %q, want it to name the panic", d["error"])
	}

	// The stack on stderr (the technical error output).
	out := stderr.String()
	for _, want := range []string{"sealog: panic serving " + victimPeer, "goroutine ", "panic_test.go", "readFrames"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}

	// The panicking goroutine was untracked like any other.
	if n := s.active.Load(); n != 0 {
		t.Errorf("active connections after stop: got %d, want 0", n)
	}
	waitGoroutines(t, baseline)
}

// closeWait ends a client the careful way (FIN, then read until the
// server closes) so that nothing sent is lost to a reset.
func closeWait(t *testing.T, c net.Conn) {
	t.Helper()
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("waiting for the server to close: %v", err)
	}
	c.Close()
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// waitGoroutines fails unless the goroutine count returns to baseline
// (STYLE 14: network tests carry a leak check).
func waitGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines: got %d, want at most %d\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
