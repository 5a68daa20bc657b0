package seal

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestPruneRepeatsFinalSeal(t *testing.T) {
	d := newLogDir(t)
	d.standard()
	final, _ := d.c.Last(ev1)
	r, err := d.c.Prune(ev1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindPruned || r.Seq != 11 || r.Bytes != final.Bytes || r.Lines != final.Lines || r.Root != final.Root {
		t.Errorf("got %+v, want a pruned seal 11 repeating %+v", r, final)
	}
	for _, name := range []string{ev1, ev3, "events-20261122T131500.000Z.log"} {
		// ev1 is pruned already, ev3 active, the third never sealed.
		if _, err := d.c.Prune(name); !errors.Is(err, ErrNotFinal) {
			t.Errorf("Prune(%s): got %v, want ErrNotFinal", name, err)
		}
	}
	// The pruned seal is the file's last seal after a restart too.
	d.close()
	d.open()
	defer d.close()
	if last, _ := d.c.Last(ev1); last.Kind != KindPruned || last.Seq != 11 {
		t.Errorf("after reopening: last seal of %s is %+v, want pruned seal 11", ev1, last)
	}
	found := false
	for _, l := range d.c.Lasts() {
		found = found || (l.File == ev1 && l.Kind == KindPruned)
	}
	if !found {
		t.Errorf("Lasts lacks the pruned seal of %s", ev1)
	}
}

func TestVerifyPruned(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(d *logDir)
		fail  []string // nil: must pass
		note  string
	}{
		{"pruned and deleted", func(d *logDir) {
			mustPrune(d, ev1)
			mustPrune(d, ev2) // a recovered file, torn line and all
			os.Remove(d.path(ev1))
			os.Remove(d.path(ev2))
		}, nil, ev1 + ": pruned at seal 11"},
		{"pruned file still present", func(d *logDir) {
			mustPrune(d, ev1)
		}, []string{ev1, "seal 11", "pruned file is still present"}, ""},
		{"deleted without a pruned seal", func(d *logDir) {
			os.Remove(d.path(ev1))
		}, []string{ev1, "file is missing"}, ""},
		{"pruned seal with other BYTES", func(d *logDir) {
			final, _ := d.c.Last(ev1)
			if _, err := d.c.Seal(KindPruned, ev1, final.Bytes-1, final.Lines, final.Root); err != nil {
				d.t.Fatal(err)
			}
			os.Remove(d.path(ev1))
		}, []string{ev1, "seal 11", "differs from its final seal 3"}, ""},
		{"pruned seal with another ROOT", func(d *logDir) {
			final, _ := d.c.Last(ev1)
			sum := final.Root
			sum[0] ^= 1
			if _, err := d.c.Seal(KindPruned, ev1, final.Bytes, final.Lines, sum); err != nil {
				d.t.Fatal(err)
			}
			os.Remove(d.path(ev1))
		}, []string{ev1, "differs"}, ""},
		{"pruned seal of an active file", func(d *logDir) {
			last, _ := d.c.Last(ev3)
			if _, err := d.c.Seal(KindPruned, ev3, last.Bytes, last.Lines, last.Root); err != nil {
				d.t.Fatal(err)
			}
			os.Remove(d.path(ev3))
		}, []string{ev3, "without a final or recovered seal"}, ""},
		{"seal after the pruned seal", func(d *logDir) {
			mustPrune(d, ev1)
			os.Remove(d.path(ev1))
			final, _ := d.c.Last(ev1)
			if _, err := d.c.Seal(KindFinal, ev1, final.Bytes, final.Lines, final.Root); err != nil {
				d.t.Fatal(err)
			}
		}, []string{ev1, "final seal after the pruned seal 11"}, ""},
		{"tampering in a pruned directory", func(d *logDir) {
			mustPrune(d, ev1)
			os.Remove(d.path(ev1))
			b, _ := os.ReadFile(d.path(sec1))
			b[10] ^= 1
			os.WriteFile(d.path(sec1), b, 0o640)
		}, []string{sec1, "content changed"}, ""},
		{"file and its pruned seal line removed together", func(d *logDir) {
			mustPrune(d, ev1)
			d.write(ev3, 1)
			d.seal(KindCheckpoint, ev3) // 12
			os.Remove(d.path(ev1))
			d.rewriteSeals(func(lines []string) []string {
				return append(lines[:10:10], lines[11:]...)
			})
		}, []string{"seal 12", "SEQ gap"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newLogDir(t)
			d.standard()
			c.setup(d)
			d.close()
			res, report := d.verify(nil)
			if c.fail == nil {
				mustPass(t, res, report)
			} else {
				mustFail(t, res, report, c.fail...)
			}
			if c.note != "" {
				mustContain(t, report, c.note)
			}
			if strings.Contains(report, "panic") {
				t.Fatalf("report mentions a panic:\n%s", report)
			}
		})
	}
}

func mustPrune(d *logDir, name string) Record {
	d.t.Helper()
	r, err := d.c.Prune(name)
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}
