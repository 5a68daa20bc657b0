package main

import (
	"strings"
	"testing"
)

func TestSendMessages(t *testing.T) {
	s := serveDev(t)
	s.send(t, "", "hello one", "hello two").wantCode(t, 0)
	s.send(t, "from stdin\n").wantCode(t, 0)
	s.stop().wantCode(t, 0)
	events := readGlob(t, s.dir, "events-*.log")
	for _, want := range []string{"hello one", "hello two", "from stdin"} {
		if !strings.Contains(events, want) {
			t.Errorf("%q not in the events files", want)
		}
	}
}

func TestSendUsage(t *testing.T) {
	runCmd(t, "", "send", "--severity", "loud", "x").wantCode(t, 2)
	runCmd(t, "", "send", "--framing", "cr", "x").wantCode(t, 2)
	runCmd(t, "", "send", "--connections", "0", "--count", "1").wantCode(t, 2)
}
