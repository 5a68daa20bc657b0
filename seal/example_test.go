package seal_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sealog/sealog/parse"
	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/writer"
)

// The life of a sealed file, as `sealog keygen`, `sealog serve` and
// `sealog verify` go through it: make the keys, write an events file,
// seal it, and check the directory offline with the verify key — which
// then catches a single changed byte.
func Example() {
	dir, err := os.MkdirTemp("", "seal-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keys, logs := filepath.Join(dir, "keys"), filepath.Join(dir, "logs")

	// keygen: seal.key (K1, evolving) stays with the server; verify.key
	// (K1 as it was) goes somewhere the server cannot reach.
	if err := seal.Keygen(keys); err != nil {
		log.Fatal(err)
	}

	// serve: lines are written to an events file, which keeps the Merkle
	// tree of its lines as it writes them (ROOT, docs/format.md §4), and
	// the file is sealed once it is durable.
	if err := rotate.EnsureDir(logs); err != nil {
		log.Fatal(err)
	}
	f, err := rotate.Create(logs, "events", time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC), false)
	if err != nil {
		log.Fatal(err)
	}
	ids, err := writer.NewIDGen("example")
	if err != nil {
		log.Fatal(err)
	}
	meta := writer.EventMeta{Time: time.Date(2026, 12, 7, 4, 0, 1, 0, time.UTC), Peer: "192.0.2.7:5114", TLS: "tcp"}
	var lines []byte
	for i, frame := range []string{
		"<34>1 2026-12-07T04:00:01Z host app 42 ID47 - disk full",
		"<13>Dec  7 04:00:01 host app[42]: retrying",
	} {
		msg := parse.NewParser().Parse([]byte(frame))
		meta.ID = ids.AppendID(nil, uint64(i+1))
		lines = writer.AppendEvent(lines, &meta, &msg)
	}
	if _, err := f.Write(lines); err != nil {
		log.Fatal(err)
	}
	if err := f.Sync(); err != nil { // a seal covers only durable bytes
		log.Fatal(err)
	}
	chain, err := seal.OpenChain(logs, filepath.Join(keys, seal.SealKeyName), seal.ChainOptions{})
	if err != nil {
		log.Fatal(err)
	}
	rec, err := chain.Seal(seal.KindFinal, f.Name(), f.Size(), f.Lines(), f.Root())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("seal %d: %s, %d lines\n", rec.Seq, rec.Kind, rec.Lines)
	f.Close()
	chain.Close()

	// verify, offline, with the verify key.
	vk, err := seal.LoadVerifyKey(filepath.Join(keys, seal.VerifyKeyName))
	if err != nil {
		log.Fatal(err)
	}
	res, err := seal.Verify(logs, seal.VerifyOptions{Key: vk}, io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verify:", res.OK, res.Lines, "lines")

	// Anyone who changes one byte of a sealed file is caught.
	data, err := os.ReadFile(f.Path())
	if err != nil {
		log.Fatal(err)
	}
	data[len(data)-2] ^= 0x20 // "retrying" becomes "retryinG"
	if err := os.WriteFile(f.Path(), data, 0o640); err != nil {
		log.Fatal(err)
	}
	res, err = seal.Verify(logs, seal.VerifyOptions{Key: vk}, io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verify after the change:", res.OK)
	// Output:
	// seal 1: final, 2 lines
	// verify: true 2 lines
	// verify after the change: false
}
