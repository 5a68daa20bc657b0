package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Names used by the tests; they sort in time order like real ones.
const (
	ev1  = "events-20261122T101500.123Z.log"
	ev2  = "events-20261122T111500.000Z.log"
	ev3  = "events-20261122T121500.000Z.log"
	sec1 = "security-20261122T101500.123Z.log"
	sec2 = "security-20261122T111500.000Z.log"
)

// appendTestLine appends a valid docs/format.md §3 line with cols columns (LF
// included), varied by i.
func appendTestLine(dst []byte, cols, i int) []byte { return appendTestLineLen(dst, cols, i, 0) }

// appendTestLineLen is appendTestLine with the message padded so that the
// line, LF included, is n bytes (n <= 0, or too short: no padding).
func appendTestLineLen(dst []byte, cols, i, n int) []byte {
	var body []byte
	body = append(body, "2026-11-22T10:15:00.123456Z\thost1-"...)
	body = strconv.AppendInt(body, int64(i), 10)
	body = append(body, "\t192.0.2.7:5114"...)
	for c := 4; c < cols; c++ {
		body = append(body, '\t')
		if c == cols-1 {
			body = append(body, "message number "...)
			body = strconv.AppendInt(body, int64(i), 10)
			body = append(body, " with some more words to look like a real log line %25 ok"...)
		} else {
			body = append(body, "col"...)
			body = strconv.AppendInt(body, int64(c), 10)
		}
	}
	for pad := n - 1 - len(body) - 1 - len(strconv.Itoa(len(body))); pad > 0; pad = n - 1 - len(body) - 1 - len(strconv.Itoa(len(body))) {
		body = append(body, 'x')
	}
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, '\t')
	dst = append(dst, body...)
	return append(dst, '\n')
}

func columnsOf(name string) int {
	if strings.HasPrefix(name, "security-") {
		return securityColumns
	}
	return eventColumns
}

// testKey makes a fresh key pair in a temp dir.
func testKey(t testing.TB) (keyPath string, k1 [32]byte) {
	t.Helper()
	kd := filepath.Join(t.TempDir(), "keys")
	if err := Keygen(kd); err != nil {
		t.Fatal(err)
	}
	vk, err := LoadVerifyKey(filepath.Join(kd, VerifyKeyName))
	if err != nil {
		t.Fatal(err)
	}
	defer vk.Wipe()
	return filepath.Join(kd, SealKeyName), vk.secrets().key2
}

// logDir is a log directory under construction: files written with
// valid lines, sealed through a real Chain.
type logDir struct {
	t       testing.TB
	dir     string
	keyPath string
	k1      [32]byte
	c       *Chain
	n       int // lines written, to vary them
	clock   time.Time
}

func newLogDir(t testing.TB) *logDir {
	t.Helper()
	kp, k1 := testKey(t)
	d := &logDir{t: t, dir: t.TempDir(), keyPath: kp, k1: k1, clock: time.Date(2026, 11, 22, 10, 15, 0, 123456789, time.UTC)}
	d.open()
	return d
}

func (d *logDir) open() {
	d.t.Helper()
	c, err := OpenChain(d.dir, d.keyPath, ChainOptions{Now: d.now})
	if err != nil {
		d.t.Fatal(err)
	}
	d.c = c
}

func (d *logDir) close() {
	d.t.Helper()
	if err := d.c.Close(); err != nil {
		d.t.Fatal(err)
	}
}

func (d *logDir) now() time.Time {
	d.clock = d.clock.Add(1500 * time.Millisecond)
	return d.clock
}

func (d *logDir) path(name string) string { return filepath.Join(d.dir, name) }

// write appends n valid lines to name.
func (d *logDir) write(name string, n int) {
	d.t.Helper()
	var b []byte
	for range n {
		d.n++
		b = appendTestLine(b, columnsOf(name), d.n)
	}
	d.appendRaw(name, b)
}

func (d *logDir) appendRaw(name string, b []byte) {
	d.t.Helper()
	f, err := os.OpenFile(d.path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		d.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		d.t.Fatal(err)
	}
}

// seal seals name as it is now on disk.
func (d *logDir) seal(kind Kind, name string) Record {
	d.t.Helper()
	b, err := os.ReadFile(d.path(name))
	if err != nil {
		d.t.Fatal(err)
	}
	r, err := d.c.Seal(kind, name, int64(len(b)), int64(bytes.Count(b, []byte{'\n'})), linesRoot(b))
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}

