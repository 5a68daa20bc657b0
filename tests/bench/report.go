package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// writeTable prints one Markdown table: per row and receiver the median
// over the repeats (with the range, so noise shows), and on sealog's
// line the ratio to the best peer of that row.
func writeTable(w io.Writer, results []*result, recvs []*receiver, o *options, reg regime) {
	fmt.Fprintf(w, "| size | conns | receiver | msgs/s (median) | min–max | MB/s | CPU µs/msg | of which kernel | cores | peak RSS MiB | lost | loader µs/msg | sealog ÷ best peer |\n")
	fmt.Fprintf(w, "|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, size := range o.sizes {
		for _, conns := range o.conns {
			row := rowKey{size, conns}
			med := map[string]float64{}
			lines := map[string]string{}
			for _, r := range recvs {
				var rates, cpus, syss, cores, loads []float64
				var hwm, lost int64
				var errs []string
				runs := 0
				for _, res := range results {
					if res.row != row || res.receiver != r.name || res.regime != reg {
						continue
					}
					runs++
					if res.err != "" {
						errs = append(errs, res.err)
					}
					if res.lines == 0 {
						continue
					}
					rates = append(rates, res.msgsPerSec())
					cpus = append(cpus, res.cpuPerMsg())
					syss = append(syss, res.sysPerMsg())
					cores = append(cores, res.cpu.Seconds()/res.elapsed.Seconds())
					loads = append(loads, res.loaderPerMsg())
					hwm = max(hwm, res.hwmKiB)
					lost += res.lost()
				}
				if runs == 0 {
					continue
				}
				m := median(rates)
				med[r.name] = m
				rng := "–"
				if len(rates) > 1 {
					lo, hi := rates[0], rates[0]
					for _, v := range rates {
						lo, hi = min(lo, v), max(hi, v)
					}
					rng = human(lo) + "–" + human(hi)
				}
				lostCol := strconv.FormatInt(lost, 10)
				if len(errs) > 0 {
					lostCol += fmt.Sprintf(" (%d of %d runs failed: %s)", len(errs), runs, shorten(errs[0], 120))
				}
				lines[r.name] = fmt.Sprintf("| %d B | %d | %s | %s | %s | %.1f | %.2f | %.2f | %.2f | %.0f | %s | %.2f |",
					size, conns, r.name, human(m), rng, m*float64(size)/1e6, median(cpus), median(syss), median(cores),
					float64(hwm)/1024, lostCol, median(loads))
			}
			best, bestName := 0.0, ""
			for name, m := range med {
				if !strings.HasPrefix(name, "sealog") && m > best { // peers only
					best, bestName = m, name
				}
			}
			for _, r := range recvs {
				l, ok := lines[r.name]
				if !ok {
					continue
				}
				ratio := ""
				if r.name == "sealog" && best > 0 {
					ratio = fmt.Sprintf("**%.2f×** (vs %s)", med["sealog"]/best, bestName)
				} else if r.name != "sealog" && med[r.name] > 0 && med["sealog"] > 0 {
					ratio = fmt.Sprintf("%.2f×", med["sealog"]/med[r.name])
				}
				fmt.Fprintf(w, "%s %s |\n", l, ratio)
			}
		}
	}
}

// writeLegend says what the columns of writeTable mean.
func writeLegend(w io.Writer) {
	fmt.Fprintf(w, "\nmsgs/s and MB/s: lines written ÷ (loader start → last growth of the output); MB = 10^6 bytes of syslog message.\n")
	fmt.Fprintf(w, "CPU µs/msg: receiver utime+stime (kernel time included) over the run ÷ lines written; of which kernel: stime alone; cores: utime+stime ÷ wall time.\n")
	fmt.Fprintf(w, "lost: sent − lines written, summed over the repeats; loader: `sealog send` CPU per message sent.\n")
}

