package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/sealog/sealog/parse"
	"github.com/sealog/sealog/relp"
	"github.com/sealog/sealog/writer"
)

// relpState is where a RELP session is (librelp's server session).
type relpState int

const (
	relpAwaitOpen relpState = iota // only open is allowed
	relpOpen                       // syslog and close are allowed
)

// relpReply is one answer of a session, in the order of its commands:
// rsp frames (and at the end serverclose) go out once durable is closed
// (nil: at once). A window of syslog commands read together shares one
// reply and one commit.
type relpReply struct {
	durable <-chan struct{}
	frames  []byte
}

// relpReplyDepth bounds the replies waiting for their commit. rsyslog's
// window is 128 commands; a full queue holds the reader back, which holds
// the sender back (its window fills), never memory.
const relpReplyDepth = 64

// relpReplyBytes bounds the answers one reply carries: the reader hands
// them over once this many are collected. Some answers are longer than
// their commands (a repeated open of 9 bytes is answered with 47), so
// without it what one read of the socket brings could be answered with
// five times its size, and a sender that never reads its answers could
// make a session hold relpReplyDepth times that. With it, a session's
// answers in memory stay below relpReplyDepth × (relpReplyBytes + one
// answer), in the queue and again in the replier's write buffer, whatever
// the sender sends. A window of 128 syslog answers is about 2 KiB.
const relpReplyBytes = 4 << 10

// errReplyFailed ends a session's reading once its answers can no
// longer be written.
var errReplyFailed = errors.New("relp: the sender does not take its answers")

// failedReader returns errReplyFailed instead of reading once failed is
// set, so that a session whose replier gave up ends even if the reader
// set a new read deadline after the replier's wake-up (the sender may
// then send nothing for ever).
type failedReader struct {
	src    io.Reader
	failed *atomic.Bool
}

func (f failedReader) Read(p []byte) (int, error) {
	if f.failed.Load() {
		return 0, errReplyFailed
	}
	return f.src.Read(p)
}

// relpFrame is a syslog command's data as the frame of docs/format.md §2
// that every transport hands to appendFrame.
func relpFrame(cmd relp.Command) parse.Frame {
	return parse.Frame{Data: cmd.Data, Size: cmd.Size, Truncated: cmd.Truncated, Partial: cmd.Partial, SHA256: cmd.SHA256}
}

