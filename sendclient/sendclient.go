// Package sendclient is the client behind `sealog send`: it frames syslog
// messages (RFC 5424 or RFC 3164, octet counting per RFC 6587 §3.4.1 or LF
// framing), sends them over TLS (RFC 5425) or plain TCP, and in load mode
// generates numbered messages over several connections. It sends bytes
// verbatim, so the tests use it as an attack tool too.
package sendclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config configures `sealog send` (docs/format.md §1.2).
type Config struct {
	Server         string
	CA, Cert, Key  string
	Plain          bool   // plain TCP instead of TLS (for --listen-tcp)
	Framing        string // "octet" or "lf"
	Format         string // "rfc5424" or "rfc3164"
	Raw            bool   // send each MESSAGE as the whole frame, no header
	BOM            bool
	Hostname       string
	AppName        string
	Facility       int
	Severity       int
	Count          int // > 0: load mode
	Size           int
	Connections    int
	Rate           float64 // messages per second, all connections together; 0 = unlimited
	Timeout        time.Duration
	TLSMinVersion  uint16
	ServerNameHint string

	pid int // PROCID, read once: os.Getpid is a system call
}

// sendBufferSize batches frames into full TLS records: one Write per
// record, which is what keeps the load generator off the critical path.
const sendBufferSize = 16 << 10

// Send sends messages (or stdin lines when there are none), or a
// generated load when cfg.Count > 0. Bytes are sent verbatim: send never
// cleans anything, so it doubles as the attack tool of the tests.
func Send(ctx context.Context, cfg Config, messages [][]byte, stdin io.Reader, stderr io.Writer) error {
	if cfg.Framing != "octet" && cfg.Framing != "lf" {
		return configErrorf("--framing must be octet or lf, not %q", cfg.Framing)
	}
	if cfg.Format != "rfc5424" && cfg.Format != "rfc3164" {
		return configErrorf("--format must be rfc5424 or rfc3164, not %q", cfg.Format)
	}
	if cfg.Facility < 0 || cfg.Facility > 23 || cfg.Severity < 0 || cfg.Severity > 7 {
		return configErrorf("--facility must be 0–23 and --severity 0–7")
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return err
	}
	cfg.pid = os.Getpid()
	if cfg.Count > 0 {
		return sendLoad(ctx, cfg, tlsCfg, stderr)
	}
	c, err := cfg.dial(ctx, tlsCfg)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(c, sendBufferSize)
	var frame []byte
	fr := &framer{cfg: &cfg}
	put := func(msg []byte) error {
		frame = fr.appendFrame(frame[:0], msg, time.Now())
		_, err := w.Write(frame)
		return err
	}
	if len(messages) > 0 {
		for _, m := range messages {
			if err := put(m); err != nil {
				return cfg.failed(c, err)
			}
		}
	} else {
		r := bufio.NewReaderSize(stdin, 64<<10)
		for {
			line, rerr := r.ReadBytes('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			if len(line) > 0 || (rerr == nil) {
				if err := put(line); err != nil {
					return cfg.failed(c, err)
				}
			}
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					c.Close()
					return fmt.Errorf("read stdin: %w", rerr)
				}
				break
			}
		}
	}
	if err := w.Flush(); err != nil {
		return cfg.failed(c, err)
	}
	return cfg.closeAndWait(c)
}

// closeAndWait ends our side (TLS close_notify, then FIN) and waits for the
// server to close: once it has, it has read everything we sent. Closing
// with data still unread on either side would invite a RST that loses it.
// Anything but an orderly close is an error: with TLS 1.3 the server
// refuses a client certificate only after the client's handshake has
// returned, so its alert ("certificate required", "bad certificate")
// arrives here, on the read that waits for the close.
func (cfg *Config) closeAndWait(c net.Conn) error {
	var err error
	switch v := c.(type) {
	case *tls.Conn:
		err = v.CloseWrite()
	case *net.TCPConn:
		// Plain TCP has no handshake: a server that refuses (--allow-from)
		// just closes. If it has closed already, before our end, it did
		// not take what we sent. (An instant deadline is safe here; on a
		// TLS connection it could cut a record in half.)
		v.SetReadDeadline(time.Now())
		if _, rerr := v.Read(make([]byte, 1)); errors.Is(rerr, io.EOF) {
			v.Close()
			return cfg.refusal(rerr)
		}
		err = v.CloseWrite()
	}
	if err != nil {
		return cfg.failed(c, err)
	}
	c.SetReadDeadline(time.Now().Add(cfg.Timeout))
	if _, err = io.Copy(io.Discard, c); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.Close()
			return fmt.Errorf("%s did not close the connection within %s, so it may not have taken everything", cfg.Server, cfg.Timeout)
		}
		return cfg.failed(c, err)
	}
	c.Close()
	return nil
}

