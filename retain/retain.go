// Package retain decides which finished log files retention removes
// (docs/format.md §8): those whose final seal is older than --retain, and
// the oldest ones while the log files together exceed --retain-size. It
// knows names, sizes and seal times only; sealing, deleting and logging
// are the server's.
package retain

import (
	"slices"
	"strings"
	"time"
)

// Reasons a file is pruned, as the prune event and the metrics name them.
const (
	ReasonAge  = "age"
	ReasonSize = "size"
	// ReasonRecovered: a prune a crash interrupted, finished at start-up.
	ReasonRecovered = "recovered"
)

// Policy is the retention in force. The zero value keeps everything.
type Policy struct {
	MaxAge   time.Duration // --retain; 0 = no limit
	MaxBytes int64         // --retain-size; 0 = no limit
}

// Off reports whether the policy never prunes.
func (p Policy) Off() bool { return p.MaxAge <= 0 && p.MaxBytes <= 0 }

// File is one events or security file of the log directory.
type File struct {
	Name string
	Size int64
	// Done: the file has its final or recovered seal and the writer is
	// finished with it, so it may be pruned. Active files are counted
	// in the directory's size but never pruned.
	Done   bool
	Sealed time.Time // TIME of the final or recovered seal, when Done
}

// Decision is one file to prune and why.
type Decision struct {
	Name   string
	Reason string // ReasonAge or ReasonSize
}

// Plan returns the files to prune at now, oldest final seal first: every
// Done file whose seal is older than MaxAge, then, while all files
// together still exceed MaxBytes, the oldest Done files left.
func (p Policy) Plan(files []File, now time.Time) []Decision {
	if p.Off() {
		return nil
	}
	var total int64
	var done []File
	for _, f := range files {
		total += f.Size
		if f.Done {
			done = append(done, f)
		}
	}
	slices.SortFunc(done, func(a, b File) int {
		if c := a.Sealed.Compare(b.Sealed); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	var out []Decision
	for _, f := range done {
		switch {
		case p.MaxAge > 0 && now.Sub(f.Sealed) > p.MaxAge:
			out = append(out, Decision{f.Name, ReasonAge})
		case p.MaxBytes > 0 && total > p.MaxBytes:
			out = append(out, Decision{f.Name, ReasonSize})
		default:
			return out // every later file is newer: neither rule takes it
		}
		total -= f.Size
	}
	return out
}
