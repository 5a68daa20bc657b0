package tests

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/sealog/sealog/internal/sumdbref"
)

// Tests of the transparency log (docs/format.md §4 ROOT, §7): signed
// checkpoints, rollback and rewrite detection, single-event proofs. The
// formats are checked with golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog, code other than sealog's.

// tlWaitCheckpoint waits until the server has printed a checkpoint of at
// least size seals and returns the size of the last one printed.
func tlWaitCheckpoint(t *testing.T, s *Sealog, size int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		last := 0
		for _, l := range strings.Split(s.Stderr(), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "checkpoint" {
				last, _ = strconv.Atoi(f[1])
			}
		}
		if last >= size {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %d seals; stderr:\n%s", size, s.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tlSealLines returns the seal lines of seals.log (without LF) that parse
// as seals (10 columns).
func tlSealLines(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "seals.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.HasSuffix(l, "\n") && strings.Count(l, "\t") == 9 {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	return out
}

// sumdbTree is a tree of byte strings built with golang.org/x/mod/sumdb/tlog.
type sumdbTree struct {
	stored sumdbref.Stored
	n      int64
}

func (m *sumdbTree) reader() sumtlog.HashReader { return &m.stored }

func (m *sumdbTree) add(data []byte) {
	hs, err := sumtlog.StoredHashes(m.n, data, m.reader())
	if err != nil {
		panic(err)
	}
	m.stored = append(m.stored, hs...)
	m.n++
}

func (m *sumdbTree) root(n int64) sumtlog.Hash {
	h, err := sumtlog.TreeHash(n, m.reader())
	if err != nil {
		panic(err)
	}
	return h
}

// tlCheckCheckpoint opens DIR/checkpoint with golang.org/x/mod/sumdb/note
// and log.pub, and checks its body against a tree of seals.log computed
// with golang.org/x/mod/sumdb/tlog. It returns the size.
func tlCheckCheckpoint(t *testing.T, s *Sealog, origin string) int64 {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(s.KeyDir, "log.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := os.ReadFile(filepath.Join(s.Dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(s.Dir, "checkpoint")); fi.Mode().Perm() != 0o640 {
		t.Errorf("checkpoint mode %v, want 0640", fi.Mode().Perm())
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatalf("DIR/checkpoint does not open with log.pub: %v\n%s", err, msg)
	}
	body := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(body) != 3 || body[0] != origin {
		t.Fatalf("checkpoint body %q: want origin %q, size, root", n.Text, origin)
	}
	size, err := strconv.ParseInt(body[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	root, err := base64.StdEncoding.DecodeString(body[2])
	if err != nil || len(root) != 32 {
		t.Fatalf("checkpoint root %q", body[2])
	}
	seals := tlSealLines(t, s.Dir)
	if int64(len(seals)) != size {
		t.Errorf("checkpoint size %d, seals.log holds %d seals", size, len(seals))
	}
	var tree sumdbTree
	for _, l := range seals {
		tree.add([]byte(l))
	}
	if got := tree.root(size); !bytes.Equal(got[:], root) {
		t.Errorf("checkpoint root %x, the seals tree computed with sumdb/tlog has %x", root, got)
	}
	// Every seal's ROOT is the tree of its file's lines, also from sumdb.
	for _, l := range seals {
		bbCheckSealOf(t, s.Dir, strings.Split(l, "\t"))
	}
	return size
}

// tlStartRotating starts sealog sealing every second and rotating at
// 4 KiB, sends n events of some 200 bytes (pad repeated) and returns it
// and the events once they are written: several rotated files and their
// seals for the checkpoint and proof tests.
func tlStartRotating(t *testing.T, n int, pad string) (*Sealog, [][]string) {
	t.Helper()
	s := startSealog(t, "--seal-interval", "1s", "--rotate-size", "4096", "--rotate-interval", "0")
	var frames []string
	for i := range n {
		frames = append(frames, bbMsg(fmt.Sprintf("event %d %s", i, strings.Repeat(pad, 200))))
	}
	s.Send(t, frames...)
	return s, s.WaitEvents(t, n)
}

// tlStopKeepCheckpoint stops s and returns a copy of its DIR/checkpoint
// kept elsewhere, as a witness would keep it, for the rollback tests to
// verify against after they have tampered with the directory.
func tlStopKeepCheckpoint(t *testing.T, s *Sealog) string {
	t.Helper()
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	kept := filepath.Join(t.TempDir(), "witness-copy")
	copyFile(t, filepath.Join(s.Dir, "checkpoint"), kept)
	return kept
}

// TestCheckpointsIndependent: a real sealed directory from the built
// binary, with rotated files, a crash (SIGKILL) mid-stream, a torn line
// and the recovery seals of the next start, is checked with x/mod's note
// and tlog: DIR/checkpoint verifies with log.pub and is the tree of
// seals.log; every ROOT is the tree of its file's lines.
func TestCheckpointsIndependent(t *testing.T) {
	s, _ := tlStartRotating(t, 40, "x")
	size := tlWaitCheckpoint(t, s, 4)
	origin := tlOrigin(t, s)
	tlCheckCheckpoint(t, s, origin)

	// Crash with data past the last checkpoint and a torn last line.
	s.Send(t, bbMsg("after the checkpoint"))
	s.WaitEvents(t, 41)
	s.Kill()
	ev := s.files("events")
	active := ev[len(ev)-1]
	f, err := os.OpenFile(active, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("99\t2026-11-22T10:15:00.000000Z\ttesthost-torn") // no LF: a torn write
	f.Close()

	s.startWith("--seal-interval", "1s", "--rotate-size", "4096", "--rotate-interval", "0")
	s.WaitSecurity(t, "recover")
	tlWaitCheckpoint(t, s, size+1)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	got := tlCheckCheckpoint(t, s, origin)
	recovered := false
	for _, l := range tlSealLines(t, s.Dir) {
		c := strings.Split(l, "\t")
		if c[3] == "recovered" && c[4] == filepath.Base(active) {
			recovered = true
		}
	}
	if !recovered || got <= int64(size) {
		t.Errorf("after recovery: checkpoint of %d seals (was %d), recovered seal of %s: %v", got, size, filepath.Base(active), recovered)
	}

	// verify with public keys only: everything but the MACs, and it says so.
	pub := filepath.Join(s.KeyDir, "log.pub")

	// The torn line is the recovered seal's extra leaf: provable too.
	proof, errOut, code := runSealog(t, "", "prove", "--dir", s.Dir, "testhost-torn")
	if code != 0 {
		t.Fatalf("prove of the torn line: exit %d\n%s", code, errOut)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(proof), &p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p["seal"].(string), "\trecovered\t") || p["line_index"].(float64)+1 != p["file_tree_size"].(float64) {
		t.Errorf("proof of the torn line: seal %q, index %v of %v", p["seal"], p["line_index"], p["file_tree_size"])
	}
	tlCheckProofWithSumdb(t, p)
	pf := filepath.Join(t.TempDir(), "torn.json")
	os.WriteFile(pf, []byte(proof), 0o600)
	if out, errOut, code := runSealog(t, "", "verify-proof", "--log-pub", pub, pf); code != 0 {
		t.Errorf("verify-proof of the torn line: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := runSealog(t, "", "verify", "--log-pub", pub, s.Dir)
	if code != 0 || !strings.Contains(out, "NOT the MACs") || !strings.Contains(out, "checkpoint signature") {
		t.Errorf("verify --log-pub: exit %d\n%s%s", code, out, errOut)
	}
	if out, code := s.Verify(t, "--log-pub", pub); code != 0 || strings.Contains(out, "NOT the MACs") {
		t.Errorf("verify --key --log-pub: exit %d\n%s", code, out)
	}
}

// tlWaitSealOf waits until seals.log holds a seal of path's whole
// current size.
func tlWaitSealOf(t *testing.T, s *Sealog, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range tlSealLines(t, s.Dir) {
			c := strings.Split(l, "\t")
			if c[4] == filepath.Base(path) && c[5] == strconv.FormatInt(fi.Size(), 10) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no seal of all of %s; stderr:\n%s", path, s.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tlOrigin is the key name in log.pub.
func tlOrigin(t *testing.T, s *Sealog) string {
	pub, err := os.ReadFile(filepath.Join(s.KeyDir, "log.pub"))
	if err != nil {
		t.Fatal(err)
	}
	name, _, _ := strings.Cut(string(pub), "+")
	return name
}

// TestRollbackCaughtByCheckpoint: the newest seals and files are removed
// together, consistently, so that plain verify (the HMAC chain, no head)
// passes; a checkpoint kept off the host makes verify fail.
func TestRollbackCaughtByCheckpoint(t *testing.T) {
	s := startSealog(t)
	s.Send(t, bbMsg("first run"))
	s.WaitEvents(t, 1)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	firstSeals, _ := os.ReadFile(filepath.Join(s.Dir, "seals.log"))
	firstCP, _ := os.ReadFile(filepath.Join(s.Dir, "checkpoint"))
	firstFiles := map[string]bool{}
	for _, f := range append(s.files("events"), s.files("security")...) {
		firstFiles[f] = true
	}

	s.startWith()
	s.Send(t, bbMsg("second run: the intruder wants this gone"))
	s.WaitEvents(t, 2)
	kept := tlStopKeepCheckpoint(t, s)
	pub := filepath.Join(s.KeyDir, "log.pub")
	if out, code := s.Verify(t, "--log-pub", pub, "--checkpoint", kept); code != 0 {
		t.Fatalf("before the rollback: exit %d\n%s", code, out)
	}

	// The rollback, as root on the log host would do it.
	clearAttributes(s.Dir)
	for _, f := range append(s.files("events"), s.files("security")...) {
		if !firstFiles[f] {
			os.Remove(f)
		}
	}
	os.WriteFile(filepath.Join(s.Dir, "seals.log"), firstSeals, 0o640)
	os.WriteFile(filepath.Join(s.Dir, "checkpoint"), firstCP, 0o640)

	if out, code := s.Verify(t); code != 0 {
		t.Fatalf("plain verify after a consistent rollback: exit %d (the test's rollback is not consistent)\n%s", code, out)
	}
	if out, code := s.Verify(t, "--log-pub", pub); code != 0 {
		t.Fatalf("verify with DIR/checkpoint rolled back too: exit %d\n%s", code, out)
	}
	out, code := s.Verify(t, "--log-pub", pub, "--checkpoint", kept)
	if code != 1 || !strings.Contains(out, "rollback") || !strings.Contains(out, kept) {
		t.Errorf("verify --checkpoint <kept copy> after a rollback: exit %d, want 1 naming a rollback:\n%s", code, out)
	}
}

// TestRewriteCaughtWithoutKey: an intruder without the HMAC key changes a
// byte of an old file and rewrites every later seal's ROOT to match (the
// MACs cannot be redone without the key). verify with public keys only
// (which does not check MACs) catches it through the checkpoint.
func TestRewriteCaughtWithoutKey(t *testing.T) {
	s := startSealog(t, "--rotate-size", "4096", "--rotate-interval", "0")
	var frames []string
	for i := range 40 {
		frames = append(frames, bbMsg(fmt.Sprintf("event %d %s", i, strings.Repeat("y", 200))))
	}
	s.Send(t, frames...)
	s.WaitEvents(t, 40)
	kept := tlStopKeepCheckpoint(t, s)
	clearAttributes(s.Dir)

	old := s.files("events")[0]
	data, _ := os.ReadFile(old)
	i := bytes.Index(data, []byte("event 3 "))
	data[i+6] = '9' // "event 3" becomes "event 9"
	os.WriteFile(old, data, 0o640)
	// Every seal of that file gets the ROOT of its new content.
	seals, _ := os.ReadFile(filepath.Join(s.Dir, "seals.log"))
	var out []string
	for _, l := range strings.SplitAfter(string(seals), "\n") {
		c := strings.Split(strings.TrimSuffix(l, "\n"), "\t")
		if len(c) == 10 && filepath.Join(s.Dir, c[4]) == old {
			n, _ := strconv.Atoi(c[5])
			r := sumdbLinesRoot(data[:n])
			c[7] = fmt.Sprintf("%x", r[:])
			l = strings.Join(c, "\t") + "\n"
		}
		out = append(out, l)
	}
	os.WriteFile(filepath.Join(s.Dir, "seals.log"), []byte(strings.Join(out, "")), 0o640)

	pub := filepath.Join(s.KeyDir, "log.pub")
	for _, args := range [][]string{
		{"verify", "--log-pub", pub, s.Dir},
		{"verify", "--log-pub", pub, "--checkpoint", kept, s.Dir},
	} {
		o, e, code := runSealog(t, "", args...)
		if code != 1 || !strings.Contains(o, "rewrite") {
			t.Errorf("%v after a rewrite: exit %d, want 1 naming a rewrite:\n%s%s", args, code, o, e)
		}
	}
	// The rewritten files themselves are consistent with their seals:
	// only the checkpoint can tell.
	if o, _, _ := runSealog(t, "", "verify", "--log-pub", pub, s.Dir); strings.Contains(o, "ROOT of the first") {
		t.Errorf("the rewrite was meant to keep ROOT consistent:\n%s", o)
	}
}

// TestProveRoundTrip: proofs of events in a rotated file and in the
// active file, and of a security event, made by `sealog prove` from a
// running server's directory, check with `sealog verify-proof` and log.pub
// alone, and their inclusion proofs check with x/mod's tlog.CheckRecord.
// Each tampered field is refused; an unknown ID exits 1.
func TestProveRoundTrip(t *testing.T) {
	s, ev := tlStartRotating(t, 30, "z")
	s.WaitSecurity(t, "disconnect")
	files := s.files("events")
	// A checkpoint seal of the active files, covering all sent, and the
	// signed checkpoint that includes it.
	tlWaitSealOf(t, s, files[len(files)-1])
	tlWaitSealOf(t, s, s.files("security")[0])
	tlWaitCheckpoint(t, s, len(tlSealLines(t, s.Dir)))
	if len(files) < 2 {
		t.Fatalf("want rotated files, got %v", files)
	}
	activeFirst := ""
	if b, err := os.ReadFile(files[len(files)-1]); err == nil {
		activeFirst = strings.Split(string(b), "\t")[2]
	}
	ids := map[string]string{
		"rotated":  ev[0][2],
		"active":   activeFirst,
		"security": s.WaitSecurity(t, "connect")[0][2],
	}
	pub := filepath.Join(s.KeyDir, "log.pub")
	for what, id := range ids {
		t.Run(what, func(t *testing.T) {
			proof, errOut, code := runSealog(t, "", "prove", "--dir", s.Dir, id)
			if code != 0 {
				t.Fatalf("prove %s: exit %d\n%s", id, code, errOut)
			}
			var p map[string]any
			if err := json.Unmarshal([]byte(proof), &p); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"version", "origin", "line", "file", "line_index", "file_tree_size", "file_proof", "seal", "seal_index", "seals_proof", "checkpoint"} {
				if _, ok := p[k]; !ok {
					t.Errorf("proof has no %q", k)
				}
			}
			if !strings.Contains(p["line"].(string), "\t"+id+"\t") {
				t.Errorf("proof line %q is not the line of %s", p["line"], id)
			}
			tlCheckProofWithSumdb(t, p)
			pf := filepath.Join(t.TempDir(), "proof.json")
			os.WriteFile(pf, []byte(proof), 0o600)
			out, errOut, code := runSealog(t, "", "verify-proof", "--log-pub", pub, pf)
			if code != 0 || !strings.Contains(out, "proof OK") {
				t.Fatalf("verify-proof: exit %d\n%s%s", code, out, errOut)
			}
			// Each field tampered with is refused.
			for k, v := range p {
				q := map[string]any{}
				for k2, v2 := range p {
					q[k2] = v2
				}
				q[k] = tlTamper(v)
				b, _ := json.Marshal(q)
				os.WriteFile(pf, b, 0o600)
				if out, _, code := runSealog(t, "", "verify-proof", "--log-pub", pub, pf); code == 0 {
					t.Errorf("verify-proof accepted a proof with %s changed:\n%s", k, out)
				}
			}
		})
	}
	if _, errOut, code := runSealog(t, "", "prove", "--dir", s.Dir, "testhost-no-such-id"); code != 1 {
		t.Errorf("prove of an unknown ID: exit %d, want 1\n%s", code, errOut)
	}
}

// tlTamper returns a changed copy of a proof field's value.
func tlTamper(v any) any {
	switch x := v.(type) {
	case float64:
		return x + 1
	case string:
		if b, err := base64.StdEncoding.DecodeString(x); err == nil && len(b) == 32 {
			b[0] ^= 1
			return base64.StdEncoding.EncodeToString(b)
		}
		if x == "" {
			return "x"
		}
		// Change a character in the middle: a digit, a letter, a sign.
		r := []byte(x)
		i := len(r) / 2
		if r[i] == 'A' {
			r[i] = 'B'
		} else {
			r[i] = 'A'
		}
		return string(r)
	case []any:
		if len(x) == 0 {
			return []any{base64.StdEncoding.EncodeToString(make([]byte, 32))}
		}
		y := append([]any(nil), x...)
		y[0] = tlTamper(y[0])
		return y
	}
	return v
}

// tlCheckProofWithSumdb checks both inclusion proofs of a proof with
// golang.org/x/mod/sumdb/tlog.CheckRecord.
func tlCheckProofWithSumdb(t *testing.T, p map[string]any) {
	t.Helper()
	dec := func(k string) sumtlog.RecordProof {
		var out sumtlog.RecordProof
		for _, s := range p[k].([]any) {
			b, _ := base64.StdEncoding.DecodeString(s.(string))
			var h sumtlog.Hash
			copy(h[:], b)
			out = append(out, h)
		}
		return out
	}
	sealCols := strings.Split(p["seal"].(string), "\t")
	var sealRoot sumtlog.Hash
	rb, _ := hex.DecodeString(sealCols[7])
	copy(sealRoot[:], rb)
	err := sumtlog.CheckRecord(dec("file_proof"), int64(p["file_tree_size"].(float64)), sealRoot,
		int64(p["line_index"].(float64)), sumtlog.RecordHash([]byte(p["line"].(string))))
	if err != nil {
		t.Errorf("file_proof does not check with sumdb/tlog: %v", err)
	}
	cp := strings.Split(p["checkpoint"].(string), "\n")
	size, _ := strconv.ParseInt(cp[1], 10, 64)
	var cpRoot sumtlog.Hash
	b, _ := base64.StdEncoding.DecodeString(cp[2])
	copy(cpRoot[:], b)
	err = sumtlog.CheckRecord(dec("seals_proof"), size, cpRoot, int64(p["seal_index"].(float64)), sumtlog.RecordHash([]byte(p["seal"].(string))))
	if err != nil {
		t.Errorf("seals_proof does not check with sumdb/tlog: %v", err)
	}
}

// TestVerifyLogPubUsage: verify needs a key of either kind, and --log-pub
// with no checkpoint at all fails rather than passing unchecked.
func TestVerifyLogPubUsage(t *testing.T) {
	s := startSealog(t)
	s.Send(t, bbMsg("x"))
	s.WaitEvents(t, 1)
	s.Stop()
	if _, errOut, code := runSealog(t, "", "verify", s.Dir); code != 2 || !strings.Contains(errOut, "--log-pub") {
		t.Errorf("verify without keys: exit %d, want 2 naming --log-pub: %s", code, errOut)
	}
	clearAttributes(s.Dir)
	os.Remove(filepath.Join(s.Dir, "checkpoint"))
	out, _, code := runSealog(t, "", "verify", "--log-pub", filepath.Join(s.KeyDir, "log.pub"), s.Dir)
	if code != 1 || !strings.Contains(out, "no checkpoint") {
		t.Errorf("verify --log-pub without a checkpoint: exit %d, want 1 saying no checkpoint:\n%s", code, out)
	}
}

// TestCheckpointWriteError: DIR/checkpoint cannot be replaced (a
// directory took its name, so the rename over it fails, as it would on a
// full or read-only disk): the first failed checkpoint is a write_error
// security event naming the file, and on stderr; the seals that follow
// fail too but add no event (one per episode); once the path is free the
// next seal writes the checkpoint again, write_recovered says so, and the
// stop is clean (under SEALOG_TEST_RACE=1 the binary has the race
// detector, which fails the stop on a race).
func TestCheckpointWriteError(t *testing.T) {
	s := startSealog(t, "--seal-interval", "200ms")
	ckptErrors := func() [][]string {
		return s.Matching("security", func(l []string) bool {
			return len(l) == 9 && l[6] == "write_error" && strings.Contains(l[8], `"file":"checkpoint"`)
		})
	}
	n := 0
	send := func() {
		t.Helper()
		n++
		s.Send(t, bbMsg(fmt.Sprintf("checkpoint write error %d", n)))
		s.WaitEvents(t, n)
	}
	send()
	tlWaitCheckpoint(t, s, 1)

	path := filepath.Join(s.Dir, "checkpoint")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "in-the-way"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sealsBefore := len(tlSealLines(t, s.Dir))
	send()
	got := s.WaitLines(t, "security", 1, "write_error of the checkpoint", func(l []string) bool {
		return len(l) == 9 && l[6] == "write_error" && strings.Contains(l[8], `"file":"checkpoint"`)
	})
	if l := got[0]; l[7] != "error" || !strings.Contains(l[8], "rename ") {
		t.Errorf("write_error of the checkpoint: %q, want RESULT error and the cause", strings.Join(l, "\t"))
	}
	if !strings.Contains(s.Stderr(), "sealog: write error: checkpoint ") {
		t.Errorf("stderr does not say the checkpoint write failed:\n%s", s.Stderr())
	}
	// Three more seals fail to publish: still one event, one stderr line.
	for len(tlSealLines(t, s.Dir)) < sealsBefore+4 {
		send()
		time.Sleep(250 * time.Millisecond)
	}
	if got := len(ckptErrors()); got != 1 {
		t.Errorf("%d write_error events of the checkpoint during one failure, want 1", got)
	}
	if c := strings.Count(s.Stderr(), "sealog: write error: checkpoint "); c != 1 {
		t.Errorf("%d stderr lines for one failure of the checkpoint, want 1:\n%s", c, s.Stderr())
	}
	if len(s.SecurityOf("write_recovered")) != 0 {
		t.Errorf("write_recovered while the checkpoint still fails")
	}

	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	send()
	rec := s.WaitSecurity(t, "write_recovered")
	if l := rec[0]; !strings.Contains(l[8], `"file":"checkpoint"`) || !strings.Contains(l[8], `"duration_ms":`) {
		t.Errorf("write_recovered: %q, want the checkpoint file and the duration", strings.Join(l, "\t"))
	}
	if !strings.Contains(s.Stderr(), "sealog: write recovered: checkpoint written again") {
		t.Errorf("stderr does not say the checkpoint was written again:\n%s", s.Stderr())
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, s.Stderr())
	}
	if got := len(ckptErrors()); got != 1 {
		t.Errorf("%d write_error events of the checkpoint, want 1", got)
	}
	tlCheckCheckpoint(t, s, tlOrigin(t, s))
	if out, code := s.Verify(t, "--log-pub", filepath.Join(s.KeyDir, "log.pub")); code != 0 {
		t.Errorf("verify after the episode: exit %d\n%s", code, out)
	}
}
