package seal

import (
	"bytes"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestKeyCopySignalFrame: copying a key moves it through vector
// registers, 16 bytes at a time; a signal at that moment saves them in a
// frame on the thread's signal stack. secrets.copyKey holds signals
// back and overwrites the registers; after copies under signals and a
// wipe, no half of the key may be in our memory.
func TestKeyCopySignalFrame(t *testing.T) {
	for try := range 4 {
		keyCopySignalFrame(t, try)
	}
}

func keyCopySignalFrame(t *testing.T, try int) {
	m, err := newSecrets()
	if err != nil {
		t.Fatal(err)
	}
	defer m.free()
	var key [32]byte
	for i := range key {
		key[i] = byte(0x31 + i*5 + try)
	}
	m.s.st.key = key
	clear(key[:])
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
				m.s.copyKey(&m.s.key2, &m.s.st.key)
				m.s.copyKey(&m.s.next, &m.s.key2)
			}
		}
	}()
	for !looping.Load() {
		runtime.Gosched()
	}
	pid := os.Getpid()
	deadline := time.Now().Add(150 * time.Millisecond)
	for time.Now().Before(deadline) {
		unix.Tgkill(pid, int(tid.Load()), unix.SIGURG)
		runtime.Gosched()
	}
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	<-done
	// The needles sit in pages of their own, copied byte by byte (no
	// vector register), and hits inside them are not counted.
	nm, err := newSecrets()
	if err != nil {
		t.Fatal(err)
	}
	defer nm.free()
	needle := nm.b[:32]
	for i := range 32 {
		needle[i] = m.s.st.key[i]
	}
	m.s.wipe()
	lo0 := uint64(uintptr(unsafe.Pointer(&nm.b[0])))
	hi0 := lo0 + uint64(len(nm.b))
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	hits := 0
	for _, l := range bytes.Split(maps, []byte("\n")) {
		var a, b uint64
		var perm string
		if n, _ := sscanMap(string(l), &a, &b, &perm); n < 3 || perm[0] != 'r' || b-a > 1<<28 || bytes.Contains(l, []byte("[v")) {
			continue
		}
		buf := make([]byte, b-a)
		k, _ := mem.ReadAt(buf, int64(a))
		buf = buf[:k]
		for _, h := range [][]byte{needle[:16], needle[16:]} {
			for off := 0; ; {
				i := bytes.Index(buf[off:], h)
				if i < 0 {
					break
				}
				if at := a + uint64(off+i); at < lo0 || at >= hi0 {
					hits++
				}
				off += i + 1
			}
		}
	}
	if hits > 0 {
		t.Fatalf("try %d: %d copies of key halves in memory after the key was wiped", try, hits)
	}
}

func sscanMap(l string, a, b *uint64, perm *string) (int, error) {
	hexv := func(c byte) uint64 {
		if c >= 'a' {
			return uint64(c-'a') + 10
		}
		return uint64(c - '0')
	}
	var lo, hi uint64
	i := 0
	for ; i < len(l) && l[i] != '-'; i++ {
		lo = lo*16 + hexv(l[i])
	}
	i++
	for ; i < len(l) && l[i] != ' '; i++ {
		hi = hi*16 + hexv(l[i])
	}
	i++
	if i+4 > len(l) {
		return 0, nil
	}
	*a, *b, *perm = lo, hi, l[i:i+4]
	return 3, nil
}