// serveRELP runs a RELP session (docs/format.md §9.1) on an established
// connection and returns why it ended. The reader (this goroutine)
// frames, parses and encodes like readFrames; every syslog command is
// answered rsp 200 OK by the replier goroutine only once the pipeline
// says its event is fsynced. Answers keep the order of the commands.
//
// A malformed command, a transaction number out of sequence, an unknown
// command or a syslog before open is a frame_error: everything read
// before it is written and acknowledged, then serverclose, then the end.
// So is a graceful stop (without the frame_error).
func (c *conn) serveRELP() string {
	replies := make(chan relpReply, relpReplyDepth)
	replierDone := make(chan struct{})
	var replyFailed atomic.Bool
	go c.relpReplier(replies, replierDone, &replyFailed)
	var (
		b      *batch
		answer []byte // rsp frames of the commands in b, in order
		state  = relpAwaitOpen
	)
	// flush hands the commands read so far to the pipeline and their
	// answers to the replier. Only syslog needs a commit: a batch with no
	// events is answered at once (in order).
	flush := func() {
		if b == nil && len(answer) == 0 {
			return
		}
		var r relpReply
		if b != nil {
			if len(b.events) > 0 {
				r.durable = c.s.pipe.submitDurable(b)
			} else {
				c.s.pipe.submit(b)
			}
			b = nil
		}
		r.frames, answer = answer, nil
		replies <- r
	}
	end := func(reason string, serverClose bool) string {
		flush()
		if serverClose {
			replies <- relpReply{frames: relp.ServerClose}
		}
		close(replies)
		<-replierDone
		return reason
	}

	// The check of failed comes after deadlineReader set its deadline:
	// the replier sets failed before it sets the deadline that wakes the
	// reader, so one of the two stops the read.
	dr := &deadlineReader{c: c, src: failedReader{src: c.rc, failed: &replyFailed}, beforeRead: flush}
	r := relp.NewReader(dr, c.s.cfg.MaxMessageSize)
	p := parse.NewParser()
	meta := writer.EventMeta{Peer: c.peer, Auth: c.auth, TLS: c.tlsDesc, Via: c.via, RELP: true}
	for {
		dr.beginFrame(r.Buffered() > 0)
		cmd, err := r.Next()
		if replyFailed.Load() {
			// The sender does not take its answers: what it sends
			// now would never be acknowledged. What was read is still
			// written (docs/format.md §2), then the session ends.
			if err == nil && cmd.Name == relp.CmdSyslog && cmd.Txnr != 0 && state == relpOpen {
				if b == nil {
					b = getBatch()
				}
				meta.Time = dr.lastRead
				c.appendFrame(b, p, relpFrame(cmd), &meta)
			}
			return end("reply_failed", false)
		}
		if err != nil {
			reason, serverClose := c.relpEndReason(err)
			return end(reason, serverClose)
		}
		if cmd.Txnr == 0 {
			// TXNR 0 is the server's (serverclose); a client counts from 1.
			c.relpFrameError("txnr_sequence", "command "+cmd.Name+" with transaction number 0")
			return end("frame_error", true)
		}
		switch {
		case cmd.Name == relp.CmdSyslog && state == relpOpen:
			if testHookFrame != nil {
				testHookFrame(cmd.Data)
			}
			if b == nil {
				b = getBatch()
			}
			meta.Time = dr.lastRead
			c.appendFrame(b, p, relpFrame(cmd), &meta)
			if cmd.Partial {
				// Cut by the end of the connection: written (docs/format.md
				// §2), not acknowledged; the sender sends it again.
				continue
			}
			answer = relp.AppendResponse(answer, cmd.Txnr, 200, "OK")
			if len(b.events) >= batchLimit || len(answer) >= relpReplyBytes {
				flush()
			}
		case cmd.Name == relp.CmdOpen && !cmd.Partial:
			if state == relpOpen {
				// librelp answers a second open and goes on.
				answer = relp.AppendResponse(answer, cmd.Txnr, 200, "connection already open - ignored")
				if len(answer) >= relpReplyBytes {
					flush()
				}
				continue
			}
			if !relp.Offered(cmd.Data, "commands", relp.CmdSyslog) {
				answer = relp.AppendResponse(answer, cmd.Txnr, 500, "required command syslog not offered by client")
				c.relpFrameError("open_without_syslog", "the client does not offer the syslog command")
				return end("frame_error", true)
			}
			answer = relp.AppendOpenOK(answer, cmd.Txnr)
			state = relpOpen
		case cmd.Name == relp.CmdClose && !cmd.Partial:
			// Everything before it is acknowledged first; the client
			// closes the connection after this answer.
			answer = relp.AppendFrame(answer, cmd.Txnr, "rsp", nil)
			return end("close", false)
		case cmd.Partial:
			return end(c.endReason(io.EOF), false)
		default:
			what := "unknown command " + cmd.Name
			if state == relpAwaitOpen {
				what = cmd.Name + " before open"
			}
			c.relpFrameError("bad_command", what)
			return end("frame_error", true)
		}
	}
}

// relpReplier writes a session's answers in order, each once its events
// are durable. It is the only writer of the connection; the reader only
// reads (a tls.Conn allows one of each at a time). A write that fails
// (the sender is gone, or has not read its answers for
// --handshake-timeout plus --shutdown-grace) sets failed and ends the
// session's reading too.
func (c *conn) relpReplier(replies <-chan relpReply, done chan<- struct{}, failed *atomic.Bool) {
	defer close(done)
	var out []byte
	for r := range replies {
		if r.durable != nil {
			<-r.durable
		}
		if failed.Load() {
			continue
		}
		out = append(out[:0], r.frames...)
		// Answers that are ready too go out in the same write.
	more:
		for {
			select {
			case next, ok := <-replies:
				if !ok {
					break more
				}
				if next.durable != nil {
					<-next.durable
				}
				out = append(out, next.frames...)
			default:
				break more
			}
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.HandshakeTimeout + c.s.cfg.ShutdownGrace))
		if _, err := c.rc.Write(out); err != nil {
			failed.Store(true)
			c.nc.SetReadDeadline(time.Now()) // wake the reader
		}
	}
}

// relpFrameError records a session ended for breaking the protocol.
func (c *conn) relpFrameError(reason, msg string) {
	c.detail.Reset()
	c.detail.Str("reason", reason)
	c.detail.Client("error", []byte(msg))
	c.refLast()
	c.event("frame_error", "failure", &c.detail, true)
}

// relpEndReason turns the error that ended a session into the
// disconnect reason, and says whether serverclose is still sent: after a
// frame_error and at a graceful stop, when the client still listens.
func (c *conn) relpEndReason(err error) (string, bool) {
	var fe *relp.FrameError
	var ne net.Error
	switch {
	case errors.As(err, &fe):
		c.relpFrameError(fe.Reason, fe.Detail)
		return "frame_error", true
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "eof", false
	case (errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, os.ErrDeadlineExceeded):
		reason := c.endReason(err)
		return reason, true
	default:
		return c.endReason(err), false
	}
}
