package writer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// ErrMalformed is wrapped by the error Export returns when it skipped
// lines that break the format.
var ErrMalformed = errors.New("malformed lines")

// maxExportLine bounds the memory Export uses for one line; a longer line
// is reported and skipped. Lines of a default configuration are under
// 200 KiB (64 KiB of MSG, at most three bytes per client byte). A
// variable so that tests can lower it.
var maxExportLine = 64 << 20

// maxReported bounds how many line problems the returned error lists;
// the count of all of them is always given. A file of junk (a binary
// given by mistake) thus costs ten lines of stderr, not thousands.
const maxReported = 10

// Export reads an events, security or seals file from r (name is used in
// error messages only) and writes its lines to w for people and SIEMs
// (docs/format.md §1.3). It only reads. Each line is checked with
// CheckLine; its kind comes from its column count (15: events, 9:
// security, 10: seals).
//
// Default output, one line per input line, the same columns TAB-separated
// with LEN dropped:
//
//	events:   TIME ID PEER AUTH TLS FLAGS PRI TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
//	security: TIME ID PEER AUTH TLS ACTION RESULT DETAIL
//	seals:    TIME SEQ KIND FILE BYTES LINES ROOT PREV MAC
//
// With opts.Header, a line "# " and those names, TAB-separated, comes
// before the first line of each kind (and again where the kind changes).
// No exported line starts with '#': TIME starts with a digit.
//
// A "-" column is an absent value. Client columns (AUTH and 9–15) are
// percent-decoded, then every column but DETAIL is escaped the way
// strconv.QuoteToASCII escapes, without the quotes: '\\' and '"' get a
// backslash, control bytes are \n, \t, \x1b, …, non-ASCII runes are
// \u202e or \U0001f600, invalid UTF-8 bytes \xff, and a client value
// that is literally "-" is \x2d so it cannot read as absent. So the output
// is printable ASCII, nothing in it acts on a terminal, and
// strconv.Unquote(`"` + column + `"`) gives back the exact bytes. DETAIL
// is printed as it stands in the file: a JSON object of printable ASCII
// (its client strings stay percent-encoded, docs/format.md §3.4).
//
// With opts.JSON, JSON Lines: one object per input line with the keys
// time, id, peer, auth, tls, flags (array), pri (number), facility and
// severity (RFC 5424 names), timestamp, hostname, app_name, procid,
// msgid, sd, msg for events and time, id, peer, auth, tls, action,
// result, detail (the DETAIL object itself) for security lines, and
// time, seq, kind, file, bytes, lines, root, prev, mac (seq, bytes and
// lines numbers) for seal lines. An absent
// value is null. A client value is its decoded text when that is valid
// UTF-8; otherwise the key holds the percent-encoded form from the file
// and "<key>_encoding" is "percent". The output is ASCII only, with
// control bytes, non-ASCII runes (U+2028 and U+2029 among them), '<', '>'
// and '&' escaped as \uXXXX, so it is safe on a terminal and in HTML.
//
// Lines whose TIME is before opts.Since, or at or after opts.Until, are
// left out.
//
// A malformed line is skipped and export goes on; the returned error then
// lists "NAME:LINE: what" for each (up to 10), ends with the count, and
// wraps ErrMalformed. The messages hold no bytes of the line, so they
// are as safe to print as the output.
// A read or write error ends export at once.
func Export(w io.Writer, r io.Reader, name string, opts ExportOptions) error {
	return NewExporter(opts).Export(w, r, name)
}

// ExportOptions say what Export and an Exporter print.
type ExportOptions struct {
	JSON   bool // JSON Lines instead of escaped text
	Header bool // text: a "# " line naming the columns before each kind
	// Since and Until bound the TIME column: a line before Since, or at or
	// after Until, is left out. The zero time leaves that side open.
	Since, Until time.Time
}

