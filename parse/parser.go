package parse

import (
	"bytes"
	"strconv"
)

// Parser turns frames into Messages (docs/format.md §2): strict RFC 5424 first,
// then RFC 3164, else raw. The fields are sliced from the frame by our
// own tokenizer, so they are verbatim (docs/format.md §3.3).
//
// Validity is go-syslog v3.0.0's: accept5424 and header3164 (validate.go)
// accept exactly what its rfc5424 machine and its rfc3164 header rules
// accept, as the differential fuzz targets FuzzValidate5424 and
// FuzzValidate3164 check against the real machines; they exist because the machines allocate
// 7–17 times and take microseconds per frame. Where go-syslog's
// verdict does not fit docs/format.md §2, only the part below is ours.
//
// RFC 5424. The frame must be PRI, VERSION "1" (go-syslog accepts 1–999;
// docs/format.md §2 wants 1), and go-syslog must accept the frame up to the end of
// STRUCTURED-DATA. MSG is not given to it: go-syslog rejects a MSG that is
// not UTF-8 where RFC 5424 §6.4 allows any octets (MSG-ANY), and cannot
// tell an absent MSG from an empty one. So the frame ending right after
// SD means MSG absent; SD followed by one SP means MSG present, and it is
// every byte after that SP, a BOM included (maybe none: an empty MSG).
// NILVALUE "-" fields and SD are Nil; SD otherwise is the whole
// STRUCTURED-DATA text, whose end is found honouring the PARAM-VALUE
// escapes \" \\ \] (RFC 5424 §6.3.3).
//
// RFC 3164. go-syslog's rfc3164 machine (WithYear(CurrentYear{}), and
// WithRFC3339 for senders' templates that put an RFC 3339 timestamp in a
// BSD header; v3.0.0 takes it only without a fraction) judges "PRI
// TIMESTAMP SP HOSTNAME SP"; the content only has to be there (one byte
// or more). go-syslog itself answers (nil, nil) for content holding TAB,
// NUL, ESC, CR or LF, which appliances do send and RFC 3164 §4.1.3 does
// not forbid. Columns:
//   - Timestamp: verbatim ("Nov 22 10:15:00", or the RFC 3339 text). A
//     following common zone abbreviation ("UTC", "CET", …, as Cisco and
//     others append) is taken into the Timestamp rather than the Hostname
//     when a hostname-like token follows it.
//   - Hostname: the token after the timestamp, unless that token has the
//     shape of a tag, "TAG:" or "TAG[PID]:": then the sender put no
//     hostname (pfSense filterlog, many embedded senders) and Hostname is
//     Nil, as rsyslog decides (a ':' is never part of a hostname it keeps).
//   - AppName/ProcID: when the content starts with TAG (1–32 printable
//     bytes other than SP, ':' and '[', go-syslog's tag alphabet)
//     optionally followed by "[PID]" (printable bytes), then ':' and SP
//     (or the end of the frame), AppName is TAG and ProcID the bytes
//     inside the brackets (Nil without brackets, empty for "[]");
//     "TAG[PID]" followed by SP without the ':' counts too, as rsyslog
//     relays RFC 5424 messages in its default template. A TAG of
//     digits only is a Cisco IOS sequence number ("123: …"), not a tag.
//     "%ASA-6-302013:" becomes the AppName of a Cisco ASA line, as in
//     rsyslog. Content of other shapes (MikroTik "system,info …", F5
//     "info tmm1[…]:", Palo Alto CSV) leaves AppName and ProcID Nil:
//     nothing is guessed that the sender did not mark.
//   - MsgID and SD are Nil; Msg is the whole frame after the PRI, so the
//     frame is kept whole whatever the heuristics above decided.
//
// Shapes go-syslog refuses — Cisco IOS "<189>123: *Mar  1 …" with a
// sequence number first, ASA "Nov 22 2026 10:15:00" with a year,
// FortiGate "date=… time=…" key=value lines without a syslog header, RFC
// 3339 timestamps with a fraction (rsyslog's RSYSLOG_ForwardFormat), a
// day of month written "02" — are raw, with their PRI.
//
// Raw. PRI is taken only when the frame starts with "<0>"…"<191>" written
// without leading zeros (RFC 5424 §6.2.1), so that the PRI column and Msg
// always reproduce the frame; Msg is the rest (or the whole frame).
//
// A Parser is meant to be one per connection and is not safe for
// concurrent use; today it holds no state, and Parse does not allocate.
type Parser struct {
	_ [0]func() // not comparable; per-connection state may come back
}

// NewParser returns a Parser for one connection.
func NewParser() *Parser { return &Parser{} }

