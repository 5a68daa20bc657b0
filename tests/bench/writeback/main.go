//go:build linux

// Command writeback measures what sealog's two page-cache measures do on
// the machine it runs on: it writes the same amount of data to a
// file in 96 KiB writes, fsyncs every second as `--fsync-interval 1s`
// does, and reports the kernel time per byte and the rate at which the
// data became durable, in three modes:
//
//	plain       write + fdatasync every second (what a receiver that
//	            fsyncs but leaves the page cache alone does)
//	drop        + posix_fadvise(DONTNEED) of what the previous fsync made
//	            durable (rotate.File.DropCache)
//	drop+kick   + sync_file_range(SYNC_FILE_RANGE_WRITE) every 8 MiB
//	            (rotate.File.StartWriteback): what sealog does
//
//	go run ./tests/bench/writeback --dir /var/log/sealog-test --gib 4 --rounds 2
//
// Use a directory on the disk the logs go to; the file is removed after
// each run. Kernel time is the process's system CPU time (getrusage).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory to write the test file in (on the disk to measure)")
	gib := flag.Int("gib", 4, "GiB written per run")
	rounds := flag.Int("rounds", 2, "runs per mode, interleaved")
	flag.Parse()
	fmt.Printf("| mode | run | wall | durable MB/s | kernel ns/byte |\n|---|---:|---:|---:|---:|\n")
	for r := 1; r <= *rounds; r++ {
		for _, mode := range []string{"plain", "drop", "drop+kick"} {
			wall, sys, err := run(filepath.Join(*dir, ".sealog-writeback-test"), int64(*gib)<<30, mode != "plain", mode == "drop+kick")
			if err != nil {
				fmt.Fprintln(os.Stderr, "writeback:", err)
				os.Exit(1)
			}
			total := float64(int64(*gib) << 30)
			fmt.Printf("| %s | %d | %.2f s | %.0f | %.2f |\n", mode, r, wall.Seconds(),
				total/wall.Seconds()/1e6, float64(sys.Nanoseconds())/total)
		}
	}
}

// run writes total bytes and returns the wall time until all of it was
// durable and the system CPU time the process spent.
func run(path string, total int64, drop, kick bool) (time.Duration, time.Duration, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	fd := int(f.Fd())
	buf := make([]byte, 96<<10)
	for i := range buf {
		buf[i] = 'a' + byte(i%26)
	}
	var written atomic.Int64
	stop := make(chan struct{})
	syncerDone := make(chan struct{})
	go func() { // the syncer: fdatasync every second, then drop what the previous one made durable
		defer close(syncerDone)
		var durable int64
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			n := written.Load()
			if err := unix.Fdatasync(fd); err != nil {
				return
			}
			if drop && durable > 0 {
				unix.Fadvise(fd, 0, durable, unix.FADV_DONTNEED)
			}
			durable = n
		}
	}()
	before := sysTime()
	start := time.Now()
	var kicked int64
	for written.Load() < total {
		n, err := f.Write(buf)
		if err != nil {
			close(stop)
			return 0, 0, err
		}
		w := written.Add(int64(n))
		if kick && w-kicked >= 8<<20 {
			unix.SyncFileRange(fd, kicked, w-kicked, unix.SYNC_FILE_RANGE_WRITE)
			kicked = w
		}
	}
	close(stop)
	<-syncerDone
	if err := unix.Fdatasync(fd); err != nil {
		return 0, 0, err
	}
	return time.Since(start), sysTime() - before, nil
}

func sysTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Stime.Nano())
}
