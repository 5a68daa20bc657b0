package parse

import (
	"bytes"
	"unicode/utf8"
)

// This file re-implements the acceptance of go-syslog v3.0.0's rfc5424
// and rfc3164 machines without allocating (go-syslog builds
// strings, maps and a time.Time for every message, 7–17 allocations and
// microseconds per frame). go-syslog stays the judge: FuzzValidate5424
// and FuzzValidate3164 prove, differentially, that accept5424 and
// header3164 (completed by go-syslog's content rule in the test's
// accept3164) accept and reject exactly what go-syslog's machines do. The
// grammar comments quote go-syslog's Ragel rules (common.rl,
// rfc5424/machine.go.rl, rfc3164/machine.go.rl).

// isGraphByte is Ragel's graph: printable US-ASCII without SP.
func isGraphByte(c byte) bool { return c > ' ' && c < 0x7f }

// graphRun returns the end of the run of graph bytes at b[i:], or -1 when
// it is empty or longer than max.
func graphRun(b []byte, i, max int) int {
	j := i
	for j < len(b) && isGraphByte(b[j]) {
		j++
	}
	if j == i || j-i > max {
		return -1
	}
	return j
}

// skipPRI checks "<" prival ">" (prival = 0 | 1..191 without leading
// zeros) and returns the index after it, or -1.
func skipPRI(b []byte) int {
	if _, n := parsePRI(b); n > 0 {
		return n
	}
	return -1
}

func digits(b []byte, i, n int) (v int, ok bool) {
	if i+n > len(b) {
		return 0, false
	}
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// daysIn is what time.Parse checks a day against (proleptic Gregorian).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// hhmmss checks timehour ':' timeminute ':' timesecond (00–23, 00–59,
// 00–59) at b[i:] and returns the index after it, or -1.
func hhmmss(b []byte, i int) int {
	if i+8 > len(b) || b[i+2] != ':' || b[i+5] != ':' {
		return -1
	}
	h, ok1 := digits(b, i, 2)
	m, ok2 := digits(b, i+3, 2)
	s, ok3 := digits(b, i+6, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 59 {
		return -1
	}
	return i + 8
}

// fullDate checks datefullyear '-' datemonth '-' datemday_2digit plus
// time.Parse's day-in-month rule, returning the index after it or -1.
func fullDate(b []byte, i int) int {
	if i+10 > len(b) || b[i+4] != '-' || b[i+7] != '-' {
		return -1
	}
	y, ok1 := digits(b, i, 4)
	mo, ok2 := digits(b, i+5, 2)
	d, ok3 := digits(b, i+8, 2)
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 || d > daysIn(mo, y) {
		return -1
	}
	return i + 10
}

// timeOffset checks 'Z' | ('+' | '-') timehour ':' timeminute.
func timeOffset(b []byte, i int) int {
	if i < len(b) && b[i] == 'Z' {
		return i + 1
	}
	if i+6 > len(b) || (b[i] != '+' && b[i] != '-') || b[i+3] != ':' {
		return -1
	}
	h, ok1 := digits(b, i+1, 2)
	m, ok2 := digits(b, i+4, 2)
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return -1
	}
	return i + 6
}

// timestamp5424 checks NILVALUE | fulldate 'T' partialtime timeoffset
// with timesecfrac = '.' digit{1,6}, and returns the index after it.
func timestamp5424(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		return i + 1
	}
	if i = fullDate(b, i); i < 0 || i >= len(b) || b[i] != 'T' {
		return -1
	}
	if i = hhmmss(b, i+1); i < 0 {
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && j-i <= 6 && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i+1 {
			return -1
		}
		i = j
	}
	return timeOffset(b, i)
}

// sdName is go-syslog's sdname: 1–32 graph bytes but '=', ']' and '"'.
func sdName(b []byte, i int) int {
	j := i
	for j < len(b) && j-i < 33 && isGraphByte(b[j]) && b[j] != '=' && b[j] != ']' && b[j] != '"' {
		j++
	}
	if j == i || j-i > 32 {
		return -1
	}
	return j
}

// paramValue checks PARAM-VALUE up to its closing '"': UTF-8 characters
// but '"', '\' and ']', or the escapes \" \] \\ (RFC 5424 §6.3.3).
func paramValue(b []byte, i int) int {
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i
		case c == ']':
			return -1
		case c == '\\':
			if i+1 >= len(b) || (b[i+1] != '"' && b[i+1] != ']' && b[i+1] != '\\') {
				return -1
			}
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return -1
			}
			i += n
		}
	}
	return -1
}

