package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/writer"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", "keygen --out DIR", stdout)
	out := fs.String("out", "", "directory for seal.key (server state) and verify.key (keep offline)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("keygen: --out DIR is required")
	}
	if err := seal.Keygen(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s/seal.key (give it to sealog serve --key) and %s/verify.key (keep it offline, for sealog verify)\n", *out, *out)
	return nil
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", "verify --key VERIFY.KEY [--head SEQ:MAC] DIR", stdout)
	keyPath := fs.String("key", "", "verify.key made by sealog keygen")
	headFlag := fs.String("head", "", "SEQ:MAC chain head recorded elsewhere (e.g. the journal); fail unless the chain reaches it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" {
		return usageErrorf("verify: --key is required")
	}
	if fs.NArg() != 1 {
		return usageErrorf("verify: give exactly one log directory")
	}
	key, err := seal.LoadVerifyKey(*keyPath)
	if err != nil {
		return usageErrorf("verify: --key %s: %v", *keyPath, err)
	}
	var head *seal.Head
	if *headFlag != "" {
		seq, mac, err := seal.ParseHead(*headFlag)
		if err != nil {
			return usageErrorf("verify: --head %q: %v", *headFlag, err)
		}
		head = &seal.Head{Seq: seq, MAC: mac}
	}
	res, err := seal.Verify(fs.Arg(0), key, head, stdout)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("verify: %d problem(s) found in %s", res.Problems, fs.Arg(0))
	}
	return nil
}

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "export [--json] FILE...", stdout)
	jsonOut := fs.Bool("json", false, "JSON Lines instead of escaped text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf("export: give at least one FILE")
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

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	commit := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "sealog %s\ngo %s\ncommit %s\n", version, runtime.Version(), commit)
	return nil
}