// Parse classifies frame and slices its fields. It never fails: a frame
// that is neither RFC 5424 nor RFC 3164 comes back raw. Every Value in
// the result aliases frame.
func (p *Parser) Parse(frame []byte) Message {
	pri, n := parsePRI(frame)
	if pri >= 0 {
		if m, ok := p.parse5424(frame, pri, n); ok {
			return m
		}
		if m, ok := p.parse3164(frame, pri, n); ok {
			return m
		}
	}
	return Message{
		Format: FormatRaw, PRI: pri,
		Timestamp: Absent, Hostname: Absent, AppName: Absent, ProcID: Absent, MsgID: Absent, SD: Absent,
		Msg: Field{Value: frame[n:]},
	}
}

// parsePRI reads "<PRIVAL>" at the start of b (RFC 5424 §6.2.1: 0–191,
// no leading zeros but for "<0>"). It returns -1, 0 when b has none.
func parsePRI(b []byte) (pri, n int) {
	if len(b) < 3 || b[0] != '<' {
		return -1, 0
	}
	v := 0
	for i := 1; i < len(b) && i <= 4; i++ {
		c := b[i]
		if c == '>' {
			if i == 1 || (b[1] == '0' && i > 2) || v > 191 {
				return -1, 0
			}
			return v, i + 1
		}
		if c < '0' || c > '9' {
			return -1, 0
		}
		v = v*10 + int(c-'0')
	}
	return -1, 0
}

// token returns the end of the SP-free token of b starting at i, and
// whether it is non-empty and followed by an SP.
func token(b []byte, i int) (end int, ok bool) {
	j := bytes.IndexByte(b[i:], ' ')
	if j <= 0 {
		return 0, false
	}
	return i + j, true
}

// field is a 5424 header field: Nil for the NILVALUE.
func field(v []byte) Field {
	if len(v) == 1 && v[0] == '-' {
		return Absent
	}
	return Field{Value: v}
}

// parse5424 tries RFC 5424 (§6): HEADER SP STRUCTURED-DATA [SP MSG].
func (p *Parser) parse5424(b []byte, pri, i int) (Message, bool) {
	// VERSION must be "1" (docs/format.md §2).
	if len(b) < i+2 || b[i] != '1' || b[i+1] != ' ' {
		return Message{}, false
	}
	i += 2
	var tok [5]int // ends of TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
	start := i
	for k := range tok {
		end, ok := token(b, i)
		if !ok {
			return Message{}, false
		}
		tok[k] = end
		i = end + 1
	}
	sdStart := i
	sdEnd, ok := sdEnd(b, i)
	if !ok {
		return Message{}, false
	}
	msg := Absent
	if sdEnd < len(b) {
		if b[sdEnd] != ' ' {
			return Message{}, false
		}
		msg = Field{Value: b[sdEnd+1:]}
	}
	// go-syslog's grammar judges everything but MSG.
	if !accept5424(b[:sdEnd]) {
		return Message{}, false
	}
	return Message{
		Format:    FormatRFC5424,
		PRI:       pri,
		Timestamp: field(b[start:tok[0]]),
		Hostname:  field(b[tok[0]+1 : tok[1]]),
		AppName:   field(b[tok[1]+1 : tok[2]]),
		ProcID:    field(b[tok[2]+1 : tok[3]]),
		MsgID:     field(b[tok[3]+1 : tok[4]]),
		SD:        field(b[sdStart:sdEnd]),
		Msg:       msg,
	}, true
}

// sdEnd returns the end of STRUCTURED-DATA starting at b[i] (RFC 5424
// §6.3): "-", or one or more SD-ELEMENTs "[" … "]" in a row. Inside a
// quoted PARAM-VALUE a backslash escapes the next byte (§6.3.3), so an
// escaped '"' or ']' does not end the value or the element. It only
// finds the end; go-syslog checks the grammar.
func sdEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	if b[i] == '-' {
		return i + 1, true
	}
	if b[i] != '[' {
		return 0, false
	}
	for i < len(b) && b[i] == '[' {
		i++
		quoted := false
	element:
		for ; i < len(b); i++ {
			switch c := b[i]; {
			case quoted && c == '\\':
				i++
			case c == '"':
				quoted = !quoted
			case !quoted && c == ']':
				break element
			}
		}
		if i >= len(b) {
			return 0, false
		}
		i++ // past ']'
	}
	return i, true
}

// zones are time zone abbreviations senders append to an RFC 3164
// timestamp ("Nov 22 10:15:00 UTC host …"). A host named like one of them
// would lose its name to the Timestamp column; the frame is still whole
// in Msg.
var zones = []string{
	"UTC", "GMT",
	"WET", "WEST", "CET", "CEST", "EET", "EEST", "MSK",
	"EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "AKST", "AKDT", "HST",
	"IST", "JST", "KST", "HKT", "SGT", "AEST", "AEDT", "ACST", "AWST", "NZST", "NZDT",
}

func isZone(b []byte) bool {
	if len(b) > 4 {
		return false
	}
	for _, z := range zones {
		if string(b) == z {
			return true
		}
	}
	return false
}

