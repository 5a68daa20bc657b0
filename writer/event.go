package writer

import (
	"strconv"
	"time"

	"github.com/sealog/sealog/parse"
)

// EventMeta is what the server knows about an event: columns 2–7 of
// docs/format.md §3.3. Strings are borrowed for the call only.
type EventMeta struct {
	Time time.Time // receive time; written in UTC (column 2)
	ID   []byte    // from IDGen.AppendID (column 3)
	// Peer is the socket peer "ip:port" or "[v6]:port" (column 4). It is
	// server-originated and written as is ("" → "-").
	Peer string
	// Auth is the verified client certificate identity (column 5). The
	// client chose it, so it is percent-encoded like any client field;
	// "" (no certificate) is "-" and a CN of "-" is "%2D".
	Auth string
	// TLS is "TLS1.3/TLS_AES_128_GCM_SHA256", "tcp" or "udp" (column 6),
	// written as is ("" → "-").
	TLS string
	// TruncSize, when > 0, is the frame's full size: FLAGS gets
	// ",trunc=N" (docs/format.md §2).
	TruncSize int64
	// Partial marks a frame cut short by the end of the connection:
	// FLAGS gets ",partial" (docs/format.md §2).
	Partial bool
	// RELP marks an event that came in a RELP syslog command: FLAGS gets
	// ",relp" (docs/format.md §9.1).
	RELP bool
	// Via, when not "", is the load balancer "ip:port" that forwarded the
	// connection with a PROXY header: FLAGS gets ",via=" and it
	// (docs/format.md §9.2). Server-originated, written as is.
	Via string

	// The formatted TIME and the encoded PEER, AUTH and TLS columns,
	// kept for the next event: one connection reuses its meta
	// for every event, every frame of one read shares its receive time,
	// so both are formatted once, not once per event. They are remade
	// whenever the values they were made from change.
	timeOf   time.Time
	timeText []byte
	connOf   [3]string // Peer, Auth, TLS of connText
	connText []byte
}

// appendMetaColumns appends columns 2–6 (TIME, ID, PEER, AUTH, TLS, each
// followed by a TAB) for an event, from the cached text where it is still
// valid; the bytes are those appendConnColumns writes.
func appendMetaColumns(dst []byte, meta *EventMeta) []byte {
	if meta.timeText == nil || meta.Time != meta.timeOf {
		meta.timeText = AppendTime(meta.timeText[:0], meta.Time)
		meta.timeOf = meta.Time
	}
	dst = append(dst, meta.timeText...)
	dst = append(dst, '\t')
	dst = appendServer(dst, meta.ID)
	dst = append(dst, '\t')
	if of := [3]string{meta.Peer, meta.Auth, meta.TLS}; meta.connText == nil || of != meta.connOf {
		c := appendServer(meta.connText[:0], meta.Peer)
		c = append(c, '\t')
		c = appendField(c, meta.Auth, meta.Auth == "")
		c = append(c, '\t')
		c = appendServer(c, meta.TLS)
		meta.connText = append(c, '\t')
		meta.connOf = of
	}
	return append(dst, meta.connText...)
}

