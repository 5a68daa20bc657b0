package witness

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/sealog/sealog/internal/sumdbref"
)

// testSigner makes cosignature/v1 signature lines, as a witness does.
type testSigner struct {
	key  *Key
	priv ed25519.PrivateKey
}

func newTestSigner(t testing.TB, name string) *testSigner {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(name, pub)
	if err != nil {
		t.Fatal(err)
	}
	return &testSigner{key: k, priv: priv}
}

// line signs body at ts and returns the signature line with its LF.
func (s *testSigner) line(body []byte, ts uint64) []byte {
	sig := ed25519.Sign(s.priv, SignedMessage(ts, body))
	raw := binary.BigEndian.AppendUint32(nil, s.key.KeyHash())
	raw = binary.BigEndian.AppendUint64(raw, ts)
	raw = append(raw, sig...)
	return []byte("\u2014 " + s.key.Name() + " " + base64.StdEncoding.EncodeToString(raw) + "\n")
}

// testLog is a log with an RFC 9162 tree kept by golang.org/x/mod/sumdb/tlog
// (code other than sealog's) and a note signer, for checkpoints.
type testLog struct {
	t      testing.TB
	origin string
	signer note.Signer
	verif  note.Verifier
	vkey   string

	mu     sync.Mutex
	stored sumdbref.Stored
	n      int64
}

func newTestLog(t testing.TB, origin string) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{t: t, origin: origin, signer: s, verif: v, vkey: vkey}
}

func (l *testLog) reader() sumtlog.HashReader { return &l.stored }

// grow appends n leaves and returns the signed checkpoint of the new size.
func (l *testLog) grow(n int) (uint64, []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < n; i++ {
		hs, err := sumtlog.StoredHashes(l.n, fmt.Appendf(nil, "seal %d", l.n), l.reader())
		if err != nil {
			l.t.Fatal(err)
		}
		l.stored = append(l.stored, hs...)
		l.n++
	}
	root, err := sumtlog.TreeHash(l.n, l.reader())
	if err != nil {
		l.t.Fatal(err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", l.origin, l.n, base64.StdEncoding.EncodeToString(root[:]))
	msg, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		l.t.Fatal(err)
	}
	return uint64(l.n), msg
}

// proof is the consistency proof function a Pool needs.
func (l *testLog) proof(old, size uint64) ([]Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old == 0 || old == size {
		return nil, nil
	}
	p, err := sumtlog.ProveTree(int64(size), int64(old), l.reader())
	out := make([]Hash, len(p))
	for i, h := range p {
		out[i] = h
	}
	return out, err
}

// fakeWitness is a tlog-witness written from the C2SP text for these
// tests: it checks the log's signature and the consistency proof with
// golang.org/x/mod, keeps the size, answers 409 with the size it holds,
// and cosigns. Its behaviour can be overridden per request.
type fakeWitness struct {
	t      testing.TB
	signer *testSigner
	log    *testLog
	srv    *httptest.Server

	mu       sync.Mutex
	size     int64
	root     sumtlog.Hash
	requests int
	bodies   []string
	override func(w http.ResponseWriter, r *http.Request) bool // true: handled
}

func newFakeWitness(t testing.TB, l *testLog) *fakeWitness {
	f := &fakeWitness{t: t, signer: newTestSigner(t, "witness.test/w1"), log: l}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve)) // a real socket on 127.0.0.1
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWitness) witness() Witness { return Witness{Key: f.signer.key, URL: f.srv.URL} }

func (f *fakeWitness) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	o := f.override
	f.mu.Unlock()
	if o != nil && o(w, r) {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/add-checkpoint" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, string(body))
	head, msg, ok := strings.Cut(string(body), "\n\n")
	if !ok {
		http.Error(w, "bad request", 400)
		return
	}
	lines := strings.Split(head, "\n")
	oldS, ok := strings.CutPrefix(lines[0], "old ")
	old, err := strconv.ParseInt(oldS, 10, 64)
	if !ok || err != nil {
		http.Error(w, "bad old", 400)
		return
	}
	var proof sumtlog.TreeProof
	for _, l := range lines[1:] {
		h, err := sumtlog.ParseHash(l)
		if err != nil {
			http.Error(w, "bad proof line", 400)
			return
		}
		proof = append(proof, h)
	}
	n, err := note.Open([]byte(msg), note.VerifierList(f.log.verif))
	if err != nil {
		http.Error(w, "bad signature", 403)
		return
	}
	parts := strings.Split(n.Text, "\n")
	size, _ := strconv.ParseInt(parts[1], 10, 64)
	root, _ := sumtlog.ParseHash(parts[2])
	if old > size {
		http.Error(w, "old > size", 400)
		return
	}
	if old != f.size {
		w.Header().Set("Content-Type", "text/x.tlog.size")
		w.WriteHeader(409)
		fmt.Fprintf(w, "%d\n", f.size)
		return
	}
	if old > 0 {
		if err := sumtlog.CheckTree(proof, size, root, old, f.root); err != nil {
			http.Error(w, "bad proof", 422)
			return
		}
	}
	f.size, f.root = size, root
	w.Write(f.signer.line([]byte(n.Text), uint64(time.Now().Unix())))
}

func (f *fakeWitness) set(o func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.override = o
	f.mu.Unlock()
}

func (f *fakeWitness) held() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.size
}

func fmtSscan(s string, origin *string, n *uint64) { fmt.Sscan(s, origin, n) }
