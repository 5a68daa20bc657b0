package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

var errHelp = pflag.ErrHelp

// newFlagSet returns a subcommand's own flag set (STYLE 2): no globals,
// errors returned rather than exiting, -h printing to stdout.
func newFlagSet(name, synopsis string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stdout, "usage: sealog %s\n", synopsis)
		if fs.HasAvailableFlags() {
			fmt.Fprintf(stdout, "\nflags:\n%s", fs.FlagUsages())
		}
	}
	return fs
}

// parseFlags parses args and turns every flag error into a usage error
// (exit 2) that names the flag, as pflag's messages do.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	fs.SetInterspersed(true)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return usageErrorf("%s: %s", fs.Name(), flagErrorText(err))
	}
	var conflict error
	fs.Visit(func(f *pflag.Flag) {
		if names := f.Annotations[aliasOf]; len(names) == 1 && fs.Changed(names[0]) && conflict == nil {
			conflict = usageErrorf("%s: give --%s only (--%s is its old name)", fs.Name(), names[0], f.Name)
		}
	})
	return conflict
}

// aliasOf is the annotation that marks a flag as the old name of another.
const aliasOf = "sealog-alias-of"

// oldName registers old as a hidden, still accepted spelling of the flag
// name: both set the same value. Giving both is a usage error, since one
// would silently win.
func oldName(fs *pflag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	fs.Var(f.Value, old, "old name of --"+name)
	fs.SetAnnotation(old, aliasOf, []string{name})
	fs.MarkHidden(old)
}

// flagErrorText words pflag's errors for people: a bad value names the
// flag and what it wants, not the Go parser that refused it
// (`strconv.ParseInt: parsing "abc": invalid syntax`).
func flagErrorText(err error) string {
	var iv *pflag.InvalidValueError
	if !errors.As(err, &iv) {
		return err.Error()
	}
	f := iv.GetFlag()
	want := ""
	switch f.Value.Type() {
	case "int", "int64", "uint", "uint64":
		want = "a whole number"
	case "float64":
		want = "a number"
	case "duration":
		want = "a duration such as 500ms, 10s, 5m or 24h"
	case "bool":
		want = "true or false"
	default:
		// Our own Value types (byteSize) explain themselves.
		return fmt.Sprintf("--%s: %v", f.Name, errors.Unwrap(err))
	}
	return fmt.Sprintf("--%s %q is not %s", f.Name, iv.GetValue(), want)
}

// byteSize is a pflag value for sizes such as 65536, 64KiB, 128MiB, 1G.
type byteSize int64

// String prints the size in the largest binary unit that divides it, so
// -h shows "128MiB" rather than 134217728.
func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
func (b *byteSize) Type() string { return "bytes" }
func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

// parseByteSize accepts a decimal number with an optional unit: K/KB/KiB,
// M/MB/MiB, G/GB/GiB (all binary multiples, as rsyslog's size options are).
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size (want e.g. 65536, 64KiB, 128MiB)", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %v", s, err)
	}
	var mult int64
	switch strings.ToLower(strings.TrimSpace(t[i:])) {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	case "t", "tb", "tib":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("%q has an unknown unit (want B, KiB, MiB, GiB or TiB)", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// longDuration is a pflag value for durations of days: a Go duration
// (2160h, 90m) or a whole number of days (90d), as retention is usually
// stated. String prints the Go form, as the start event records it.
type longDuration time.Duration

func (d *longDuration) String() string { return time.Duration(*d).String() }
func (d *longDuration) Type() string   { return "duration" }
func (d *longDuration) Set(s string) error {
	t := strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*365 {
			return fmt.Errorf("%q is not a number of days (want e.g. 90d)", s)
		}
		*d = longDuration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(t)
	if err != nil {
		return fmt.Errorf("%q is not a duration (want e.g. 90d or 2160h)", s)
	}
	*d = longDuration(v)
	return nil
}

// parseCIDRs reads a repeatable CIDR flag; a bare address is its own /32
// or /128. An empty value (an unset shell variable) is refused like any
// other, never read as "everyone".
func parseCIDRs(flag string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, a := range vals {
		if strings.TrimSpace(a) == "" {
			return nil, usageErrorf("%s is empty: give a CIDR such as 10.0.0.0/8 or an address", flag)
		}
		p, err := netip.ParsePrefix(a)
		if err != nil {
			ip, ierr := netip.ParseAddr(a)
			if ierr != nil {
				return nil, usageErrorf("%s %q is not a CIDR (e.g. 10.0.0.0/8)", flag, a)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
