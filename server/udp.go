package server

import (
	"errors"
	"net"
	"time"

	"github.com/sealog/sealog/parse"
	"github.com/sealog/sealog/writer"
)

// packetReader serves one UDP socket (RFC 5426): each datagram is one
// frame. There is no connection, so no connect/disconnect events; the
// PEER column still says which address sent each datagram. One conn
// value stands for the current sender, so datagrams share the stream
// path's per-event code and allocate nothing.
type packetReader struct {
	s    *Server
	pc   net.PacketConn
	buf  []byte
	from conn
}

func newPacketReader(s *Server, pc net.PacketConn) *packetReader {
	// 64 KiB holds any UDP payload, so a datagram is never cut by the
	// read itself; truncation to --max-message-size is DatagramFrame's.
	return &packetReader{s: s, pc: pc, buf: make([]byte, 65536), from: conn{s: s, tlsDesc: "udp"}}
}

func (u *packetReader) serve() error {
	p := parse.NewParser()
	c := &u.from
	meta := writer.EventMeta{TLS: "udp"}
	for {
		if g := u.s.graceEnd.Load(); g != nil {
			u.pc.SetReadDeadline(*g)
		}
		n, addr, err := u.pc.ReadFrom(u.buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || u.s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		c.peer, c.ip = formatPeer(addr)
		if !u.s.allowed(c.ip) {
			u.s.cfg.Metrics.Refused("not_allowed")
			c.detail.Reset()
			c.detail.Str("reason", "not_allowed")
			c.event("connect", "failure", &c.detail, true)
			continue
		}
		meta.Peer = c.peer
		meta.Time = time.Now()
		b := getBatch()
		c.appendFrame(b, p, parse.DatagramFrame(u.buf[:n], u.s.cfg.MaxMessageSize), &meta)
		u.s.pipe.submit(b)
	}
}
