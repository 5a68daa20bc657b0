package tests

import "testing"

// TestSmoke is the shortest path through the product: one message in,
// one line out, a graceful stop, and a chain that verifies.
func TestSmoke(t *testing.T) {
	s := startSealog(t)
	s.Send(t, "<34>1 2026-11-22T10:15:00Z host app 42 ID47 - hello")
	ev := s.WaitEvents(t, 1)
	if got, want := len(ev[0]), 15; got != want {
		t.Fatalf("got %d columns, want %d: %q", got, want, ev[0])
	}
	if got := ev[0][14]; got != "hello" {
		t.Errorf("got MSG %q, want %q", got, "hello")
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("verify exit %d:\n%s", code, out)
	}
}
