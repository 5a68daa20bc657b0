package seal

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/sealog/sealog/tlog"
)

// genDir fills d with events files of valid lines, total bytes in all:
// files of at most fileSize bytes, a checkpoint every 16 MiB, a final
// seal on every file but the last (the active one). It hashes while it
// writes, as the server does, and returns the file paths.
func genDir(tb testing.TB, d *logDir, total, fileSize int64) []string {
	tb.Helper()
	// SEALOG_VERIFY_LINE=N pads every line to N bytes (LF included), for
	// the speed at a given line length; unset, lines are ~150 bytes.
	lineLen, _ := strconv.Atoi(os.Getenv("SEALOG_VERIFY_LINE"))
	var block []byte
	for i := 0; len(block) < 4<<20; i++ {
		block = appendTestLineLen(block, eventColumns, i, lineLen)
	}
	const checkpointEvery = 16 << 20
	var paths []string
	start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for written, n := int64(0), 0; written < total; n++ {
		name := "events-" + start.Add(time.Duration(n)*time.Hour).Format("20060102T150405.000Z") + ".log"
		p := d.path(name)
		paths = append(paths, p)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err != nil {
			tb.Fatal(err)
		}
		var h tlog.LineHasher
		var size, lines, sinceSeal int64
		for size < fileSize && written < total {
			if _, err := f.Write(block); err != nil {
				tb.Fatal(err)
			}
			h.Write(block)
			size += int64(len(block))
			written += int64(len(block))
			sinceSeal += int64(len(block))
			lines += int64(countLF(block))
			if sinceSeal >= checkpointEvery {
				sinceSeal = 0
				d.sealSum(KindCheckpoint, name, size, lines, &h)
			}
		}
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
		if written < total {
			d.sealSum(KindFinal, name, size, lines, &h)
		}
	}
	return paths
}

func countLF(b []byte) (n int) {
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

func (d *logDir) sealSum(kind Kind, name string, size, lines int64, h *tlog.LineHasher) {
	d.t.Helper()
	if _, err := d.c.Seal(kind, name, size, lines, h.Root()); err != nil {
		d.t.Fatal(err)
	}
}

// BenchmarkVerify: MB/s of Verify over 256 MiB of events files (hashing,
// seal snapshots and line checks).
func BenchmarkVerify(b *testing.B) {
	d := newLogDir(b)
	const total = 256 << 20
	genDir(b, d, total, 64<<20)
	d.close()
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := Verify(d.dir, VerifyOptions{Key: testVerifyKey(b, d.k1)}, io.Discard)
		if err != nil || !res.OK {
			b.Fatalf("got %+v %v, want OK", res, err)
		}
	}
}

// TestVerifySpeed compares verify with sha256sum on the same generated
// files (verify at >= 80 % of sha256sum's MB/s). It is slow, so
// it runs only when asked:
//
//	SEALOG_VERIFY_MB=1024 go test -run TestVerifySpeed -v ./seal
//	SEALOG_VERIFY_MB=512 SEALOG_VERIFY_LINE=180 go test -run TestVerifySpeed -v ./seal
func TestVerifySpeed(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("SEALOG_VERIFY_MB"))
	if mb <= 0 {
		t.Skip("set SEALOG_VERIFY_MB=1024 to compare verify with sha256sum")
	}
	sum, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("no sha256sum")
	}
	d := newLogDir(t)
	total := int64(mb) << 20
	paths := genDir(t, d, total, 128<<20)
	d.close()

	// Interleaved, best of 4 each: other load on the machine hits all
	// alike, and the first rounds warm the page cache. verify runs with
	// its tree hashed on every core (as shipped) and on one.
	var tv, t1, ts time.Duration
	best := func(d *time.Duration, i int, got time.Duration) {
		if i == 0 || got < *d {
			*d = got
		}
	}
	runVerify := func(workers int) time.Duration {
		contentWorkers = workers
		defer func() { contentWorkers = 0 }()
		t0 := time.Now()
		res, err := Verify(d.dir, VerifyOptions{Key: testVerifyKey(t, d.k1)}, io.Discard)
		if err != nil || !res.OK {
			t.Fatalf("got %+v %v, want OK", res, err)
		}
		return time.Since(t0)
	}
	for i := range 4 {
		best(&tv, i, runVerify(0))
		best(&t1, i, runVerify(1))
		t0 := time.Now()
		if out, err := exec.Command(sum, paths...).CombinedOutput(); err != nil {
			t.Fatalf("sha256sum: %v\n%s", err, out)
		}
		best(&ts, i, time.Since(t0))
	}
	mbps := func(d time.Duration) float64 { return float64(total) / 1e6 / d.Seconds() }
	fmt.Fprintf(os.Stdout, "verify:            %d MiB in %v = %.0f MB/s\n", mb, tv.Round(time.Millisecond), mbps(tv))
	fmt.Fprintf(os.Stdout, "verify, 1 hasher:  %d MiB in %v = %.0f MB/s\n", mb, t1.Round(time.Millisecond), mbps(t1))
	fmt.Fprintf(os.Stdout, "sha256sum:         %d MiB in %v = %.0f MB/s\n", mb, ts.Round(time.Millisecond), mbps(ts))
	fmt.Fprintf(os.Stdout, "verify / sha256sum = %.2f (1 hasher: %.2f)\n", mbps(tv)/mbps(ts), mbps(t1)/mbps(ts))
	if mbps(tv) < 0.8*mbps(ts) {
		t.Errorf("verify at %.0f MB/s is below 80 %% of sha256sum's %.0f MB/s", mbps(tv), mbps(ts))
	}
}
