package seal

import (
	"encoding/binary"
	"math/bits"
)

// hmacWork computes HMAC-SHA256 (RFC 2104 with SHA-256, FIPS 180-4) in
// buffers its owner controls: the padded key block, both hash states
// and the message schedule are fields, wiped after every MAC. crypto/hmac
// cannot be used for the chain: it copies the key into memory we cannot
// wipe and keeps the inner and outer states, either of which computes
// MACs as well as the key (docs/format.md §10.2). Speed does not matter
// here: the chain computes two MACs per seal.
type hmacWork struct {
	pad   [64]byte // K ⊕ ipad, then K ⊕ opad
	h     sha256State
	inner [32]byte
}

// sum writes HMAC-SHA256(key, msg) to out and wipes every buffer that
// held anything derived from key. out may be key itself.
func (w *hmacWork) sum(key *[32]byte, msg []byte, out *[32]byte) {
	// RFC 2104 §2: H(K ⊕ opad, H(K ⊕ ipad, text)), K zero-padded to B=64.
	w.hashPadded(key, 0x36, msg, &w.inner)
	w.hashPadded(key, 0x5c, w.inner[:], out)
	w.wipe()
}

// hashPadded writes SHA-256((K ⊕ pad) ‖ msg) to out, with K zero-padded
// to the block size: the inner hash of an HMAC with ipad, the outer with
// opad.
func (w *hmacWork) hashPadded(key *[32]byte, pad byte, msg []byte, out *[32]byte) {
	for i := range w.pad {
		w.pad[i] = pad
	}
	for i, b := range key {
		w.pad[i] ^= b
	}
	w.h.reset()
	w.h.block(&w.pad)
	w.h.len = 64
	w.h.write(msg)
	w.h.sum(out)
}

func (w *hmacWork) wipe() {
	clear(w.pad[:])
	clear(w.inner[:])
	w.h.wipe()
}

// sha256State is SHA-256 (FIPS 180-4 §6.2) with every intermediate in
// its own fields, so that wipe leaves nothing behind.
type sha256State struct {
	h   [8]uint32
	buf [64]byte
	n   int    // bytes in buf
	len uint64 // bytes hashed
	w   [64]uint32
}

var sha256Init = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

var sha256K = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

func (s *sha256State) reset() {
	s.h = sha256Init
	s.n = 0
	s.len = 0
}

func (s *sha256State) wipe() {
	clear(s.h[:])
	clear(s.buf[:])
	clear(s.w[:])
	s.n, s.len = 0, 0
}

func (s *sha256State) write(p []byte) {
	s.len += uint64(len(p))
	for len(p) > 0 {
		k := copy(s.buf[s.n:], p)
		s.n += k
		p = p[k:]
		if s.n == 64 {
			s.block(&s.buf)
			s.n = 0
		}
	}
}

// sum pads and finishes the hash into out (FIPS 180-4 §5.1.1). The state
// is spent afterwards.
func (s *sha256State) sum(out *[32]byte) {
	bitLen := s.len * 8
	s.buf[s.n] = 0x80
	s.n++
	if s.n > 56 {
		clear(s.buf[s.n:])
		s.block(&s.buf)
		s.n = 0
	}
	clear(s.buf[s.n:56])
	binary.BigEndian.PutUint64(s.buf[56:], bitLen)
	s.block(&s.buf)
	for i, v := range s.h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
}

// block runs the compression function on one 64-byte block. It is never
// inlined: scrubRegisters runs the same code to overwrite the registers
// it leaves key-derived values in.
//
//go:noinline
func (s *sha256State) block(p *[64]byte) {
	w := &s.w
	for i := range 16 {
		w[i] = binary.BigEndian.Uint32(p[4*i:])
	}
	for i := 16; i < 64; i++ {
		v1, v2 := w[i-2], w[i-15]
		t1 := bits.RotateLeft32(v1, -17) ^ bits.RotateLeft32(v1, -19) ^ (v1 >> 10)
		t2 := bits.RotateLeft32(v2, -7) ^ bits.RotateLeft32(v2, -18) ^ (v2 >> 3)
		w[i] = t1 + w[i-7] + t2 + w[i-16]
	}
	a, b, c, d, e, f, g, h := s.h[0], s.h[1], s.h[2], s.h[3], s.h[4], s.h[5], s.h[6], s.h[7]
	for i := range 64 {
		t1 := h + (bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)) +
			((e & f) ^ (^e & g)) + sha256K[i] + w[i]
		t2 := (bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)) +
			((a & b) ^ (a & c) ^ (b & c))
		h, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
	}
	s.h[0] += a
	s.h[1] += b
	s.h[2] += c
	s.h[3] += d
	s.h[4] += e
	s.h[5] += f
	s.h[6] += g
	s.h[7] += h
}
