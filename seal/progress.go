package seal

import (
	"fmt"
	"io"
	"time"
)

// progress writes verify's progress line (files and bytes done, rate,
// time left) at most every progressEvery, each ending in CR so that a
// terminal shows one line that changes; done clears it. A nil *progress
// does nothing. It is used by verify's goroutine only.
type progress struct {
	w                io.Writer
	files, filesDone int
	total, bytesDone int64
	began, last      time.Time
	now              func() time.Time
	shown            bool
}

const progressEvery = 250 * time.Millisecond

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	return &progress{w: w, now: time.Now}
}

func (p *progress) start(files int, total int64) {
	if p == nil {
		return
	}
	p.files, p.total = files, total
	p.began = p.now()
	p.last = p.began
	p.show(p.began) // at once, so that even a short run says what it does
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.bytesDone += n
	p.maybeShow()
}

func (p *progress) fileDone() {
	if p == nil {
		return
	}
	p.filesDone++
	p.maybeShow()
}

func (p *progress) maybeShow() {
	t := p.now()
	if t.Sub(p.last) < progressEvery {
		return
	}
	p.show(t)
}

func (p *progress) show(t time.Time) {
	p.last = t
	p.shown = true
	fmt.Fprintf(p.w, "\r\x1b[Kverify: %s\r", p.line(t))
}

// line formats the progress: "files 3/12, 1.2 GiB/4.0 GiB (30%), 410 MiB/s, 7s left".
func (p *progress) line(t time.Time) string {
	el := t.Sub(p.began).Seconds()
	s := fmt.Sprintf("files %d/%d, %s/%s", p.filesDone, p.files, size(p.bytesDone), size(p.total))
	if p.total > 0 {
		s += fmt.Sprintf(" (%d%%)", p.bytesDone*100/p.total)
	}
	if el > 0 && p.bytesDone > 0 {
		rate := float64(p.bytesDone) / el
		s += fmt.Sprintf(", %s/s", size(int64(rate)))
		if left := float64(p.total-p.bytesDone) / rate; left >= 0 {
			s += fmt.Sprintf(", %s left", (time.Duration(left) * time.Second).Round(time.Second))
		}
	}
	return s
}

// done clears the progress line, if one was shown.
func (p *progress) done() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
}

// size formats a byte count with a binary unit.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, u := float64(n), 0
	for f >= unit && u < 4 {
		f /= unit
		u++
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMGTP"[u-1])
}
