package seal

import (
	"bytes"
	"testing"
	"time"
	"unsafe"
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
	signalLoop(150*time.Millisecond, 20*time.Millisecond, func() {
		m.s.copyKey(&m.s.key2, &m.s.st.key)
		m.s.copyKey(&m.s.next, &m.s.key2)
	}, func() {})
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
	hits := 0
	eachReadableMapping(t, func(a uint64, _ string, buf []byte) {
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
	})
	if hits > 0 {
		t.Fatalf("try %d: %d copies of key halves in memory after the key was wiped", try, hits)
	}
}
