package main

import (
	"strings"
	"testing"
)

// TestServeListeningLine: once listeners are bound, serve says so on
// stderr, one line naming each.
func TestServeListeningLine(t *testing.T) {
	s := serveDev(t, "--listen-tcp", "127.0.0.1:0")
	line := ""
	for _, l := range strings.Split(s.stderr.String(), "\n") {
		if strings.HasPrefix(l, "sealog: listening: ") {
			if line != "" {
				t.Fatalf("two listening lines:\n%s", s.stderr.String())
			}
			line = l
		}
	}
	if !strings.Contains(line, "tls "+s.addr) || !strings.Contains(line, ", tcp 127.0.0.1:") {
		t.Errorf("listening line %q does not name both listeners", line)
	}
	s.stop().wantCode(t, 0)
}
