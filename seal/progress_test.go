package seal

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressLine: files and bytes done, percent, rate and time left,
// at most every progressEvery, and cleared at the end.
func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out)
	clock := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return clock }
	p.start(4, 4<<30)
	if !strings.Contains(out.String(), "verify: files 0/4, 0 B/4.0 GiB (0%)") {
		t.Fatalf("got %q, want the line shown at once", out.String())
	}
	out.Reset()
	clock = clock.Add(100 * time.Millisecond)
	p.add(1 << 20)
	if out.Len() != 0 {
		t.Fatalf("got %q within %v of the last line, want nothing", out.String(), progressEvery)
	}
	clock = clock.Add(1900 * time.Millisecond) // 2 s in: 1 GiB done
	p.filesDone++                              // as fileDone does, without showing
	p.add(1<<30 - 1<<20)
	want := "\r\x1b[Kverify: files 1/4, 1.0 GiB/4.0 GiB (25%), 512.0 MiB/s, 6s left\r"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	p.done()
	if out.String() != "\r\x1b[K" {
		t.Fatalf("done: got %q, want the line cleared", out.String())
	}
	var nilP *progress // no writer: every call does nothing
	nilP.start(1, 1)
	nilP.add(1)
	nilP.fileDone()
	nilP.done()
}
