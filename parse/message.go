// Package parse turns bytes from a syslog sender into frames (RFC 6587
// octet counting or LF framing, RFC 5426 datagrams) and frames into
// messages whose fields are verbatim slices of the frame.
//
// It knows bytes and syslog, not files or sockets: nothing here encodes,
// writes or logs, and nothing here may drop a frame (docs/format.md §2). go-syslog
// (github.com/influxdata/go-syslog/v3) is the judge of what is valid RFC
// 5424 / RFC 3164: validate.go holds allocation-free validators that
// differential fuzz targets prove equal to its machines. The
// verbatim columns of docs/format.md §3.3 are sliced by our own tokenizer, because
// go-syslog returns parsed values from which the sent bytes cannot be
// rebuilt. Framing is ours too: go-syslog's octetcounting refuses frames
// over 8192 bytes and stops the stream on an oversized one.
package parse

// Format says which grammar a frame was accepted by (docs/format.md §2).
type Format uint8

const (
	FormatRaw     Format = iota // neither RFC 5424 nor RFC 3164: kept as sent
	FormatRFC3164               // BSD syslog
	FormatRFC5424               // the syslog protocol
)

// String returns the FLAGS token of docs/format.md §3.3: "raw", "rfc3164" or "rfc5424".
func (f Format) String() string {
	switch f {
	case FormatRFC5424:
		return "rfc5424"
	case FormatRFC3164:
		return "rfc3164"
	default:
		return "raw"
	}
}

// Field is one client-supplied value, sliced verbatim from the frame.
//
// Nil marks an absent value (RFC 5424 NILVALUE, or a field the format
// lacks), written as "-" (docs/format.md §3.2). A present value may be empty, or
// may be the literal byte "-" when the client sent a dash that is not a
// NILVALUE (for example an RFC 3164 TAG of "-").
type Field struct {
	Value []byte
	Nil   bool
}

// Absent is the Field for a value the frame does not have.
var Absent = Field{Nil: true}

// Message is a parsed frame. Every Value aliases the frame passed to
// Parser.Parse and is valid only as long as that frame's bytes are.
type Message struct {
	Format Format
	// PRI is the priority value as sent (0–191), or -1 when the frame has
	// no valid PRI. Facility is PRI/8, severity PRI%8.
	PRI       int
	Timestamp Field // column 9
	Hostname  Field // column 10
	AppName   Field // column 11 (RFC 3164: TAG)
	ProcID    Field // column 12 (RFC 3164: the pid inside [...])
	MsgID     Field // column 13; Absent for rfc3164 and raw
	SD        Field // column 14; Absent for rfc3164 and raw
	// Msg is column 15. RFC 5424: MSG verbatim, Absent when the frame ends
	// right after SD, empty when it ends in SD and one space. RFC 3164 and
	// raw: the whole frame after the PRI, so nothing sent is lost.
	Msg Field
}
