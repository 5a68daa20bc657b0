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
	fs := newFlagSet("keygen", "keygen --out DIR [--origin NAME] [--verify-key-to FILE|-]", stdout)
	out := fs.String("out", "", "directory for seal.key (server state), verify.key (keep offline), log.key (checkpoint signer) and log.pub (give to auditors)")
	origin := fs.String("origin", defaultOrigin(), "the log's name in its signed checkpoints (the log.key/log.pub key name)")
	verifyTo := fs.String("verify-key-to", "", "write the verify key (K1) here instead of DIR/verify.key; - prints it on stdout, so it never touches this host's disk")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// "keygen --out DIR stray" is a typo (a forgotten flag name), not a
		// request to make keys and ignore the rest.
		return usageErrorf("keygen: unexpected argument %q", fs.Arg(0))
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
	var vkOut io.Writer
	vkWhere := *out + "/verify.key"
	switch *verifyTo {
	case "":
	case "-":
		vkOut, vkWhere = stdout, "stdout"
	default:
		f, err := os.OpenFile(*verifyTo, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return usageErrorf("keygen: --verify-key-to %s: %v", *verifyTo, err)
		}
		defer f.Close()
		vkOut, vkWhere = syncedFile{f}, *verifyTo
	}
	if err := seal.KeygenTo(*out, vkOut); err != nil {
		if *verifyTo != "" && *verifyTo != "-" {
			os.Remove(*verifyTo)
		}
		return err
	}
	vkey, err := tlog.WriteKeys(*out, *origin)
	if err != nil {
		// The keys belong together: leave no half-made set.
		os.Remove(filepath.Join(*out, seal.SealKeyName))
		os.Remove(filepath.Join(*out, seal.VerifyKeyName))
		return err
	}
	if *verifyTo == "-" {
		// stdout carries the verify key alone, so that it can be piped
		// straight off the host; everything else goes to stderr.
		stdout = stderr
		fmt.Fprintf(stdout, "printed the verify key on stdout: store it off this host (for sealog verify --verify-key); it was not written to disk\n")
		fmt.Fprintf(stdout, "wrote %s/seal.key (give it to sealog serve --seal-key)\n", *out)
	} else {
		fmt.Fprintf(stdout, "wrote %s/seal.key (give it to sealog serve --seal-key) and the verify key to %s: move it off this host, it can forge the whole chain\n", *out, vkWhere)
	}
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

// syncedFile fsyncs the verify key file once it is written.
type syncedFile struct{ f *os.File }

func (s syncedFile) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	if err == nil {
		err = s.f.Sync()
	}
	return n, err
}
