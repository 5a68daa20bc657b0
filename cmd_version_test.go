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

// TestVersionFlag: `sealog --version` is `sealog version`, and
// `version -h` has no empty flags section.
func TestVersionFlag(t *testing.T) {
	a, b := runCmd(t, "", "--version"), runCmd(t, "", "version")
	a.wantCode(t, 0)
	if a.stdout != b.stdout {
		t.Errorf("--version %q differs from version %q", a.stdout, b.stdout)
	}
	r := runCmd(t, "", "version", "-h")
	r.wantCode(t, 0)
	if strings.Contains(r.stdout, "flags:") || !strings.Contains(r.stdout, "usage: sealog version") {
		t.Errorf("version -h:\n%s", r.stdout)
	}
	// Commands with flags keep the section.
	if r := runCmd(t, "", "keygen", "-h"); !strings.Contains(r.stdout, "flags:") {
		t.Errorf("keygen -h lost its flags:\n%s", r.stdout)
	}
}
