package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// A regime is the kernel write-back setting the runs are measured under.
// Which one matters: a peer that never fsyncs can keep a whole short run
// in dirty page cache under the kernel's default limits (10 % and 20 % of
// memory), so its rate then says nothing about the disk, and it varies
// with what the previous run left behind.
type regime string

const (
	// regimeSteady bounds dirty memory as on a log host that has been
	// writing for hours: write-back starts at 64 MiB and writers are
	// throttled at 256 MiB, so a burst cannot hide in RAM. The default.
	regimeSteady regime = "steady"
	// regimeKernel leaves the limits as they were found (on a stock
	// kernel its defaults, dirty_background_ratio 10 and dirty_ratio 20).
	regimeKernel regime = "kernel"
)

const (
	steadyBackgroundBytes = 64 << 20
	steadyDirtyBytes      = 256 << 20
)

// regimes parses --regime: steady, kernel or both (steady first).
func regimes(s string) ([]regime, error) {
	switch s {
	case "steady":
		return []regime{regimeSteady}, nil
	case "kernel":
		return []regime{regimeKernel}, nil
	case "both":
		return []regime{regimeSteady, regimeKernel}, nil
	}
	return nil, fmt.Errorf("%w: --regime %q: want steady, kernel or both", errUsage, s)
}

const vmDir = "/proc/sys/vm"

// dirtyLimits are the four write-back limits of /proc/sys/vm. Of each
// pair (ratio, bytes) the kernel uses the one last written and reads the
// other as 0, so restoring writes the non-zero one of each pair.
type dirtyLimits struct {
	backgroundRatio, backgroundBytes, ratio, bytes string
}

func readDirtyLimits() (dirtyLimits, error) {
	var d dirtyLimits
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"dirty_background_ratio", &d.backgroundRatio},
		{"dirty_background_bytes", &d.backgroundBytes},
		{"dirty_ratio", &d.ratio},
		{"dirty_bytes", &d.bytes},
	} {
		b, err := os.ReadFile(filepath.Join(vmDir, f.name))
		if err != nil {
			return d, err
		}
		*f.v = strings.TrimSpace(string(b))
	}
	return d, nil
}

func (d dirtyLimits) String() string {
	bg := "dirty_background_ratio " + d.backgroundRatio
	if d.backgroundBytes != "0" {
		bg = "dirty_background_bytes " + d.backgroundBytes
	}
	fg := "dirty_ratio " + d.ratio
	if d.bytes != "0" {
		fg = "dirty_bytes " + d.bytes
	}
	return bg + ", " + fg
}

// set writes d back: the throttling limit first, so that the background
// one is never above it, even for a moment.
func (d dirtyLimits) set() error {
	fg, fgv := "dirty_ratio", d.ratio
	if d.bytes != "0" {
		fg, fgv = "dirty_bytes", d.bytes
	}
	bg, bgv := "dirty_background_ratio", d.backgroundRatio
	if d.backgroundBytes != "0" {
		bg, bgv = "dirty_background_bytes", d.backgroundBytes
	}
	if err := writeVM(fg, fgv); err != nil {
		return err
	}
	return writeVM(bg, bgv)
}

func writeVM(name, value string) error {
	if err := os.WriteFile(filepath.Join(vmDir, name), []byte(value+"\n"), 0); err != nil {
		return fmt.Errorf("set vm.%s=%s (needs root; --regime kernel measures without changing the limits): %w", name, value, err)
	}
	return nil
}

// writeback applies the regimes and puts back what it found. Make one
// with newWriteback, call enter before each regime's runs, and restore
// when done: run defers it, so it also happens on an error or Ctrl-C
// (the signal only cancels the runs' context).
type writeback struct {
	found   dirtyLimits
	changed bool
	stderr  io.Writer
}

func newWriteback(stderr io.Writer) (*writeback, error) {
	found, err := readDirtyLimits()
	if err != nil {
		return nil, fmt.Errorf("read the kernel's dirty limits: %w", err)
	}
	return &writeback{found: found, stderr: stderr}, nil
}

// enter sets the limits of r and describes them.
func (w *writeback) enter(r regime) (string, error) {
	switch r {
	case regimeSteady:
		w.changed = true
		steady := dirtyLimits{bytes: fmt.Sprint(steadyDirtyBytes), backgroundBytes: fmt.Sprint(steadyBackgroundBytes)}
		if err := steady.set(); err != nil {
			return "", err
		}
		return fmt.Sprintf("steady: dirty memory bounded (%s) for the runs, restored to %s afterwards", steady, w.found), nil
	default:
		if err := w.restore(); err != nil {
			return "", err
		}
		return fmt.Sprintf("kernel: the write-back limits as found (%s)", w.found), nil
	}
}

// restore puts back the limits found at the start, if enter changed them.
func (w *writeback) restore() error {
	if !w.changed {
		return nil
	}
	if err := w.found.set(); err != nil {
		fmt.Fprintf(w.stderr, "bench: WARNING: could not restore %s: %v\n", w.found, err)
		return err
	}
	w.changed = false
	return nil
}

// coldStart starts a run from the same state whatever ran before it:
// every dirty page written back (sealog fsyncs every second and would
// otherwise pay for the peer before it) and the page cache dropped (so no
// run finds the previous run's pages, or its own binary's, cached). It
// returns an error only the first time dropping fails; runs go on.
func coldStart(env *benchEnv) error {
	syscall.Sync()
	if env.dropFailed {
		return nil
	}
	if err := os.WriteFile(filepath.Join(vmDir, "drop_caches"), []byte("3\n"), 0); err != nil {
		env.dropFailed = true
		return fmt.Errorf("cannot drop the page cache before each run (needs root): %v", err)
	}
	return nil
}
