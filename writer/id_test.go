package writer

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func TestNewIDGenInstance(t *testing.T) {
	tests := []struct {
		instance string
		ok       bool
	}{
		{"loghost", true},
		{"log-01.example.org", true},
		{"A9", true},
		{"", false},
		{"log host", false},
		{"log_host", false},
		{"log\nhost", false},
		{"lögg", false},
		{"a/b", false},
		{strings.Repeat("a", 253), true},
		{strings.Repeat("a", 254), false},
	}
	for _, tt := range tests {
		t.Run(tt.instance, func(t *testing.T) {
			g, err := NewIDGen(tt.instance)
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				id := string(g.AppendID(nil, g.Next()))
				if !idPattern.MatchString(id) || !strings.HasPrefix(id, tt.instance+"-") {
					t.Errorf("got ID %q, want one matching %s and starting with %q", id, idPattern, tt.instance+"-")
				}
				return
			}
			if !errors.Is(err, ErrInstance) {
				t.Errorf("got %v, want an error wrapping ErrInstance", err)
			}
		})
	}
}

func TestIDFormat(t *testing.T) {
	g, err := newIDGen("loghost", time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC), [4]byte{0x9f, 0x3a, 0x61, 0xc0})
	if err != nil {
		t.Fatal(err)
	}
	if n := g.Next(); n != 1 {
		t.Fatalf("first Next: got %d, want 1", n)
	}
	if got, want := string(g.AppendID([]byte("x"), 42)), "xloghost-20261122T101500Z.9f3a61c0-42"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestIDGenUnique: two generators made in the same millisecond (a restart
// with a clock that did not move, or two processes) never share an ID.
func TestIDGenUnique(t *testing.T) {
	a, err := NewIDGen("loghost")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewIDGen("loghost")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		for _, g := range []*IDGen{a, b} {
			id := string(g.AppendID(nil, g.Next()))
			if seen[id] {
				t.Fatalf("ID %q made twice", id)
			}
			seen[id] = true
		}
	}
	// Same clock reading, as a fast restart would see.
	now := time.Now()
	x, _ := newIDGen("loghost", now, [4]byte{1, 2, 3, 4})
	y, _ := newIDGen("loghost", now, [4]byte{1, 2, 3, 5})
	if string(x.AppendID(nil, 1)) == string(y.AppendID(nil, 1)) {
		t.Errorf("generators with the same start time and different random bits share ID %q", x.AppendID(nil, 1))
	}
}

func TestIDGenConcurrent(t *testing.T) {
	g, err := NewIDGen("loghost")
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 2000
	nums := make(chan uint64, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				nums <- g.Next()
			}
		}()
	}
	wg.Wait()
	close(nums)
	seen := make(map[uint64]bool, workers*each)
	for n := range nums {
		if seen[n] {
			t.Fatalf("number %d handed out twice", n)
		}
		seen[n] = true
	}
	for n := uint64(1); n <= workers*each; n++ {
		if !seen[n] {
			t.Fatalf("number %d missing: numbers must be 1..%d without gaps", n, workers*each)
		}
	}
}

func BenchmarkAppendID(b *testing.B) {
	g, _ := NewIDGen("loghost")
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = g.AppendID(dst[:0], g.Next())
	}
}
