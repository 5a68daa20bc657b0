package seal

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Key hygiene (docs/format.md §10.2): forward security holds only if no
// earlier key survives in memory. The Go heap cannot promise that: the
// garbage collector does not zero what it frees, crypto/hmac copies its
// key and keeps the padded key blocks, and values passed by value land in
// stack frames. So every byte of key material sealog holds lives in a
// secrets struct placed in pages of its own, outside the Go heap:
// mmap'ed, locked with mlock (never written to swap), excluded from core
// dumps (MADV_DONTDUMP), overwritten when a key is replaced and before
// the pages are unmapped. HMAC-SHA256 is computed over those buffers by
// hmacWork (hmac.go), never by crypto/hmac or crypto/sha256, and the stack
// it used is overwritten after each use (scrubStack).

// secrets is every buffer that holds key material for one user (a Chain,
// a verify run, a keygen). It is not safe for concurrent use: its owner
// serialises access (the Chain under its mutex).
type secrets struct {
	st   keyState         // the server's key state: the key for seal st.seq
	key2 [32]byte         // a second key: K1 in verify, a catching-up key at start
	next [32]byte         // the evolved key while it is being made
	file [maxKeyFile]byte // a key file's bytes, read or about to be written
	mac  hmacWork         // HMAC-SHA256's pads, states and message schedule
}

// wipe overwrites everything.
func (s *secrets) wipe() {
	*s = secrets{}
}

// secretMem is the mapping that holds a secrets.
type secretMem struct {
	b   []byte
	s   *secrets
	err error // why the pages are not locked in memory, nil when they are
}

// ErrNotLocked is wrapped by secretMem.lockErr when mlock failed: the key
// may then be written to swap (docs/operations.md: run without swap or
// raise RLIMIT_MEMLOCK).
var ErrNotLocked = errors.New("key memory not locked (mlock)")

// newSecrets maps zeroed pages for a secrets, locks them and excludes
// them from core dumps. Failure to lock is not fatal: it is reported by
// lockErr, so that the caller can warn.
func newSecrets() (*secretMem, error) {
	size := (int(unsafe.Sizeof(secrets{})) + os.Getpagesize() - 1) &^ (os.Getpagesize() - 1)
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("key memory: mmap: %w", err)
	}
	m := &secretMem{b: b, s: (*secrets)(unsafe.Pointer(&b[0]))}
	if err := unix.Mlock(b); err != nil {
		m.err = fmt.Errorf("%w: %w", ErrNotLocked, err)
	}
	_ = unix.Madvise(b, unix.MADV_DONTDUMP) // best effort; older kernels lack it
	return m, nil
}

// lockErr reports why the key memory is not locked, or nil.
func (m *secretMem) lockErr() error { return m.err }

// free wipes and unmaps the pages. The secrets must not be used after.
func (m *secretMem) free() {
	if m == nil || m.b == nil {
		return
	}
	m.s.wipe()
	clear(m.b)
	if m.err == nil {
		unix.Munlock(m.b)
	}
	unix.Munmap(m.b)
	m.b, m.s = nil, nil
}

// scrubStack overwrites the stack below its caller, where the HMAC's
// frames (and any registers spilled by a preemption) held key-derived
// values. Calling it once before the key is used also grows the stack to
// its size beforehand, so the runtime does not copy a stack with key
// material in it to a new one while the key is in use.
//
//go:noinline
func scrubStack() {
	var b [16 << 10]byte
	scrubSink(&b)
}

//go:noinline
func scrubSink(b *[16 << 10]byte) {
	// The compiler zeroes b because its address is taken; touch it so
	// that the store cannot be proven dead.
	b[len(b)-1] = 0
}

// A signal that interrupts a thread makes the kernel save all of its
// registers in a frame on the thread's signal stack, which nothing wipes
// afterwards; the Go runtime signals running threads all the time (to
// preempt them for the garbage collector). Taken in the middle of an
// HMAC, that frame held SHA-256's working variables over the padded key
// block, from which the key follows, until the next signal to the same
// thread. So the HMAC runs with every signal to its thread held back,
// and its registers are overwritten before they are let through.

// holdSignals locks the goroutine to its thread and blocks all signals
// to that thread; it returns the mask to restore with releaseSignals.
// Between the two the caller must only compute: no allocation, no
// channel, no system call (a synchronous fault would kill the process).
func holdSignals() (old unix.Sigset_t) {
	runtime.LockOSThread()
	var all unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old)
	return old
}

// releaseSignals overwrites the registers the HMAC used, then lets the
// held signals through and unlocks the thread.
func releaseSignals(old *unix.Sigset_t) {
	scrubRegisters()
	unix.PthreadSigmask(unix.SIG_SETMASK, old, nil)
	runtime.UnlockOSThread()
}

// scrubRegisters runs SHA-256's compression over a zero block: the same
// code as the HMAC's, so it leaves its own values in the same general
// registers, and copies zeros through the vector registers a key copy
// passes through.
//
//go:noinline
func scrubRegisters() {
	var z sha256State
	z.reset()
	z.block(&z.buf)
	var a, b [64]byte
	a = b
	scrubVec(&a, &b)
}

//go:noinline
func scrubVec(a, b *[64]byte) { *a = *b }

// copyKey copies a key between buffers of the secrets with signals held
// back: the copy passes through vector registers, which a signal frame
// would keep (see holdSignals).
func (s *secrets) copyKey(dst, src *[32]byte) {
	old := holdSignals()
	copyKeyRaw(dst, src)
	releaseSignals(&old)
}

//go:noinline
func copyKeyRaw(dst, src *[32]byte) { *dst = *src }
