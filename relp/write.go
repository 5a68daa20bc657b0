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
		var line []byte
		line, data = cutByte(data, '\n')
		if len(line) == 0 {
			continue
		}
		name, value := cutByte(line, '=')
		var vals []string
		for len(value) > 0 {
			var v []byte
			v, value = cutByte(value, ',')
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
		var line []byte
		line, data = cutByte(data, '\n')
		n, vals := cutByte(line, '=')
		if len(line) == 0 || string(n) != name {
			continue
		}
		found = false
		for len(vals) > 0 {
			var v []byte
			v, vals = cutByte(vals, ',')
			if string(v) == value {
				found = true
			}
		}
	}
	return found
}

// cutByte splits b around the first c: what is before it and what is
// after it, or all of b and nil where there is no c. Offers and Offered
// cut lines, names and values alike with it, so that both read an open's
// data the same way.
func cutByte(b []byte, c byte) (before, after []byte) {
	for i, x := range b {
		if x == c {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}
