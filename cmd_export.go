package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sealog/sealog/follow"
	"github.com/sealog/sealog/writer"
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "export [--json] [--since T] [--until T] FILE...\n       sealog export --follow DIR [--json] [--since T]", stdout)
	jsonOut := fs.Bool("json", false, "JSON Lines instead of escaped text")
	header := fs.Bool("header", false, "text: begin with a '# TIME ...' line naming the columns even when stdout is not a terminal")
	noHeader := fs.Bool("no-header", false, "text: leave out the '# TIME ...' line even on a terminal")
	since := fs.String("since", "", "only lines at or after this time: RFC 3339 (2026-11-22T10:00:00Z), a UTC date (2026-11-22), or a duration back from now (90m)")
	until := fs.String("until", "", "only lines before this time (same forms as --since)")
	followDir := fs.String("follow", "", "follow the log directory DIR like tail -F: its active events and security files, across rotations, until interrupted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *header && *noHeader {
		return usageErrorf("export: --header and --no-header contradict each other")
	}
	// The column-naming line is for a person at a terminal. Piped into a
	// script or a SIEM shipper, the output stays exactly one line per
	// exported line unless --header asks for it.
	opts := writer.ExportOptions{JSON: *jsonOut, Header: !*jsonOut && !*noHeader && (*header || isTerminal(stdout))}
	now := time.Now()
	var err error
	if opts.Since, err = parseTimeFlag("--since", *since, now); err != nil {
		return err
	}
	if opts.Until, err = parseTimeFlag("--until", *until, now); err != nil {
		return err
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Until.After(opts.Since) {
		return usageErrorf("export: --until %s is not after --since %s", *until, *since)
	}
	if fs.Changed("follow") {
		if *followDir == "" {
			return usageErrorf("export: --follow is empty: give the log directory")
		}
		if fs.NArg() > 0 {
			return usageErrorf("export: --follow DIR takes no FILE arguments (got %q)", fs.Arg(0))
		}
		if !opts.Until.IsZero() {
			return usageErrorf("export: --follow runs until interrupted; --until does not go with it")
		}
		return exportFollow(ctx, *followDir, opts, stdout, stderr)
	}
	if fs.NArg() == 0 {
		return usageErrorf("export: give at least one FILE (or --follow DIR)")
	}
	for _, name := range fs.Args() {
		if fi, err := os.Stat(name); err == nil && fi.IsDir() {
			return usageErrorf("export: %s is a directory: give the files in it, e.g. %s, or follow it with --follow %s",
				name, filepath.Join(name, "*.log"), name)
		}
	}
	var failed error
	e := writer.NewExporter(opts)
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return usageErrorf("export: cannot read %s: %v", name, errors.Unwrap(err))
		}
		err = e.Export(stdout, f, name)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "sealog: export: %v\n", err)
			failed = errSilentFailure
		}
	}
	return failed
}

// exportFollow is export --follow: lines as sealog writes them, flushed
// after each round, until SIGINT, SIGTERM or ctx ends it (exit 0).
// Malformed lines are reported on stderr, the first ten of them.
func exportFollow(ctx context.Context, dir string, opts writer.ExportOptions, stdout, stderr io.Writer) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usageErrorf("export: --follow %s is not a log directory", dir)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	out := bufio.NewWriterSize(stdout, 64<<10)
	e := writer.NewExporter(opts)
	var line []byte
	bad := 0
	emit := func(file string, lineNo int, l []byte, err error) error {
		if err == nil {
			if line, err = e.AppendLine(line[:0], l); err == nil {
				_, werr := out.Write(line)
				return werr
			}
		}
		switch bad++; {
		case bad <= maxFollowProblems:
			fmt.Fprintf(stderr, "sealog: export: %s:%d: %v\n", filepath.Join(dir, file), lineNo, err)
		case bad == maxFollowProblems+1:
			fmt.Fprintln(stderr, "sealog: export: more malformed lines follow; they are counted, not shown")
		}
		return nil
	}
	err := follow.Run(ctx, dir, follow.Options{FromOldest: !opts.Since.IsZero(), Flush: out.Flush}, emit)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("export --follow %s: %w", dir, err)
	}
	if bad > 0 {
		return fmt.Errorf("export: %d malformed lines in %s", bad, dir)
	}
	return nil
}

// maxFollowProblems caps the malformed lines export --follow reports.
const maxFollowProblems = 10

// parseTimeFlag reads --since or --until: RFC 3339 with or without a
// fraction, a date (midnight UTC), or a duration back from now. Sealog's
// times are UTC, so a time without a zone is read as UTC too.
func parseTimeFlag(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 && !strings.HasPrefix(v, "+") {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErrorf("export: %s %q is not a time: give RFC 3339 (2026-11-22T10:00:00Z), a date (2026-11-22) or a duration back from now (90m)", flag, v)
}
