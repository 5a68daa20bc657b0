package follow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector records what Run hands over, from Run's goroutine.
type collector struct {
	mu    sync.Mutex
	lines []string
}

func (c *collector) emit(file string, lineNo int, line []byte, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.lines = append(c.lines, fmt.Sprintf("%s:%d:%v", file, lineNo, err))
	} else {
		c.lines = append(c.lines, fmt.Sprintf("%s:%d:%s", file, lineNo, line))
	}
	return nil
}

func (c *collector) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.lines...)
		c.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestRunAcrossRotation: lines of the active file, a line completed
// across two writes, a new file after rotation, a late write to the old
// file after the new one appeared, and the old file's torn last line all
// come through once, in file order.
func TestRunAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "events-20261122T100000.000Z.log")
	b := filepath.Join(dir, "events-20261122T110000.000Z.log")
	old := filepath.Join(dir, "events-20261122T090000.000Z.log")
	appendTo(t, old, "old\n")
	appendTo(t, a, "a1\na2\n")
	appendTo(t, filepath.Join(dir, "seals.log"), "ignored\n")

	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, dir, Options{Streams: []string{"events"}, Poll: 10 * time.Millisecond}, c.emit)
	}()
	c.waitFor(t, 2)
	appendTo(t, a, "a3 begun")
	time.Sleep(30 * time.Millisecond)
	appendTo(t, a, " and ended\n")
	c.waitFor(t, 3)
	appendTo(t, b, "b1\n")
	appendTo(t, a, "a4 late\na5 torn")
	c.waitFor(t, 6)
	time.Sleep(100 * time.Millisecond) // room for a duplicate to show
	got := c.waitFor(t, 0)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	an, bn := filepath.Base(a), filepath.Base(b)
	want := []string{an + ":1:a1", an + ":2:a2", an + ":3:a3 begun and ended", bn + ":1:b1", an + ":4:a4 late", an + ":5:a5 torn"}
	// b1 and the late lines of a may come in either order; each once.
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("missing %q in %q", w, got)
		}
	}
	if strings.Join(got[:3], ",") != strings.Join(want[:3], ",") {
		t.Errorf("order: %q", got)
	}
}

// TestRunFromOldest reads every file first; a line over MaxLine is
// reported, not handed over, and the next line is intact.
func TestRunFromOldest(t *testing.T) {
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "security-20261122T090000.000Z.log"), "s0\n")
	appendTo(t, filepath.Join(dir, "security-20261122T100000.000Z.log"), strings.Repeat("x", 100)+"\ns1\n")
	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, dir, Options{FromOldest: true, MaxLine: 50, Poll: 10 * time.Millisecond}, c.emit)
	}()
	got := c.waitFor(t, 3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.HasSuffix(got[0], ":1:s0") || !strings.Contains(got[1], ErrLongLine.Error()) || !strings.HasSuffix(got[2], ":2:s1") {
		t.Errorf("got %q", got)
	}
}

func TestRunErrors(t *testing.T) {
	if err := Run(context.Background(), filepath.Join(t.TempDir(), "none"), Options{}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "events-20261122T090000.000Z.log"), "x\n")
	boom := errors.New("boom")
	err := Run(context.Background(), dir, Options{}, func(string, int, []byte, error) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("emit's error: got %v", err)
	}
}
