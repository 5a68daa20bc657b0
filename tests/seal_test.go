package tests

// Black-box tests of SPEC §3.1 rotation and §4 sealing and verify (issue 3).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bbSeals returns the lines of DIR/seals.log split into their 10
// columns, checking each against SPEC §4 (LEN, TIME, column count).
func bbSeals(t *testing.T, dir string) [][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "seals.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			t.Errorf("seals.log: torn last line %q", l)
			continue
		}
		l = strings.TrimSuffix(l, "\n")
		if p := bbCheckLine(l, 10); len(p) > 0 {
			t.Errorf("seals.log line %q: %s", l, strings.Join(p, "; "))
		}
		out = append(out, strings.Split(l, "\t"))
	}
	return out
}
