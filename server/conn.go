package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"time"

	"github.com/sealog/sealog/parse"
	"github.com/sealog/sealog/writer"
)

// batchLimit is how many bytes of event lines a connection collects
// before it hands them to the pipeline even if more input is waiting.
const batchLimit = 64 << 10

// conn is one stream connection (TLS or plain TCP).
type conn struct {
	s       *Server
	nc      net.Conn // the raw socket
	rc      net.Conn // what frames are read from: the TLS conn or nc
	useTLS  bool
	peer    string // "ip:port", the socket's view, never the client's claim [T 21.4]
	ip      netip.Addr
	tlsDesc string // TLS column
	auth    string // AUTH column
	started time.Time

	messages, bytes int64
	idBuf           []byte
	detail          writer.Detail
	deadline        time.Time // read deadline last set
}

func newConn(s *Server, nc net.Conn, useTLS bool) *conn {
	c := &conn{s: s, nc: nc, rc: nc, useTLS: useTLS, started: time.Now(), tlsDesc: "tcp"}
	c.peer, c.ip = formatPeer(nc.RemoteAddr())
	return c
}

// formatPeer renders ip:port or [v6]:port, unmapping IPv4-in-IPv6.
func formatPeer(a net.Addr) (string, netip.Addr) {
	var ap netip.AddrPort
	switch v := a.(type) {
	case *net.TCPAddr:
		ap = v.AddrPort()
	case *net.UDPAddr:
		ap = v.AddrPort()
	default:
		if a == nil {
			return "-", netip.Addr{}
		}
		p, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return a.String(), netip.Addr{}
		}
		ap = p
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	return ap.String(), ap.Addr()
}

// event submits a security event about this connection, unless it is a
// failure event that the per-source flood limiter suppresses (SPEC §5).
func (c *conn) event(action, result string, d *writer.Detail, failure bool) {
	if failure && !c.s.limiter.allow(c.ip, action, time.Now()) {
		return
	}
	b := getBatch()
	b.security = c.appendEvent(b.security, action, result, d)
	c.s.pipe.submit(b)
}

func (c *conn) appendEvent(dst []byte, action, result string, d *writer.Detail) []byte {
	ev := writer.SecurityEvent{
		Time:   time.Now(),
		ID:     c.s.ids.AppendID(nil, c.s.ids.Next()),
		Peer:   c.peer,
		Auth:   c.auth,
		TLS:    c.tlsColumn(),
		Action: action,
		Result: result,
		Detail: d,
	}
	return writer.AppendSecurity(dst, &ev)
}

func (c *conn) tlsColumn() string {
	if c.useTLS && c.tlsDesc == "tcp" {
		return "" // handshake not done: "-"
	}
	return c.tlsDesc
}

// refuse closes a connection turned away by --allow-from or
// --max-connections: a connect event with RESULT failure (SPEC §3.4).
func (c *conn) refuse(reason string) {
	c.nc.Close()
	c.detail.Reset()
	c.detail.Str("reason", reason)
	c.event("connect", "failure", &c.detail, true)
}

// serve runs the connection to its end. A panic is caught here, recorded
// as a security event with the stack on stderr, and only this connection
// is closed (ASVS 16.5.4).
func (c *conn) serve() {
	defer c.s.untrack(c)
	defer c.nc.Close()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(c.s.stderr, "sealog: panic serving %s: %v\n%s", c.peer, r, debug.Stack())
			var d writer.Detail
			d.Str("error", fmt.Sprint(r))
			c.event("internal_error", "error", &d, false)
		}
	}()
	if c.useTLS && !c.handshake() {
		return
	}
	c.detail.Reset()
	if tc, ok := c.rc.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		if len(cs.PeerCertificates) > 0 {
			addCertDetail(&c.detail, cs.PeerCertificates[0])
		}
	}
	c.event("connect", "success", &c.detail, false)
	reason := c.readFrames()
	c.detail.Reset()
	c.detail.Int("messages", c.messages)
	c.detail.Int("bytes", c.bytes)
	c.detail.Int("duration_ms", time.Since(c.started).Milliseconds())
	c.detail.Str("reason", reason)
	c.event("disconnect", "success", &c.detail, false)
}

// handshake runs the TLS handshake under --handshake-timeout and logs a
// classified failure (SPEC §3.4).
func (c *conn) handshake() bool {
	var denied *x509.Certificate
	counted := &countingConn{Conn: c.nc}
	tc := tls.Server(counted, c.s.serverTLSConfig(&denied))
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.HandshakeTimeout)
	defer cancel()
	c.nc.SetDeadline(time.Now().Add(c.s.cfg.HandshakeTimeout))
	err := tc.HandshakeContext(ctx)
	c.nc.SetDeadline(time.Time{})
	if err != nil {
		reason := handshakeReason(err, counted.n > 0)
		c.detail.Reset()
		c.detail.Str("reason", reason)
		c.detail.Str("error", err.Error())
		c.detail.Int("bytes", counted.n)
		if denied != nil {
			c.auth = peerIdentity(denied)
			addCertDetail(&c.detail, denied)
		}
		c.event("tls_handshake_failed", "failure", &c.detail, true)
		if denied != nil {
			c.detail.Reset()
			c.detail.Str("reason", "peer_not_permitted")
			addCertDetail(&c.detail, denied)
			c.event("peer_denied", "failure", &c.detail, true)
		}
		return false
	}
	cs := tc.ConnectionState()
	c.tlsDesc = tlsDescription(cs)
	if len(cs.PeerCertificates) > 0 {
		c.auth = peerIdentity(cs.PeerCertificates[0])
	}
	c.rc = tc
	return true
}

