// Package witness asks transparency-log witnesses to cosign sealog's
// checkpoints and checks their cosignatures (docs/format.md §7.3).
//
// It speaks C2SP tlog-witness as a client (POST URL/add-checkpoint with
// "old N", the RFC 9162 consistency proof from N, a blank line and the
// signed checkpoint; a 409 Conflict names the size the witness holds and
// the request is made again from there) and checks C2SP tlog-cosignature
// `cosignature/v1` Ed25519 signatures: the key NAME+<key id>+base64(0x04
// || public key), the signed message "cosignature/v1\ntime T\n" followed
// by the checkpoint body. golang.org/x/mod/sumdb/note cannot parse such
// keys, but a Key is a note.Verifier, so a cosigned checkpoint opens with
// note.Open and the log's key and the witness keys together.
//
// It knows signature lines, HTTP and consistency proofs handed to it. It
// does not know seals, the tree, the log's key or DIR/checkpoint: the
// server gives a Pool a function that cuts proofs and callbacks that
// store cosignatures and write security events.
//
// # Moving parts
//
// A Pool runs one goroutine per witness. Submit (from the goroutine that
// publishes a checkpoint) stores the checkpoint in each witness's one
// pending slot, replacing an older one not yet sent, and wakes the
// goroutine without blocking. The goroutine takes the pending checkpoint,
// makes at most three requests for it (the first from the size it
// believes the witness holds, 0 at start, then from what each 409 says),
// each bounded by Config.Timeout, and reports: Cosigned with each
// verified cosignature, Result with every outcome, Changed only when the
// witness goes from working to failing or back. A failed checkpoint is
// not retried; the next one is. Replies are read up to MaxResponse bytes.
// Stop sends what is pending and waits within its context, then cancels
// what is in flight.
package witness
