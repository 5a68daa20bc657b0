package tests

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiskFullCrashMidSeal: the disk fills while a checkpoint seal is being
// written, so the kernel takes only part of the seal line, and then the
// server dies (kill -9) before it can finish it. After space comes back,
// sealog must start again (not refuse), end the fragment, write a recover
// event naming seals.log, and leave a chain that verify accepts with a
// note on the interrupted line (docs/format.md §4, §5).
func TestDiskFullCrashMidSeal(t *testing.T) {
	mnt := dfMount(t, 16<<20)
	s := &Sealog{t: t, PKI: newPKI(t), Dir: filepath.Join(mnt, "logs"), KeyDir: t.TempDir()}
	if _, _, code := runSealog(t, "", "keygen", "--out", s.KeyDir); code != 0 {
		t.Fatal("keygen failed")
	}
	flags := []string{"--fsync-interval", "0", "--seal-interval", "200ms"}
	s.startWith(flags...)
	d := &dfSender{id: 0, c: s.Dial(t), stop: make(chan struct{}), done: make(chan struct{})}
	d.c.NetConn().(*net.TCPConn).SetWriteBuffer(32 << 10)
	go d.run()

	filler := filepath.Join(mnt, "filler")
	var partial bool
	for try := 0; try < 3 && !partial; try++ {
		partial = dfCatchSealOnFullDisk(t, s, mnt, filler, []*dfSender{d})
		if !partial {
			// The kernel took none of the line: free space, let it recover,
			// and try for a cut line again.
			os.Remove(filler)
			d.paused.Store(false)
			time.Sleep(500 * time.Millisecond)
		}
	}
	if !partial {
		os.Remove(filler)
		t.Skip("could not make the kernel cut a seal line in 3 tries (depends on page and block sizes)")
	}
	s.Kill()
	d.c.Close()
	data, err := os.ReadFile(filepath.Join(s.Dir, "seals.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] == '\n' {
		t.Fatalf("expected seals.log to end in a fragment after the kill")
	}
	tornLine := strings.Count(string(data), "\n") + 1
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}

	clearAttributes(s.Dir) // the killed run's files; the restart sets them again
	s.startWith(flags...)
	ev := s.WaitSecurity(t, "recover")
	var found bool
	for _, l := range ev {
		var detail map[string]any
		if err := json.Unmarshal([]byte(l[8]), &detail); err != nil {
			t.Fatalf("recover DETAIL %q: %v", l[8], err)
		}
		if detail["file"] == "seals.log" {
			found = true
			if detail["torn"] != true || detail["line"] != float64(tornLine) {
				t.Errorf("recover event for seals.log: got %v, want torn true on line %d", detail, tornLine)
			}
		}
	}
	if !found {
		t.Fatalf("no recover event for seals.log; recover events: %v", ev)
	}
	s.Send(t, "<13>1 - host app - - - after the crash")
	s.WaitEvents(t, 1)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	out, code := s.Verify(t)
	if code != 0 || !strings.Contains(out, "interrupted seal line") {
		t.Fatalf("verify: exit %d, want 0 with a note on the interrupted seal line:\n%s", code, out)
	}
}