// verify runs Verify and returns the result and its report.
func (d *logDir) verify(head *Head) (Result, string) {
	d.t.Helper()
	return verifyDir(d.t, d.dir, d.k1, head)
}

// verifyDir runs Verify on dir with the verify key k1.
func verifyDir(t testing.TB, dir string, k1 [32]byte, head *Head) (Result, string) {
	t.Helper()
	var out bytes.Buffer
	res, err := Verify(dir, VerifyOptions{Key: testVerifyKey(t, k1), Head: head}, &out)
	if err != nil {
		t.Fatal(err)
	}
	return res, out.String()
}

// standard builds a directory with checkpoints, finals, a recovered file
// with a torn last line, and active files with unsealed tails. Seals 1–10.
func (d *logDir) standard() {
	d.write(ev1, 20)
	d.write(sec1, 3)
	d.seal(KindCheckpoint, ev1) // 1
	d.write(ev1, 20)
	d.seal(KindCheckpoint, ev1) // 2
	d.write(ev1, 5)
	d.seal(KindFinal, ev1) // 3
	d.write(sec1, 2)
	d.seal(KindFinal, sec1) // 4
	d.write(ev2, 10)
	d.seal(KindCheckpoint, ev2) // 5
	d.write(ev2, 10)
	d.appendRaw(ev2, []byte("77\t2026-11-22T10:15:00")) // torn by a crash
	d.seal(KindRecovered, ev2)                          // 6
	d.write(sec2, 4)
	d.seal(KindCheckpoint, sec2) // 7
	d.write(ev3, 30)
	d.seal(KindCheckpoint, ev3) // 8
	d.write(ev3, 30)
	d.seal(KindCheckpoint, ev3) // 9
	d.write(sec2, 1)
	d.seal(KindCheckpoint, sec2) // 10
	d.write(ev3, 7)              // unsealed tails
	d.write(sec2, 2)
}

// mustFail asserts a failed verify whose report has a problem line
// containing every one of wants.
func mustFail(t *testing.T, res Result, report string, wants ...string) {
	t.Helper()
	if res.OK || res.Problems == 0 {
		t.Fatalf("got OK=%v problems=%d, want a failure; report:\n%s", res.OK, res.Problems, report)
	}
	for _, line := range strings.Split(report, "\n") {
		all := true
		for _, w := range wants {
			if !strings.Contains(line, w) {
				all = false
				break
			}
		}
		if all {
			return
		}
	}
	t.Fatalf("got report without a line containing %q:\n%s", wants, report)
}

func mustPass(t *testing.T, res Result, report string) {
	t.Helper()
	if !res.OK || res.Problems != 0 {
		t.Fatalf("got OK=%v problems=%d, want a pass; report:\n%s", res.OK, res.Problems, report)
	}
}

// rewriteSeals replaces seals.log with edit(lines), each line without LF.
func (d *logDir) rewriteSeals(edit func(lines []string) []string) {
	d.t.Helper()
	b, err := os.ReadFile(d.path(SealsName))
	if err != nil {
		d.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines = edit(lines)
	out := strings.Join(lines, "\n")
	if len(lines) > 0 {
		out += "\n"
	}
	if err := os.WriteFile(d.path(SealsName), []byte(out), 0o640); err != nil {
		d.t.Fatal(err)
	}
}

func mustContain(t *testing.T, report string, want string) {
	t.Helper()
	if !strings.Contains(report, want) {
		t.Fatalf("got report without %q:\n%s", want, report)
	}
}

var _ = fmt.Sprint

// testVerifyKey holds k1 as verify does, wiped when the test ends.
func testVerifyKey(t testing.TB, k1 [32]byte) *VerifyKey {
	t.Helper()
	k, err := newVerifyKey(&k1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Wipe)
	return k
}

// loadStateT reads a key state into ordinary memory, for tests.
func loadStateT(path string) (keyState, error) {
	m, err := newSecrets()
	if err != nil {
		return keyState{}, err
	}
	defer m.free()
	if err := loadState(path, m.s); err != nil {
		return keyState{}, err
	}
	return m.s.st, nil
}

// evolve and computeMAC are the key evolution and the seal MAC computed
// with crypto/hmac: a reference the chain's own HMAC must agree with.
func evolve(k [32]byte) (next [32]byte) {
	m := hmac.New(sha256.New, k[:])
	m.Write(evolveLabel)
	m.Sum(next[:0])
	return next
}

func computeMAC(key *[32]byte, body []byte) (mac [32]byte) {
	m := hmac.New(sha256.New, key[:])
	m.Write(body)
	m.Sum(mac[:0])
	return mac
}
