// Package relp reads and writes the frames of RELP, the Reliable Event
// Logging Protocol of rsyslog's librelp, on the server side:
//
//	FRAME   = TXNR SP COMMAND SP DATALEN [SP DATA] TRAILER
//	TXNR    = 1*9DIGIT          ; 1..999999999, then 1 again
//	COMMAND = 1*32ALPHA         ; open, syslog, close, rsp, serverclose
//	DATALEN = 1*9DIGIT          ; the bytes of DATA; 0: no SP, no DATA
//	TRAILER = LF
//
// A Reader splits a byte stream into Commands with a bounded buffer: DATA
// beyond the maximum size is read, hashed and dropped, never held, so a
// session's memory stays bounded whatever DATALEN says (docs/format.md
// §2). It also checks that transaction numbers follow each other, as
// librelp's server does. What a command means (the session: open first,
// then syslog, answered by rsp) is the caller's; this package knows
// bytes, not sockets, files or acknowledgements.
//
// Writing is AppendResponse (the rsp of one transaction), AppendOpenOK
// (the answer to open, with the server's offers) and ServerClose.
package relp
