// Package writer turns values into the exact bytes of sealog's lines
// (docs/format.md §3) and back: the percent-encoding of client bytes (§3.2), the
// 15-column events line (§3.3), the 9-column security line with its JSON
// DETAIL (§3.4), TIME stamps, event IDs, the line check verify relies on,
// and the decoding export of §1.3.
//
// It knows lines, not sockets or files: it never opens, writes, syncs or
// rotates a file, never logs, and never decides policy (what is an event,
// when to suppress). Callers hand it values and a destination slice; the
// Append functions only append, so a caller that reuses its buffer makes
// no allocations per event.
//
// Everything a client sent goes through AppendEncoded or AppendField, so
// a line holds only printable ASCII, TAB separators and the LF
// terminator [T 7, 13]. Server-originated strings are written as they
// are, except that a byte that could break the line (a control byte or
// a non-ASCII byte) is percent-encoded too: a mistake elsewhere in the
// server must not be able to split a column or a line.
package writer