// Exporter exports lines one file or one line at a time, keeping what
// must carry over from one to the next (the kind of the last header
// printed), so that several files, or a file that grows (export
// --follow), read as one output. Not safe for concurrent use.
type Exporter struct {
	opts         ExportOptions
	since, until []byte // the bounds in the TIME column's own format
	headerKind   int    // column count of the last header printed
	x            exporter
}

// NewExporter returns an Exporter for opts.
func NewExporter(opts ExportOptions) *Exporter {
	e := &Exporter{opts: opts}
	if !opts.Since.IsZero() {
		e.since = AppendTime(nil, opts.Since)
	}
	if !opts.Until.IsZero() {
		e.until = AppendTime(nil, opts.Until)
	}
	return e
}

// Export is the package's Export, continuing this Exporter's output.
func (e *Exporter) Export(w io.Writer, r io.Reader, name string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	var (
		problems []error
		bad      int
		line     []byte // the current line, without LF
		out      []byte
	)
	for lineNo := 1; ; lineNo++ {
		var (
			tooLong, eof bool
			err          error
		)
		line, tooLong, eof, err = readLine(br, line[:0])
		if err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		if eof && len(line) == 0 && !tooLong {
			break
		}
		var lineErr error
		if tooLong {
			lineErr = fmt.Errorf("line longer than %d bytes", maxExportLine)
		} else {
			out, lineErr = e.AppendLine(out[:0], line)
		}
		if lineErr != nil {
			bad++
			if len(problems) < maxReported {
				problems = append(problems, fmt.Errorf("%s:%d: %w", name, lineNo, lineErr))
			}
		} else if _, err := bw.Write(out); err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		if eof {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export %s: %w", name, err)
	}
	if bad > 0 {
		summary := fmt.Errorf("%s: %d %w", name, bad, ErrMalformed)
		if bad > len(problems) {
			summary = fmt.Errorf("%s: %d %w (first %d listed)", name, bad, ErrMalformed, len(problems))
		}
		return errors.Join(append(problems, summary)...)
	}
	return nil
}

// AppendLine appends the export of one line (without its LF) to dst: a
// header first when the kind changed, nothing when the line is outside
// the time bounds. A malformed line appends nothing and returns an error
// that holds no bytes of the line.
func (e *Exporter) AppendLine(dst, line []byte) ([]byte, error) {
	n := bytes.Count(line, []byte{'\t'}) + 1
	if n != EventColumns && n != SecurityColumns && n != SealColumns {
		return dst, fmt.Errorf("%d columns, want %d (events), %d (security) or %d (seals)", n, EventColumns, SecurityColumns, SealColumns)
	}
	if err := CheckLine(line, n); err != nil {
		return dst, err
	}
	if e.since != nil || e.until != nil {
		t := line[bytes.IndexByte(line, '\t')+1:]
		t = t[:bytes.IndexByte(t, '\t')]
		if (e.since != nil && bytes.Compare(t, e.since) < 0) || (e.until != nil && bytes.Compare(t, e.until) >= 0) {
			return dst, nil
		}
	}
	start := len(dst)
	if e.opts.Header && !e.opts.JSON && n != e.headerKind {
		dst = appendHeader(dst, n)
	}
	out, err := e.x.line(dst, line, n, e.opts.JSON)
	if err != nil {
		return dst[:start], err
	}
	if e.opts.Header && !e.opts.JSON {
		e.headerKind = n
	}
	return out, nil
}

// appendHeader appends "# " and the exported column names of a kind.
func appendHeader(dst []byte, kind int) []byte {
	var names []string
	switch kind {
	case EventColumns:
		names = eventNames[1:]
	case SecurityColumns:
		names = securityNames[1:]
	default:
		names = sealNames[1:]
	}
	dst = append(dst, "# "...)
	for i, name := range names {
		if i > 0 {
			dst = append(dst, '\t')
		}
		dst = append(dst, name...)
	}
	return append(dst, '\n')
}

// readLine appends the next line of br, without its LF, to buf. At the
// end of input it returns eof (and the last, unterminated line if any).
// A line longer than maxExportLine is consumed and returned as tooLong.
func readLine(br *bufio.Reader, buf []byte) (line []byte, tooLong, eof bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxExportLine+1 {
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch err {
		case nil:
			if !tooLong {
				buf = buf[:len(buf)-1]
			}
			return buf, tooLong, false, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return buf, tooLong, true, nil
		default:
			return buf, tooLong, false, err
		}
	}
}

// exporter holds scratch space reused from line to line.
type exporter struct {
	cols [EventColumns][]byte
	dec  []byte
}

// Column names in lines, for messages, and their JSON keys.
var (
	eventNames    = [EventColumns]string{"LEN", "TIME", "ID", "PEER", "AUTH", "TLS", "FLAGS", "PRI", "TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID", "SD", "MSG"}
	eventKeys     = [EventColumns]string{"", "time", "id", "peer", "auth", "tls", "flags", "pri", "timestamp", "hostname", "app_name", "procid", "msgid", "sd", "msg"}
	securityNames = [SecurityColumns]string{"LEN", "TIME", "ID", "PEER", "AUTH", "TLS", "ACTION", "RESULT", "DETAIL"}
	securityKeys  = [SecurityColumns]string{"", "time", "id", "peer", "auth", "tls", "action", "result", "detail"}
	sealNames     = [SealColumns]string{"LEN", "TIME", "SEQ", "KIND", "FILE", "BYTES", "LINES", "ROOT", "PREV", "MAC"}
	sealKeys      = [SealColumns]string{"", "time", "seq", "kind", "file", "bytes", "lines", "root", "prev", "mac"}
)

// Column indexes (0-based) with a special treatment.
const (
	colAuth   = 4
	colFlags  = 6
	colPRI    = 7
	colClient = 8 // events: 8..14 are client fields
	colDetail = 8 // security

	colSeq       = 2 // seals
	colSealBytes = 5
	colSealLines = 6
)

// line appends the export of one line of n columns, already checked
// with CheckLine, to out.
func (x *exporter) line(out, line []byte, n int, jsonOut bool) ([]byte, error) {
	cols := x.cols[:n]
	for i := range cols {
		j := bytes.IndexByte(line, '\t')
		if j < 0 {
			j = len(line)
		}
		cols[i], line = line[:j], line[min(j+1, len(line)):]
	}
	switch n {
	case EventColumns:
		return x.event(out, cols, jsonOut)
	case SecurityColumns:
		return x.security(out, cols, jsonOut)
	}
	return x.seal(out, cols, jsonOut)
}

// seal exports a seal line (docs/format.md §4.2). Every column is the
// server's own printable ASCII; SEQ, BYTES and LINES must be numbers.
func (x *exporter) seal(out []byte, cols [][]byte, jsonOut bool) ([]byte, error) {
	for _, i := range []int{colSeq, colSealBytes, colSealLines} {
		if !isDecimal(cols[i]) {
			return out, fmt.Errorf("column %d (%s) is not a number", i+1, sealNames[i])
		}
	}
	if !jsonOut {
		for i := 1; i < SealColumns; i++ {
			if i > 1 {
				out = append(out, '\t')
			}
			out = appendGoEscaped(out, cols[i])
		}
		return append(out, '\n'), nil
	}
	out = append(out, '{')
	for i := 1; i < SealColumns; i++ {
		out = appendKey(out, i, sealKeys[i])
		switch i {
		case colSeq, colSealBytes, colSealLines:
			out = append(out, cols[i]...)
		default:
			out = appendJSONString(out, cols[i])
		}
	}
	return append(out, '}', '\n'), nil
}

// isDecimal: 1 to 19 digits without a leading zero (or "0"), so the value
// fits an int64 and reads the same in every JSON parser.
func isDecimal(b []byte) bool {
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (x *exporter) event(out []byte, cols [][]byte, jsonOut bool) ([]byte, error) {
	pri, err := parsePRI(cols[colPRI])
	if err != nil {
		return out, err
	}
	if !jsonOut {
		for i := 1; i < EventColumns; i++ {
			if i > 1 {
				out = append(out, '\t')
			}
			if i == colAuth || i >= colClient {
				if out, err = x.textClient(out, cols[i]); err != nil {
					return out, fmt.Errorf("column %d (%s): %w", i+1, eventNames[i], err)
				}
			} else {
				out = appendGoEscaped(out, cols[i])
			}
		}
		return append(out, '\n'), nil
	}
	out = append(out, '{')
	for i := 1; i < EventColumns; i++ {
		out = appendKey(out, i, eventKeys[i])
		switch {
		case i == colFlags:
			out = append(out, '[')
			for rest, k := cols[i], 0; ; k++ {
				flag, tail, found := bytes.Cut(rest, []byte{','})
				if k > 0 {
					out = append(out, ',')
				}
				out = appendJSONString(out, flag)
				if !found {
					break
				}
				rest = tail
			}
			out = append(out, ']')
		case i == colPRI:
			if pri < 0 {
				out = append(out, `null,"facility":null,"severity":null`...)
			} else {
				out = append(out, cols[i]...)
				out = append(out, `,"facility":`...)
				out = appendJSONString(out, facilityNames[pri/8])
				out = append(out, `,"severity":`...)
				out = appendJSONString(out, severityNames[pri%8])
			}
		case i == colAuth || i >= colClient:
			if out, err = x.jsonClient(out, eventKeys[i], cols[i]); err != nil {
				return out, fmt.Errorf("column %d (%s): %w", i+1, eventNames[i], err)
			}
		default:
			out = appendJSONServer(out, cols[i])
		}
	}
	return append(out, '}', '\n'), nil
}

func (x *exporter) security(out []byte, cols [][]byte, jsonOut bool) ([]byte, error) {
	detail := cols[colDetail]
	if len(detail) == 0 || detail[0] != '{' || !json.Valid(detail) {
		return out, errors.New("column 9 (DETAIL) is not a JSON object")
	}
	var err error
	if !jsonOut {
		for i := 1; i < SecurityColumns; i++ {
			if i > 1 {
				out = append(out, '\t')
			}
			switch i {
			case colAuth:
				if out, err = x.textClient(out, cols[i]); err != nil {
					return out, fmt.Errorf("column %d (%s): %w", i+1, securityNames[i], err)
				}
			case colDetail:
				out = append(out, detail...) // printable ASCII, checked by CheckLine
			default:
				out = appendGoEscaped(out, cols[i])
			}
		}
		return append(out, '\n'), nil
	}
	out = append(out, '{')
	for i := 1; i < SecurityColumns; i++ {
		out = appendKey(out, i, securityKeys[i])
		switch i {
		case colAuth:
			if out, err = x.jsonClient(out, securityKeys[i], cols[i]); err != nil {
				return out, fmt.Errorf("column %d (%s): %w", i+1, securityNames[i], err)
			}
		case colDetail:
			// DETAIL is valid JSON of printable ASCII, so '<', '>' and '&'
			// can only stand inside its strings, where \u escapes mean
			// the same.
			for _, c := range detail {
				if c == '<' || c == '>' || c == '&' {
					out = appendU(out, rune(c))
				} else {
					out = append(out, c)
				}
			}
		default:
			out = appendJSONServer(out, cols[i])
		}
	}
	return append(out, '}', '\n'), nil
}

// textClient appends a client column decoded and Go-escaped; a literal
// "-" is \x2d, so that "-" alone keeps meaning absent.
func (x *exporter) textClient(out, col []byte) ([]byte, error) {
	if len(col) == 1 && col[0] == '-' {
		return append(out, '-'), nil
	}
	var err error
	if x.dec, err = Decode(x.dec[:0], col); err != nil {
		return out, err
	}
	if len(x.dec) == 1 && x.dec[0] == '-' {
		return append(out, `\x2d`...), nil
	}
	return appendGoEscaped(out, x.dec), nil
}

// jsonClient appends a client column's JSON value: null, the decoded
// text when it is valid UTF-8, else the percent-encoded form followed by
// "<key>_encoding":"percent".
func (x *exporter) jsonClient(out []byte, key string, col []byte) ([]byte, error) {
	if len(col) == 1 && col[0] == '-' {
		return append(out, "null"...), nil
	}
	var err error
	if x.dec, err = Decode(x.dec[:0], col); err != nil {
		return out, err
	}
	if utf8.Valid(x.dec) {
		return appendJSONString(out, x.dec), nil
	}
	out = appendJSONString(out, col)
	out = append(out, ',')
	out = appendJSONString(out, key+"_encoding")
	return append(out, `:"percent"`...), nil
}

// appendKey appends `"key":` for the i-th column (from 1), after a comma
// unless it is the first.
func appendKey(out []byte, i int, key string) []byte {
	if i > 1 {
		out = append(out, ',')
	}
	out = appendJSONString(out, key)
	return append(out, ':')
}

// appendJSONServer appends a server column: null for "-", else a string.
func appendJSONServer(out, col []byte) []byte {
	if len(col) == 1 && col[0] == '-' {
		return append(out, "null"...)
	}
	return appendJSONString(out, col)
}

// parsePRI reads the PRI column: -1 for "-", else 0–191 written as
// AppendEvent writes it (no sign, no leading zero).
func parsePRI(col []byte) (int, error) {
	if len(col) == 1 && col[0] == '-' {
		return -1, nil
	}
	v := 0
	ok := len(col) >= 1 && len(col) <= 3 && (col[0] != '0' || len(col) == 1)
	for _, c := range col {
		if c < '0' || c > '9' {
			ok = false
			break
		}
		v = v*10 + int(c-'0')
	}
	if !ok || v > 191 {
		return 0, errors.New("column 8 (PRI) is neither - nor a number 0-191")
	}
	return v, nil
}

// RFC 5424 §6.2.1, Table 1 and Table 2, in the short names syslog tools use.
var (
	facilityNames = [24]string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
		"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	severityNames = [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
)

// appendGoEscaped appends b escaped as strconv.QuoteToASCII would,
// without the surrounding quotes.
func appendGoEscaped(dst, b []byte) []byte {
	const lowerHex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c >= 0x20 && c < 0x7F && c != '\\' && c != '"' {
			i++
			continue
		}
		dst = append(dst, b[start:i]...)
		size := 1
		switch c {
		case '\\', '"':
			dst = append(dst, '\\', c)
		case '\a':
			dst = append(dst, `\a`...)
		case '\b':
			dst = append(dst, `\b`...)
		case '\f':
			dst = append(dst, `\f`...)
		case '\n':
			dst = append(dst, `\n`...)
		case '\r':
			dst = append(dst, `\r`...)
		case '\t':
			dst = append(dst, `\t`...)
		case '\v':
			dst = append(dst, `\v`...)
		default:
			var r rune = utf8.RuneError
			if c >= utf8.RuneSelf {
				r, size = utf8.DecodeRune(b[i:])
			}
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, '\\', 'x', lowerHex[c>>4], lowerHex[c&0xF])
			case r < 0x10000:
				dst = append(dst, '\\', 'u')
				for s := 12; s >= 0; s -= 4 {
					dst = append(dst, lowerHex[r>>s&0xF])
				}
			default:
				dst = append(dst, '\\', 'U')
				for s := 28; s >= 0; s -= 4 {
					dst = append(dst, lowerHex[r>>s&0xF])
				}
			}
		}
		i += size
		start = i
	}
	return append(dst, b[start:]...)
}