// isTagChar is go-syslog rfc3164's tag alphabet: printable US-ASCII but
// SP, ':' and '['.
func isTagChar(c byte) bool {
	return c > ' ' && c < 0x7f && c != ':' && c != '['
}

// parseTag matches "TAG:" or "TAG[PID]:" at the start of b, followed by
// SP or the end of b when whole is false (then also "TAG[PID]" without
// the colon), and making up all of b when whole is true. It returns TAG
// and PID (pid == nil without brackets).
func parseTag(b []byte, whole bool) (tag, pid []byte, ok bool) {
	i := 0
	for i < len(b) && i < 32 && isTagChar(b[i]) {
		i++
	}
	if i == 0 || i == len(b) || allDigits(b[:i]) {
		return nil, nil, false
	}
	tag = b[:i]
	if b[i] == '[' {
		j := i + 1
		for j < len(b) && b[j] >= ' ' && b[j] < 0x7f && b[j] != ']' && b[j] != '[' {
			j++
		}
		if j >= len(b) || b[j] != ']' {
			return nil, nil, false
		}
		pid = b[i+1 : j]
		i = j + 1
		// "TAG[PID]" then SP, without the colon: rsyslog's default
		// forwarding template (RSYSLOG_TraditionalForwardFormat) writes
		// the tag of every RFC 5424 message it relays so, and rsyslog's
		// own parser reads APP and PID back from it. RFC 3164 §4.1.3
		// lets "[" end the TAG; the brackets mark it, so nothing is
		// guessed. A bare word without ':' or brackets stays no tag.
		if !whole && (i == len(b) || b[i] == ' ') {
			return tag, pid, true
		}
	}
	if i >= len(b) || b[i] != ':' {
		return nil, nil, false
	}
	i++
	if whole {
		return tag, pid, i == len(b)
	}
	return tag, pid, i == len(b) || b[i] == ' '
}

// allDigits reports whether b is only ASCII digits: "123:" after a
// Cisco IOS header is a sequence number, not a program's tag.
func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isGraph reports whether b is a go-syslog HOSTNAME: 1–255 bytes of
// printable US-ASCII without SP.
func isGraph(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// parse3164 tries RFC 3164 (§4.1): PRI TIMESTAMP SP HOSTNAME SP MSG.
func (p *Parser) parse3164(b []byte, pri, n int) (Message, bool) {
	tsEnd, content := header3164(b)
	if content < 0 || content == len(b) { // go-syslog wants content
		return Message{}, false
	}
	rest := b[n:]
	hostStart, hostEnd := tsEnd+1, content-1
	msg := Message{
		Format: FormatRFC3164, PRI: pri,
		Timestamp: Field{Value: b[n:tsEnd]},
		Hostname:  Field{Value: b[hostStart:hostEnd]},
		AppName:   Absent, ProcID: Absent, MsgID: Absent, SD: Absent,
		Msg: Field{Value: rest},
	}
	if isZone(msg.Hostname.Value) {
		if end, ok := token(b, content); ok && end+1 < len(b) && isGraph(b[content:end]) {
			msg.Timestamp.Value = b[n:hostEnd]
			msg.Hostname.Value = b[content:end]
			hostStart, content = content, end+1
		}
	}
	if _, _, ok := parseTag(msg.Hostname.Value, true); ok {
		msg.Hostname = Absent
		content = hostStart
	}
	if tag, pid, ok := parseTag(b[content:], false); ok {
		msg.AppName = Field{Value: tag}
		if pid != nil {
			msg.ProcID = Field{Value: pid}
		}
	}
	return msg, true
}

// AppendFrame appends the frame m was parsed from, rebuilt from its
// fields: for rfc5424 "<PRI>1 TS HOST APP PROC MSGID SD[ MSG]" with Nil
// fields as "-", for rfc3164 and raw "<PRI>" and Msg (Msg alone when PRI
// is -1). Tests and fuzzers use it to prove the fields are verbatim.
func (m *Message) AppendFrame(dst []byte) []byte {
	if m.PRI >= 0 {
		dst = append(dst, '<')
		dst = strconv.AppendInt(dst, int64(m.PRI), 10)
		dst = append(dst, '>')
	}
	if m.Format != FormatRFC5424 {
		return append(dst, m.Msg.Value...)
	}
	dst = append(dst, '1')
	for _, f := range [...]*Field{&m.Timestamp, &m.Hostname, &m.AppName, &m.ProcID, &m.MsgID, &m.SD} {
		dst = append(dst, ' ')
		if f.Nil {
			dst = append(dst, '-')
		} else {
			dst = append(dst, f.Value...)
		}
	}
	if !m.Msg.Nil {
		dst = append(dst, ' ')
		dst = append(dst, m.Msg.Value...)
	}
	return dst
}
