package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

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
		fmt.Fprintf(stdout, "usage: sealog %s\n\nflags:\n%s", synopsis, fs.FlagUsages())
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
		return usageErrorf("%s: %v", fs.Name(), err)
	}
	return nil
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
	default:
		return 0, fmt.Errorf("%q has an unknown unit (want B, KiB, MiB or GiB)", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
