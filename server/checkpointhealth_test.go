package server

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// TestCheckpointHealthEpisodes: many failures in a row are one episode
// (one start, one stderr line); the next success ends it; notes from
// many goroutines at once (seals, witnesses) are race-free; what piles up
// while the write stage cannot take it stays bounded.
func TestCheckpointHealthEpisodes(t *testing.T) {
	var out lockedBuffer
	h := newCheckpointHealth(&out, nil)
	boom := errors.New("no space left on device")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.note(uint64(i+1), "checkpoint", boom)
		}()
	}
	wg.Wait()
	h.note(9, "checkpoint", nil)
	h.note(10, "checkpoint", nil)
	got := h.take()
	if len(got) != 2 || got[0].ok || !got[1].ok || got[1].size != 9 || !strings.Contains(got[0].err, "no space") {
		t.Fatalf("one episode: got %+v, want a failure then the recovery at 9", got)
	}
	if n := strings.Count(out.String(), "sealog: write error: checkpoint "); n != 1 {
		t.Errorf("%d stderr lines for one episode, want 1:\n%s", n, out.String())
	}
	if h.take() != nil {
		t.Error("take returned the same changes twice")
	}
	for i := range 3 * maxPendingCheckpointEvents {
		h.note(uint64(i), "checkpoint", boom)
		h.note(uint64(i), "checkpoint", nil)
	}
	if got := h.take(); len(got) != maxPendingCheckpointEvents {
		t.Errorf("%d changes pending, want at most %d", len(got), maxPendingCheckpointEvents)
	}
	var nilHealth *checkpointHealth
	nilHealth.note(1, "checkpoint", boom) // no log key: nothing to record
	if nilHealth.take() != nil {
		t.Error("a nil checkpointHealth has changes")
	}
}
