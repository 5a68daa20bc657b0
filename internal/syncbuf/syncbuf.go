// Package syncbuf is a buffer that one goroutine may write while another
// reads it: the stderr of a server or peer a test runs, read by the test
// while it runs. Only tests import it; it lives here so that the tests of
// every package share one, not copies of it.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer behind a mutex: Write and String may be called
// from any goroutines at the same time. The zero value is empty and ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
