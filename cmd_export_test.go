package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportGolden(t *testing.T) {
	in := filepath.Join("writer", "testdata", "export_good.log")
	for _, c := range []struct {
		flag, golden string
	}{{"", "export_good.txt.golden"}, {"--json", "export_good.jsonl.golden"}} {
		args := []string{"export", in}
		if c.flag != "" {
			args = []string{"export", c.flag, in}
		}
		r := runCmd(t, "", args...)
		r.wantCode(t, 0)
		want, err := os.ReadFile(filepath.Join("writer", "testdata", c.golden))
		if err != nil {
			t.Fatal(err)
		}
		if r.stdout != string(want) {
			t.Errorf("export %s differs from %s", c.flag, c.golden)
		}
	}
}

func TestExportUsage(t *testing.T) {
	runCmd(t, "", "export").wantCode(t, 2)
	r := runCmd(t, "", "export", filepath.Join(t.TempDir(), "missing.log"))
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "missing.log") {
		t.Errorf("the missing file is not named: %q", r.stderr)
	}
}

// TestExportDirectory: a directory is a usage error that says what to give.
func TestExportDirectory(t *testing.T) {
	dir := t.TempDir()
	r := runCmd(t, "", "export", dir)
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, dir+" is a directory") || !strings.Contains(r.stderr, "events-*.log") {
		t.Errorf("stderr: %q", r.stderr)
	}
}
