package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	r := runCmd(t, "", "version")
	r.wantCode(t, 0)
	for _, want := range []string{"sealog " + version, "go " + runtime.Version(), "commit "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version output %q lacks %q", r.stdout, want)
		}
	}
	runCmd(t, "", "version", "extra").wantCode(t, 2)
}
