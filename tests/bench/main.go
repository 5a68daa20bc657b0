// Command bench measures sealog against rsyslog and syslog-ng on the same
// machine, in the same run: every receiver is configured here,
// in a temporary directory, as a TLS syslog receiver that writes each
// message to a file, and is driven by the same load generator, `sealog
// send` in load mode. What counts is what the receiver wrote, not what
// the loader sent.
//
// It owns nothing of the product: it builds the sealog binary from the
// repository (or takes --sealog), never touches /etc or a system daemon,
// and stops only the processes it started, by their process group.
//
// Usage (from the repository root; tests/bench/run.sh does the cd):
//
//	go run ./tests/bench --quick
//	go run ./tests/bench --repeat 3 --duration 20s
//	go run ./tests/bench --receivers sealog --sizes 1024 --conns 8 --profile /tmp/prof
//
// Peers are found through RSYSLOGD [rsyslogd in PATH or /usr/sbin] and
// SYSLOGNG_PREFIX [/opt/syslog-ng-private, as tests/install-peers.sh
// unpacks it; or syslog-ng in PATH]. A missing peer is skipped with a note.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

type options struct {
	sizes, conns []int
	duration     time.Duration
	count        int
	receivers    []string
	repeat       int
	quick        bool
	profileDir   string
	profileRow   string
	sealogBin    string
	baselineBin  string
	workDir      string
	keep         bool
	verify       bool
	settle       time.Duration
	rsyslogAuth  string
	rawOut       string
	pin          string
	regime       string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntSliceVar(&o.sizes, "sizes", []int{200, 1024, 10240, 61440}, "message sizes in bytes (the whole syslog message, header included)")
	fs.IntSliceVar(&o.conns, "conns", []int{1, 8, 64}, "connection counts")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "aimed length of each run: a calibration run against the first receiver sets the row's message count")
	fs.IntVar(&o.count, "count", 0, "messages per run (overrides --duration; same for every row)")
	fs.StringSliceVar(&o.receivers, "receivers", []string{"sealog", "rsyslog", "syslog-ng"}, "receivers: sealog, sealog-noseal (checkpoint sealing off, for the sealing overhead), sealog-nofsync (fsync once an hour, as the peers: for the cost of durability), sealog-base (the --baseline binary, run as sealog is: for an A/B of two builds), rsyslog (gtls), rsyslog-ossl, syslog-ng")
	fs.IntVar(&o.repeat, "repeat", 3, "runs per receiver and row, interleaved")
	fs.BoolVar(&o.quick, "quick", false, "1 KiB and 200 B at 8 connections, 1 repeat, 3 s runs (under 2 minutes)")
	fs.StringVar(&o.profileDir, "profile", "", "after the table, profile sealog on --profile-row: CPU and allocation profiles and pprof -top into this directory")
	fs.StringVar(&o.profileRow, "profile-row", "1024x8", "the row --profile measures: SIZExCONNS")
	fs.StringVar(&o.sealogBin, "sealog", "", "sealog binary to test and to load with (default: go build the repository in the current directory)")
	fs.StringVar(&o.baselineBin, "baseline", "", "another sealog binary, measured as the receiver sealog-base with sealog's settings, interleaved with the build under test (the loader stays the build under test)")
	fs.StringVar(&o.workDir, "workdir", os.TempDir(), "where run directories are made (the receivers' output files go there: use the disk you want measured)")
	fs.BoolVar(&o.keep, "keep", false, "keep the run directories")
	fs.BoolVar(&o.verify, "verify", false, "run 'sealog verify' on every sealog run's directory after it stopped")
	fs.DurationVar(&o.settle, "settle", time.Second, "a receiver has drained when its output has not grown for this long after the loader ended")
	fs.StringVar(&o.rsyslogAuth, "rsyslog-auth", "x509/certvalid", "rsyslog imtcp StreamDriver.AuthMode: x509/certvalid (client certificates, as sealog) or anon")
	fs.StringVar(&o.pin, "pin", "", "RECEIVER:LOADER CPU lists for taskset, e.g. 0:1 — a diagnostic of each receiver's rate per core, with the loader off its CPUs; the issue's targets are measured unpinned")
	fs.StringVar(&o.rawOut, "raw", "", "also write every run as a tab-separated line to this file")
	fs.StringVar(&o.regime, "regime", "steady", "write-back limits for the runs: steady (vm.dirty_background_bytes 64 MiB, vm.dirty_bytes 256 MiB, as on a log host that has run for hours; restored afterwards), kernel (the limits as found), or both (a table each)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if o.quick {
		if !fs.Changed("sizes") {
			o.sizes = []int{1024, 200}
		}
		if !fs.Changed("conns") {
			o.conns = []int{8}
		}
		if !fs.Changed("repeat") {
			o.repeat = 1
		}
		if !fs.Changed("duration") {
			o.duration = 3 * time.Second
		}
	}
	if o.repeat < 1 || len(o.sizes) == 0 || len(o.conns) == 0 || o.count < 0 || o.duration <= 0 {
		return fmt.Errorf("%w: --repeat must be at least 1, --sizes and --conns not empty, --count not negative, --duration positive", errUsage)
	}
	for _, s := range o.sizes {
		if s < 100 || s > 65000 {
			return fmt.Errorf("%w: --sizes %d: sizes must be 100 to 65000 bytes (header included, under sealog's default --max-message-size)", errUsage, s)
		}
	}
	for _, c := range o.conns {
		if c < 1 || c > 900 {
			return fmt.Errorf("%w: --conns %d: 1 to 900", errUsage, c)
		}
	}
	if o.pin != "" {
		recv, load, ok := strings.Cut(o.pin, ":")
		if !ok || recv == "" || load == "" {
			return fmt.Errorf("%w: --pin %q is not RECEIVER:LOADER CPU lists (e.g. 0:1)", errUsage, o.pin)
		}
		if _, err := exec.LookPath("taskset"); err != nil {
			return fmt.Errorf("--pin needs taskset (util-linux): %v", err)
		}
	}
	if o.rsyslogAuth != "x509/certvalid" && o.rsyslogAuth != "anon" {
		return fmt.Errorf("%w: --rsyslog-auth must be x509/certvalid or anon", errUsage)
	}
	regs, err := regimes(o.regime)
	if err != nil {
		return err
	}
	wb, err := newWriteback(stderr)
	if err != nil {
		return err
	}
	// Also on an error or Ctrl-C (which cancels ctx, ending the runs).
	defer wb.restore()

	root, err := os.MkdirTemp(o.workDir, "sealog-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(root)
	}
	env, err := prepare(ctx, &o, root, stderr)
	if err != nil {
		return err
	}
	var recvs []*receiver
	for _, name := range o.receivers {
		r, err := findReceiver(name, env, &o)
		if err != nil {
			fmt.Fprintf(stderr, "bench: skipping %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(stderr, "bench: %s: %s\n", name, r.version)
		recvs = append(recvs, r)
	}
	if len(recvs) == 0 {
		return errors.New("no receiver to measure")
	}
	var raw io.Writer
	if o.rawOut != "" {
		f, err := os.Create(o.rawOut)
		if err != nil {
			return err
		}
		defer f.Close()
		raw = f
		fmt.Fprintln(raw, rawHeader)
	}

	load1, _, _ := loadAvg()
	start := time.Now()
	fmt.Fprintf(stderr, "bench: %d CPUs, load average %s, output under %s\n", runtime.NumCPU(), load1, root)
	var results []*result
	described := map[regime]string{}
	total := len(regs) * len(o.sizes) * len(o.conns) * o.repeat * len(recvs)
	done := 0
	for _, reg := range regs {
		desc, err := wb.enter(reg)
		if err != nil {
			return err
		}
		described[reg] = desc
		env.regime = reg
		fmt.Fprintf(stderr, "bench: regime %s\n", desc)
		for _, size := range o.sizes {
			for _, conns := range o.conns {
				row := rowKey{size, conns}
				count := o.count
				if count == 0 {
					count, err = calibrate(ctx, env, recvs[0], row, &o, stderr)
					if err != nil {
						return err
					}
				}
				for rep := 0; rep < o.repeat; rep++ {
					// Rotate the order each repeat so no receiver always
					// runs first or last.
					for i := range recvs {
						r := recvs[(i+rep)%len(recvs)]
						if ctx.Err() != nil {
							return ctx.Err()
						}
						res := runOnce(ctx, env, r, row, count, rep+1, nil, stderr)
						done++
						fmt.Fprintf(stderr, "bench: [%d/%d] %s\n", done, total, res.summary())
						results = append(results, res)
						if raw != nil {
							fmt.Fprintln(raw, res.rawLine())
						}
					}
				}
			}
		}
	}
	load1b, load5, load15 := loadAvg()
	host, _ := os.Hostname()
	fmt.Fprintf(stdout, "\nsealog benchmark on %s: %d CPUs (%s), %s, Go %s; load average %s at start, %s %s %s at end; %s\n",
		host, runtime.NumCPU(), cpuModel(), kernel(), runtime.Version(), load1, load1b, load5, load15, time.Since(start).Round(time.Second))
	fmt.Fprintf(stdout, "receivers write to %s (%s)\n", o.workDir, fsType(o.workDir))
	if o.pin != "" {
		recv, load, _ := strings.Cut(o.pin, ":")
		fmt.Fprintf(stdout, "pinned: receivers on CPUs %s, loader on CPUs %s (a per-core diagnostic, not the issue's setting)\n", recv, load)
	}
	cache := "dropped before every run (sync; echo 3 > /proc/sys/vm/drop_caches)"
	if env.dropFailed {
		cache = "NOT dropped (not root): runs may find the previous run's pages"
	}
	fmt.Fprintf(stdout, "page cache %s\n", cache)
	for _, reg := range regs {
		fmt.Fprintf(stdout, "\n### Regime %s\n\n", described[reg])
		writeTable(stdout, results, recvs, &o, reg)
	}
	writeLegend(stdout)

	if o.profileDir != "" {
		if err := profile(ctx, env, &o, stdout, stderr); err != nil {
			return err
		}
	}
	return nil
}

// calibrate measures the row, unreported, against the first receiver,
// and returns the message count that makes a run last about --duration
// at that speed. A first short run is mostly start-up (handshakes, the
// first page-cache pages) and underestimates the rate, by half at 1 KiB;
// a second run long enough to reach the steady rate (a quarter of
// --duration, at least a second) sets the count.
func calibrate(ctx context.Context, env *benchEnv, r *receiver, row rowKey, o *options, stderr io.Writer) (int, error) {
	n := min(max(30_000_000/row.size, 5000), 200_000)
	res := runOnce(ctx, env, r, row, n, 0, nil, stderr)
	if res.err != "" {
		return 0, fmt.Errorf("calibration run %s: %s", res.label(), res.err)
	}
	if long := max(o.duration/4, time.Second); time.Duration(float64(n)/res.msgsPerSec()*float64(time.Second)) < long {
		n = max(int(res.msgsPerSec()*long.Seconds()), n)
		res = runOnce(ctx, env, r, row, n, 0, nil, stderr)
		if res.err != "" {
			return 0, fmt.Errorf("calibration run %s: %s", res.label(), res.err)
		}
	}
	rate := res.msgsPerSec()
	count := int(rate * o.duration.Seconds())
	count = max(count, 1000)
	count -= count % row.conns // equal shares, so every connection ends together
	fmt.Fprintf(stderr, "bench: calibrated %d B x %d conns on %s: %.0f msgs/s, %d messages per run\n",
		row.size, row.conns, r.name, rate, count)
	return count, nil
}

// loadAvg returns /proc/loadavg's three averages.
func loadAvg() (string, string, string) {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "?", "?", "?"
	}
	return f[0], f[1], f[2]
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return "Linux " + strings.TrimSpace(string(b))
}

// fsType names the filesystem under dir (its fsync cost is part of every
// number: sealog fsyncs every second, the peers as configured), from the
// longest mount point of /proc/self/mounts that holds dir.
func fsType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown filesystem"
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	b, _ := os.ReadFile("/proc/self/mounts")
	best, typ := "", "unknown filesystem"
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, typ = mp, f[2]+" on "+f[0]
		}
	}
	return typ
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// human renders a rate as 183k or 1.2M.
func human(v float64) string {
	switch {
	case v >= 10e6:
		return strconv.FormatFloat(v/1e6, 'f', 0, 64) + "M"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// buildSealog builds the repository's binary into dir.
func buildSealog(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	if _, err := os.Stat("go.mod"); err != nil {
		return "", fmt.Errorf("%w: run from the repository root (tests/bench/run.sh does) or give --sealog", errUsage)
	}
	bin := filepath.Join(dir, "sealog")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return bin, nil
}
