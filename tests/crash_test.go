package tests

// Black-box crash tests of docs/format.md §4 and §5: kill -9 the server at
// random moments while a client streams, restart, and check that nothing
// seen on disk is lost and the chain still verifies.

import (
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// bbStreamer writes numbered frames, one per TLS record, until the
// connection breaks or stop is closed.
func bbStreamer(t *testing.T, s *Sealog, round int, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	nc, err := net.DialTimeout("tcp", s.Addr, 2*time.Second)
	if err != nil {
		return
	}
	defer nc.Close()
	tc := tls.Client(nc, s.PKI.ClientTLS(t, s.PKI.ClientCert, s.PKI.ClientKey))
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		tc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := tc.Write(bbOctet(bbMsg(fmt.Sprintf("crash r%02d n%06d %s", round, n, strings.Repeat("c", 100))))); err != nil {
			return
		}
		if n%20 == 19 {
			time.Sleep(time.Millisecond) // let the pipeline take turns with us
		}
	}
}

var bbCrashMsgRE = regexp.MustCompile(`^crash r(\d\d) n(\d{6}) `)

// TestCrashKill9: 20 rounds of start, stream, kill -9 at a random moment
// (10–300 ms), restart on the same directory; then verify exits 0, the
// seal SEQ has no gap, every killed run's files were recovered with the
// right bytes_past_checkpoint and torn, IDs never repeat, and every line
// seen on disk before a kill is still there.
func TestCrashKill9(t *testing.T) {
	const rounds = 20
	s := startSealog(t, "--fsync-interval", "0", "--seal-interval", "100ms")
	seen := map[string]bool{} // lines read from disk just before a kill
	for r := 0; r < rounds; r++ {
		if r > 0 {
			s.startWith("--fsync-interval", "0", "--seal-interval", "100ms")
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go bbStreamer(t, s, r*2, stop, &wg)
		go bbStreamer(t, s, r*2+1, stop, &wg)
		time.Sleep(time.Duration(10+rand.IntN(291)) * time.Millisecond)
		for _, st := range []string{"events", "security"} {
			for _, l := range s.lines(st) {
				seen[l] = true
			}
		}
		s.Kill()
		close(stop)
		wg.Wait()
	}
	s.startWith("--fsync-interval", "0", "--seal-interval", "100ms")
	if code := s.Stop(); code != 0 {
		t.Fatalf("graceful stop after the crashes: exit %d\n%s", code, s.Stderr())
	}
	// The operator sees the recovery of the killed run's files and the
	// clean stop on stderr (the journal), not only in the security log.
	for _, want := range []string{"sealog: recovered events-", "sealog: recovered security-", "sealog: stopped: "} {
		if !strings.Contains(s.Stderr(), want) {
			t.Errorf("stderr of the last run lacks %q:\n%s", want, s.Stderr())
		}
	}

	if out, code := s.Verify(t); code != 0 {
		t.Errorf("verify after %d crashes: exit %d\n%s", rounds, code, out)
	}
	seals := bbSeals(t, s.Dir)
	bbCheckChain(t, seals)

	all := map[string]bool{}
	ids := map[string]string{}
	for _, st := range []string{"events", "security"} {
		for _, l := range s.lines(st) {
			all[l] = true
			c := strings.Split(l, "\t")
			if len(c) < 3 {
				t.Errorf("short line %q", l)
				continue
			}
			if prev, dup := ids[c[2]]; dup {
				t.Errorf("ID %s repeats:\n%s\n%s", c[2], prev, l)
			}
			ids[c[2]] = l
		}
	}
	lost := 0
	for l := range seen {
		if !all[l] {
			lost++
			if lost < 5 {
				t.Errorf("line on disk before a kill is gone: %q", l)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d lines seen before a kill are gone", lost)
	}

	// Each message at most once, and per connection in order with no hole
	// before the last one written (a connection's lines are a prefix of
	// what it sent).
	last := map[string]int{}
	count := map[string]int{}
	for _, ev := range s.Events() {
		if len(ev) != 15 {
			continue
		}
		m := bbCrashMsgRE.FindStringSubmatch(ev[14])
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if prev, ok := last[m[1]]; ok && n != prev+1 {
			t.Errorf("stream r%s: message n%06d follows n%06d", m[1], n, prev)
		} else if !ok && n != 0 {
			t.Errorf("stream r%s: first message on disk is n%06d, want n000000", m[1], n)
		}
		last[m[1]] = n
		count[m[1]]++
	}
	if len(count) < rounds {
		t.Errorf("only %d of %d streams left lines; the kills came too early to test anything", len(count), 2*rounds)
	}

	// recover events: one per file of each killed run, with
	// bytes_past_checkpoint = recovered BYTES - last checkpoint BYTES and
	// torn = the file does not end in LF.
	lastCP := map[string]int{}
	recovered := map[string]int{}
	for _, sl := range seals {
		n, _ := strconv.Atoi(sl[5])
		switch sl[3] {
		case "checkpoint":
			lastCP[sl[4]] = n
		case "recovered":
			recovered[sl[4]] = n - lastCP[sl[4]]
		}
	}
	explained := map[string]bool{}
	for _, l := range s.Security() {
		if len(l) != 9 || l[6] != "recover" {
			continue
		}
		d := bbDetail(t, l)
		file, _ := d["file"].(string)
		past, ok := d["bytes_past_checkpoint"].(float64)
		if !ok {
			t.Errorf("recover without a numeric bytes_past_checkpoint: %s", l[8])
		}
		torn, ok := d["torn"].(bool)
		if !ok {
			t.Errorf("recover without a boolean torn: %s", l[8])
		}
		want, ok := recovered[file]
		if !ok {
			t.Errorf("recover event for %q, which has no recovered seal", file)
			continue
		}
		explained[file] = true
		if int(past) != want {
			t.Errorf("recover %s: got bytes_past_checkpoint %v, want %d", file, past, want)
		}
		_, endsLF, _ := bbFileLines(t, filepath.Join(s.Dir, file))
		if torn == endsLF {
			t.Errorf("recover %s: got torn %v, but the file ends in LF: %v", file, torn, endsLF)
		}
		if s.Chattr && !bbImmutable(t, filepath.Join(s.Dir, file)) {
			t.Errorf("recovered %s is not immutable", file)
		}
	}
	// A kill can land during start-up (the port listens before the files
	// are opened and recovered), so a run may leave no files, and a file
	// may get two recover events — but never a recovered seal without one.
	// Every file ends with exactly one final or recovered seal: final for
	// the last, gracefully stopped run, recovered for all the others.
	terminal := map[string]string{}
	for _, sl := range seals {
		if sl[3] == "final" || sl[3] == "recovered" {
			if k, dup := terminal[sl[4]]; dup {
				t.Errorf("%s sealed %s and again %s", sl[4], k, sl[3])
			}
			terminal[sl[4]] = sl[3]
		}
	}
	var names []string
	ents, _ := os.ReadDir(s.Dir)
	for _, e := range ents {
		if bbFileRE.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool {
		return names[i][strings.IndexByte(names[i], '-'):] < names[j][strings.IndexByte(names[j], '-'):]
	})
	for i, n := range names {
		want := "recovered"
		if i >= len(names)-2 {
			want = "final"
		}
		if terminal[n] != want {
			t.Errorf("%s: got terminal seal %q, want %s", n, terminal[n], want)
		}
	}
	for f := range recovered {
		if !explained[f] {
			t.Errorf("%s has a recovered seal but no recover event", f)
		}
	}
	if len(recovered) < rounds {
		t.Errorf("only %d files recovered in %d rounds; the kills came too early to test recovery", len(recovered), rounds)
	}
	t.Logf("%d rounds: %d event lines, %d lines seen before kills, %d seals", rounds, len(s.Events()), len(seen), len(seals))
}
