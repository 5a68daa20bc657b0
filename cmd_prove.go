package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sealog/sealog/audit"
	"github.com/sealog/sealog/tlog"
)

// runProve prints the proof of one event (docs/format.md §7.4).
func runProve(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("prove", "prove [--dir DIR] [--checkpoint FILE] ID", stdout)
	dir := fs.String("dir", "/var/log/sealog", "log directory")
	cpPath := fs.String("checkpoint", "", "signed checkpoint to prove against (default DIR/checkpoint; e.g. a witness's cosigned copy)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("prove: give exactly one event ID")
	}
	if *cpPath == "" {
		*cpPath = filepath.Join(*dir, tlog.CheckpointName)
	}
	if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
		return usageErrorf("prove: --dir %s: not a readable directory", *dir)
	}
	cp, err := tlog.ReadFile(*cpPath)
	if err != nil {
		return usageErrorf("prove: --checkpoint %s: %v", *cpPath, unwrapPath(err))
	}
	p, err := audit.Prove(*dir, cp, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	_, err = stdout.Write(p.Marshal())
	return err
}

// runVerifyProof checks a proof with public keys only (docs/format.md §7.4).
func runVerifyProof(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify-proof", "verify-proof --log-pub LOG.PUB [--witness-key VKEY]... [--min-cosignatures N] PROOF", stdout)
	logPub := fs.String("log-pub", "", "the log's public checkpoint key (log.pub from sealog keygen)")
	wf := addWitnessFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *logPub == "" {
		return usageErrorf("verify-proof: --log-pub is required")
	}
	if fs.NArg() != 1 {
		return usageErrorf("verify-proof: give exactly one PROOF file (- for stdin is not taken)")
	}
	v, err := tlog.LoadVerifier(*logPub)
	if err != nil {
		return usageErrorf("verify-proof: --log-pub %s: %v", *logPub, unwrapPath(err))
	}
	opt := audit.VerifyOptions{Log: v}
	if opt.Witnesses, opt.MinCosignatures, err = wf.verifiers(); err != nil {
		return err
	}
	b, err := readLimited(fs.Arg(0), audit.MaxProof)
	if err != nil {
		return usageErrorf("verify-proof: %s: %v", fs.Arg(0), unwrapPath(err))
	}
	p, err := audit.ParseProof(b)
	if err != nil {
		return fmt.Errorf("verify-proof: %s: %w", fs.Arg(0), err)
	}
	res, err := audit.Verify(p, opt)
	if err != nil {
		return fmt.Errorf("verify-proof: %s: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(stdout, "proof OK: line %d of %s is in seal %d (%s), in the checkpoint of %d seals of %s",
		p.LineIndex+1, p.File, res.Seal.Seq, res.Seal.Kind, res.Checkpoint.Size, res.Checkpoint.Origin)
	if len(opt.Witnesses) > 0 {
		fmt.Fprintf(stdout, ", cosigned by %d of %d witnesses", res.Cosignatures, len(opt.Witnesses))
	}
	fmt.Fprintf(stdout, "\n%s\n", p.Line)
	return nil
}

// readLimited reads a regular file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// unwrapPath drops the path an *os.PathError repeats, since the message
// names the file already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
