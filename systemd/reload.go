package systemd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A reload that systemctl can wait for.
//
// systemd 252 has no way for a Type=notify service to say "reload done"
// (RELOADING=1 … READY=1 is honoured only by Type=notify-reload, systemd
// 253 and later), and `ExecReload=kill -HUP $MAINPID` returns as soon as
// the signal is sent, so `systemctl reload` would return before sealog has
// read the new certificate, and a script that reloads and then connects
// could still be served the old one.
//
// So `serve`, run by systemd with RuntimeDirectory= (which sets
// $RUNTIME_DIRECTORY), writes one line to $RUNTIME_DIRECTORY/reload after
// each SIGHUP it handles:
//
//	GEN START DONE ok
//	GEN START DONE failed REASON...
//
// GEN counts the reloads of this process from 1; START and DONE are
// CLOCK_MONOTONIC nanoseconds (one clock for every process of the host,
// unaffected by changes to the wall clock) at which the reload began and
// ended. The file is replaced by rename, so a reader sees a whole line.
//
// `sealog reload` (the unit's ExecReload) notes the monotonic time T, sends
// SIGHUP to $MAINPID and waits until the file shows a reload with
// START ≥ T: that reload read the certificate files after the command was
// given, whatever other SIGHUPs came before. It exits 0 when that reload
// succeeded, 1 when it failed (the old certificates are kept) or no
// answer came in time.

// ReloadFile is the name of the acknowledgement file in the runtime
// directory.
const ReloadFile = "reload"

// ReloadStatus is one line of the acknowledgement file.
type ReloadStatus struct {
	Gen         uint64
	Start, Done int64 // CLOCK_MONOTONIC nanoseconds
	OK          bool
	Reason      string // why it failed; empty when OK
}

// String formats s as the file's line, without the newline.
func (s ReloadStatus) String() string {
	if s.OK {
		return fmt.Sprintf("%d %d %d ok", s.Gen, s.Start, s.Done)
	}
	// One line: the reason comes from an error message, which may span
	// several.
	reason := strings.Join(strings.Fields(s.Reason), " ")
	return fmt.Sprintf("%d %d %d failed %s", s.Gen, s.Start, s.Done, reason)
}

// ErrBadReloadStatus is returned for a file that is not one status line.
var ErrBadReloadStatus = errors.New("not a reload status line")

// ParseReloadStatus parses one line as written by ReloadStatus.String.
func ParseReloadStatus(line string) (ReloadStatus, error) {
	line = strings.TrimSuffix(line, "\n")
	f := strings.SplitN(line, " ", 5)
	if len(f) < 4 || strings.ContainsAny(line, "\n\r") {
		return ReloadStatus{}, ErrBadReloadStatus
	}
	var s ReloadStatus
	var err error
	if s.Gen, err = strconv.ParseUint(f[0], 10, 64); err != nil || s.Gen == 0 {
		return ReloadStatus{}, ErrBadReloadStatus
	}
	if s.Start, err = strconv.ParseInt(f[1], 10, 64); err != nil || s.Start < 0 {
		return ReloadStatus{}, ErrBadReloadStatus
	}
	if s.Done, err = strconv.ParseInt(f[2], 10, 64); err != nil || s.Done < s.Start {
		return ReloadStatus{}, ErrBadReloadStatus
	}
	switch {
	case f[3] == "ok" && len(f) == 4:
		s.OK = true
	case f[3] == "failed" && len(f) == 5 && f[4] != "" && strings.Join(strings.Fields(f[4]), " ") == f[4]:
		s.Reason = f[4]
	default:
		return ReloadStatus{}, ErrBadReloadStatus
	}
	return s, nil
}

// Monotonic returns CLOCK_MONOTONIC in nanoseconds.
func Monotonic() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		// Cannot happen on Linux; a zero makes every waiter time out
		// rather than accept a stale answer.
		return 0
	}
	return ts.Nano()
}

// RuntimeDir returns the first directory of $RUNTIME_DIRECTORY (systemd
// joins several with ':'), or "".
func RuntimeDir() string {
	d, _, _ := strings.Cut(os.Getenv("RUNTIME_DIRECTORY"), ":")
	return d
}

// ReloadAck writes the acknowledgement file for a serving process.
// Begin and Done are called by the one goroutine that handles SIGHUP, in
// that order for each reload; the zero value and nil do nothing, so a
// sealog started without a runtime directory needs no special case.
type ReloadAck struct {
	dir   string
	gen   uint64
	start int64
}

// NewReloadAck returns an acknowledger writing into dir, or nil for "".
func NewReloadAck(dir string) *ReloadAck {
	if dir == "" {
		return nil
	}
	return &ReloadAck{dir: dir}
}

// Begin notes that a reload starts now.
func (a *ReloadAck) Begin() {
	if a == nil {
		return
	}
	a.start = Monotonic()
}

// Done writes the outcome of the reload begun last (err nil = success).
func (a *ReloadAck) Done(err error) error {
	if a == nil {
		return nil
	}
	a.gen++
	s := ReloadStatus{Gen: a.gen, Start: a.start, Done: Monotonic(), OK: err == nil}
	if err != nil {
		s.Reason = err.Error()
	}
	// A temporary name, then rename: the waiter never reads half a line.
	// The directory is a tmpfs that is gone at stop, so no fsync.
	tmp := filepath.Join(a.dir, "."+ReloadFile+".tmp")
	if werr := os.WriteFile(tmp, []byte(s.String()+"\n"), 0o640); werr != nil {
		return fmt.Errorf("reload acknowledgement: %w", werr)
	}
	if rerr := os.Rename(tmp, filepath.Join(a.dir, ReloadFile)); rerr != nil {
		os.Remove(tmp)
		return fmt.Errorf("reload acknowledgement: %w", rerr)
	}
	return nil
}

// ErrReloadTimeout is returned by RequestReload when no reload begun after
// the request was acknowledged in time.
var ErrReloadTimeout = errors.New("no reload acknowledgement")

// RequestReload sends SIGHUP to pid and waits until the acknowledgement
// file in dir shows a reload that began after the signal was sent, or
// until timeout. It returns that reload's status (which may say it
// failed); an error means no such answer: the signal could not be sent,
// the process is gone, or the time ran out.
func RequestReload(pid int, dir string, timeout time.Duration) (ReloadStatus, error) {
	if pid <= 1 {
		return ReloadStatus{}, fmt.Errorf("no main process to reload (pid %d)", pid)
	}
	path := filepath.Join(dir, ReloadFile)
	t0 := Monotonic()
	if err := unix.Kill(pid, unix.SIGHUP); err != nil {
		return ReloadStatus{}, fmt.Errorf("send SIGHUP to pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			if s, perr := ParseReloadStatus(string(data)); perr == nil && s.Start >= t0 {
				return s, nil
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return ReloadStatus{}, fmt.Errorf("read %s: %w", path, err)
		}
		if err := unix.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return ReloadStatus{}, fmt.Errorf("pid %d exited before it acknowledged the reload", pid)
		}
		if time.Now().After(deadline) {
			return ReloadStatus{}, fmt.Errorf("%w in %s from pid %d within %v (is it `sealog serve` started with RuntimeDirectory=?)", ErrReloadTimeout, path, pid, timeout)
		}
		time.Sleep(wait)
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}
