package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "keys")
	if err := Keygen(dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{dir, os.ModeDir | 0o700},
		{filepath.Join(dir, SealKeyName), 0o600},
		{filepath.Join(dir, VerifyKeyName), 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: got mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
	vk := readFile(t, filepath.Join(dir, VerifyKeyName))
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(vk) {
		t.Errorf("verify.key: got %q, want 64 lowercase hex digits and LF", vk)
	}
	sk := readFile(t, filepath.Join(dir, SealKeyName))
	want := "sealog-key-state 1\nseq=1\nkey=" + string(vk[:64]) + "\nprev=" + strings.Repeat("0", 64) + "\n"
	if string(sk) != want {
		t.Errorf("seal.key: got %q, want %q", sk, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("got %d entries in the key dir, want 2 (no temp files left)", len(ents))
	}

	// A second keygen must refuse and leave both files as they are.
	err := Keygen(dir)
	if !errors.Is(err, ErrKeyExists) || !strings.Contains(err.Error(), SealKeyName) {
		t.Fatalf("got %v, want ErrKeyExists naming %s", err, SealKeyName)
	}
	if got := readFile(t, filepath.Join(dir, SealKeyName)); string(got) != want {
		t.Fatalf("seal.key changed by a refused keygen")
	}

	// Either file alone is enough to refuse.
	for _, name := range []string{SealKeyName, VerifyKeyName} {
		d := t.TempDir()
		writeFile(t, filepath.Join(d, name), []byte("keep me\n"))
		err := Keygen(d)
		if !errors.Is(err, ErrKeyExists) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s exists: got %v, want ErrKeyExists naming it", name, err)
		}
		if got := readFile(t, filepath.Join(d, name)); string(got) != "keep me\n" {
			t.Errorf("%s: got %q, want it untouched", name, got)
		}
		if ents, _ := os.ReadDir(d); len(ents) != 1 {
			t.Errorf("%s exists: got %d entries, want 1 (nothing written)", name, len(ents))
		}
	}
}

func TestKeygenRandom(t *testing.T) {
	_, a := testKey(t)
	_, b := testKey(t)
	if a == b || a == ([32]byte{}) {
		t.Fatalf("got keys %x and %x, want two different random keys", a, b)
	}
}

func TestLoadVerifyKey(t *testing.T) {
	hexKey := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name, content string
		ok            bool
	}{
		{"canonical", hexKey + "\n", true},
		{"no LF", hexKey, true},
		{"uppercase", strings.ToUpper(hexKey) + "\r\n", true},
		{"short", hexKey[:62] + "\n", false},
		{"long", hexKey + "00\n", false},
		{"not hex", "g" + hexKey[1:] + "\n", false},
		{"empty", "", false},
		{"state file instead", "sealog-key-state 1\nseq=1\nkey=" + hexKey + "\nprev=" + strings.Repeat("0", 64) + "\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "verify.key")
			writeFile(t, p, []byte(tt.content))
			k, err := LoadVerifyKey(p)
			if !tt.ok {
				if !errors.Is(err, ErrVerifyKey) || !strings.Contains(err.Error(), p) {
					t.Fatalf("got %v, want ErrVerifyKey naming %s", err, p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(k.secrets().key2[:]); got != hexKey {
				t.Fatalf("got %s, want %s", got, hexKey)
			}
		})
	}
	if _, err := LoadVerifyKey(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrVerifyKey) {
		t.Fatalf("missing file: got %v, want ErrVerifyKey", err)
	}
}

func TestOpenChainBadKeyState(t *testing.T) {
	z := strings.Repeat("0", 64)
	k := strings.Repeat("ab", 32)
	tests := []struct{ name, content string }{
		{"empty", ""},
		{"wrong magic", "sealog-key-state 2\nseq=1\nkey=" + k + "\nprev=" + z + "\n"},
		{"seq 0", "sealog-key-state 1\nseq=0\nkey=" + k + "\nprev=" + z + "\n"},
		{"seq leading zero", "sealog-key-state 1\nseq=01\nkey=" + k + "\nprev=" + z + "\n"},
		{"uppercase key", "sealog-key-state 1\nseq=1\nkey=" + strings.ToUpper(k) + "\nprev=" + z + "\n"},
		{"short key", "sealog-key-state 1\nseq=1\nkey=" + k[2:] + "\nprev=" + z + "\n"},
		{"no final LF", "sealog-key-state 1\nseq=1\nkey=" + k + "\nprev=" + z},
		{"extra line", "sealog-key-state 1\nseq=1\nkey=" + k + "\nprev=" + z + "\nx\n"},
		{"seq 1 with prev", "sealog-key-state 1\nseq=1\nkey=" + k + "\nprev=" + k + "\n"},
		{"seq 2 without seals", "sealog-key-state 1\nseq=2\nkey=" + k + "\nprev=" + z + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "seal.key")
			writeFile(t, p, []byte(tt.content))
			_, err := OpenChain(t.TempDir(), p, ChainOptions{})
			if !errors.Is(err, ErrKeyState) || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v, want ErrKeyState naming %s", err, p)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "seal.key")
		_, err := OpenChain(t.TempDir(), p, ChainOptions{})
		if !errors.Is(err, ErrKeyState) || !strings.Contains(err.Error(), p) {
			t.Fatalf("got %v, want ErrKeyState naming %s", err, p)
		}
	})
}

func TestChainReopenContinues(t *testing.T) {
	d := newLogDir(t)
	d.write(ev1, 3)
	d.seal(KindCheckpoint, ev1)
	d.write(ev1, 3)
	r2 := d.seal(KindCheckpoint, ev1)
	d.write(sec1, 1)
	r3 := d.seal(KindCheckpoint, sec1)
	d.close()

	d.open()
	seq, mac := d.c.Head()
	if seq != 3 || mac != r3.MAC {
		t.Fatalf("got head %s, want %s", FormatHead(seq, mac), FormatHead(3, r3.MAC))
	}
	if got, ok := d.c.Last(ev1); !ok || got != r2 {
		t.Fatalf("Last(%s): got %+v %v, want %+v", ev1, got, ok, r2)
	}
	if _, ok := d.c.Last(ev2); ok {
		t.Fatalf("Last(%s): got a seal, want none", ev2)
	}
	d.write(ev1, 1)
	r4 := d.seal(KindFinal, ev1)
	if r4.Seq != 4 || r4.Prev != r3.MAC {
		t.Fatalf("got seal %d prev %x, want seal 4 prev %x", r4.Seq, r4.Prev, r3.MAC)
	}
	if got, _ := d.c.Last(ev1); got != r4 {
		t.Fatalf("Last after seal: got %+v, want %+v", got, r4)
	}
	d.close()
	st, err := loadStateT(d.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.seq != 5 || st.prev != r4.MAC {
		t.Fatalf("key state: got seq %d, want 5 with prev = MAC of seal 4", st.seq)
	}
	res, report := d.verify(nil)
	mustPass(t, res, report)
}

// TestChainCrashBeforePersist: a crash after the seal line was fsynced
// but before the evolved key state replaced the old one (simulated by
// restoring the old seal.key). Reopening must evolve past the seal: no
// key reused, no SEQ gap, the chain verifies.
func TestChainCrashBeforePersist(t *testing.T) {
	for _, lost := range []int{1, 3} {
		d := newLogDir(t)
		d.write(ev1, 2)
		d.seal(KindCheckpoint, ev1)
		old := readFile(t, d.keyPath)
		var last Record
		for range lost {
			d.write(ev1, 2)
			last = d.seal(KindCheckpoint, ev1)
		}
		d.close()
		writeFile(t, d.keyPath, old)

		d.open()
		if seq, mac := d.c.Head(); seq != last.Seq || mac != last.MAC {
			t.Fatalf("lost %d: got head %s, want %s", lost, FormatHead(seq, mac), FormatHead(last.Seq, last.MAC))
		}
		st, err := loadStateT(d.keyPath)
		if err != nil {
			t.Fatal(err)
		}
		if st.seq != last.Seq+1 {
			t.Fatalf("lost %d: persisted state at seq %d, want %d", lost, st.seq, last.Seq+1)
		}
		d.write(ev1, 1)
		r := d.seal(KindFinal, ev1)
		if r.Seq != last.Seq+1 || r.Prev != last.MAC {
			t.Fatalf("lost %d: got seal %d, want %d after %d", lost, r.Seq, last.Seq+1, last.Seq)
		}
		d.close()
		res, report := d.verify(nil)
		mustPass(t, res, report)
	}
}

func TestChainRefusesMismatch(t *testing.T) {
	t.Run("seals removed from seals.log", func(t *testing.T) {
		d := newLogDir(t)
		d.standard()
		d.close()
		d.rewriteSeals(func(l []string) []string { return l[:8] })
		_, err := OpenChain(d.dir, d.keyPath, ChainOptions{})
		if !errors.Is(err, ErrKeyState) || !strings.Contains(err.Error(), "seq 11") {
			t.Fatalf("got %v, want ErrKeyState about seq 11", err)
		}
	})
	t.Run("foreign seal line after a restored state", func(t *testing.T) {
		d := newLogDir(t)
		d.write(ev1, 1)
		old := readFile(t, d.keyPath)
		r := d.seal(KindCheckpoint, ev1)
		d.close()
		writeFile(t, d.keyPath, old)
		r.MAC[0] ^= 1
		d.rewriteSeals(func([]string) []string {
			return []string{strings.TrimSuffix(string(appendLine(nil, &r)), "\n")}
		})
		_, err := OpenChain(d.dir, d.keyPath, ChainOptions{})
		if !errors.Is(err, ErrKeyState) || !strings.Contains(err.Error(), "MAC") {
			t.Fatalf("got %v, want ErrKeyState about the MAC", err)
		}
	})
	t.Run("torn last line: a whole seal without its LF", func(t *testing.T) {
		d := newLogDir(t)
		d.standard()
		d.close()
		b := readFile(t, d.path(SealsName))
		writeFile(t, d.path(SealsName), b[:len(b)-1])
		c, err := OpenChain(d.dir, d.keyPath, ChainOptions{})
		if err != nil {
			t.Fatalf("OpenChain: %v", err)
		}
		defer c.Close()
		torn, ok := c.Torn()
		if !ok || !torn.Complete {
			t.Fatalf("got Torn %+v, %v; want a complete seal lacking its LF", torn, ok)
		}
		if got := readFile(t, d.path(SealsName)); string(got) != string(b) {
			t.Fatalf("seals.log not ended with an LF: got %d bytes, want %d", len(got), len(b))
		}
	})
	t.Run("torn last line: an interrupted seal", func(t *testing.T) {
		d := newLogDir(t)
		d.standard()
		d.close()
		b := readFile(t, d.path(SealsName))
		lines := strings.SplitAfter(string(b), "\n")
		lastSeq := len(lines) - 1 // SplitAfter leaves an empty last element
		// What a seal cut off by a full disk leaves: the start of its line.
		writeFile(t, d.path(SealsName), append(b, "281\t2026-11-22T10:20:00.000000Z\t"+itoa(int64(lastSeq+1))+"\tcheck"...))
		d.open()
		torn, ok := d.c.Torn()
		if !ok || torn.Complete || torn.Line != lastSeq+1 {
			t.Fatalf("got Torn %+v, %v; want an incomplete fragment on line %d", torn, ok, lastSeq+1)
		}
		rec := d.seal(KindCheckpoint, ev3)
		if rec.Seq != uint64(lastSeq+1) {
			t.Errorf("got SEQ %d after the fragment, want %d (the interrupted seal never happened)", rec.Seq, lastSeq+1)
		}
		d.close()
		res, report := d.verify(nil)
		if !res.OK || !strings.Contains(report, "interrupted seal line") {
			t.Fatalf("verify: OK=%v, want OK with a note on the interrupted seal line:\n%s", res.OK, report)
		}
		// The second and third start read the same, now ended, fragment
		// exactly as verify does: the chain goes on.
		for i := range 2 {
			d.open()
			if torn, ok := d.c.Torn(); ok {
				t.Fatalf("start %d: got Torn %+v, want none (the fragment was ended before)", i+2, torn)
			}
			d.write(ev3, 1)
			d.seal(KindCheckpoint, ev3)
			d.close()
		}
		if res, report := d.verify(nil); !res.OK {
			t.Fatalf("verify after two more starts:\n%s", report)
		}
		// Without a seal that continues the chain after it, the fragment
		// is a problem: append a second fragment and nothing after it.
		d.appendRaw(SealsName, []byte("garbage\n"))
		if res, report := d.verify(nil); res.OK {
			t.Fatalf("verify passed with a trailing non-seal line:\n%s", report)
		}
	})
	t.Run("broken link", func(t *testing.T) {
		d := newLogDir(t)
		d.standard()
		d.close()
		d.rewriteSeals(func(l []string) []string { l[3], l[4] = l[4], l[3]; return l })
		_, err := OpenChain(d.dir, d.keyPath, ChainOptions{})
		if !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "line 4") {
			t.Fatalf("got %v, want ErrChain at line 4", err)
		}
	})
}

// TestForwardSecurity: with the key state held after N seals, no seal
// before N can be recomputed (docs/format.md §4).
func TestForwardSecurity(t *testing.T) {
	const n = 20
	d := newLogDir(t)
	var recs []Record
	for range n {
		d.write(ev1, 1)
		recs = append(recs, d.seal(KindCheckpoint, ev1))
	}
	d.close()
	held, err := loadStateT(d.keyPath) // what an intruder reads today
	if err != nil {
		t.Fatal(err)
	}
	if held.seq != n+1 {
		t.Fatalf("got state seq %d, want %d", held.seq, n+1)
	}
	// Every K_i, i <= N, derived the honest way from K1.
	keys := make([][32]byte, n+2)
	keys[1] = d.k1
	for i := 2; i <= n+1; i++ {
		keys[i] = evolve(keys[i-1])
	}
	if held.key != keys[n+1] {
		t.Fatal("got a held key that is not K(N+1)")
	}
	// Anything the intruder can compute: the held key and what evolves
	// from it, for many steps.
	reach := map[[32]byte]bool{}
	k := held.key
	for range 1000 {
		reach[k] = true
		k = evolve(k)
	}
	for i := 1; i <= n; i++ {
		if reach[keys[i]] {
			t.Fatalf("K%d is reachable from the held key", i)
		}
	}
	for _, r := range recs {
		body := appendBody(nil, &r)
		for rk := range reach {
			if m := computeMAC(&rk, body); m == r.MAC {
				t.Fatalf("seal %d's MAC recomputed from the held state", r.Seq)
			}
		}
		// Sanity: the honest key does recompute it, so the test can fail.
		if m := computeMAC(&keys[r.Seq], body); m != r.MAC {
			t.Fatalf("seal %d: K%d does not give its MAC", r.Seq, r.Seq)
		}
	}
	// And the chain itself no longer holds any old key in memory.
	if d.c.s != nil || d.c.mem.b != nil {
		t.Fatal("closed chain still holds its key memory")
	}
}

func TestSealHeadOutput(t *testing.T) {
	kp, _ := testKey(t)
	var head bytes.Buffer
	var attr int
	c, err := OpenChain(t.TempDir(), kp, ChainOptions{
		Head:       &head,
		AppendOnly: func(*os.File) error { attr++; return nil },
		Now:        func() time.Time { return time.Date(2026, 11, 22, 10, 15, 0, 123456789, time.FixedZone("X", 3600)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if attr != 1 {
		t.Fatalf("got %d AppendOnly calls, want 1", attr)
	}
	r, err := c.Seal(KindCheckpoint, ev1, 0, 0, linesRoot(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := "seal head " + FormatHead(1, r.MAC) + "\n"; head.String() != want {
		t.Fatalf("got %q, want %q", head.String(), want)
	}
	if want := time.Date(2026, 11, 22, 9, 15, 0, 123456000, time.UTC); !r.Time.Equal(want) || r.Time.Location() != time.UTC {
		t.Fatalf("got time %v, want %v", r.Time, want)
	}
}

func TestSealsLogFile(t *testing.T) {
	kp, _ := testKey(t)
	dir := t.TempDir()
	c, err := OpenChain(dir, kp, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fi, err := os.Stat(filepath.Join(dir, SealsName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o640 {
		t.Fatalf("got mode %v, want 0640", fi.Mode())
	}
	if _, err := OpenChain(dir, kp, ChainOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenChain: got %v, want ErrLocked", err)
	}
	fail := errors.New("no CAP_LINUX_IMMUTABLE")
	if _, err := OpenChain(t.TempDir(), kp, ChainOptions{AppendOnly: func(*os.File) error { return fail }}); !errors.Is(err, fail) {
		t.Fatalf("AppendOnly failing: got %v, want it returned", err)
	}
}

func TestSealArgs(t *testing.T) {
	d := newLogDir(t)
	defer d.close()
	tests := []struct {
		name         string
		kind         Kind
		file         string
		bytes, lines int64
	}{
		{"kind", "final2", ev1, 0, 0},
		{"path in name", KindFinal, "../" + ev1, 0, 0},
		{"other name", KindFinal, "seals.log", 0, 0},
		{"tab in name", KindFinal, "events-\t.log", 0, 0},
		{"negative bytes", KindFinal, ev1, -1, 0},
		{"lines > bytes", KindFinal, ev1, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.c.Seal(tt.kind, tt.file, tt.bytes, tt.lines, [32]byte{})
			if !errors.Is(err, ErrSealArgs) {
				t.Fatalf("got %v, want ErrSealArgs", err)
			}
		})
	}
	if seq, _ := d.c.Head(); seq != 0 {
		t.Fatalf("got head seq %d after refused seals, want 0", seq)
	}
}

func TestHeadFormat(t *testing.T) {
	var mac [32]byte
	for i := range mac {
		mac[i] = byte(i * 7)
	}
	s := FormatHead(42, mac)
	if want := "42:" + hex.EncodeToString(mac[:]); s != want {
		t.Fatalf("got %q, want %q", s, want)
	}
	seq, got, err := ParseHead(s)
	if err != nil || seq != 42 || got != mac {
		t.Fatalf("ParseHead(%q): got %d %x %v, want 42 %x nil", s, seq, got, err, mac)
	}
	if _, _, err := ParseHead(strings.ToUpper(s)); err != nil {
		t.Fatalf("uppercase: got %v, want nil", err)
	}
	for _, bad := range []string{"", "42", ":" + hex.EncodeToString(mac[:]), "042:" + hex.EncodeToString(mac[:]), "42:" + hex.EncodeToString(mac[:31]), "x:y", "-1:" + hex.EncodeToString(mac[:])} {
		if _, _, err := ParseHead(bad); !errors.Is(err, ErrHead) {
			t.Errorf("ParseHead(%q): got %v, want ErrHead", bad, err)
		}
	}
}

// TestSealKeyPersistFails: the seal is durable even when the evolved
// state cannot be written; the Record is valid, the key in memory has
// moved on, and the state is written at the next seal.
func TestSealKeyPersistFails(t *testing.T) {
	d := newLogDir(t)
	keyDir := filepath.Dir(d.keyPath)
	hidden := keyDir + ".away"
	mv(t, keyDir, hidden)
	d.write(ev1, 1)
	b := readFile(t, d.path(ev1))
	r, err := d.c.Seal(KindCheckpoint, ev1, int64(len(b)), 1, linesRoot(b))
	if !errors.Is(err, ErrKeyPersist) || r.Seq != 1 {
		t.Fatalf("got %+v %v, want seal 1 with ErrKeyPersist", r, err)
	}
	if seq, mac := d.c.Head(); seq != 1 || mac != r.MAC {
		t.Fatalf("got head %d, want 1", seq)
	}
	mv(t, hidden, keyDir)
	d.write(ev1, 1)
	r2 := d.seal(KindFinal, ev1)
	if r2.Seq != 2 {
		t.Fatalf("got seal %d, want 2", r2.Seq)
	}
	d.close()
	st, err := loadStateT(d.keyPath)
	if err != nil || st.seq != 3 {
		t.Fatalf("got state seq %d %v, want 3", st.seq, err)
	}
	res, report := d.verify(nil)
	mustPass(t, res, report)
}

// TestHMACMatchesCryptoHMAC: the chain's own HMAC-SHA256 (hmac.go) gives
// crypto/hmac's result for messages of every length around the block
// boundaries, and leaves no state behind.
func TestHMACMatchesCryptoHMAC(t *testing.T) {
	m, err := newSecrets()
	if err != nil {
		t.Fatal(err)
	}
	defer m.free()
	msg := make([]byte, 300)
	for i := range msg {
		msg[i] = byte(i*7 + 3)
	}
	for n := range len(msg) {
		var key [32]byte
		for i := range key {
			key[i] = byte(n + i*13)
		}
		var got [32]byte
		m.s.sealMAC(&key, msg[:n], &got)
		if want := computeMAC(&key, msg[:n]); got != want {
			t.Fatalf("message of %d bytes: got %x, want %x", n, got, want)
		}
		if m.s.mac != (hmacWork{}) {
			t.Fatalf("message of %d bytes: HMAC state not wiped", n)
		}
	}
	k := [32]byte{1, 2, 3}
	want := evolve(k)
	m.s.evolveKey(&k)
	if k != want {
		t.Fatalf("evolveKey: got %x, want %x", k, want)
	}
}
