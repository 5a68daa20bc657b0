package server

import (
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

	"github.com/sealog/sealog/metrics"
	"github.com/sealog/sealog/parse"
	"github.com/sealog/sealog/proxyproto"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/writer"
)

// batchLimit is how many bytes of event lines a connection collects
// before it hands them to the pipeline even if more input is waiting.
const batchLimit = 64 << 10

// conn is one stream connection (TLS or plain TCP).
//
// Concurrency: its own goroutine (serve) owns it: only that goroutine
// reads from the connection or changes the fields. Two others touch the
// socket, as net.Conn allows: Shutdown sets nc's read deadline and closes
// it, and a RELP session's replier (relpReplier) writes the answers and
// sets deadlines, reading no field that serve changes after starting it.
type conn struct {
	s      *Server
	nc     net.Conn // the raw socket
	rc     net.Conn // what frames are read from: the TLS conn or nc
	useTLS bool
	relp   bool   // a RELP session (relp.go), else syslog frames
	peer   string // "ip:port", the socket's view, never the client's claim [T 21.4]
	ip     netip.Addr
	// via is the balancer "ip:port" when a PROXY header from a
	// --proxy-from source named the client now in peer and ip; proxied
	// is set when such a header was read (also a LOCAL one, which
	// leaves peer the balancer's).
	via     string
	proxied bool
	tlsDesc string // TLS column
	auth    string // AUTH column
	started time.Time
	ml      *metrics.Listener // its listener's counters; nil without metrics

	messages, bytes int64
	idBuf           []byte
	detail          writer.Detail
	leaf            tlog.LeafHasher // leaf hashes of this connection's lines
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
// failure event that the per-source flood limiter suppresses (docs/format.md §5).
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
// --max-connections: a connect event with RESULT failure (docs/format.md §3.4).
func (c *conn) refuse(reason string) {
	c.nc.Close()
	c.s.cfg.Metrics.Refused(reason)
	c.detail.Reset()
	c.detail.Str("reason", reason)
	if c.via != "" {
		c.detail.Str("proxy", c.via)
	}
	c.event("connect", "failure", &c.detail, true)
}

// readProxyHeader reads the PROXY header a --proxy-from balancer must
// send first, within --handshake-timeout (docs/format.md §9.2). With a
// client named, PEER becomes the client and --allow-from is applied to
// it too. It reports whether the connection goes on; a refusal is a
// connect failure with reason proxy_header (or not_allowed).
func (c *conn) readProxyHeader() bool {
	c.nc.SetDeadline(time.Now().Add(c.s.cfg.HandshakeTimeout))
	h, err := proxyproto.Read(c.nc)
	c.nc.SetDeadline(time.Time{})
	if err != nil {
		c.nc.Close()
		c.s.cfg.Metrics.Refused("proxy_header")
		c.detail.Reset()
		c.detail.Str("reason", "proxy_header")
		if errors.Is(err, io.EOF) {
			err = errors.New("closed before a PROXY header")
		}
		c.detail.Str("error", err.Error())
		c.event("connect", "failure", &c.detail, true)
		return false
	}
	c.proxied = true
	if h.Local {
		return true // a health check: the balancer speaks for itself
	}
	src := netip.AddrPortFrom(h.Source.Addr().Unmap(), h.Source.Port())
	c.via = c.peer
	c.peer, c.ip = src.String(), src.Addr()
	if !c.s.allowed(c.ip) {
		c.refuse("not_allowed")
		return false
	}
	return true
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
	if c.s.isBalancer(c.ip) && !c.readProxyHeader() {
		return
	}
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
	if c.proxied {
		if c.via != "" {
			c.detail.Str("proxy", c.via)
		} else {
			c.detail.Str("proxy", c.peer)
			c.detail.Bool("proxy_local", true)
		}
	}
	if c.relp {
		c.detail.Str("protocol", "relp")
	}
	c.event("connect", "success", &c.detail, false)
	var reason string
	if c.relp {
		reason = c.serveRELP()
	} else {
		reason = c.readFrames()
	}
	c.detail.Reset()
	c.detail.Int("messages", c.messages)
	c.detail.Int("bytes", c.bytes)
	c.detail.Int("duration_ms", time.Since(c.started).Milliseconds())
	c.detail.Str("reason", reason)
	c.event("disconnect", "success", &c.detail, false)
}

// handshake runs the TLS handshake under --handshake-timeout and logs a
// classified failure (docs/format.md §3.4).
func (c *conn) handshake() bool {
	var denied *x509.Certificate
	counted := &countingConn{Conn: c.nc}
	tc := tls.Server(counted, c.s.serverTLSConfig(&denied))
	// The socket deadline bounds the whole handshake, reads and writes.
	c.nc.SetDeadline(time.Now().Add(c.s.cfg.HandshakeTimeout))
	err := tc.Handshake()
	c.nc.SetDeadline(time.Time{})
	if err != nil {
		reason := handshakeReason(err)
		c.s.cfg.Metrics.HandshakeFailed(reason)
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

// testHookFrame, when non-nil, is called with every frame before it is
// parsed. It is a test hook only (server/panic_test.go makes a connection
// goroutine panic through it, ASVS 16.5.4); production code never sets it.
var testHookFrame func(data []byte)

// readFrames is the per-event hot path: frame, parse, encode into the
// connection's batch, and hand the batch over before the next read from
// the socket (or when it is full). It returns why the connection ended.
func (c *conn) readFrames() string {
	var b *batch
	flush := func() {
		if b != nil {
			c.s.pipe.submit(b)
			b = nil
		}
	}
	defer flush()
	dr := &deadlineReader{c: c, src: c.rc, beforeRead: flush}
	r := parse.NewReader(dr, c.s.cfg.MaxMessageSize)
	p := parse.NewParser()
	meta := writer.EventMeta{Peer: c.peer, Auth: c.auth, TLS: c.tlsDesc, Via: c.via}
	for {
		dr.beginFrame(r.Buffered() > 0)
		f, err := r.Next()
		if err != nil {
			flush()
			return c.endReason(err)
		}
		if testHookFrame != nil {
			testHookFrame(f.Data)
		}
		if b == nil {
			b = getBatch()
		}
		// Every frame Next returns was completed by the latest read (it
		// reads only when no whole frame is buffered), so that read's
		// time is its receive time: one clock read per read, not per
		// event (the clock was 4 % of the CPU).
		meta.Time = dr.lastRead
		c.appendFrame(b, p, f, &meta)
		if len(b.events) >= batchLimit {
			flush()
		}
	}
}

// appendFrame is the per-event work shared by stream connections and
// datagrams: parse, stamp with an ID, encode into the batch, and record an
// oversized or unparsable frame in the security stream. meta.Time is the
// receive time, set by the caller.
func (c *conn) appendFrame(b *batch, p *parse.Parser, f parse.Frame, meta *writer.EventMeta) {
	msg := p.Parse(f.Data)
	c.idBuf = c.s.ids.AppendID(c.idBuf[:0], c.s.ids.Next())
	meta.ID = c.idBuf
	meta.TruncSize = 0
	if f.Truncated {
		meta.TruncSize = f.Size
	}
	meta.Partial = f.Partial
	if f.Partial {
		c.s.cfg.Metrics.Frames(0, 1, 0)
	}
	start := len(b.events)
	b.events = writer.AppendEvent(b.events, meta, &msg)
	// The line's leaf of its file's tree (docs/format.md §4 ROOT) is
	// hashed here, on the connection's goroutine, in parallel with the
	// others: the writer then does one node hash per line, not a pass
	// over every byte.
	b.leaves = append(b.leaves, c.leaf.Sum(b.events[start:len(b.events)-1]))
	b.lines++
	c.messages++
	// Payload bytes received (docs/format.md §3.4 `bytes`): not a partial
	// frame's declared count, which the sender chose.
	c.bytes += f.ReceivedSize()
	// Flagged frames are rare: counting them here costs the common
	// frame one branch it takes anyway.
	if f.Truncated {
		c.s.cfg.Metrics.Frames(1, 0, 0)
		c.oversized(b, f)
	}
	if msg.Format == parse.FormatRaw {
		c.s.cfg.Metrics.Frames(0, 0, 1)
		c.parseFailed(b)
	}
}

// oversized records a frame longer than --max-message-size: its ID, full
// length and SHA-256, so the cut part can still be matched (docs/format.md §2).
func (c *conn) oversized(b *batch, f parse.Frame) {
	if !c.s.limiter.allow(c.ip, "oversized", time.Now()) {
		return
	}
	c.detail.Reset()
	c.detail.Str("ref", string(c.idBuf))
	c.detail.Int("length", f.Size)
	c.detail.Str("sha256", hex.EncodeToString(f.SHA256[:]))
	if f.Partial {
		// The stream ended inside the frame: length is what its count
		// declared, sha256 covers the bytes that came, and these are
		// how many.
		c.detail.Int("received", f.ReceivedSize())
	}
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

// refLast adds the ID of the connection's last event as `ref` to a
// frame_error: everything up to it was kept. A connection whose very
// first bytes were bad has no event to name, and gets no ref rather than
// an empty one.
func (c *conn) refLast() {
	if len(c.idBuf) > 0 {
		c.detail.Str("ref", string(c.idBuf))
	}
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
		c.refLast()
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

// deadlineReader sits between the socket and the frame reader and sets
// the read deadline before every read: while waiting for the first byte
// of a frame, --idle-timeout applies (0 = none: appliances keep quiet
// connections for days); once a frame has begun, its rest must arrive
// within --frame-timeout, so a stalled partial frame cannot pin its
// buffer for ever. At shutdown the end of the grace period wins.
type deadlineReader struct {
	c   *conn
	src io.Reader
	// beforeRead runs before every read from the socket, the only place
	// a connection can block: lines already encoded are handed to the
	// pipeline first, so a slow or stalled sender never holds back
	// events it has already delivered.
	beforeRead func()
	midFrame   bool      // bytes of an unfinished frame are already held
	lastRead   time.Time // when the latest read returned bytes: their receive time
	frameEnd   time.Time // deadline of the frame in progress
	set        time.Time // deadline currently set on the socket
}

// beginFrame is called before each Next: held bytes mean the next read
// continues a frame.
func (d *deadlineReader) beginFrame(held bool) {
	d.midFrame = held
	d.frameEnd = time.Time{}
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.beforeRead()
	cfg := &d.c.s.cfg
	var dl time.Time
	if d.midFrame && cfg.FrameTimeout > 0 {
		if d.frameEnd.IsZero() {
			d.frameEnd = time.Now().Add(cfg.FrameTimeout)
		}
		dl = d.frameEnd
	} else if !d.midFrame && cfg.IdleTimeout > 0 {
		dl = time.Now().Add(cfg.IdleTimeout)
		// Close enough: spare the timer update. The slack must be a small
		// part of the timeout, or a busy client is cut: with a fixed 1 s
		// and --idle-timeout 1s the deadline never moved and every
		// connection was closed 1 s after its first read.
		if dl.Sub(d.set) < min(time.Second, cfg.IdleTimeout/8) && dl.After(d.set) {
			dl = d.set
		}
	}
	if g := d.c.s.graceEnd.Load(); g != nil && (dl.IsZero() || g.Before(dl)) {
		dl = *g
	}
	if !dl.Equal(d.set) {
		d.set = dl
		d.c.nc.SetReadDeadline(dl)
	}
	n, err := d.src.Read(p)
	if n > 0 {
		d.lastRead = time.Now()
		d.midFrame = true // whatever came is the start of a frame
	}
	// Shutdown may have set the grace deadline between our read of
	// graceEnd and SetReadDeadline; make sure ours did not replace it.
	if g := d.c.s.graceEnd.Load(); g != nil && !g.Equal(d.set) {
		d.set = *g
		d.c.nc.SetReadDeadline(*g)
	}
	return n, err
}
