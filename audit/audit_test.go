package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
	"golang.org/x/mod/sumdb/note"
)

// line formats one well-formed line of cols columns (LEN first) with id
// in column 3.
func line(cols int, id, text string) string {
	parts := []string{"2026-11-22T10:15:00.123456Z", id, "127.0.0.1:5000", "-", "tcp"}
	for len(parts) < cols-2 {
		parts = append(parts, "-")
	}
	parts = append(parts, text)
	rest := strings.Join(parts, "\t")
	return fmt.Sprintf("%d\t%s\n", len(rest), rest)
}

// logDir is a log directory sealed by the real seal.Chain, its seals
// tree checkpointed by a tlog.Publisher.
type logDir struct {
	dir    string
	chain  *seal.Chain
	pub    *tlog.Publisher
	v      note.Verifier
	signer note.Signer
}

func newLogDir(t *testing.T) *logDir {
	t.Helper()
	keys := t.TempDir()
	if err := seal.Keygen(keys); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := tlog.GenerateKeys("sealog/audit-test")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := tlog.ParseVerifier(vkey)
	dir := t.TempDir()
	c, err := seal.OpenChain(dir, filepath.Join(keys, seal.SealKeyName), seal.ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &logDir{dir: dir, chain: c, pub: tlog.NewPublisher(dir, s, nil), v: v, signer: s}
}

// add appends text to the file and returns its size.
func (l *logDir) add(t *testing.T, name, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(text)
	f.Close()
}

// seal seals the whole file as it is and publishes a checkpoint.
func (l *logDir) seal(t *testing.T, kind seal.Kind, name string) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(l.dir, name))
	var lh tlog.LineHasher
	lh.Write(b)
	if _, err := l.chain.Seal(kind, name, int64(len(b)), int64(lh.Lines()), lh.Root()); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSeals(l.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.pub.Publish(s.Tree.Head()); err != nil {
		t.Fatal(err)
	}
}

