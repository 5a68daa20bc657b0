package main

import (
	"fmt"
	"io"

	"github.com/sealog/sealog/seal"
)

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", "verify --verify-key VERIFY.KEY [--head SEQ:MAC] DIR", stdout)
	keyPath := fs.String("verify-key", "", "verify.key made by sealog keygen")
	oldName(fs, "key", "verify-key")
	headFlag := fs.String("head", "", "SEQ:MAC chain head recorded elsewhere (e.g. the journal); fail unless the chain reaches it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" {
		return usageErrorf("verify: --verify-key is required")
	}
	if fs.NArg() != 1 {
		return usageErrorf("verify: give exactly one log directory")
	}
	key, err := seal.LoadVerifyKey(*keyPath)
	if err != nil {
		return usageErrorf("verify: --verify-key %s: %v", *keyPath, err)
	}
	var head *seal.Head
	if *headFlag != "" {
		seq, mac, err := seal.ParseHead(*headFlag)
		if err != nil {
			return usageErrorf("verify: --head %q is not a chain head: want SEQ:MAC, a decimal sequence number and 64 hex digits, as serve prints them", *headFlag)
		}
		head = &seal.Head{Seq: seq, MAC: mac}
	}
	defer key.Wipe()
	res, err := seal.Verify(fs.Arg(0), seal.VerifyOptions{Key: key, Head: head}, stdout)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("verify: %d problem(s) found in %s", res.Problems, fs.Arg(0))
	}
	return nil
}
