// Package proxyproto reads the PROXY protocol header (HAProxy's
// proxy-protocol.txt, versions 1 and 2) that a load balancer puts at the
// start of a TCP connection to name the client it forwards.
//
// It reads exactly the header and not one byte more (what follows is a
// TLS ClientHello or a RELP open), keeps at most MaxV2Size bytes, and
// takes nothing on trust: a connection from a listed balancer that does
// not begin with a well-formed header is an error, never "no header"
// (the strict policy; go-proxyproto's optional-header default and its
// unbounded v1 line were CVEs). Deadlines are the caller's. Which peers
// are balancers is the caller's decision too; this package knows bytes.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// Header is what a PROXY header says.
type Header struct {
	Version int // 1 or 2
	// Local: the balancer speaks for itself (a v2 LOCAL health check, a
	// v1 UNKNOWN or a v2 UNSPEC address): no client is named, and the
	// connection's own peer address stands.
	Local bool
	// Source and Dest are the client and the address it connected to;
	// valid unless Local.
	Source, Dest netip.AddrPort
}

// Error is a missing or malformed header.
type Error struct{ Msg string }

func (e *Error) Error() string { return "proxy header: " + e.Msg }

func errorf(format string, a ...any) error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// v1Max is the longest v1 line, CRLF included (proxy-protocol.txt §2.1).
const v1Max = 107

// MaxV2Size bounds a v2 header: 16 bytes and the addresses with their
// TLVs. HAProxy's TLVs (ALPN, authority, unique ID, SSL) fit well inside;
// the format would allow 64 KiB, which no balancer needs to send us.
const MaxV2Size = 16 + 1024

var v2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Read reads one header from r, byte-exact. r should be unbuffered (a
// net.Conn): Read never reads past the header's last byte. A connection
// closed before its first byte is io.EOF; every other failure is an
// *Error or the read error.
func Read(r io.Reader) (Header, error) {
	var first [1]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		return Header{}, err
	}
	switch first[0] {
	case 'P':
		return readV1(r)
	case '\r':
		return readV2(r)
	default:
		return Header{}, errorf("no PROXY header: connection begins with %q", first[0])
	}
}

// readV1 reads "PROXY TCP4|TCP6|UNKNOWN ... CRLF" after its first byte,
// one byte at a time so that nothing after the LF is consumed.
func readV1(r io.Reader) (Header, error) {
	line := make([]byte, 1, v1Max)
	line[0] = 'P'
	var b [1]byte
	for {
		if len(line) == v1Max {
			return Header{}, errorf("v1 line longer than %d bytes", v1Max)
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Header{}, unexpected(err)
		}
		line = append(line, b[0])
		if b[0] == '\n' {
			break
		}
	}
	return ParseV1(line)
}

// ParseV1 parses a whole v1 line, CRLF included.
func ParseV1(line []byte) (Header, error) {
	h := Header{Version: 1}
	body, ok := bytes.CutSuffix(line, []byte("\r\n"))
	if !ok || len(line) > v1Max {
		return h, errorf("v1 line does not end in CRLF within %d bytes", v1Max)
	}
	f := bytes.Split(body, []byte(" "))
	if string(f[0]) != "PROXY" || len(f) < 2 {
		return h, errorf("v1 line does not begin with \"PROXY \"")
	}
	switch string(f[1]) {
	case "UNKNOWN":
		// The rest, if any, is to be ignored (proxy-protocol.txt §2.1).
		h.Local = true
		return h, nil
	case "TCP4", "TCP6":
	default:
		return h, errorf("v1 protocol %q", f[1])
	}
	if len(f) != 6 {
		return h, errorf("v1 line has %d fields, want 6", len(f))
	}
	want4 := string(f[1]) == "TCP4"
	var addrs [2]netip.Addr
	for i := range addrs {
		a, err := netip.ParseAddr(string(f[2+i]))
		if err != nil || a.Zone() != "" || a.Is4() != want4 {
			return h, errorf("v1 %s address %q", f[1], f[2+i])
		}
		addrs[i] = a
	}
	var ports [2]uint16
	for i := range ports {
		p := f[4+i]
		if len(p) == 0 || len(p) > 5 || (len(p) > 1 && p[0] == '0') {
			return h, errorf("v1 port %q", p)
		}
		n, err := strconv.ParseUint(string(p), 10, 16)
		if err != nil {
			return h, errorf("v1 port %q", p)
		}
		ports[i] = uint16(n)
	}
	h.Source = netip.AddrPortFrom(addrs[0], ports[0])
	h.Dest = netip.AddrPortFrom(addrs[1], ports[1])
	return h, nil
}

