package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sys/unix"

	"github.com/sealog/sealog/audit"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
)

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", "verify [--verify-key VERIFY.KEY] [--log-pub LOG.PUB] [--head SEQ:MAC] [--checkpoint FILE]... [--witness-key VKEY]... [--min-cosignatures N] DIR", stdout)
	keyPath := fs.String("verify-key", "", "verify.key made by sealog keygen: checks the MACs of the seal chain")
	oldName(fs, "key", "verify-key")
	logPub := fs.String("log-pub", "", "log.pub made by sealog keygen: checks DIR/checkpoint and every --checkpoint against seals.log, with public keys only")
	headFlag := fs.String("head", "", "SEQ:MAC chain head recorded elsewhere (e.g. the journal); fail unless the chain reaches it")
	cpFlags := fs.StringArray("checkpoint", nil, "a signed checkpoint kept off the host (e.g. a witness's cosigned copy); fail unless seals.log holds its tree (rollback, rewrite); repeatable, needs --log-pub")
	wf := addWitnessFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" && *logPub == "" {
		return usageErrorf("verify: give --verify-key, --log-pub or both")
	}
	if fs.NArg() != 1 {
		return usageErrorf("verify: give exactly one log directory")
	}
	dir := fs.Arg(0)
	opt := seal.VerifyOptions{}
	if *keyPath != "" {
		key, err := seal.LoadVerifyKey(*keyPath)
		if err != nil {
			return usageErrorf("verify: --verify-key %s: %v", *keyPath, err)
		}
		defer key.Wipe()
		opt.Key = key
	}
	if *headFlag != "" {
		seq, mac, err := seal.ParseHead(*headFlag)
		if err != nil {
			return usageErrorf("verify: --head %q is not a chain head: want SEQ:MAC, a decimal sequence number and 64 hex digits, as serve prints them", *headFlag)
		}
		opt.Head = &seal.Head{Seq: seq, MAC: mac}
	}
	witnesses, minCos, err := wf.verifiers()
	if err != nil {
		return err
	}
	if *logPub == "" {
		switch {
		case len(*cpFlags) > 0:
			return usageErrorf("verify: --checkpoint needs --log-pub to check its signature")
		case len(witnesses) > 0:
			return usageErrorf("verify: --witness-key needs --log-pub")
		}
	} else {
		v, err := tlog.LoadVerifier(*logPub)
		if err != nil {
			return usageErrorf("verify: --log-pub %s: %v", *logPub, unwrapPath(err))
		}
		cps := []namedNote{}
		for _, p := range *cpFlags {
			b, err := tlog.ReadFile(p)
			if err != nil {
				return usageErrorf("verify: --checkpoint %s: %v", p, unwrapPath(err))
			}
			cps = append(cps, namedNote{p, b})
		}
		opt.Checkpoints = func(tree *tlog.Tree) ([]string, []string) {
			return checkCheckpoints(dir, v, cps, witnesses, minCos, tree)
		}
	}
	if isTerminal(stderr) {
		// A large directory takes minutes: show files and bytes done,
		// rate and time left on the terminal, and nothing when stderr is
		// a file or a pipe.
		opt.Progress = stderr
	}
	res, err := seal.Verify(dir, opt, stdout)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("verify: %d problem(s) found in %s", res.Problems, dir)
	}
	return nil
}

type namedNote struct {
	name string
	msg  []byte
}

// checkCheckpoints checks DIR/checkpoint (when present) and every given
// checkpoint against the seals tree (docs/format.md §7.3): the log's
// signature, the size within seals.log (else a rollback), the root at
// that size (else a rewrite) and the cosignatures required. With no
// checkpoint at all it fails: --log-pub has nothing to check.
func checkCheckpoints(dir string, log note.Verifier, given []namedNote, witnesses []note.Verifier, minCos int, tree *tlog.Tree) (checks, problems []string) {
	cps := given
	dirCP := filepath.Join(dir, tlog.CheckpointName)
	if b, err := tlog.ReadFile(dirCP); err == nil {
		cps = append([]namedNote{{tlog.CheckpointName, b}}, cps...)
	} else if !errors.Is(err, os.ErrNotExist) {
		problems = append(problems, fmt.Sprintf("%s: %v", tlog.CheckpointName, unwrapPath(err)))
	}
	if len(cps) == 0 && len(problems) == 0 {
		return nil, []string{fmt.Sprintf("no checkpoint: %s has no %s and no --checkpoint was given", dir, tlog.CheckpointName)}
	}
	for _, cp := range cps {
		c, n, err := audit.CheckCheckpoint(cp.msg, log, tree, witnesses...)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", cp.name, err))
			continue
		}
		check := fmt.Sprintf("checkpoint signature and seals tree (%s: %d seals)", cp.name, c.Size)
		if len(witnesses) > 0 {
			got := audit.Cosigned(n, witnesses)
			if got < minCos {
				problems = append(problems, fmt.Sprintf("%s: %d valid cosignatures, %d required", cp.name, got, minCos))
				continue
			}
			check += fmt.Sprintf(", cosignatures %d of %d", got, len(witnesses))
		}
		checks = append(checks, check)
	}
	return checks, problems
}

// isTerminal reports whether w is a terminal (a *os.File for which the
// TCGETS ioctl succeeds).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
