package rotate

import (
	"math"
	"math/big"
	"testing"
	"time"
)

func TestDeadline(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		interval time.Duration
		opened   time.Time
		want     time.Time // zero: no time rotation
	}{
		{"24h mid-day", 24 * time.Hour, utc("2026-11-22T10:15:00.123Z"), utc("2026-11-23T00:00:00Z")},
		{"24h on a boundary lives a whole interval", 24 * time.Hour, utc("2026-11-22T00:00:00Z"), utc("2026-11-23T00:00:00Z")},
		{"24h last nanosecond of the day", 24 * time.Hour, utc("2026-11-22T23:59:59.999999999Z"), utc("2026-11-23T00:00:00Z")},
		{"24h end of year", 24 * time.Hour, utc("2026-12-31T12:00:00Z"), utc("2027-01-01T00:00:00Z")},
		{"1h", time.Hour, utc("2026-11-22T10:15:00.123Z"), utc("2026-11-22T11:00:00Z")},
		{"1h on a boundary", time.Hour, utc("2026-11-22T10:00:00Z"), utc("2026-11-22T11:00:00Z")},
		{"15m", 15 * time.Minute, utc("2026-11-22T10:15:00Z"), utc("2026-11-22T10:30:00Z")},
		{"15m just before", 15 * time.Minute, utc("2026-11-22T10:14:59.999Z"), utc("2026-11-22T10:15:00Z")},
		// 7 days and 7 minutes do not divide the time between year 1 and
		// 1970, so a grid anchored at the zero Time would be wrong here.
		{"7 days aligned to the epoch (Thursdays)", 7 * 24 * time.Hour, utc("2026-11-22T10:15:00Z"), utc("2026-11-26T00:00:00Z")},
		{"7m aligned to the epoch", 7 * time.Minute, utc("2026-11-22T10:15:00Z"), utc("2026-11-22T10:22:00Z")},
		{"non-UTC input is aligned in UTC", 24 * time.Hour, time.Date(2026, 11, 22, 3, 0, 0, 0, ist), utc("2026-11-22T00:00:00Z")},
		{"non-UTC 1h with half-hour offset", time.Hour, time.Date(2026, 11, 22, 3, 10, 0, 0, ist), utc("2026-11-21T22:00:00Z")},
		{"before the epoch", 24 * time.Hour, utc("1969-12-31T23:00:00Z"), utc("1970-01-01T00:00:00Z")},
		{"interval 0 means none", 0, utc("2026-11-22T10:15:00Z"), time.Time{}},
		{"negative interval means none", -time.Hour, utc("2026-11-22T10:15:00Z"), time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Policy{Interval: tc.interval}.Deadline(tc.opened)
			if !got.Equal(tc.want) {
				t.Errorf("Deadline(%s) with %s: got %s, want %s", tc.opened, tc.interval, got, tc.want)
			}
			if !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("got location %s, want UTC", got.Location())
			}
		})
	}
}

func TestDeadlineMonotonicClock(t *testing.T) {
	now := time.Now() // carries a monotonic reading
	got := Policy{Interval: time.Minute}.Deadline(now)
	if !got.After(now) || got.Sub(now) > time.Minute || got.Second() != 0 || got.Nanosecond() != 0 {
		t.Errorf("Deadline(%s) = %s, want the next whole UTC minute", now, got)
	}
}

func TestFits(t *testing.T) {
	tests := []struct {
		name    string
		max     int64
		size, n int64
		want    bool
	}{
		{"empty file takes a larger line", 100, 0, 1000, true},
		{"exactly full", 100, 50, 50, true},
		{"one byte over", 100, 50, 51, false},
		{"full file, empty write", 100, 100, 0, true},
		{"already over (a big first line)", 100, 1000, 1, false},
		{"no overflow on huge n", 100, 90, math.MaxInt64, false},
		{"no overflow on huge size", math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64, false},
		{"max 0 means no size rotation", 0, 1 << 40, 1 << 40, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Policy{MaxSize: tc.max}).Fits(tc.size, tc.n); got != tc.want {
				t.Errorf("Fits(%d, %d) with MaxSize %d: got %v, want %v", tc.size, tc.n, tc.max, got, tc.want)
			}
		})
	}
}

// nanosMod returns (t since the Unix epoch in ns) mod d, exactly, for any t.
func nanosMod(t time.Time, d time.Duration) int64 {
	n := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9))
	n.Add(n, big.NewInt(int64(t.Nanosecond())))
	return new(big.Int).Mod(n, big.NewInt(int64(d))).Int64()
}

func FuzzDeadline(f *testing.F) {
	f.Add(int64(1795342500), int64(123000000), int64(24*time.Hour))
	f.Add(int64(1795305600), int64(0), int64(time.Hour))
	f.Add(int64(-3600), int64(0), int64(7*24*time.Hour))
	f.Add(int64(1795342500), int64(0), int64(7*time.Minute))
	f.Add(int64(0), int64(0), int64(1))
	f.Add(int64(-62135596800), int64(0), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, sec, nsec, iv int64) {
		// Years 1 to 9999 and any positive interval.
		if sec < -62135596800 || sec > 253402300799 || iv <= 0 {
			t.Skip()
		}
		nsec = (nsec%1e9 + 1e9) % 1e9
		d := time.Duration(iv)
		p := Policy{Interval: d}
		opened := time.Unix(sec, nsec)
		got := p.Deadline(opened)
		if !got.After(opened) {
			t.Fatalf("Deadline(%s, %s) = %s, want after opened", opened, d, got)
		}
		if got.Sub(opened) > d {
			t.Fatalf("Deadline(%s, %s) = %s, more than one interval later", opened, d, got)
		}
		if r := nanosMod(got, d); r != 0 {
			t.Fatalf("Deadline(%s, %s) = %s, off the epoch grid by %d ns", opened, d, got, r)
		}
		if prev := got.Add(-1); prev.After(opened) || prev.Equal(opened) {
			if again := p.Deadline(prev); !again.Equal(got) {
				t.Fatalf("Deadline(%s) = %s, want %s", prev, again, got)
			}
		}
	})
}
