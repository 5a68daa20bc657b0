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
// PEER column still says which address sent each datagram.
type packetReader struct {
	s     *Server
	pc    net.PacketConn
	buf   []byte
	idBuf []byte
}

func newPacketReader(s *Server, pc net.PacketConn) *packetReader {
	// 64 KiB holds any UDP payload, so a datagram is never cut by the
	// read itself; truncation to --max-message-size is DatagramFrame's.
	return &packetReader{s: s, pc: pc, buf: make([]byte, 65536)}
}

func (u *packetReader) serve() error {
	p := parse.NewParser()
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
		peer, ip := formatPeer(addr)
		if !u.s.allowed(ip) {
			c := &conn{s: u.s, peer: peer, ip: ip, tlsDesc: "udp"}
			var d writer.Detail
			d.Str("reason", "not_allowed")
			c.event("connect", "failure", &d, true)
			continue
		}
		f := parse.DatagramFrame(u.buf[:n], u.s.cfg.MaxMessageSize)
		msg := p.Parse(f.Data)
		u.idBuf = u.s.ids.AppendID(u.idBuf[:0], u.s.ids.Next())
		meta := writer.EventMeta{Time: time.Now(), ID: u.idBuf, Peer: peer, TLS: "udp", Partial: f.Partial}
		if f.Truncated {
			meta.TruncSize = f.Size
		}
		b := getBatch()
		b.events = writer.AppendEvent(b.events, &meta, &msg)
		b.lines = 1
		c := &conn{s: u.s, peer: peer, ip: ip, tlsDesc: "udp", idBuf: u.idBuf}
		if f.Truncated {
			c.oversized(b, f)
		}
		if msg.Format == parse.FormatRaw {
			c.parseFailed(b)
		}
		u.s.pipe.submit(b)
	}
}
