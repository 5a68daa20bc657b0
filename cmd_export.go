package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sealog/sealog/writer"
)

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "export [--json] FILE...", stdout)
	jsonOut := fs.Bool("json", false, "JSON Lines instead of escaped text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf("export: give at least one FILE")
	}
	for _, name := range fs.Args() {
		if fi, err := os.Stat(name); err == nil && fi.IsDir() {
			return usageErrorf("export: %s is a directory: give the files in it, e.g. %s", name, filepath.Join(name, "events-*.log"))
		}
	}
	var failed error
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return usageErrorf("export: cannot read %s: %v", name, errors.Unwrap(err))
		}
		err = writer.Export(stdout, f, name, *jsonOut)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "sealog: export: %v\n", err)
			failed = errSilentFailure
		}
	}
	return failed
}