func shorten(s string, n int) string {
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// profile runs sealog once on --profile-row (1 KiB × 8 connections) with the developer
// profiling hook on (server/profile.go), and prints where the CPU time
// and the allocations go.
func profile(ctx context.Context, env *benchEnv, o *options, stdout, stderr io.Writer) error {
	dir, err := filepath.Abs(o.profileDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r, err := findReceiver("sealog", env, o)
	if err != nil {
		return err
	}
	var row rowKey
	if _, err := fmt.Sscanf(o.profileRow, "%dx%d", &row.size, &row.conns); err != nil || row.size < 100 || row.conns < 1 {
		return fmt.Errorf("%w: --profile-row %q is not SIZExCONNS (e.g. 1024x8)", errUsage, o.profileRow)
	}
	count := o.count
	if count == 0 {
		if count, err = calibrate(ctx, env, r, row, o, stderr); err != nil {
			return err
		}
	}
	cpuFile, memFile := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "allocs.pprof")
	res := runOnce(ctx, env, r, row, count, 0, []string{"SEALOG_CPUPROFILE=" + cpuFile, "SEALOG_MEMPROFILE=" + memFile}, stderr)
	fmt.Fprintf(stderr, "bench: profile run: %s\n", res.summary())
	if res.err != "" {
		return fmt.Errorf("profile run: %s", res.err)
	}
	// Keep the binary beside its profiles: pprof -list and -disasm need it.
	if data, err := os.ReadFile(env.sealog); err == nil {
		os.WriteFile(filepath.Join(dir, "sealog"), data, 0o755)
	}
	pp := func(out string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof"}, args...)...)
		b, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go tool pprof %s: %w", strings.Join(args, " "), err)
		}
		if out != "" {
			os.WriteFile(filepath.Join(dir, out), b, 0o644)
		}
		return string(b), nil
	}
	fmt.Fprintf(stdout, "\n## Profile: sealog, %d B x %d connections, regime %s, %d messages (%s msgs/s under the profiler, %.2f µs CPU/msg)\n\n",
		row.size, row.conns, env.regime, res.lines, human(res.msgsPerSec()), res.cpuPerMsg())
	fmt.Fprintf(stdout, "profiles in %s (cpu.pprof, allocs.pprof, the binary); `go tool pprof -top %s/cpu.pprof`\n\n", dir, dir)

	flat, err := pp("cpu-flat-all.txt", "-top", "-nodecount=100000", cpuFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "CPU by area (flat samples, classified by function):\n\n")
	writeBuckets(stdout, flat)

	cum, err := pp("cpu-cum.txt", "-top", "-cum", "-nodecount=100000", cpuFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nCPU of pipeline stages (cumulative, share of all samples):\n\n")
	for _, st := range stages {
		if l := findFunc(cum, st.re); l != "" {
			fmt.Fprintf(stdout, "  %-46s %s\n", st.name, l)
		}
	}

	top, err := pp("cpu-top.txt", "-top", "-nodecount=30", cpuFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n```\n%s```\n", top)

	allocs, err := pp("allocs-top.txt", "-sample_index=alloc_objects", "-top", "-nodecount=20", memFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nAllocations (alloc_objects, sampled by the runtime, whole run):\n\n```\n%s```\n", allocs)
	if res.mallocs > 0 && res.lines > 0 {
		fmt.Fprintf(stdout, "\nallocations per event: %.2f (runtime.MemStats.Mallocs %d at stop ÷ %d events; includes start-up, handshakes and stop)\n",
			float64(res.mallocs)/float64(res.lines), res.mallocs, res.lines)
	}
	return nil
}

// buckets classify a flat profile entry by its function name; the first
// match wins, so the specific ones come first.
var buckets = []struct {
	name string
	re   *regexp.Regexp
}{
	{"sha256 (seal running hash, HMAC)", regexp.MustCompile(`sha256|sha2`)},
	{"TLS decrypt (AES-GCM)", regexp.MustCompile(`crypto/internal/fips140/aes|crypto/aes|gcm|ghash|[Gg]cmAes`)},
	{"TLS record layer (crypto/tls)", regexp.MustCompile(`^crypto/tls\.`)},
	{"other crypto (handshakes)", regexp.MustCompile(`^crypto/|math/big|nistec|bigmod`)},
	{"parse: go-syslog", regexp.MustCompile(`influxdata/go-syslog`)},
	{"framing and parse (sealog/parse)", regexp.MustCompile(`sealog/sealog/parse\.`)},
	{"encode (sealog/writer)", regexp.MustCompile(`sealog/sealog/writer\.`)},
	{"files (sealog/rotate)", regexp.MustCompile(`sealog/sealog/rotate\.`)},
	{"server glue (sealog/server)", regexp.MustCompile(`sealog/sealog/server\.`)},
	{"syscalls (read, write, fsync, epoll)", regexp.MustCompile(`^syscall\.|internal/poll|runtime/internal/syscall|internal/runtime/syscall|^os\.|runtime\.epollwait|runtime\.netpoll`)},
	{"memmove/memclr", regexp.MustCompile(`^runtime\.mem(move|clr)`)},
	{"allocation", regexp.MustCompile(`^runtime\.(mallocgc|nextFree|newobject|makeslice|growslice|mcache|mcentral|mheap|\(\*mcache\)|\(\*mcentral\)|\(\*mheap\)|newarray|rawbyteslice|slicebytetostring|concatstring|heapSetType|publicationBarrier)`)},
	{"garbage collector", regexp.MustCompile(`^runtime\.(gc|scan|greyobject|markBits|findObject|wbBuf|bulkBarrier|sweep|\(\*sweep|\(\*gcWork|\(\*mspan\)|heapBits|typePointers|\(\*gcControllerState|markroot|spanOf|pageIndexOf|\(\*spanSet)`)},
	{"scheduler, channels, timers, locks", regexp.MustCompile(`^runtime\.|^sync\.|^internal/sync|^time\.`)},
	{"other", regexp.MustCompile(``)},
}

// stages are the functions whose cumulative time shows each step of the
// per-event path and the handoff between readers and the writer.
var stages = []struct {
	name string
	re   *regexp.Regexp
}{
	{"connection reader (conn.readFrames)", regexp.MustCompile(`server\.\(\*conn\)\.readFrames$`)},
	{"  TLS read+decrypt (tls.(*Conn).Read)", regexp.MustCompile(`^crypto/tls\.\(\*Conn\)\.Read$`)},
	{"  framing (parse.(*Reader).Next)", regexp.MustCompile(`parse\.\(\*Reader\)\.Next$`)},
	{"  parse (parse.(*Parser).Parse)", regexp.MustCompile(`parse\.\(\*Parser\)\.Parse$`)},
	{"  encode (writer.AppendEvent)", regexp.MustCompile(`writer\.AppendEvent$`)},
	{"  event IDs (writer.(*IDGen))", regexp.MustCompile(`writer\.\(\*IDGen\)\.AppendID$`)},
	{"  handoff (pipeline.submit)", regexp.MustCompile(`server\.\(\*pipeline\)\.submit$`)},
	{"pipeline goroutine (pipeline.run)", regexp.MustCompile(`server\.\(\*pipeline\)\.run$`)},
	{"  write to file (stream.flush)", regexp.MustCompile(`server\.\(\*stream\)\.flush$`)},
	{"  hash while writing (rotate.(*File).Write)", regexp.MustCompile(`rotate\.\(\*File\)\.Write$`)},
	{"  fsync under the lock (stream.sync)", regexp.MustCompile(`server\.\(\*stream\)\.sync$`)},
	{"syncer goroutine: fsyncs and seals (syncer.run)", regexp.MustCompile(`server\.\(\*syncer\)\.run$`)},
	{"TLS handshakes (tls.(*Conn).HandshakeContext)", regexp.MustCompile(`^crypto/tls\.\(\*Conn\)\.HandshakeContext$`)},
	{"garbage collector (runtime.gcBgMarkWorker)", regexp.MustCompile(`^runtime\.gcBgMarkWorker$`)},
}

// pprofLine is one line of `go tool pprof -top`: flat flat% sum% cum cum% name.
var pprofLine = regexp.MustCompile(`^\s*([0-9.]+\w*)\s+([0-9.]+)%\s+([0-9.]+)%\s+([0-9.]+\w*)\s+([0-9.]+)%\s+(.+)$`)

func writeBuckets(w io.Writer, top string) {
	share := make([]float64, len(buckets))
	examples := make([][]string, len(buckets))
	sc := bufio.NewScanner(strings.NewReader(top))
	for sc.Scan() {
		m := pprofLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pct, _ := strconv.ParseFloat(m[2], 64)
		name := strings.TrimSpace(m[6])
		name = strings.TrimSuffix(name, " (inline)")
		for i, b := range buckets {
			if b.re.MatchString(name) {
				share[i] += pct
				if len(examples[i]) < 3 && pct >= 0.5 {
					examples[i] = append(examples[i], shortName(name))
				}
				break
			}
		}
	}
	for i, b := range buckets {
		if share[i] < 0.05 {
			continue
		}
		fmt.Fprintf(w, "  %5.1f%%  %-38s %s\n", share[i], b.name, strings.Join(examples[i], ", "))
	}
}

func findFunc(top string, re *regexp.Regexp) string {
	sc := bufio.NewScanner(strings.NewReader(top))
	for sc.Scan() {
		m := pprofLine.FindStringSubmatch(sc.Text())
		if m != nil && re.MatchString(strings.TrimSuffix(strings.TrimSpace(m[6]), " (inline)")) {
			return m[5] + "%"
		}
	}
	return ""
}

func shortName(s string) string {
	return strings.TrimPrefix(s, "github.com/sealog/sealog/")
}
