package server

import (
	"fmt"
	"time"

	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/writer"
)

// health says whether the pipeline's writes succeed (fail closed,
// docs/format.md §5).
type health uint8

const (
	healthy health = iota
	// failing: a write, fsync, file creation or seal failed and is being
	// retried under mu, which holds clients back. fail enters it once,
	// on stderr; recovered leaves it and records the episode in the
	// security stream.
	failing
)

// syncRetrying fsyncs f until it succeeds, reporting each failure and
// holding clients back meanwhile (fail closed, docs/format.md §5).
func (p *pipeline) syncRetrying(f *rotate.File) {
	for {
		if testHookSync != nil {
			testHookSync(f)
		}
		err := f.Sync()
		if err == nil {
			break
		}
		p.fail(f.Name(), "fsync", err)
	}
	p.recovered()
}

// fail records a write failure: once on stderr and as a write_error event,
// then waits before the caller retries.
func (p *pipeline) fail(file, op string, err error) {
	if p.health == healthy {
		p.health = failing
		p.cfg.Metrics.WriteError()
		p.failSince = p.now()
		p.failErr = fmt.Sprintf("%s %s: %v", op, file, err)
		p.failFile = file
		fmt.Fprintf(p.stderr, "sealog: write error: %s; holding clients back and retrying\n", p.failErr)
		p.log.Error("write error", "file", file, "op", op, "err", err)
	}
	backoff := time.Since(p.failSince) / 4
	backoff = min(max(backoff, 20*time.Millisecond), 2*time.Second)
	time.Sleep(backoff)
}

// recovered writes write_error and write_recovered once a failure is over.
// Both go to the security file only now, because while the disk fails the
// security file usually cannot be written either; stderr had it at once.
func (p *pipeline) recovered() {
	if p.health == healthy {
		return
	}
	p.health = healthy
	dur := p.now().Sub(p.failSince)
	fmt.Fprintf(p.stderr, "sealog: write recovered after %s\n", dur.Round(time.Millisecond))
	var d writer.Detail
	d.Str("file", p.failFile)
	d.Str("error", p.failErr)
	d.Str("since", string(writer.AppendTime(nil, p.failSince)))
	p.securityEvent("write_error", "error", &d)
	d.Reset()
	d.Str("file", p.failFile)
	d.Int("duration_ms", dur.Milliseconds())
	p.securityEvent("write_recovered", "success", &d)
}
