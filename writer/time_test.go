package writer

import (
	"testing"
	"time"
)

func TestAppendTime(t *testing.T) {
	plus3 := time.FixedZone("EEST", 3*3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"micro", time.Date(2026, 11, 22, 10, 15, 0, 123456000, time.UTC), "2026-11-22T10:15:00.123456Z"},
		{"zero padding", time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), "2026-01-02T03:04:05.000006Z"},
		{"no fraction still 6 digits", time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC), "2026-11-22T10:15:00.000000Z"},
		{"nanoseconds truncated", time.Date(2026, 11, 22, 10, 15, 0, 999999999, time.UTC), "2026-11-22T10:15:00.999999Z"},
		{"non-UTC converted", time.Date(2026, 11, 22, 1, 0, 0, 500000000, plus3), "2026-11-21T22:00:00.500000Z"},
		{"small year", time.Date(7, 3, 4, 0, 0, 0, 0, time.UTC), "0007-03-04T00:00:00.000000Z"},
		{"zero time", time.Time{}, "0001-01-01T00:00:00.000000Z"},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "10000-01-01T00:00:00.000000Z"},
		{"negative year", time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), "-0005-01-01T00:00:00.000000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppendTime([]byte("x"), tt.in); string(got) != "x"+tt.want {
				t.Errorf("got %q, want %q", got[1:], tt.want)
			}
		})
	}
}

// TestAppendTimeMatchesFormat compares with time.Format over many instants.
func TestAppendTimeMatchesFormat(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000Z"
	tm := time.Date(1999, 12, 31, 23, 59, 58, 987654321, time.UTC)
	for i := 0; i < 5000; i++ {
		tm = tm.Add(time.Duration(i)*7919*time.Second + 104729*time.Microsecond)
		if got, want := string(AppendTime(nil, tm)), tm.UTC().Format(layout); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func BenchmarkAppendTime(b *testing.B) {
	tm := time.Date(2026, 11, 22, 10, 15, 0, 123456789, time.UTC)
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendTime(dst[:0], tm)
	}
}
