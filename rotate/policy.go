package rotate

import "time"

// Policy is the rotation schedule of docs/format.md §3.1 (--rotate-size,
// --rotate-interval). The caller rotates before a line that does not Fit and
// when the clock reaches Deadline; rotation at graceful stop is the caller's
// too. Lines are never split: Fits is asked about whole lines.
type Policy struct {
	// MaxSize is the largest size a file may reach, in bytes; 0 or less
	// means no rotation on size.
	MaxSize int64
	// Interval is the rotation interval; boundaries are UTC multiples of it
	// since the Unix epoch (24h rotates at midnight UTC). 0 or less means no
	// rotation on time.
	Interval time.Duration
}

// unixEpoch anchors the interval grid (docs/operations.md: "aligned to UTC multiples
// of the interval since the epoch").
var unixEpoch = time.Unix(0, 0).UTC()

// Deadline is the first interval boundary strictly after opened, in UTC, or
// the zero Time when Interval is 0. A file opened exactly on a boundary
// lives for one whole interval.
//
// time.Time.Truncate aligns to multiples since the zero Time (year 1), not the
// Unix epoch; the two grids differ for intervals that do not divide a day
// (e.g. 7 days). So the epoch's own offset on that grid is subtracted. All
// arithmetic is on Durations below Interval, so nothing overflows for any
// time or interval.
func (p Policy) Deadline(opened time.Time) time.Time {
	d := p.Interval
	if d <= 0 {
		return time.Time{}
	}
	rt := opened.Sub(opened.Truncate(d))       // opened mod d, on the year-1 grid
	re := unixEpoch.Sub(unixEpoch.Truncate(d)) // epoch mod d, on the same grid
	r := rt - re                               // opened mod d, on the epoch grid
	if r < 0 {
		r += d
	}
	return opened.Add(d - r).UTC()
}

// Fits reports whether n more bytes may go into a file that holds size bytes.
// An empty file takes anything, so a single line larger than MaxSize gets a
// file of its own instead of being split or refused (docs/format.md §3.1).
func (p Policy) Fits(size, n int64) bool {
	if size <= 0 || p.MaxSize <= 0 {
		return true
	}
	return n <= p.MaxSize-size // no overflow, unlike size+n
}
