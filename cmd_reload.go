package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/sealog/sealog/systemd"
)

// runReload is the unit's ExecReload: it signals the serving process and
// returns only once that process has reloaded, so `systemctl reload
// sealog` is done when the new certificate is in use (systemd/reload.go
// says how the answer is observed).
func runReload(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reload", "reload [--pid PID] [--run-dir DIR] [--timeout DUR]", stdout)
	pidFlag := fs.String("pid", os.Getenv("MAINPID"), "the `sealog serve` process (default $MAINPID, as systemd sets it for ExecReload)")
	runDir := fs.String("run-dir", systemd.RuntimeDir(), "its runtime directory, where it acknowledges reloads (default $RUNTIME_DIRECTORY)")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the acknowledgement")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("reload: unexpected argument %q", fs.Arg(0))
	}
	pid, err := strconv.Atoi(*pidFlag)
	if err != nil || pid <= 1 {
		return usageErrorf("reload: --pid %q is not a process id (run under systemd, or give --pid)", *pidFlag)
	}
	if *runDir == "" {
		return usageErrorf("reload: --run-dir is required outside systemd (RuntimeDirectory= sets $RUNTIME_DIRECTORY)")
	}
	if *timeout <= 0 {
		return usageErrorf("reload: --timeout must be positive, not %v", *timeout)
	}
	st, err := systemd.RequestReload(pid, *runDir, *timeout)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if !st.OK {
		return fmt.Errorf("reload %d failed, the old certificates are kept: %s", st.Gen, st.Reason)
	}
	fmt.Fprintf(stdout, "sealog: reload %d done in %v\n", st.Gen, time.Duration(st.Done-st.Start).Round(time.Microsecond))
	return nil
}