func (l *logDir) checkpoint(t *testing.T) []byte {
	b, err := tlog.ReadFile(filepath.Join(l.dir, tlog.CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	ev1 = "events-20261122T101500.123Z.log"
	ev2 = "events-20261122T111500.123Z.log"
	sec = "security-20261122T101500.123Z.log"
	ev3 = "events-20261122T121500.123Z.log"
)

// sample is a directory with a rotated (final) file, a checkpointed
// active file with an unsealed tail, a security file and a recovered file
// with a torn last line.
func sample(t *testing.T) *logDir {
	l := newLogDir(t)
	for i := range 5 {
		l.add(t, ev1, line(15, fmt.Sprintf("h-1.%d", i), "rotated"))
	}
	l.add(t, sec, line(9, "h-s.0", `{"reason":"x"}`))
	l.seal(t, seal.KindCheckpoint, ev1)
	l.add(t, ev1, line(15, "h-1.5", "after the checkpoint"))
	l.seal(t, seal.KindFinal, ev1)
	for i := range 3 {
		l.add(t, ev2, line(15, fmt.Sprintf("h-2.%d", i), "active"))
	}
	l.seal(t, seal.KindCheckpoint, ev2)
	l.seal(t, seal.KindCheckpoint, sec)
	l.add(t, ev2, line(15, "h-2.unsealed", "not yet sealed"))
	l.add(t, ev3, line(15, "h-3.0", "whole"))
	torn := line(15, "h-3.torn", "cut by a crash")
	l.add(t, ev3, torn[:len(torn)-6])
	l.seal(t, seal.KindRecovered, ev3)
	return l
}

func TestProveRoundTrip(t *testing.T) {
	l := sample(t)
	cp := l.checkpoint(t)
	for _, tc := range []struct {
		id       string
		file     string
		index    uint64
		sealSeq  uint64
		treeSize uint64
		kind     seal.Kind
	}{
		{"h-1.0", ev1, 0, 1, 5, seal.KindCheckpoint},
		{"h-1.4", ev1, 4, 1, 5, seal.KindCheckpoint},
		{"h-1.5", ev1, 5, 2, 6, seal.KindFinal},
		{"h-2.2", ev2, 2, 3, 3, seal.KindCheckpoint},
		{"h-s.0", sec, 0, 4, 1, seal.KindCheckpoint},
		{"h-3.0", ev3, 0, 5, 2, seal.KindRecovered},
		{"h-3.torn", ev3, 1, 5, 2, seal.KindRecovered}, // the torn last line
	} {
		t.Run(tc.id, func(t *testing.T) {
			p, err := Prove(l.dir, cp, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if p.File != tc.file || p.LineIndex != tc.index || p.SealIndex != tc.sealSeq-1 || p.FileTreeSize != tc.treeSize {
				t.Errorf("got file %s index %d seal %d size %d, want %s %d %d %d", p.File, p.LineIndex, p.SealIndex+1, p.FileTreeSize, tc.file, tc.index, tc.sealSeq, tc.treeSize)
			}
			// Through its JSON form, as a third party receives it.
			q, err := ParseProof(p.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verify(q, VerifyOptions{Log: l.v})
			if err != nil {
				t.Fatal(err)
			}
			if v.Seal.Kind != tc.kind || v.Checkpoint.Size != 5 {
				t.Errorf("verified seal %s, checkpoint %d", v.Seal.Kind, v.Checkpoint.Size)
			}
		})
	}
	if _, err := Prove(l.dir, cp, "h-2.unsealed"); err == nil || !strings.Contains(err.Error(), "not sealed yet") {
		t.Errorf("unsealed line: %v", err)
	}
	if _, err := Prove(l.dir, cp, "h-nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ID: got %v, want ErrNotFound", err)
	}
}

// TestVerifyRefusesTampering changes each field of a good proof and
// expects each change refused.
func TestVerifyRefusesTampering(t *testing.T) {
	l := sample(t)
	good, err := Prove(l.dir, l.checkpoint(t), "h-1.4")
	if err != nil {
		t.Fatal(err)
	}
	otherSigned, _ := tlog.Sign(tlog.Checkpoint{Origin: "sealog/audit-test", Size: 5, Root: tlog.LeafHash(nil)}, l.signer)
	flip := func(s string) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		b[3] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := map[string]func(p *Proof){
		"version":          func(p *Proof) { p.Version = 2 },
		"origin":           func(p *Proof) { p.Origin = "sealog/other" },
		"line text":        func(p *Proof) { p.Line = strings.Replace(p.Line, "rotated", "rotatex", 1) },
		"line of another":  func(p *Proof) { p.Line = strings.Replace(p.Line, "h-1.4", "h-1.3", 1) },
		"file":             func(p *Proof) { p.File = ev2 },
		"line_index":       func(p *Proof) { p.LineIndex-- },
		"line_index past":  func(p *Proof) { p.LineIndex = p.FileTreeSize },
		"file_tree_size":   func(p *Proof) { p.FileTreeSize++ },
		"file_proof hash":  func(p *Proof) { p.FileProof[0] = flip(p.FileProof[0]) },
		"file_proof short": func(p *Proof) { p.FileProof = p.FileProof[1:] },
		"seal":             func(p *Proof) { p.Seal = strings.Replace(p.Seal, "\t5\t", "\t4\t", 1) },
		"seal_index":       func(p *Proof) { p.SealIndex++ },
		"seals_proof hash": func(p *Proof) { p.SealsProof[0] = flip(p.SealsProof[0]) },
		"seals_proof none": func(p *Proof) { p.SealsProof = nil },
		"checkpoint size":  func(p *Proof) { p.Checkpoint = strings.Replace(p.Checkpoint, "\n5\n", "\n6\n", 1) },
		"checkpoint other": func(p *Proof) { p.Checkpoint = string(otherSigned) },
		"checkpoint sig":   func(p *Proof) { p.Checkpoint = p.Checkpoint[:len(p.Checkpoint)-10] + "AAAAAAAAA\n" },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			var p Proof
			json.Unmarshal(good.Marshal(), &p)
			change(&p)
			q, err := ParseProof(p.Marshal())
			if err != nil {
				return // refused as malformed: fine
			}
			if _, err := Verify(q, VerifyOptions{Log: l.v}); err == nil {
				t.Errorf("tampered %s: proof verifies", name)
			}
		})
	}
	// The untouched proof still verifies (the table's refusals are real).
	if _, err := Verify(good, VerifyOptions{Log: l.v}); err != nil {
		t.Fatal(err)
	}
	// A proof checked with another log's key is refused.
	_, vkey, _ := tlog.GenerateKeys("sealog/audit-test")
	other, _ := tlog.ParseVerifier(vkey)
	if _, err := Verify(good, VerifyOptions{Log: other}); err == nil {
		t.Error("proof verifies with another key of the same name")
	}
}

func TestCheckCheckpoint(t *testing.T) {
	l := sample(t)
	kept := l.checkpoint(t) // a copy an auditor keeps off the host
	s, _ := ReadSeals(l.dir)
	if _, _, err := CheckCheckpoint(kept, l.v, s.Tree); err != nil {
		t.Fatal(err)
	}
	// Rollback: a tree without the last seal.
	short := tlog.NewTree()
	for _, ln := range s.Lines[:len(s.Lines)-1] {
		short.Append(tlog.LeafHash(ln))
	}
	if _, _, err := CheckCheckpoint(kept, l.v, short); !errors.Is(err, ErrRollback) {
		t.Errorf("rollback: got %v", err)
	}
	// Rewrite: the same number of seals, one of them changed.
	rewritten := tlog.NewTree()
	for i, ln := range s.Lines {
		if i == 1 {
			ln = bytes.Replace(ln, []byte("final"), []byte("fin4l"), 1)
		}
		rewritten.Append(tlog.LeafHash(ln))
	}
	if _, _, err := CheckCheckpoint(kept, l.v, rewritten); !errors.Is(err, ErrRewrite) {
		t.Errorf("rewrite: got %v", err)
	}
	// A larger tree that extends the checkpointed one is fine.
	s.Tree.Append(tlog.LeafHash([]byte("later seal")))
	if _, _, err := CheckCheckpoint(kept, l.v, s.Tree); err != nil {
		t.Errorf("grown tree: %v", err)
	}
}

func FuzzParseProof(f *testing.F) {
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"origin":"o","line":"x","file":"f","line_index":0,"file_tree_size":1,"file_proof":[],"seal":"s","seal_index":0,"seals_proof":["AAAA"],"checkpoint":"c"}`))
	f.Add([]byte(`{"version":1} {}`))
	_, vkey, _ := tlog.GenerateKeys("sealog/fuzz")
	v, _ := tlog.ParseVerifier(vkey)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b)
		if err != nil {
			return
		}
		// Whatever parses is checked without panicking; with a key that
		// signed nothing, nothing verifies.
		if _, err := Verify(p, VerifyOptions{Log: v}); err == nil {
			t.Fatalf("proof %q verifies with an unused key", b)
		}
	})
}
