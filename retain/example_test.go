package retain_test

import (
	"fmt"
	"time"

	"github.com/sealog/sealog/retain"
)

// Keep 30 days, and at most 1 GiB in all: the file sealed 40 days ago goes
// for its age, then the oldest others while the directory is too big.
func ExamplePolicy_Plan() {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	days := func(n int) time.Time { return now.AddDate(0, 0, -n) }
	p := retain.Policy{MaxAge: 30 * 24 * time.Hour, MaxBytes: 1 << 30}
	files := []retain.File{
		{Name: "events-a.log", Size: 400 << 20, Done: true, Sealed: days(40)},
		{Name: "events-b.log", Size: 400 << 20, Done: true, Sealed: days(20)},
		{Name: "events-c.log", Size: 400 << 20, Done: true, Sealed: days(10)},
		{Name: "events-d.log", Size: 400 << 20}, // active: never pruned
	}
	for _, d := range p.Plan(files, now) {
		fmt.Println(d.Name, d.Reason)
	}
	// Output:
	// events-a.log age
	// events-b.log size
}
