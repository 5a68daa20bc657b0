package server

import (
	"context"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// perSourceLimit is how many failure events one source may cause in one
// UTC minute before the rest are only counted (docs/format.md §5).
const perSourceLimit = 10

// maxSources bounds the limiter's memory under a flood from many
// addresses; sources beyond it share one summary with source "*".
const maxSources = 65536

// limiter summarises floods of failure events so an attacker cannot fill
// the disk with sealog's own complaints. The events (the data) are never
// limited, only sealog's reports about failures.
type limiter struct {
	mu      sync.Mutex // guards the fields below
	minute  time.Time  // the UTC minute being counted
	sources map[netip.Addr]*sourceCount
	done    []suppressedSummary // summaries of ended minutes, not yet written
}

type sourceCount struct {
	n          int            // failure events in this minute
	suppressed map[string]int // per action, beyond the limit
}

type suppressedSummary struct {
	source string
	minute time.Time
	count  int
	counts map[string]int
}

var overflowSource = netip.IPv6Unspecified() // stands for "*"

func newLimiter() *limiter {
	return &limiter{sources: map[netip.Addr]*sourceCount{}}
}

// allow counts one failure event of action from ip and reports whether it
// may be written one by one.
func (l *limiter) allow(ip netip.Addr, action string, now time.Time) bool {
	minute := now.UTC().Truncate(time.Minute)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !minute.Equal(l.minute) {
		if minute.After(l.minute) {
			l.pendingRoll(minute) // summaries of the old minute wait for run
		}
	}
	sc, ok := l.sources[ip]
	if !ok {
		if len(l.sources) >= maxSources {
			ip = overflowSource
			if sc, ok = l.sources[ip]; !ok {
				sc = &sourceCount{n: perSourceLimit} // the overflow bucket only summarises
				l.sources[ip] = sc
			}
		} else {
			sc = &sourceCount{}
			l.sources[ip] = sc
		}
	}
	sc.n++
	if sc.n <= perSourceLimit {
		return true
	}
	if sc.suppressed == nil {
		sc.suppressed = map[string]int{}
	}
	sc.suppressed[action]++
	return false
}

// pendingRoll moves the current minute's suppressed counts aside and
// starts counting the new minute. Called with l.mu held.
func (l *limiter) pendingRoll(minute time.Time) {
	l.done = append(l.done, l.summaries()...)
	l.sources = map[netip.Addr]*sourceCount{}
	l.minute = minute
}

// summaries returns the suppressed counts of the current minute. Called
// with l.mu held.
func (l *limiter) summaries() []suppressedSummary {
	var out []suppressedSummary
	for ip, sc := range l.sources {
		if len(sc.suppressed) == 0 {
			continue
		}
		s := suppressedSummary{source: ip.String(), minute: l.minute, counts: sc.suppressed}
		if ip == overflowSource {
			s.source = "*"
		}
		for _, n := range sc.suppressed {
			s.count += n
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].source < out[j].source })
	return out
}

// run writes each minute's summaries when the minute ends.
func (l *limiter) run(ctx context.Context, emit func(suppressedSummary)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			minute := now.UTC().Truncate(time.Minute)
			l.mu.Lock()
			if minute.After(l.minute) && len(l.sources) > 0 {
				l.pendingRoll(minute)
			}
			done := l.done
			l.done = nil
			l.mu.Unlock()
			for _, s := range done {
				emit(s)
			}
		}
	}
}

// flushAll writes every summary still held (at stop).
func (l *limiter) flushAll(emit func(suppressedSummary)) {
	l.mu.Lock()
	done := append(l.done, l.summaries()...)
	l.done = nil
	l.sources = map[netip.Addr]*sourceCount{}
	l.mu.Unlock()
	for _, s := range done {
		emit(s)
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
