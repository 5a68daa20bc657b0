package rotate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealog/sealog/tlog"
)

var t0 = time.Date(2026, 11, 22, 10, 15, 0, 123456789, time.UTC)

// withUmask sets the process umask for one test. Tests that call it must
// not run in parallel.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestCreateModeIgnoresUmask(t *testing.T) {
	for _, mask := range []int{0o077, 0o000, 0o022, 0o777} {
		t.Run(fmtMode(mask), func(t *testing.T) {
			dir := t.TempDir()
			withUmask(t, mask)
			f, err := Create(dir, "events", t0, false)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := os.Stat(f.Path())
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode(); got != 0o640 {
				t.Errorf("umask %s: got mode %v, want -rw-r-----", fmtMode(mask), got)
			}
		})
	}
}

func fmtMode(m int) string { return fmt.Sprintf("umask-%04o", m) }

func TestCreateName(t *testing.T) {
	dir := t.TempDir()
	cest := time.FixedZone("CEST", 2*3600)
	f, err := Create(dir, "security", t0.In(cest), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const want = "security-20261122T101500.123Z.log"
	if f.Name() != want {
		t.Errorf("Name: got %q, want %q", f.Name(), want)
	}
	if f.Path() != filepath.Join(dir, want) {
		t.Errorf("Path: got %q, want %q", f.Path(), filepath.Join(dir, want))
	}
	if wantT := t0.Truncate(time.Millisecond); !f.Opened().Equal(wantT) || f.Opened().Location() != time.UTC {
		t.Errorf("Opened: got %s, want %s in UTC", f.Opened(), wantT)
	}
	if _, err := os.Stat(f.Path()); err != nil {
		t.Errorf("file not on disk: %v", err)
	}
	if f.Size() != 0 || f.Lines() != 0 || f.Root() != linesRoot(nil) {
		t.Errorf("new file: got size %d, lines %d, sum %x, want 0, 0, sha256 of nothing", f.Size(), f.Lines(), f.Root())
	}
}

func TestCreateCollision(t *testing.T) {
	dir := t.TempDir()
	// Someone else's file holds .124: it is skipped, not overwritten.
	foreign := filepath.Join(dir, "events-20261122T101500.124Z.log")
	if err := os.WriteFile(foreign, []byte("keep\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"events-20261122T101500.123Z.log",
		"events-20261122T101500.125Z.log",
		"events-20261122T101500.126Z.log",
	}
	for i, w := range want {
		f, err := Create(dir, "events", t0, false)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name() != w {
			t.Errorf("Create #%d: got %q, want %q", i+1, f.Name(), w)
		}
		if _, opened, _ := ParseName(f.Name()); !opened.Equal(f.Opened()) {
			t.Errorf("Create #%d: Opened %s does not match name %q", i+1, f.Opened(), f.Name())
		}
		f.Close()
	}
	// Another stream at the same millisecond is not a collision.
	f, err := Create(dir, "security", t0, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if f.Name() != "security-20261122T101500.123Z.log" {
		t.Errorf("other stream: got %q, want security-20261122T101500.123Z.log", f.Name())
	}
	if b, _ := os.ReadFile(foreign); string(b) != "keep\n" {
		t.Errorf("foreign file: got %q, want %q", b, "keep\n")
	}
}

func TestCreateRejects(t *testing.T) {
	dir := t.TempDir()
	for _, stream := range []string{"", "Events", "ev-ents", "../x", "a/b", "events.log", strings.Repeat("a", 33)} {
		if f, err := Create(dir, stream, t0, false); err == nil {
			f.Close()
			t.Errorf("Create stream %q: got nil error, want one", stream)
		}
	}
	if f, err := Create(dir, "events", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false); err == nil {
		f.Close()
		t.Error("Create in year 10000: got nil error, want one")
	}
	if f, err := Create(filepath.Join(dir, "missing"), "events", t0, false); err == nil {
		f.Close()
		t.Error("Create in a missing directory: got nil error, want one")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused Creates left %d entries, want 0", len(entries))
	}
}

func TestWriteCounts(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
	}{
		{"nothing", nil},
		{"empty write", []string{""}},
		{"one line", []string{"a b c\n"}},
		{"lines across writes", []string{"a\nb", "c\n", "", "\n\n", "torn"}},
		{"no LF", []string{"abc", "def"}},
		{"large", []string{strings.Repeat("x\n", 300000), strings.Repeat("y", 70000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Create(t.TempDir(), "events", t0, false)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var all []byte
			for _, c := range tc.chunks {
				n, err := f.Write([]byte(c))
				if n != len(c) || err != nil {
					t.Fatalf("Write(%d bytes): got (%d, %v), want (%d, nil)", len(c), n, err, len(c))
				}
				all = append(all, c...)
				// A checkpoint mid-stream must not disturb the running hash.
				if got, want := f.Root(), linesRoot(all); got != want {
					t.Fatalf("Sum after %d bytes: got %x, want %x", len(all), got, want)
				}
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			disk, err := os.ReadFile(f.Path())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(disk, all) {
				t.Fatalf("file holds %d bytes, want the %d written", len(disk), len(all))
			}
			if f.Size() != int64(len(disk)) || f.Lines() != int64(bytes.Count(disk, []byte("\n"))) || f.Root() != linesRoot(disk) {
				t.Errorf("got (size %d, lines %d, sum %x), want (%d, %d, %x)", f.Size(), f.Lines(), f.Root(),
					len(disk), bytes.Count(disk, []byte("\n")), linesRoot(disk))
			}
			size, lines, sum, _, err := Summarize(f.Path())
			if err != nil || size != f.Size() || lines != f.Lines() || sum != f.Root() {
				t.Errorf("Summarize: got (%d, %d, %x, %v), want (%d, %d, %x, nil)", size, lines, sum, err, f.Size(), f.Lines(), f.Root())
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	f, err := Create(t.TempDir(), "events", t0, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("a\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sum := f.Root()
	n, err := f.Write([]byte("b\n"))
	if n != 0 || err == nil {
		t.Errorf("Write after Close: got (%d, %v), want (0, an error)", n, err)
	}
	if f.Size() != 2 || f.Lines() != 1 || f.Root() != sum {
		t.Errorf("counters moved after a failed write: size %d, lines %d", f.Size(), f.Lines())
	}
	if err := f.Sync(); err == nil {
		t.Error("Sync after Close: got nil error, want one")
	}
}

func FuzzFileWrite(f *testing.F) {
	f.Add([]byte("a\nb\nc"), uint16(2))
	f.Add([]byte(""), uint16(0))
	f.Add([]byte("\n\n\n"), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		c := int(cut)
		if c > len(data) {
			c = len(data)
		}
		file, err := Create(t.TempDir(), "events", t0, false)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		for _, p := range [][]byte{data[:c], data[c:]} {
			if n, err := file.Write(p); n != len(p) || err != nil {
				t.Fatalf("Write: got (%d, %v), want (%d, nil)", n, err, len(p))
			}
		}
		if file.Size() != int64(len(data)) || file.Lines() != int64(bytes.Count(data, []byte("\n"))) || file.Root() != linesRoot(data) {
			t.Fatalf("counters: got (%d, %d, %x), want (%d, %d, %x)", file.Size(), file.Lines(), file.Root(),
				len(data), bytes.Count(data, []byte("\n")), linesRoot(data))
		}
		size, lines, sum, torn, err := Summarize(file.Path())
		if err != nil || size != file.Size() || lines != file.Lines() || sum != file.Root() ||
			torn != (len(data) > 0 && data[len(data)-1] != '\n') {
			t.Fatalf("Summarize disagrees with File: (%d, %d, %x, %v, %v)", size, lines, sum, torn, err)
		}
	})
}

func TestEnsureDir(t *testing.T) {
	withUmask(t, 0o077)
	base := t.TempDir()

	t.Run("creates parents 0750", func(t *testing.T) {
		dir := filepath.Join(base, "a", "b", "c")
		if err := EnsureDir(dir); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{filepath.Join(base, "a"), filepath.Join(base, "a", "b"), dir} {
			fi, err := os.Stat(d)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode(); got != os.ModeDir|0o750 {
				t.Errorf("%s: got mode %v, want drwxr-x---", d, got)
			}
		}
	})
	t.Run("existing directory kept as it is", func(t *testing.T) {
		dir := filepath.Join(base, "mine")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := EnsureDir(dir); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(dir); fi.Mode() != os.ModeDir|0o700 {
			t.Errorf("got mode %v, want drwx------ (untouched)", fi.Mode())
		}
		link := filepath.Join(base, "link")
		if err := os.Symlink(dir, link); err != nil {
			t.Fatal(err)
		}
		if err := EnsureDir(link); err != nil {
			t.Errorf("symbolic link to a directory: got %v, want nil", err)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		file := filepath.Join(base, "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{file, filepath.Join(file, "sub"), ""} {
			err := EnsureDir(d)
			if err == nil {
				t.Errorf("EnsureDir(%q): got nil error, want one", d)
			} else if d != "" && !strings.Contains(err.Error(), file) {
				t.Errorf("EnsureDir(%q): error %q does not name the path", d, err)
			}
		}
	})
}

// BenchmarkFileWrite measures the active file's write path: 64 KiB writes
// of 200-byte lines, counted and hashed, against page cache. The "os"
// variant is the same write without counting or hashing, for comparison.
func BenchmarkFileWrite(b *testing.B) {
	line := append(bytes.Repeat([]byte("x"), 199), '\n')
	p := bytes.Repeat(line, 65536/len(line)+1)[:65536]
	const rotateAt = 256 << 20 // keep the benchmark's disk use bounded
	b.Run("rotate", func(b *testing.B) {
		dir := b.TempDir()
		f, err := Create(dir, "events", t0, false)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := f.Write(p); err != nil {
				b.Fatal(err)
			}
			if f.Size() >= rotateAt {
				b.StopTimer()
				f.Close()
				os.Remove(f.Path())
				if f, err = Create(dir, "events", t0, false); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		}
		b.StopTimer()
		f.Close()
	})
	b.Run("os", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "f")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			b.Fatal(err)
		}
		var size int64
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			n, err := f.Write(p)
			if err != nil {
				b.Fatal(err)
			}
			if size += int64(n); size >= rotateAt {
				b.StopTimer()
				f.Truncate(0)
				size = 0
				b.StartTimer()
			}
		}
		b.StopTimer()
		f.Close()
	})
}

// BenchmarkHashCount is Write's own work per 64 KiB without the system call
// (the tree of 200-byte lines), to tell it apart from page-cache noise.
func BenchmarkHashCount(b *testing.B) {
	line := append(bytes.Repeat([]byte("x"), 199), '\n')
	p := bytes.Repeat(line, 65536/len(line)+1)[:65536]
	var h tlog.LineHasher
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.Write(p)
	}
}

// BenchmarkRoot is the cost of a checkpoint's root (no allocation).
func BenchmarkRoot(b *testing.B) {
	f, err := Create(b.TempDir(), "events", t0, false)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("a\n"))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = f.Root()
	}
}
