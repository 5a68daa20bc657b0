package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
)

func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", "keygen --out DIR [--origin NAME]", stdout)
	out := fs.String("out", "", "directory for seal.key (server state), verify.key (keep offline), log.key (checkpoint signer) and log.pub (give to auditors)")
	origin := fs.String("origin", defaultOrigin(), "the log's name in its signed checkpoints (the log.key/log.pub key name)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("keygen: --out DIR is required")
	}
	if !tlog.ValidOrigin(*origin) {
		return usageErrorf("keygen: --origin %q: %v", *origin, tlog.ErrOrigin)
	}
	// Refuse before writing anything when any of the four keys exists.
	if err := tlog.CheckNoKeys(*out); err != nil {
		return err
	}
	if err := seal.Keygen(*out); err != nil {
		return err
	}
	vkey, err := tlog.WriteKeys(*out, *origin)
	if err != nil {
		// The keys belong together: leave no half-made set.
		os.Remove(filepath.Join(*out, seal.SealKeyName))
		os.Remove(filepath.Join(*out, seal.VerifyKeyName))
		return err
	}
	fmt.Fprintf(stdout, "wrote %s/seal.key (give it to sealog serve --seal-key) and %s/verify.key (keep it offline, for sealog verify)\n", *out, *out)
	fmt.Fprintf(stdout, "wrote %s/log.key (the checkpoint signer, beside seal.key) and %s/log.pub (public: give it to auditors)\n", *out, *out)
	fmt.Fprintf(stdout, "log.pub: %s\n", vkey)
	return nil
}

// defaultOrigin is sealog/<short host name> (docs/format.md §7.1).
func defaultOrigin() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "sealog/localhost"
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	if !tlog.ValidOrigin("sealog/" + h) {
		return "sealog/localhost"
	}
	return "sealog/" + h
}
