package writer

import (
	"strconv"
	"time"
)

// SecurityEvent is one line of the security stream (docs/format.md §3.4). Strings
// are borrowed for the call only.
type SecurityEvent struct {
	Time time.Time // written in UTC (column 2)
	ID   []byte    // from IDGen.AppendID, the same generator as events (column 3)
	// Peer and TLS are server-originated, written as is; "" → "-".
	Peer string
	// Auth is the verified client certificate identity, percent-encoded
	// as in events; "" → "-".
	Auth string
	TLS  string
	// Action and Result are server-chosen tokens such as "connect" and
	// "failure"; "" → "-".
	Action, Result string
	// Detail is column 9; nil is written "{}".
	Detail *Detail
}

// AppendSecurity appends the whole security line of docs/format.md §3.4,
// "LEN\tTIME\tID\tPEER\tAUTH\tTLS\tACTION\tRESULT\tDETAIL\n".
func AppendSecurity(dst []byte, ev *SecurityEvent) []byte {
	detail := []byte("{}")
	if ev.Detail != nil {
		detail = ev.Detail.Bytes()
	}
	guess := 27 + len(ev.ID) + len(ev.Peer) + len(ev.Auth) + len(ev.TLS) + len(ev.Action) + len(ev.Result) + len(detail) + 7
	start, dst := beginLine(dst, guess)
	dst = appendConnColumns(dst, ev.Time, ev.ID, ev.Peer, ev.Auth, ev.TLS)
	dst = appendServer(dst, ev.Action)
	dst = append(dst, '\t')
	dst = appendServer(dst, ev.Result)
	dst = append(dst, '\t')
	dst = appendServer(dst, detail) // already printable ASCII; the guard costs nothing
	return endLine(dst, start, guess)
}

// Detail builds the one-line JSON object of the DETAIL column (docs/format.md
// §3.4). Keys are written in the order they are added; the caller keeps
// them lowercase snake_case and unique. The output is printable ASCII
// only (see appendJSONString), so it never holds a raw TAB or LF.
//
// A Detail is a reusable buffer: Reset empties it without freeing
// memory. The zero value is an empty object. It is not safe for
// concurrent use.
type Detail struct {
	// buf is empty or a complete object "{...}"; adding a member
	// replaces the closing brace.
	buf []byte
}

// Reset empties d, keeping its memory.
func (d *Detail) Reset() { d.buf = d.buf[:0] }

// key opens a member: it reopens the object and writes "key":.
func (d *Detail) key(k string) {
	if len(d.buf) <= 2 { // empty, or "{}"
		d.buf = append(d.buf[:0], '{')
	} else {
		d.buf[len(d.buf)-1] = ','
	}
	d.buf = appendJSONString(d.buf, k)
	d.buf = append(d.buf, ':')
}

func (d *Detail) end() { d.buf = append(d.buf, '}') }

// Str adds a server-originated string (an error text, a subject from a
// verified certificate, a file name).
func (d *Detail) Str(key, val string) {
	d.key(key)
	d.buf = appendJSONString(d.buf, val)
	d.end()
}

// Client adds a client-originated value: percent-encoded as docs/format.md §3.2
// says, then put in a JSON string (where '"' and '\\', which §3.2 keeps,
// are escaped once more).
func (d *Detail) Client(key string, val []byte) {
	d.key(key)
	d.buf = append(d.buf, '"')
	start := 0
	for i := 0; i < len(val); i++ {
		c := val[i]
		if !needsEscape[c] && jsonSafe[c] {
			continue
		}
		d.buf = append(d.buf, val[start:i]...)
		if needsEscape[c] {
			d.buf = append(d.buf, '%', upperHex[c>>4], upperHex[c&0xF])
		} else {
			d.buf = appendJSONBody(d.buf, val[i:i+1])
		}
		start = i + 1
	}
	d.buf = append(d.buf, val[start:]...)
	d.buf = append(d.buf, '"')
	d.end()
}

// Int adds a JSON number.
func (d *Detail) Int(key string, v int64) {
	d.key(key)
	d.buf = strconv.AppendInt(d.buf, v, 10)
	d.end()
}

// Bool adds a JSON boolean.
func (d *Detail) Bool(key string, v bool) {
	d.key(key)
	d.buf = strconv.AppendBool(d.buf, v)
	d.end()
}

// Time adds a UTC time written as the TIME column is (for not_after).
func (d *Detail) Time(key string, t time.Time) {
	d.key(key)
	d.buf = append(d.buf, '"')
	d.buf = AppendTime(d.buf, t)
	d.buf = append(d.buf, '"')
	d.end()
}

// Strs adds a JSON array of server-originated strings.
func (d *Detail) Strs(key string, vals []string) {
	d.key(key)
	d.buf = append(d.buf, '[')
	for i, v := range vals {
		if i > 0 {
			d.buf = append(d.buf, ',')
		}
		d.buf = appendJSONString(d.buf, v)
	}
	d.buf = append(d.buf, ']')
	d.end()
}

// Object adds sub as a nested object (such as "counts" on suppressed);
// a nil sub is an empty object.
func (d *Detail) Object(key string, sub *Detail) {
	d.key(key)
	if sub == nil {
		d.buf = append(d.buf, "{}"...)
	} else {
		d.buf = append(d.buf, sub.Bytes()...)
	}
	d.end()
}

// Bytes returns the object, "{}" when nothing was added. The slice is
// d's buffer: valid until d is changed.
func (d *Detail) Bytes() []byte {
	if len(d.buf) == 0 {
		d.buf = append(d.buf, "{}"...)
	}
	return d.buf
}
