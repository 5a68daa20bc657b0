// Package tlog owns sealog's transparency-log primitives (docs/format.md
// §4 and §7): RFC 9162 Merkle tree hashes of lines, a Frontier that keeps
// a growing tree's root in O(log n) hashes, a Tree that keeps every
// interior hash so it can cut inclusion and consistency proofs, the
// verification of such proofs, and C2SP tlog-checkpoint signed notes
// (golang.org/x/mod/sumdb/note): the log's Ed25519 keys, signing,
// parsing and the atomic DIR/checkpoint file.
//
// It knows hashes, trees and notes. It does not know seal lines, files
// of events or the HMAC chain: package seal feeds it leaves, and the
// server decides when a checkpoint is published.
//
// Hashes (RFC 9162 §2.1.1): a leaf is SHA-256(0x00 || data), an interior
// node SHA-256(0x01 || left || right), the empty tree SHA-256 of nothing.
// The proof generation uses golang.org/x/mod/sumdb/tlog, which computes
// the same RFC 6962 trees (its tests check real Certificate Transparency
// proofs); verification is written here from RFC 9162 §2.1.3.2 and
// §2.1.4.2, so that the two check each other in the tests.
package tlog
