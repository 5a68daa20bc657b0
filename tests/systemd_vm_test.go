package tests

// TestSystemdVM boots a real systemd 252 (Debian 12 under qemu) and runs
// the installed Debian package under it: the README's install steps as
// written, then start with READY=1, TLS receive into append-only files,
// reload (and a bad certificate that keeps the old one), watchdog pings
// and a watchdog restart of a frozen process, socket activation, stop
// and power-off with final seals that verify, a SystemCallLog= run with
// no system call outside the filter, the sandbox's online exposure, and
// apt remove and purge. tests/vm/run.sh does the work (it can be run by
// hand too); this test runs it and reports each of its checks.

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSystemdVM(t *testing.T) {
	if raceBuild {
		t.Skip("the booted-systemd test runs once, in the run without SEALOG_TEST_RACE (it tests the package, not Go code)")
	}
	if testing.Short() {
		t.Skip("boots a machine under qemu (minutes): not with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (debootstrap, mkfs.ext4 -d, debugfs): run as root, as CI does")
	}
	var missing []string
	for _, tool := range []string{"debootstrap", "qemu-system-x86_64", "mkfs.ext4", "debugfs", "dpkg-deb", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("needs %s (tests/install-peers.sh installs them)", strings.Join(missing, ", "))
	}
	out := filepath.Join(t.TempDir(), "vm")
	// Generous but bounded: on first use the root file system is
	// bootstrapped from the Debian mirror (cached afterwards), and under
	// software emulation on a busy machine the boot alone takes minutes.
	limit := 40 * time.Minute
	if d, ok := t.Deadline(); ok && time.Until(d)-time.Minute < limit {
		// End qemu ourselves, with its console in the failure, before
		// go test's -timeout panics with nothing but stacks.
		limit = time.Until(d) - time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "sh", filepath.Join("vm", "run.sh"), out)
	cmd.WaitDelay = 10 * time.Second
	log, err := cmd.CombinedOutput()
	t.Logf("tests/vm/run.sh took %v", time.Since(start).Round(time.Second))
	results, rerr := os.ReadFile(filepath.Join(out, "results"))
	if rerr != nil {
		t.Fatalf("run.sh: %v, no results: %v\n%s", err, rerr, log)
	}
	done := false
	sc := bufio.NewScanner(strings.NewReader(string(results)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "done":
			done = true
		case strings.HasPrefix(line, "FAIL "):
			t.Error(line)
		case strings.HasPrefix(line, "ok "), strings.HasPrefix(line, "info "):
			t.Log(line)
		default:
			t.Errorf("unexpected results line %q", line)
		}
	}
	if !done {
		t.Error("check.sh did not run to the end")
	}
	if err != nil || t.Failed() {
		console, _ := os.ReadFile(filepath.Join(out, "console.log"))
		vmlog, _ := os.ReadFile(filepath.Join(out, "vm", "sealog-vm-check", "log"))
		t.Errorf("run.sh: %v\n%s\n--- check.sh log (tail) ---\n%s\n--- console (tail) ---\n%s", err, log, vmTail(vmlog, 120), vmTail(console, 60))
	}
}

// vmTail returns the last n lines of b.
func vmTail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
