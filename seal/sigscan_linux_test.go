package seal

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// signalLoop runs loop over and over on a goroutine locked to its own
// thread while that thread gets SIGURG (the runtime's preemption signal)
// for d; then the signals stop and loop goes on for settle more, so the
// frame a signal leaves is one it made while loop ran. after runs on that
// same thread once the loop stops. It returns how many signals were sent.
func signalLoop(d, settle time.Duration, loop, after func()) int {
	var tid atomic.Int64
	var looping, stop atomic.Bool
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(done)
		tid.Store(int64(unix.Gettid()))
		for !stop.Load() {
			looping.Store(true)
			for range 100 {
				loop()
			}
		}
		after()
	}()
	for !looping.Load() {
		runtime.Gosched()
	}
	pid := os.Getpid()
	sent := 0
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if unix.Tgkill(pid, int(tid.Load()), unix.SIGURG) == nil {
			sent++
		}
		runtime.Gosched()
	}
	time.Sleep(settle)
	stop.Store(true)
	<-done
	return sent
}

// eachReadableMapping calls fn with the start address, the last field of
// the /proc/self/maps line (the name, or the inode) and the bytes of every
// readable mapping of this process up to 256 MiB, but the [vvar]/[vdso]
// kind, read through /proc/self/mem.
func eachReadableMapping(t *testing.T, fn func(a uint64, name string, buf []byte)) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1][0] != 'r' || (len(f) >= 6 && strings.HasPrefix(f[5], "[v")) {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		a, _ := strconv.ParseUint(lo, 16, 64)
		b, _ := strconv.ParseUint(hi, 16, 64)
		if b-a > 1<<28 {
			continue
		}
		buf := make([]byte, b-a)
		n, _ := mem.ReadAt(buf, int64(a))
		fn(a, f[len(f)-1], buf[:n])
	}
}
