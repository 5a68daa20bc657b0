// Package audit holds what an auditor checks with public keys only
// (docs/format.md §7): the seals tree of a log directory against signed
// checkpoints (rollback and rewrite), and single-event proofs — making
// them from a directory (`sealog prove`) and checking them with nothing
// but log.pub and witness keys (`sealog verify-proof`).
//
// It reads seal lines with package seal and builds trees and checks
// notes with package tlog. It never writes into a log directory and
// never needs the verify key: the HMAC chain is package seal's business.
package audit
