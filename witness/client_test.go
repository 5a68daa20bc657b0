package witness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseWitness(t *testing.T) {
	s := newTestSigner(t, "witness.example/w1")
	tests := []struct {
		in, url string
		ok      bool
	}{
		{s.key.String() + ",http://127.0.0.1:7380", "http://127.0.0.1:7380", true},
		{s.key.String() + ",https://w.example/sub/", "https://w.example/sub", true},
		{s.key.String(), "", false},
		{s.key.String() + ",ftp://w.example", "", false},
		{s.key.String() + ",http://", "", false},
		{s.key.String() + ",http://w.example/?x=1", "", false},
		{"junk,http://w.example", "", false},
		{",http://w.example", "", false},
	}
	for _, tt := range tests {
		w, err := ParseWitness(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseWitness(%q): err %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err == nil && (w.URL != tt.url || w.Key.String() != s.key.String()) {
			t.Errorf("ParseWitness(%q) = %q %q", tt.in, w.Key, w.URL)
		}
	}
}

func TestAddCheckpoint(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	f := newFakeWitness(t, l)
	c := NewClient(5 * time.Second)
	ctx := context.Background()
	w := f.witness()

	size, cp := l.grow(3)
	got, err := c.AddCheckpoint(ctx, w, 0, nil, cp)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != w.Key || !strings.HasPrefix(string(got.Line), "\u2014 witness.test/w1 ") {
		t.Fatalf("cosignature %+v", got)
	}
	if want := "old 0\n\n" + string(cp); f.bodies[0] != want {
		t.Errorf("request body %q, want %q", f.bodies[0], want)
	}
	// The next one with a proof from 3.
	size2, cp2 := l.grow(5)
	proof, _ := l.proof(size, size2)
	if _, err := c.AddCheckpoint(ctx, w, size, proof, cp2); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(f.bodies[1], fmt.Sprintf("old %d\n", size)) || strings.Count(f.bodies[1], "\n\n") != 2 {
		t.Errorf("request body %q", f.bodies[1])
	}
	// From a wrong old size: 409 with the size held.
	_, cp3 := l.grow(1)
	_, err = c.AddCheckpoint(ctx, w, 0, nil, cp3)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Size != size2 {
		t.Fatalf("got %v, want a 409 with size %d", err, size2)
	}
	// A bad proof is the witness's 422.
	_, err = c.AddCheckpoint(ctx, w, size2, proof, cp3)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 422 {
		t.Fatalf("bad proof: got %v, want HTTP 422", err)
	}
}

// TestAddCheckpointHostile: a witness that answers garbage, too much, too
// slowly, by redirect, or with another key's cosignature is an error of
// the right kind, and nothing waits longer than the client's bound.
func TestAddCheckpointHostile(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	f := newFakeWitness(t, l)
	_, cp := l.grow(2)
	text, _, _ := SplitNote(cp)
	stranger := newTestSigner(t, "witness.test/w1") // same name, another key
	release := make(chan struct{})                  // ends the slow handlers

	tests := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request)
		check  func(error) bool
		reason string
	}{
		{"junk 200", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello\x00\xff")) },
			func(e error) bool { return errors.Is(e, ErrResponse) }, ReasonBadResponse},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) {},
			func(e error) bool { return errors.Is(e, ErrResponse) }, ReasonBadResponse},
		{"oversized 200", func(w http.ResponseWriter, r *http.Request) {
			line := []byte(strings.Repeat("\u2014 x AAAAAQID\n", 1000))
			for i := 0; i < 1<<10; i++ { // 14 MiB offered; the client reads 64 KiB + 1
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		}, func(e error) bool { return errors.Is(e, ErrTooLarge) }, ReasonBadResponse},
		{"another key's cosignature", func(w http.ResponseWriter, r *http.Request) {
			w.Write(stranger.line(text, 1))
		}, func(e error) bool { return errors.Is(e, ErrCosignature) }, ReasonBadCosignature},
		{"only other witnesses", func(w http.ResponseWriter, r *http.Request) {
			w.Write(newTestSigner(t, "other.example").line(text, 1))
		}, func(e error) bool { return errors.Is(e, ErrCosignature) }, ReasonBadCosignature},
		{"cosignature of another checkpoint", func(w http.ResponseWriter, r *http.Request) {
			w.Write(f.signer.line([]byte("example.com/log\n99\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 1))
		}, func(e error) bool { return errors.Is(e, ErrCosignature) }, ReasonBadCosignature},
		{"409 without a size", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(409)
			w.Write([]byte("conflict"))
		}, func(e error) bool { return errors.Is(e, ErrResponse) }, ReasonBadResponse},
		{"403", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "unknown log", 403) },
			func(e error) bool { var s *StatusError; return errors.As(e, &s) && s.Code == 403 }, ReasonStatus},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "http://127.0.0.1:1/", 307) },
			func(e error) bool { var s *StatusError; return errors.As(e, &s) && s.Code == 307 }, ReasonStatus},
		{"slow headers", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, func(e error) bool { return reasonOf(e) == ReasonTimeout }, ReasonTimeout},
		{"slow body", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("\u2014 "))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, func(e error) bool { return reasonOf(e) == ReasonTimeout }, ReasonTimeout},
	}
	c := NewClient(500 * time.Millisecond)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.set(func(w http.ResponseWriter, r *http.Request) bool { tt.handle(w, r); return true })
			start := time.Now()
			_, err := c.AddCheckpoint(context.Background(), f.witness(), 0, nil, cp)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v, the bound is 500ms", took)
			}
			if err == nil || !tt.check(err) {
				t.Fatalf("got %v", err)
			}
			if r := reasonOf(err); r != tt.reason {
				t.Errorf("reason %q, want %q (%v)", r, tt.reason, err)
			}
		})
	}
	// Nobody listening.
	close(release)
	f.srv.Close()
	_, err := c.AddCheckpoint(context.Background(), f.witness(), 0, nil, cp)
	if reasonOf(err) != ReasonUnreachable {
		t.Errorf("closed witness: reason %q (%v), want %q", reasonOf(err), err, ReasonUnreachable)
	}
}
