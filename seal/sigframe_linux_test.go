package seal

import (
	"testing"
	"time"
)

// TestHMACSignalFrame: a signal that interrupts the chain's HMAC makes
// the kernel save every register of the thread in a frame on the
// thread's signal stack, and nothing wipes that frame afterwards: the
// SHA-256 working variables of the padded key block sat there until the
// next signal to that thread, and from them and the public initial
// state the key follows. The Go runtime signals running threads all the
// time (preemption for the garbage collector). Here the HMAC runs in a
// loop while its thread gets SIGURG (the runtime's preemption signal),
// the signals stop while it is still looping, the key is wiped; then no
// two key-derived words may be found in registers' form (zero-extended
// 64-bit slots) within 192 bytes of our memory: by chance that happens
// less than once in a thousand runs, and four of them give the key away.
func TestHMACSignalFrame(t *testing.T) {
	// The frame left is the last signal's: it lands in the HMAC more
	// often than not before the fix, so six tries miss it rarely.
	for try := range 6 {
		hmacSignalFrame(t, try)
	}
}

func hmacSignalFrame(t *testing.T, try int) {
	m, err := newSecrets()
	if err != nil {
		t.Fatal(err)
	}
	defer m.free()
	var key [32]byte
	for i := range key {
		key[i] = byte(0xa0 + i*7 + try)
	}
	words := map[uint32]bool{}
	for _, pad := range []byte{0x36, 0x5c} {
		for _, v := range roundWordsForTest(key, pad) {
			if v > 0xffff {
				words[v] = true
			}
		}
	}
	m.s.key2 = key
	// Our own computation of the words leaves some in this stack and
	// these registers; overwrite them before looking.
	scrubStack()
	scrubRegisters()
	var out [32]byte
	// The HMAC goes on for 50ms without signals before it stops.
	sent := signalLoop(200*time.Millisecond, 50*time.Millisecond, func() {
		m.s.sealMAC(&m.s.key2, []byte("sealog key evolution"), &out)
	}, func() {
		clear(m.s.key2[:])
		scrubStack()
	})
	found := scanOwnRegisterWords(t, words)
	if found >= 2 {
		t.Fatalf("after %d signals during the HMAC, %d distinct key-derived SHA-256 words sit in register slots of our memory (a signal frame): the key can be computed from them", sent, found)
	}
	t.Logf("%d signals during the HMAC; at most %d key-derived words together in memory", sent, found)
}

// scanOwnRegisterWords returns the largest number of distinct words of
// words found as zero-extended 64-bit slots within 192 bytes.
func scanOwnRegisterWords(t *testing.T, words map[uint32]bool) int {
	best := 0
	eachReadableMapping(t, func(a uint64, name string, buf []byte) {
		var recent []struct {
			at int
			v  uint32
		}
		for i := 0; i+8 <= len(buf); i += 8 {
			if buf[i+4]|buf[i+5]|buf[i+6]|buf[i+7] != 0 {
				continue
			}
			v := uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16 | uint32(buf[i+3])<<24
			if !words[v] {
				continue
			}
			for len(recent) > 0 && recent[0].at <= i-192 {
				recent = recent[1:]
			}
			recent = append(recent, struct {
				at int
				v  uint32
			}{i, v})
			d := map[uint32]bool{}
			for _, r := range recent {
				d[r.v] = true
			}
			if len(d) > best {
				best = len(d)
				if best >= 2 {
					t.Logf("%s: %d key-derived words at %#x", name, best, a+uint64(i))
				}
			}
		}
	})
	return best
}

// roundWordsForTest: every 32-bit value the compression of K ⊕ pad puts
// in a register (a, e, t1, t2 of each round, the chaining words after
// it, and the message schedule words that depend on K).
func roundWordsForTest(k [32]byte, pad byte) []uint32 {
	var p [64]byte
	for i := range p {
		p[i] = pad
	}
	for i, c := range k {
		p[i] ^= c
	}
	var s sha256State
	s.reset()
	s.block(&p) // fills s.w
	w := s.w
	rotr := func(x uint32, n uint) uint32 { return x>>n | x<<(32-n) }
	iv := sha256Init
	a, b, c, d, e, f, g, h := iv[0], iv[1], iv[2], iv[3], iv[4], iv[5], iv[6], iv[7]
	var out []uint32
	for i := range 64 {
		t1 := h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + (e&f ^ ^e&g) + sha256K[i] + w[i]
		t2 := (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + (a&b ^ a&c ^ b&c)
		h, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
		out = append(out, a, e, t1, t2)
	}
	out = append(out, s.h[:]...)
	for _, v := range w {
		if v != uint32(pad)*0x01010101 {
			out = append(out, v)
		}
	}
	return out
}
