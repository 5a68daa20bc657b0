package main

import (
	"github.com/spf13/pflag"
	"golang.org/x/mod/sumdb/note"
)

// witnessFlags are --witness-key and --min-cosignatures of verify and
// verify-proof (docs/format.md §7.3).
type witnessFlags struct {
	keys *[]string
	min  *int
}

func addWitnessFlags(fs *pflag.FlagSet) *witnessFlags {
	return &witnessFlags{
		keys: fs.StringArray("witness-key", nil, "a witness's cosignature key (NAME+ID+BASE64), repeatable"),
		min:  fs.Int("min-cosignatures", -1, "valid cosignatures required (default: all --witness-key given)"),
	}
}

// verifiers parses the witness keys. Checking cosignature/v1 lines is
// the witness package's; until it is wired in, a --witness-key is refused.
func (w *witnessFlags) verifiers() ([]note.Verifier, int, error) {
	if len(*w.keys) > 0 {
		return nil, 0, usageErrorf("--witness-key: cosignature checking is not built into this sealog yet")
	}
	if *w.min > 0 {
		return nil, 0, usageErrorf("--min-cosignatures %d: no --witness-key given", *w.min)
	}
	return nil, 0, nil
}
