package main

import (
	"fmt"
	"io"

	"github.com/sealog/sealog/seal"
)

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
