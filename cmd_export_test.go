package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExportGolden(t *testing.T) {
	in := filepath.Join("writer", "testdata", "export_good.log")
	for _, c := range []struct {
		flag, golden string
	}{{"", "export_good.txt.golden"}, {"--json", "export_good.jsonl.golden"}} {
		args := []string{"export", "--no-header", in}
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
	if !strings.Contains(r.stderr, dir+" is a directory") || !strings.Contains(r.stderr, "*.log") || !strings.Contains(r.stderr, "--follow") {
		t.Errorf("stderr: %q", r.stderr)
	}
}

// TestExportServedDir: `export --header DIR/*.log`, the obvious glob,
// takes the events, security and seals files of a served directory with
// one header per kind, and exits 0; without --header (stdout is not a
// terminal here) there is none; --since and --until cut by TIME.
func TestExportServedDir(t *testing.T) {
	s := serveDev(t)
	s.send(t, "", "first", "second").wantCode(t, 0)
	s.stop().wantCode(t, 0)
	files, err := filepath.Glob(filepath.Join(s.dir, "*.log"))
	if err != nil || len(files) < 3 {
		t.Fatalf("glob: %v %v", files, err)
	}
	if r := runCmd(t, "", append([]string{"export"}, files...)...); strings.Contains(r.stdout, "# ") {
		t.Errorf("export to a pipe printed a header line:\n%s", r.stdout)
	}
	runCmd(t, "", append([]string{"export", "--header", "--no-header"}, files...)...).wantCode(t, 2)
	r := runCmd(t, "", append([]string{"export", "--header"}, files...)...)
	r.wantCode(t, 0)
	heads := map[string]int{}
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "# ") {
			heads[strings.SplitN(l, "\t", 3)[1]]++
		}
	}
	// ID: events and security (two kinds, in separate files); SEQ: seals.
	if heads["ID"] != 2 || heads["SEQ"] != 1 {
		t.Errorf("headers %v, want two ID (events, security) and one SEQ (seals):\n%s", heads, r.stdout)
	}
	for _, want := range []string{"\tfirst\n", "\tsecond\n", "\tfinal\t", "\tstart\tsuccess\t"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("export lacks %q:\n%s", want, r.stdout)
		}
	}
	js := runCmd(t, "", append([]string{"export", "--json"}, files...)...)
	js.wantCode(t, 0)
	if !strings.Contains(js.stdout, `"kind":"final"`) || strings.Contains(js.stdout, "# ") {
		t.Errorf("JSON export:\n%s", js.stdout)
	}

	// Every line is in the future of --since 1h and the past of --until
	// 2999-01-01; nothing is before --until 2000-01-01.
	all := strings.Count(runCmd(t, "", append([]string{"export", "--no-header"}, files...)...).stdout, "\n")
	if got := strings.Count(runCmd(t, "", append([]string{"export", "--no-header", "--since", "1h", "--until", "2999-01-01"}, files...)...).stdout, "\n"); got != all || all == 0 {
		t.Errorf("--since 1h --until 2999-01-01: %d lines, want all %d", got, all)
	}
	r = runCmd(t, "", append([]string{"export", "--no-header", "--until", "2000-01-01"}, files...)...)
	r.wantCode(t, 0)
	if r.stdout != "" {
		t.Errorf("--until 2000-01-01 printed:\n%s", r.stdout)
	}
	for _, bad := range [][]string{{"--since", "yesterday"}, {"--until", ""}, {"--since", "2026-01-02", "--until", "2026-01-01"}} {
		if bad[1] == "" {
			continue
		}
		runCmd(t, "", append(append([]string{"export"}, bad...), files[0])...).wantCode(t, 2)
	}
}

// TestExportCapsProblems: a file of junk costs a few lines of stderr, not
// one per line.
func TestExportCapsProblems(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.log")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a sealog line\n", 5000)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "", "export", junk)
	r.wantCode(t, 1)
	if n := strings.Count(r.stderr, "\n"); n > 12 || !strings.Contains(r.stderr, "5000 malformed lines") {
		t.Errorf("%d lines of stderr:\n%s", n, r.stderr)
	}
}

// TestExportFollow: export --follow DIR prints what a running server
// writes, across real rotations (--rotate-size at its minimum), every
// event exactly once, security events too, and ends cleanly when its
// context ends.
func TestExportFollow(t *testing.T) {
	s := serveDev(t, "--rotate-size", "4096")
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		err := run(ctx, []string{"export", "--follow", s.dir, "--json"}, strings.NewReader(""), out, errOut)
		done <- exitCode(err, errOut)
	}()
	const batches, perBatch = 8, 25
	for b := 0; b < batches; b++ {
		var msgs []string
		for i := 0; i < perBatch; i++ {
			msgs = append(msgs, fmt.Sprintf("follow-%d-%d %s", b, i, strings.Repeat("x", 100)))
		}
		s.send(t, "", msgs...).wantCode(t, 0)
		time.Sleep(50 * time.Millisecond)
	}
	want := batches * perBatch
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(out.String(), `"msg":"follow-`) < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("export --follow exited %d: %s", code, errOut.String())
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "events-*.log"))
	if len(files) < 3 {
		t.Fatalf("only %d events files: the server did not rotate twice", len(files))
	}
	seen := map[string]int{}
	security := 0
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if msg, _ := m["msg"].(string); strings.HasPrefix(msg, "follow-") {
			seen[strings.Fields(msg)[0]]++
		}
		if _, ok := m["action"]; ok {
			security++
		}
	}
	for b := 0; b < batches; b++ {
		for i := 0; i < perBatch; i++ {
			if id := fmt.Sprintf("follow-%d-%d", b, i); seen[id] != 1 {
				t.Errorf("%s exported %d times, want once", id, seen[id])
			}
		}
	}
	if security == 0 {
		t.Error("no security event followed (the connections' events)")
	}
	if errOut.String() != "" {
		t.Errorf("stderr: %s", errOut.String())
	}
}

func TestExportFollowUsage(t *testing.T) {
	dir := t.TempDir()
	runCmd(t, "", "export", "--follow", "").wantCode(t, 2)
	runCmd(t, "", "export", "--follow", filepath.Join(dir, "none")).wantCode(t, 2)
	runCmd(t, "", "export", "--follow", dir, "extra.log").wantCode(t, 2)
	runCmd(t, "", "export", "--follow", dir, "--until", "1h").wantCode(t, 2)
}
