// Package seal owns the forward-secure HMAC chain of docs/format.md §4: the key
// material (keygen, the server's evolving key state, the offline verify
// key), the seal lines of DIR/seals.log, and the offline verifier.
//
// It knows hashes, keys and the chain file. It does not know listeners,
// sockets or what an event means: the only thing it checks inside event
// and security files is the line format of docs/format.md §3 (writer.CheckLine),
// because a sealed range must hold well-formed lines. It must not set
// file attributes itself (the caller injects chattr as a function, so
// this package never depends on rotate), must not print except to the
// writers it is given, and must never write anything when verifying.
//
// Key evolution (docs/format.md §4): K(n+1) = HMAC-SHA256(Kn, "sealog key
// evolution"). The server holds only the current key; the verifier derives
// every Kn from K1, the verify key, which is kept offline. Key hygiene
// (docs/format.md §10.2) is secret.go's job: every key byte lives in
// locked pages outside the Go heap and is wiped when replaced; the HMAC
// of the chain is hmac.go's, over those pages; the key state is
// overwritten in place on disk (key.go), never renamed.
//
// seals.log has one reader, readSeals (sealsfile.go), for the server's
// start-up (OpenChain) and for verify, so that they agree on what a valid
// chain is.
package seal
