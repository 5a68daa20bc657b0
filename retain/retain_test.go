package retain

import (
	"fmt"
	"testing"
	"time"
)

func TestPlan(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ago := func(h int) time.Time { return now.Add(-time.Duration(h) * time.Hour) }
	files := []File{
		{"events-3", 300, true, ago(30)},
		{"events-1", 100, true, ago(50)},
		{"security-1", 10, true, ago(50)},
		{"events-2", 200, true, ago(40)},
		{"events-4", 400, false, time.Time{}}, // active
		{"security-2", 5, false, time.Time{}}, // active
	}
	for _, c := range []struct {
		p    Policy
		want string
	}{
		{Policy{}, "[]"},
		{Policy{MaxAge: 100 * time.Hour}, "[]"},
		{Policy{MaxAge: 45 * time.Hour}, "[{events-1 age} {security-1 age}]"},
		{Policy{MaxAge: 35 * time.Hour}, "[{events-1 age} {security-1 age} {events-2 age}]"},
		{Policy{MaxAge: time.Hour}, "[{events-1 age} {security-1 age} {events-2 age} {events-3 age}]"},
		// 1015 bytes in all.
		{Policy{MaxBytes: 1015}, "[]"},
		{Policy{MaxBytes: 1014}, "[{events-1 size}]"},
		{Policy{MaxBytes: 915}, "[{events-1 size}]"},
		{Policy{MaxBytes: 905}, "[{events-1 size} {security-1 size}]"},
		{Policy{MaxBytes: 904}, "[{events-1 size} {security-1 size} {events-2 size}]"},
		{Policy{MaxBytes: 1}, "[{events-1 size} {security-1 size} {events-2 size} {events-3 size}]"}, // active files stay
		{Policy{MaxAge: 45 * time.Hour, MaxBytes: 705}, "[{events-1 age} {security-1 age} {events-2 size}]"},
	} {
		if got := fmt.Sprint(c.p.Plan(files, now)); got != c.want {
			t.Errorf("%+v: got %s, want %s", c.p, got, c.want)
		}
	}
}
