package systemd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const reloadHelperEnv = "SEALOG_SYSTEMD_RELOAD_HELPER"

// TestSystemdReloadHelperProcess is not a test: it is the serving side of
// the reload tests. It takes SIGHUP as serve does and acknowledges each
// reload after a delay, failing it when asked, until stdin closes.
func TestSystemdReloadHelperProcess(t *testing.T) {
	mode := os.Getenv(reloadHelperEnv)
	if mode == "" {
		t.Skip("helper process for the reload tests")
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ack := NewReloadAck(RuntimeDir())
	fmt.Println("ready")
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}()
	for range hup {
		if mode == "mute" {
			continue
		}
		ack.Begin()
		time.Sleep(300 * time.Millisecond) // a slow certificate load
		var err error
		if mode == "fail" {
			err = errors.New("open /etc/sealog/server.pem:\nno such file")
		}
		if err := ack.Done(err); err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
	}
}

func startReloadHelper(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSystemdReloadHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), reloadHelperEnv+"="+mode, "RUNTIME_DIRECTORY="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	l, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || l != "ready\n" {
		t.Fatalf("helper said %q, %v", l, err)
	}
	return cmd
}

// RequestReload returns only after the process has finished the reload
// it asked for, not when the signal was sent; and each call waits for its
// own reload, not the answer to an earlier one.
func TestSystemdRequestReload(t *testing.T) {
	dir := t.TempDir()
	cmd := startReloadHelper(t, "ok", dir)
	for i := uint64(1); i <= 3; i++ {
		t0 := time.Now()
		st, err := RequestReload(cmd.Process.Pid, dir, 20*time.Second)
		el := time.Since(t0)
		if err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if !st.OK || st.Gen != i {
			t.Errorf("reload %d: got %+v, want generation %d ok", i, st, i)
		}
		if el < 300*time.Millisecond {
			t.Errorf("reload %d: returned after %v, before the helper's 300ms reload finished", i, el)
		}
		if d := time.Duration(st.Done - st.Start); d < 300*time.Millisecond {
			t.Errorf("reload %d: START..DONE %v, want at least the helper's 300ms", i, d)
		}
	}
}

func TestSystemdRequestReloadFailed(t *testing.T) {
	dir := t.TempDir()
	cmd := startReloadHelper(t, "fail", dir)
	st, err := RequestReload(cmd.Process.Pid, dir, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := "open /etc/sealog/server.pem: no such file"
	if st.OK || st.Reason != want {
		t.Errorf("got %+v, want failed with reason %q on one line", st, want)
	}
}

// A process that takes the signal but never answers (a serve started
// without a runtime directory, or an older sealog) times out, even when
// an old answer is in the file: that answer is from before the request.
func TestSystemdRequestReloadNoAnswer(t *testing.T) {
	dir := t.TempDir()
	ack := NewReloadAck(dir)
	ack.Begin()
	if err := ack.Done(nil); err != nil {
		t.Fatal(err)
	}
	cmd := startReloadHelper(t, "mute", dir)
	t0 := time.Now()
	_, err := RequestReload(cmd.Process.Pid, dir, 500*time.Millisecond)
	if !errors.Is(err, ErrReloadTimeout) {
		t.Fatalf("got %v, want ErrReloadTimeout", err)
	}
	if el := time.Since(t0); el < 500*time.Millisecond || el > 5*time.Second {
		t.Errorf("gave up after %v, want about 500ms", el)
	}
}

func TestSystemdRequestReloadNoProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("true:", err)
	}
	_, err := RequestReload(cmd.Process.Pid, t.TempDir(), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "SIGHUP") {
		t.Errorf("got %v, want an error sending SIGHUP to a gone process", err)
	}
	for _, pid := range []int{0, 1, -5} {
		if _, err := RequestReload(pid, t.TempDir(), time.Second); err == nil {
			t.Errorf("pid %d: got nil error, want a refusal (never signal init or a group)", pid)
		}
	}
}

func TestSystemdReloadAckNil(t *testing.T) {
	t.Setenv("RUNTIME_DIRECTORY", "")
	a := NewReloadAck(RuntimeDir())
	a.Begin()
	if a != nil || a.Done(nil) != nil {
		t.Errorf("got %v, want a nil ReloadAck that does nothing", a)
	}
	t.Setenv("RUNTIME_DIRECTORY", "/run/sealog:/run/other")
	if got := RuntimeDir(); got != "/run/sealog" {
		t.Errorf("got RuntimeDir %q, want the first of $RUNTIME_DIRECTORY", got)
	}
}

// An acknowledgement that cannot be written is an error for serve to
// report, not a crash.
func TestSystemdReloadAckUnwritable(t *testing.T) {
	a := NewReloadAck(filepath.Join(t.TempDir(), "missing"))
	a.Begin()
	if err := a.Done(nil); err == nil || !strings.Contains(err.Error(), "reload acknowledgement") {
		t.Errorf("got %v, want a reload acknowledgement error", err)
	}
}

var reloadStatusTests = []struct {
	line string
	want *ReloadStatus // nil: rejected
}{
	{"1 10 20 ok", &ReloadStatus{Gen: 1, Start: 10, Done: 20, OK: true}},
	{"7 10 10 ok\n", &ReloadStatus{Gen: 7, Start: 10, Done: 10, OK: true}},
	{"2 10 20 failed bad certificate: x509", &ReloadStatus{Gen: 2, Start: 10, Done: 20, Reason: "bad certificate: x509"}},
	{"0 10 20 ok", nil},
	{"1 20 10 ok", nil},
	{"1 -1 10 ok", nil},
	{"1 10 20 ok extra", nil},
	{"1 10 20 failed", nil},
	{"1 10 20 failed ", nil},
	{"1 10 20 maybe", nil},
	{"1 10 20", nil},
	{"", nil},
	{"1 10 20 ok\n2 30 40 ok", nil},
	{"x 10 20 ok", nil},
}

func TestSystemdParseReloadStatus(t *testing.T) {
	for _, tt := range reloadStatusTests {
		got, err := ParseReloadStatus(tt.line)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%q: got %+v, want ErrBadReloadStatus", tt.line, got)
			}
			continue
		}
		if err != nil || got != *tt.want {
			t.Errorf("%q: got %+v, %v; want %+v", tt.line, got, err, *tt.want)
		}
	}
}

// FuzzParseReloadStatus checks that whatever parses formats back to the
// same status.
func FuzzParseReloadStatus(f *testing.F) {
	for _, tt := range reloadStatusTests {
		f.Add(tt.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, err := ParseReloadStatus(line)
		if err != nil {
			return
		}
		again, err := ParseReloadStatus(s.String())
		if err != nil || again != s {
			t.Fatalf("%q parsed to %+v, which formats to %q and parses to %+v, %v", line, s, s.String(), again, err)
		}
	})
}