// failed closes c after err and says in one sentence why the server did
// not take what was sent. A write that fails because the server closed
// may hide the reason the server sent first, a TLS alert, so failed
// reads what is left to find it.
func (cfg *Config) failed(c net.Conn, err error) error {
	if _, ok := remoteAlert(err); !ok {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, rerr := c.Read(make([]byte, 512)); rerr != nil {
			if _, ok := remoteAlert(rerr); ok {
				err = rerr
			}
		}
	}
	c.Close()
	return cfg.refusal(err)
}

// refusal words an error from the server's side of a connection.
func (cfg *Config) refusal(err error) error {
	if alert, ok := remoteAlert(err); ok {
		return fmt.Errorf("%s refused the connection: %v", cfg.Server, alert)
	}
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ENOTCONN):
		return fmt.Errorf("%s reset the connection, so it may not have taken everything", cfg.Server)
	case errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s closed the connection early, so it may not have taken everything", cfg.Server)
	}
	return fmt.Errorf("send to %s: %w", cfg.Server, err)
}

// remoteAlert returns the TLS alert the peer sent, which crypto/tls
// reports as a *net.OpError with Op "remote error".
func remoteAlert(err error) (error, bool) {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return op.Err, true
	}
	return nil, false
}

func (cfg *Config) tlsConfig() (*tls.Config, error) {
	if cfg.Plain {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(cfg.Server)
	if err != nil {
		return nil, configErrorf("--server %q: %v", cfg.Server, err)
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.ServerNameHint != "" {
		tc.ServerName = cfg.ServerNameHint
	}
	if cfg.TLSMinVersion != 0 {
		tc.MinVersion = cfg.TLSMinVersion
	}
	if cfg.CA != "" {
		pem, err := os.ReadFile(cfg.CA)
		if err != nil {
			return nil, configErrorf("cannot read --ca %s: %v", cfg.CA, unwrapPathError(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErrorf("--ca %s holds no PEM certificate", cfg.CA)
		}
		tc.RootCAs = pool
	}
	if cfg.Cert != "" || cfg.Key != "" {
		if cfg.Cert == "" || cfg.Key == "" {
			return nil, configErrorf("--cert and --tls-key go together")
		}
		for _, f := range []string{cfg.Cert, cfg.Key} {
			if _, err := os.Stat(f); err != nil {
				return nil, configErrorf("cannot read %s: %v", f, unwrapPathError(err))
			}
		}
		cert, err := tls.LoadX509KeyPair(cfg.Cert, cfg.Key)
		if err != nil {
			return nil, configErrorf("cannot load --cert %s with --tls-key %s: %v", cfg.Cert, cfg.Key, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (cfg *Config) dial(ctx context.Context, tc *tls.Config) (net.Conn, error) {
	d := &net.Dialer{Timeout: cfg.Timeout}
	if tc == nil {
		c, err := d.DialContext(ctx, "tcp", cfg.Server)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", cfg.Server, err)
		}
		return c, nil
	}
	td := &tls.Dialer{NetDialer: d, Config: tc}
	c, err := td.DialContext(ctx, "tcp", cfg.Server)
	if alert, ok := remoteAlert(err); ok {
		return nil, fmt.Errorf("%s refused the TLS handshake: %v", cfg.Server, alert)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		// sealog closes a connection it refuses (--allow-from,
		// --max-connections) before any TLS; its security log says why.
		return nil, fmt.Errorf("%s closed the connection before the TLS handshake finished: it refused this client (its security log says why)", cfg.Server)
	}
	if err != nil {
		return nil, fmt.Errorf("TLS connection to %s failed: %w", cfg.Server, err)
	}
	return c, nil
}

// framer builds framed messages with a reusable body buffer, so the load
// generator does not allocate per message.
type framer struct {
	cfg  *Config
	body []byte
}

// appendFrame appends one framed message around msg, which goes in as it is.
func (fr *framer) appendFrame(dst, msg []byte, now time.Time) []byte {
	body := msg
	if !fr.cfg.Raw {
		fr.body = fr.cfg.appendMessage(fr.body[:0], msg, now)
		body = fr.body
	}
	if fr.cfg.Framing == "octet" {
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, ' ')
		return append(dst, body...)
	}
	dst = append(dst, body...)
	return append(dst, '\n')
}

// appendMessage builds an RFC 5424 or RFC 3164 message with msg as MSG.
func (cfg *Config) appendMessage(dst, msg []byte, now time.Time) []byte {
	pri := cfg.Facility*8 + cfg.Severity
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(pri), 10)
	dst = append(dst, '>')
	host, app := orNil(cfg.Hostname), orNil(cfg.AppName)
	if cfg.Format == "rfc3164" {
		dst = now.AppendFormat(dst, time.Stamp)
		dst = append(dst, ' ')
		dst = append(dst, host...)
		dst = append(dst, ' ')
		dst = append(dst, app...)
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, int64(cfg.pid), 10)
		dst = append(dst, "]: "...)
		return append(dst, msg...)
	}
	dst = append(dst, "1 "...)
	dst = now.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	dst = append(dst, ' ')
	dst = append(dst, host...)
	dst = append(dst, ' ')
	dst = append(dst, app...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(cfg.pid), 10)
	dst = append(dst, " - - "...)
	if cfg.BOM {
		dst = append(dst, 0xEF, 0xBB, 0xBF)
	}
	return append(dst, msg...)
}

func orNil(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sendLoad is load mode: Count messages of Size bytes over Connections
// connections at Rate messages per second, then one summary line. Only
// the messages of connections the server closed in order count as sent;
// those written on a connection that was refused, reset or cut short
// are "unconfirmed", since the server may or may not have taken them.
func sendLoad(ctx context.Context, cfg Config, tc *tls.Config, stderr io.Writer) error {
	conns := max(cfg.Connections, 1)
	var sentMsgs, sentBytes, lostMsgs atomic.Int64
	errs := make(chan error, conns)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		n := cfg.Count / conns
		if i < cfg.Count%conns {
			n++
		}
		wg.Add(1)
		go func(id, n int) {
			defer wg.Done()
			m, b, err := loadConn(ctx, cfg, tc, id, n, conns)
			if err != nil {
				lostMsgs.Add(m)
				errs <- err
				return
			}
			sentMsgs.Add(m)
			sentBytes.Add(b)
		}(i, n)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	close(errs)
	summary := fmt.Sprintf("messages=%d bytes=%d seconds=%.3f msgs/s=%.0f",
		sentMsgs.Load(), sentBytes.Load(), secs, float64(sentMsgs.Load())/secs)
	failed := len(errs)
	if failed > 0 {
		summary += fmt.Sprintf(" unconfirmed=%d failed_connections=%d", lostMsgs.Load(), failed)
	}
	fmt.Fprintln(stderr, summary)
	if failed == 0 {
		return nil
	}
	first := <-errs
	if failed == 1 {
		return first
	}
	return fmt.Errorf("%d of %d connections failed; the first: %w", failed, conns, first)
}

// loadConn sends n numbered messages on one connection. Each message's
// MSG starts with "load <conn>-<n> " so a test can find every one.
func loadConn(ctx context.Context, cfg Config, tc *tls.Config, id, n, conns int) (int64, int64, error) {
	c, err := cfg.dial(ctx, tc)
	if err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriterSize(c, sendBufferSize)
	var (
		frame, msg []byte
		bytes      int64
		hdr        int
		fr         = &framer{cfg: &cfg}
		pad        = []byte(strings.Repeat("x", max(cfg.Size, 0)))
		perConn    = cfg.Rate / float64(conns)
		start      = time.Now()
		now        = start
	)
	for i := 0; i < n; i++ {
		if i%256 == 0 {
			// The clock and the header length (it holds the timestamp)
			// are refreshed every 256 messages: cheap and close enough.
			now = time.Now()
			hdr = len(cfg.appendMessage(frame[:0], nil, now))
		}
		msg = append(msg[:0], "load "...)
		msg = strconv.AppendInt(msg, int64(id), 10)
		msg = append(msg, '-')
		msg = strconv.AppendInt(msg, int64(i), 10)
		msg = append(msg, ' ')
		if n := cfg.Size - hdr - len(msg); n > 0 {
			msg = append(msg, pad[:min(n, len(pad))]...)
		}
		frame = fr.appendFrame(frame[:0], msg, now)
		if _, err := w.Write(frame); err != nil {
			return int64(i), bytes, cfg.failed(c, err)
		}
		bytes += int64(len(frame))
		if perConn > 0 {
			due := start.Add(time.Duration(float64(i+1) / perConn * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				w.Flush()
				time.Sleep(d)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return int64(n), bytes, cfg.failed(c, err)
	}
	return int64(n), bytes, cfg.closeAndWait(c)
}

// ErrConfig is wrapped by every error that a flag or file the user gave
// caused (exit status 2 in `sealog send`).
var ErrConfig = errors.New("configuration error")

func configErrorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

// unwrapPathError drops the *os.PathError's repetition of the path, which
// the caller's message already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
