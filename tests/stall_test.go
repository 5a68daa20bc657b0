package tests

import (
	"fmt"
	"testing"
)

// TestStalledSenderDoesNotHoldBackDeliveredEvents: a sender delivers one
// whole frame and half of the next, then goes quiet. The whole frame must
// reach the file while the connection stays open.
func TestStalledSenderDoesNotHoldBackDeliveredEvents(t *testing.T) {
	s := startSealog(t)
	c := s.Dial(t)
	defer c.Close()
	whole := "<13>1 - host app - - - delivered"
	half := "<13>1 - host app - - - still comi"
	// The second frame declares 10 more bytes than are sent.
	if _, err := fmt.Fprintf(c, "%d %s%d %s", len(whole), whole, len(half)+10, half); err != nil {
		t.Fatal(err)
	}
	ev := s.WaitEvents(t, 1)
	if got := ev[0][14]; got != "delivered" {
		t.Fatalf("got MSG %q, want %q", got, "delivered")
	}
}