// AppendEvent appends the whole events line of docs/format.md §3.3 for msg,
// "LEN\tTIME\tID\tPEER\tAUTH\tTLS\tFLAGS\tPRI\tTIMESTAMP\tHOSTNAME\t
// APP-NAME\tPROCID\tMSGID\tSD\tMSG\n", where LEN counts the bytes from
// TIME to the last byte before the LF. FLAGS is msg.Format's token, then
// ",trunc=N" and ",partial" as meta says; PRI is decimal, or "-" when
// msg.PRI < 0. Columns 9–15 are written with AppendField, so for an RFC
// 5424 frame they decode back to the frame byte for byte.
//
// It allocates nothing when dst has the capacity for the line, after the
// first call with a meta (which keeps formatted columns for the next).
func AppendEvent(dst []byte, meta *EventMeta, msg *parse.Message) []byte {
	// Client fields only grow when encoded, so their raw lengths give a
	// lower bound of the body length that is exact for clean messages:
	// reserving that many LEN digits up front usually avoids moving the
	// body afterwards.
	guess := 27 + len(meta.ID) + len(meta.Peer) + len(meta.Auth) + len(meta.TLS) + len(msg.Format.String()) + len(meta.Via) + 3 + 13 +
		len(msg.Timestamp.Value) + len(msg.Hostname.Value) + len(msg.AppName.Value) + len(msg.ProcID.Value) +
		len(msg.MsgID.Value) + len(msg.SD.Value) + len(msg.Msg.Value)
	start, dst := beginLine(dst, guess)

	dst = appendMetaColumns(dst, meta)
	dst = append(dst, msg.Format.String()...)
	if meta.TruncSize > 0 {
		dst = append(dst, ",trunc="...)
		dst = strconv.AppendInt(dst, meta.TruncSize, 10)
	}
	if meta.Partial {
		dst = append(dst, ",partial"...)
	}
	if meta.RELP {
		dst = append(dst, ",relp"...)
	}
	if meta.Via != "" {
		dst = append(dst, ",via="...)
		dst = append(dst, meta.Via...)
	}
	dst = append(dst, '\t')
	if msg.PRI < 0 {
		dst = append(dst, '-')
	} else {
		dst = strconv.AppendInt(dst, int64(msg.PRI), 10)
	}
	for _, f := range [...]*parse.Field{&msg.Timestamp, &msg.Hostname, &msg.AppName, &msg.ProcID, &msg.MsgID, &msg.SD, &msg.Msg} {
		dst = append(dst, '\t')
		dst = appendField(dst, f.Value, f.Nil)
	}
	return endLine(dst, start, guess)
}

// zeros pads the room reserved for LEN.
var zeros [24]byte

// beginLine reserves room for LEN and its TAB, sized for a body of about
// guess bytes, and returns where the line starts.
func beginLine(dst []byte, guess int) (int, []byte) {
	start := len(dst)
	return start, append(dst, zeros[:decimalLen(guess)+1]...)
}

// endLine writes LEN into the room beginLine reserved (moving the body
// when its length has another number of digits than guessed) and
// terminates the line with LF.
func endLine(dst []byte, start, guess int) []byte {
	reserved := decimalLen(guess) + 1
	bodyLen := len(dst) - start - reserved
	need := decimalLen(bodyLen) + 1
	if need != reserved {
		body := start + reserved
		if need > reserved {
			dst = append(dst, zeros[:need-reserved]...)
			copy(dst[start+need:], dst[body:body+bodyLen])
		} else {
			copy(dst[start+need:], dst[body:body+bodyLen])
			dst = dst[:start+need+bodyLen]
		}
	}
	strconv.AppendInt(dst[start:start], int64(bodyLen), 10) // fills the reserved room in place
	dst[start+need-1] = '\t'
	return append(dst, '\n')
}

// appendConnColumns writes the columns events and security lines share
// (docs/format.md §3.3 and §3.4, columns 2–6): TIME, ID, PEER, AUTH and TLS, each
// followed by a TAB.
func appendConnColumns(dst []byte, t time.Time, id []byte, peer, auth, tls string) []byte {
	dst = AppendTime(dst, t)
	dst = append(dst, '\t')
	dst = appendServer(dst, id)
	dst = append(dst, '\t')
	dst = appendServer(dst, peer)
	dst = append(dst, '\t')
	dst = appendField(dst, auth, auth == "")
	dst = append(dst, '\t')
	dst = appendServer(dst, tls)
	return append(dst, '\t')
}

func decimalLen(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// appendServer appends a server-originated value as it is, "-" when it
// is empty. A control or non-ASCII byte, which no correct server value
// holds, is percent-encoded all the same so that it cannot split a
// column or a line; '%' is left alone (an IPv6 zone "[fe80::1%eth0]:514"
// stays readable).
func appendServer[T string | []byte](dst []byte, s T) []byte {
	if len(s) == 0 {
		return append(dst, '-')
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7E || c == '\t' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xF])
			start = i + 1
		}
	}
	return append(dst, s[start:]...)
}