// readFrames is the per-event hot path: frame, parse, encode into the
// connection's batch, hand the batch over when the socket has nothing
// more buffered. It returns why the connection ended.
func (c *conn) readFrames() string {
	r := parse.NewReader(c.rc, c.s.cfg.MaxMessageSize)
	p := parse.NewParser()
	var b *batch
	flush := func() {
		if b != nil {
			c.s.pipe.submit(b)
			b = nil
		}
	}
	defer flush()
	meta := writer.EventMeta{Peer: c.peer, Auth: c.auth, TLS: c.tlsDesc}
	for {
		c.setDeadline(r)
		f, err := r.Next()
		if err != nil {
			flush()
			return c.endReason(err)
		}
		if b == nil {
			b = getBatch()
		}
		msg := p.Parse(f.Data)
		c.idBuf = c.s.ids.AppendID(c.idBuf[:0], c.s.ids.Next())
		meta.Time = time.Now()
		meta.ID = c.idBuf
		meta.TruncSize = 0
		if f.Truncated {
			meta.TruncSize = f.Size
		}
		meta.Partial = f.Partial
		b.events = writer.AppendEvent(b.events, &meta, &msg)
		b.lines++
		c.messages++
		c.bytes += f.Size
		if f.Truncated {
			c.oversized(b, f)
		}
		if msg.Format == parse.FormatRaw {
			c.parseFailed(b)
		}
		if r.Buffered() == 0 || len(b.events) >= batchLimit {
			flush()
		}
	}
}

// oversized records a frame longer than --max-message-size: its ID, full
// length and SHA-256, so the cut part can still be matched (SPEC §2).
func (c *conn) oversized(b *batch, f parse.Frame) {
	if !c.s.limiter.allow(c.ip, "oversized", time.Now()) {
		return
	}
	c.detail.Reset()
	c.detail.Str("ref", string(c.idBuf))
	c.detail.Int("length", f.Size)
	c.detail.Str("sha256", hex.EncodeToString(f.SHA256[:]))
	c.detail.Int("max_message_size", int64(c.s.cfg.MaxMessageSize))
	b.security = c.appendEvent(b.security, "oversized", "failure", &c.detail)
}

func (c *conn) parseFailed(b *batch) {
	if !c.s.limiter.allow(c.ip, "parse_failed", time.Now()) {
		return
	}
	c.detail.Reset()
	c.detail.Str("ref", string(c.idBuf))
	c.detail.Str("reason", "neither rfc5424 nor rfc3164")
	b.security = c.appendEvent(b.security, "parse_failed", "failure", &c.detail)
}

// endReason turns the error that ended reading into the disconnect reason,
// logging a frame_error first when the octet count was malformed.
func (c *conn) endReason(err error) string {
	var fe *parse.FrameError
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.As(err, &fe):
		c.detail.Reset()
		c.detail.Str("reason", "malformed_octet_count")
		c.detail.Str("error", fe.Error())
		c.detail.Str("ref", string(c.idBuf))
		c.event("frame_error", "failure", &c.detail, true)
		return "frame_error"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		if c.s.graceEnd.Load() != nil {
			return "shutdown"
		}
		return "timeout"
	default:
		return "error: " + err.Error()
	}
}

// setDeadline keeps a stalled client from pinning its buffer for ever:
// once part of a frame is buffered, the rest must come within
// FrameTimeout; between frames IdleTimeout applies (0 = none). At
// shutdown the grace end wins. The deadline is only moved when it changes
// by more than a second, to keep the per-frame cost near zero.
func (c *conn) setDeadline(r *parse.Reader) {
	var d time.Time
	now := time.Now()
	if r.Buffered() > 0 && c.s.cfg.FrameTimeout > 0 {
		d = now.Add(c.s.cfg.FrameTimeout)
	} else if c.s.cfg.IdleTimeout > 0 {
		d = now.Add(c.s.cfg.IdleTimeout)
	}
	if g := c.s.graceEnd.Load(); g != nil && (d.IsZero() || g.Before(d)) {
		d = *g
	}
	if d.Equal(c.deadline) || (!d.IsZero() && !c.deadline.IsZero() && d.Sub(c.deadline).Abs() < time.Second && c.s.graceEnd.Load() == nil) {
		return
	}
	c.deadline = d
	c.nc.SetReadDeadline(d)
	// Shutdown may have set the grace deadline between our read of
	// graceEnd and the call above; never let ours replace it.
	if g := c.s.graceEnd.Load(); g != nil && !g.Equal(d) {
		c.deadline = *g
		c.nc.SetReadDeadline(*g)
	}
}
