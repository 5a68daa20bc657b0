package seal

import "github.com/sealog/sealog/writer"

// Column counts come from writer, which owns the line formats (docs/format.md §3.3,
// §3.4); writer.CheckLine is the one judge of a well-formed line.
const (
	eventColumns    = writer.EventColumns
	securityColumns = writer.SecurityColumns
	sealColumns     = writer.SealColumns
)
