package main

import (
	"github.com/spf13/pflag"
	"golang.org/x/mod/sumdb/note"

	"github.com/sealog/sealog/witness"
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

// verifiers parses the witness keys (cosignature/v1 keys, which
// witness.Key verifies as a note.Verifier) and returns how many of them
// must have cosigned: --min-cosignatures, or all of them.
func (w *witnessFlags) verifiers() ([]note.Verifier, int, error) {
	var vs []note.Verifier
	seen := map[string]bool{}
	for _, s := range *w.keys {
		k, err := witness.ParseKey(s)
		if err != nil {
			return nil, 0, usageErrorf("--witness-key %q: %v", s, err)
		}
		if seen[k.String()] {
			return nil, 0, usageErrorf("--witness-key %q is given twice", s)
		}
		seen[k.String()] = true
		vs = append(vs, k)
	}
	min := *w.min
	switch {
	case min == -1:
		min = len(vs)
	case min < 0:
		return nil, 0, usageErrorf("--min-cosignatures %d must not be negative", min)
	case min > len(vs):
		return nil, 0, usageErrorf("--min-cosignatures %d: only %d --witness-key given", min, len(vs))
	}
	return vs, min, nil
}