// structuredData checks NILVALUE | 1*SD-ELEMENT with SD-IDs unique
// (RFC 5424 §6.3.2, as go-syslog enforces) and returns the index after.
func structuredData(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		return i + 1
	}
	var idBuf [8][2]int
	ids := idBuf[:0]
	start := i
	for i < len(b) && b[i] == '[' {
		idStart := i + 1
		idEnd := sdName(b, idStart)
		if idEnd < 0 {
			return -1
		}
		id := b[idStart:idEnd]
		for _, p := range ids {
			if bytes.Equal(b[p[0]:p[1]], id) {
				return -1
			}
		}
		ids = append(ids, [2]int{idStart, idEnd})
		i = idEnd
		for i < len(b) && b[i] == ' ' {
			if i = sdName(b, i+1); i < 0 || i+1 >= len(b) || b[i] != '=' || b[i+1] != '"' {
				return -1
			}
			if i = paramValue(b, i+2); i < 0 {
				return -1
			}
			i++ // past the closing '"'
		}
		if i >= len(b) || b[i] != ']' {
			return -1
		}
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// accept5424 reports whether go-syslog's rfc5424 machine accepts b:
//
//	header = pri version sp timestamp sp hostname sp appname sp procid sp msgid
//	main   = header sp structureddata (sp msg)?
//	msg    = bom? utf8octets
//
// with version 1–999, hostname graph{1,255}, appname graph{1,48}, procid
// graph{1,128}, msgid graph{1,32}.
func accept5424(b []byte) bool {
	i := skipPRI(b)
	if i < 0 {
		return false
	}
	j := i
	for j < len(b) && j-i < 4 && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i || j-i > 3 || b[i] == '0' || j >= len(b) || b[j] != ' ' {
		return false
	}
	if i = timestamp5424(b, j+1); i < 0 || i >= len(b) || b[i] != ' ' {
		return false
	}
	for _, max := range [...]int{255, 48, 128, 32} {
		if i = graphRun(b, i+1, max); i < 0 || i >= len(b) || b[i] != ' ' {
			return false
		}
	}
	if i = structuredData(b, i+1); i < 0 {
		return false
	}
	if i == len(b) {
		return true
	}
	return b[i] == ' ' && utf8.Valid(b[i+1:])
}

// datemday is ' ' nonzerodigit | '1'..'2' digit | '3' '0'..'1'.
func datemday(b []byte, i int) (int, bool) {
	c0, c1 := b[i], b[i+1]
	switch {
	case c0 == ' ' && c1 >= '1' && c1 <= '9':
		return int(c1 - '0'), true
	case (c0 == '1' || c0 == '2') && c1 >= '0' && c1 <= '9':
		return int(c0-'0')*10 + int(c1-'0'), true
	case c0 == '3' && (c1 == '0' || c1 == '1'):
		return 30 + int(c1-'0'), true
	}
	return 0, false
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// stamp3164 checks datemmm sp datemday sp hhmmss plus time.Parse's
// day-in-month rule for time.Stamp, which parses into year 0 (a leap
// year, so "Feb 29" passes).
func stamp3164(b []byte, i int) int {
	if i+15 > len(b) || b[i+3] != ' ' || b[i+6] != ' ' {
		return -1
	}
	mo := 0
	for k, m := range months {
		if string(b[i:i+3]) == m {
			mo = k + 1
			break
		}
	}
	d, ok := datemday(b, i+4)
	if mo == 0 || !ok || d > daysIn(mo, 0) {
		return -1
	}
	return hhmmss(b, i+7)
}

// rfc3339Stamp checks go-syslog rfc3164's rfc3339 rule: fulldate 'T'
// hhmmss timeoffset, no fraction.
func rfc3339Stamp(b []byte, i int) int {
	if i = fullDate(b, i); i < 0 || i >= len(b) || b[i] != 'T' {
		return -1
	}
	if i = hhmmss(b, i+1); i < 0 {
		return -1
	}
	return timeOffset(b, i)
}

// header3164 checks pri (timestamp | rfc3339) sp hostname sp, go-syslog
// rfc3164's header with WithRFC3339. It returns the end of the timestamp
// and where the content starts (go-syslog's msg rule), or content -1.
func header3164(b []byte) (tsEnd, content int) {
	i := skipPRI(b)
	if i < 0 {
		return 0, -1
	}
	tsEnd = stamp3164(b, i)
	if tsEnd < 0 {
		tsEnd = rfc3339Stamp(b, i)
	}
	if tsEnd < 0 || tsEnd >= len(b) || b[tsEnd] != ' ' {
		return 0, -1
	}
	j := graphRun(b, tsEnd+1, 255)
	if j < 0 || j >= len(b) || b[j] != ' ' {
		return 0, -1
	}
	return tsEnd, j + 1
}