// readV2 reads the binary header after its first byte.
func readV2(r io.Reader) (Header, error) {
	var fixed [16]byte
	fixed[0] = '\r'
	if _, err := io.ReadFull(r, fixed[1:]); err != nil {
		return Header{}, unexpected(err)
	}
	if !bytes.Equal(fixed[:12], v2Sig) {
		return Header{}, errorf("no PROXY header: connection begins with CR but not the v2 signature")
	}
	n := int(binary.BigEndian.Uint16(fixed[14:]))
	if 16+n > MaxV2Size {
		return Header{}, errorf("v2 header of %d bytes, more than %d", 16+n, MaxV2Size)
	}
	rest := make([]byte, n)
	if _, err := io.ReadFull(r, rest); err != nil {
		return Header{}, unexpected(err)
	}
	return ParseV2(append(fixed[:], rest...))
}

// ParseV2 parses a whole v2 header.
func ParseV2(b []byte) (Header, error) {
	h := Header{Version: 2}
	if len(b) < 16 || !bytes.Equal(b[:12], v2Sig) {
		return h, errorf("not a v2 header")
	}
	if n := int(binary.BigEndian.Uint16(b[14:])); 16+n != len(b) {
		return h, errorf("v2 length %d, got %d bytes", n, len(b)-16)
	}
	verCmd, fam, addr := b[12], b[13], b[16:]
	if verCmd>>4 != 2 {
		return h, errorf("v2 version %d", verCmd>>4)
	}
	switch verCmd & 0xF {
	case 0: // LOCAL: the balancer's own connection; addresses ignored
		h.Local = true
		return h, nil
	case 1: // PROXY
	default:
		return h, errorf("v2 command %d", verCmd&0xF)
	}
	switch fam {
	case 0x00: // UNSPEC: the receiver must use the real addresses
		h.Local = true
		return h, nil
	case 0x11: // TCP over IPv4
		if len(addr) < 12 {
			return h, errorf("v2 TCP4 addresses need 12 bytes, got %d", len(addr))
		}
		src := netip.AddrFrom4([4]byte(addr[0:4]))
		dst := netip.AddrFrom4([4]byte(addr[4:8]))
		h.Source = netip.AddrPortFrom(src, binary.BigEndian.Uint16(addr[8:]))
		h.Dest = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(addr[10:]))
	case 0x21: // TCP over IPv6
		if len(addr) < 36 {
			return h, errorf("v2 TCP6 addresses need 36 bytes, got %d", len(addr))
		}
		src := netip.AddrFrom16([16]byte(addr[0:16]))
		dst := netip.AddrFrom16([16]byte(addr[16:32]))
		h.Source = netip.AddrPortFrom(src, binary.BigEndian.Uint16(addr[32:]))
		h.Dest = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(addr[34:]))
	default:
		// UDP and UNIX sockets cannot be what a stream listener forwards.
		return h, errorf("v2 address family 0x%02x on a TCP listener", fam)
	}
	return h, nil
}

// AppendV1 and AppendV2 write headers (for tests and tools).
func AppendV1(dst []byte, h Header) []byte {
	if h.Local {
		return append(dst, "PROXY UNKNOWN\r\n"...)
	}
	proto := "TCP4"
	if !h.Source.Addr().Is4() {
		proto = "TCP6"
	}
	return fmt.Appendf(dst, "PROXY %s %s %s %d %d\r\n", proto, h.Source.Addr(), h.Dest.Addr(), h.Source.Port(), h.Dest.Port())
}

// AppendV2 writes a v2 header: LOCAL when h.Local, else PROXY over TCP.
func AppendV2(dst []byte, h Header) []byte {
	dst = append(dst, v2Sig...)
	if h.Local {
		return append(dst, 0x20, 0x00, 0, 0)
	}
	if h.Source.Addr().Is4() {
		dst = append(dst, 0x21, 0x11, 0, 12)
		s, d := h.Source.Addr().As4(), h.Dest.Addr().As4()
		dst = append(append(dst, s[:]...), d[:]...)
	} else {
		dst = append(dst, 0x21, 0x21, 0, 36)
		s, d := h.Source.Addr().As16(), h.Dest.Addr().As16()
		dst = append(append(dst, s[:]...), d[:]...)
	}
	dst = binary.BigEndian.AppendUint16(dst, h.Source.Port())
	return binary.BigEndian.AppendUint16(dst, h.Dest.Port())
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
