package relp

import "strconv"

// Software is what sealog offers as relp_software.
const Software = "sealog"

// AppendFrame appends one frame: TXNR SP COMMAND SP DATALEN [SP DATA] LF.
func AppendFrame(dst []byte, txnr int, cmd string, data []byte) []byte {
	dst = strconv.AppendInt(dst, int64(txnr), 10)
	dst = append(dst, ' ')
	dst = append(dst, cmd...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(data)), 10)
	if len(data) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, data...)
	}
	return append(dst, '\n')
}

// AppendResponse appends the rsp of transaction txnr: "CODE SP TEXT", e.g.
// 200 OK, or 500 and why.
func AppendResponse(dst []byte, txnr int, code int, text string) []byte {
	var data [64]byte
	d := strconv.AppendInt(data[:0], int64(code), 10)
	if text != "" {
		d = append(d, ' ')
		d = append(d, text...)
	}
	return AppendFrame(dst, txnr, "rsp", d)
}

// AppendOpenOK answers an open: 200 OK, then the server's offers, one
// per line (librelp's form): protocol version 0, the software, and the
// one command a syslog server takes.
func AppendOpenOK(dst []byte, txnr int) []byte {
	return AppendFrame(dst, txnr, "rsp", []byte("200 OK\nrelp_version=0\nrelp_software="+Software+"\ncommands="+CmdSyslog))
}

// ServerClose is the frame that tells a client the server ends the
// session (TXNR 0: unsolicited).
var ServerClose = []byte("0 serverclose 0\n")

// Offers parses the data of an open command: lines of NAME[=VALUE], where
// a VALUE may list several comma-separated values. Unknown names are kept
// for the caller to ignore.
func Offers(data []byte) map[string][]string {
	out := map[string][]string{}
	for len(data) > 0 {
		line := data
		if i := indexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			continue
		}
		name, value := line, []byte(nil)
		if i := indexByte(line, '='); i >= 0 {
			name, value = line[:i], line[i+1:]
		}
		var vals []string
		for len(value) > 0 {
			v := value
			if i := indexByte(value, ','); i >= 0 {
				v, value = value[:i], value[i+1:]
			} else {
				value = nil
			}
			vals = append(vals, string(v))
		}
		out[string(name)] = vals
	}
	return out
}

// Offered reports whether the data of an open command offers value for
// name (e.g. commands=syslog), as Offers would say, without building
// anything: an open's data is the client's, up to the maximum size, and a
// map of every line it holds would cost many times those bytes. A name
// offered on several lines counts by its last line, as in Offers.
func Offered(data []byte, name, value string) bool {
	found := false
	for len(data) > 0 {
		line := data
		if i := indexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		n, vals := line, []byte(nil)
		if i := indexByte(line, '='); i >= 0 {
			n, vals = line[:i], line[i+1:]
		}
		if len(line) == 0 || string(n) != name {
			continue
		}
		found = false
		for len(vals) > 0 {
			v := vals
			if i := indexByte(vals, ','); i >= 0 {
				v, vals = vals[:i], vals[i+1:]
			} else {
				vals = nil
			}
			if string(v) == value {
				found = true
			}
		}
	}
	return found
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
