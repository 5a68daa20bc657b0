// Package gotool finds the programs tests/install-peers.sh installs with
// `go install` (litewitness and witnessctl from filippo.io/torchwood), for
// the tests that run them as real peers. Only tests import it.
package gotool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Path returns where name is: in PATH, in $(go env GOBIN), or in
// $(go env GOPATH)/bin, where go install puts it. Where it is in none of
// them the test is skipped, saying that it needs name from module.
func Path(t testing.TB, name, module string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, _ := exec.Command("go", "env", "GOBIN").Output(); len(strings.TrimSpace(string(out))) > 0 {
		if p := filepath.Join(strings.TrimSpace(string(out)), name); isFile(p) {
			return p
		}
	}
	out, _ := exec.Command("go", "env", "GOPATH").Output()
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		if p := filepath.Join(dir, "bin", name); isFile(p) {
			return p
		}
	}
	t.Skipf("needs %s from %s (tests/install-peers.sh installs it)", name, module)
	return ""
}

func isFile(p string) bool { _, err := os.Stat(p); return err == nil }
