// Package server wires sealog together: it opens and serves listeners
// (TLS, and plain TCP/UDP only when asked), runs one goroutine per
// connection that frames, parses and encodes what the client sends, and
// the write stage that owns the files, their rotation and the seal chain.
//
// Dependencies point one way: server uses parse, writer, rotate, seal,
// retain and metrics; none of them knows about sockets.
//
// # The path of one event, from socket to seal
//
//  1. Accept. Serve's accept loop (serveStream) applies --allow-from and
//     --max-connections before reading a byte, then starts one goroutine
//     per connection (conn.serve), which does the TLS handshake and
//     records the connect event. A UDP socket has one goroutine
//     (packetReader.serve), and each datagram is one frame.
//  2. Read, frame, parse, encode (conn.readFrames, conn.appendFrame). The
//     connection goroutine reads the socket through deadlineReader;
//     parse.Reader cuts frames (RFC 6587 octet counting or LF) and caps
//     their size; a parse.Parser of its own parses each; writer.AppendEvent
//     encodes the event line, with its ID and the time of the read that
//     completed it, into the connection's batch. Nothing here allocates
//     per event.
//  3. Hand-off (pipeline.submit). Before its next read from the socket,
//     or once the batch holds batchLimit bytes, the connection submits the
//     batch: it goes on the queue pipeline.in, which blocks when full (so
//     TCP pushes back on the sender). If pipeline.mu is free the connection
//     takes it and does the write stage's work itself (drainQueued);
//     otherwise it kicks the pipeline goroutine, which drains once the
//     holder lets go. Either way batches are taken in queue order, so the
//     lines of one connection stay in order.
//  4. Write (pipeline.accept, stream.appendLines, stream.flush). Under
//     pipeline.mu the lines are appended to the events stream's pending
//     buffer, after a rotation if a line would take the file past
//     --rotate-size. pending goes to the kernel in one write(2) once it
//     holds flushThreshold bytes, or flushDelay after the queue ran dry
//     (the flush timer). rotate.File counts the lines and hashes every
//     byte as it writes, so a seal never reads the file back.
//  5. Durable (fsyncJob). Every --fsync-interval the pipeline goroutine
//     gives the syncer an fsyncJob with a snapshot of the file (bytes,
//     lines, SHA-256). The syncer goroutine fsyncs off the lock while
//     writing goes on; when the job comes back, the stream's durable mark
//     moves to the snapshot. With --fsync-interval 0 every drain syncs at
//     once instead (stream.sync).
//  6. Sealed (checkpointJob, finalJob). Every --seal-interval a
//     checkpointJob seals the durable prefix: seal.Chain.Seal appends a
//     line to seals.log. When the file rotates out (size or
//     --rotate-interval), writing moves to a new file and a finalJob
//     fsyncs and final-seals the old one on the syncer; back under the
//     lock it is closed, made immutable (chattr +i), and the seal and
//     rotate events go to the security stream. Shutdown closes the queue,
//     and the pipeline goroutine writes what is left and final-seals both
//     active files (pipeline.finish).
//  7. Acknowledged (RELP only, relp.go and durable.go). A RELP session
//     (conn.serveRELP) reads commands instead of frames and submits its
//     batch with a durable channel (pipeline.submitDurable). After the
//     drain that accepted it, the pipeline hands the events file to the
//     syncer at once (commitDurable), not at the next --fsync-interval;
//     when that fsyncJob (or the finalJob of a file rotated out since)
//     comes back covering the batch, the channel is closed, and the
//     session's replier goroutine writes the rsp 200 OK frames, in
//     command order. Batches of every session that arrive during one
//     fsync share the next: a group commit.
//
// # Goroutines
//
//   - One accept loop per listener (serveStream) and one goroutine per
//     stream connection (conn.serve) or UDP socket (packetReader.serve).
//     They read, parse, encode and submit, and may do the write stage's
//     work while they hold pipeline.mu.
//   - The pipeline goroutine (pipeline.run): the flush, fsync, seal and
//     rotation timers, the syncer's finished jobs, and the drains that
//     submitters kicked to it. It starts the syncer and, at the end,
//     stops it.
//   - The syncer goroutine (syncer.run): fsyncs and seals, one at a time,
//     in the order they were handed over, so a seal always follows the
//     fsync of the bytes it covers (docs/format.md §4).
//   - The limiter goroutine (limiter.run): once a minute, summaries of
//     the failure events it suppressed, submitted like any event.
//   - One replier goroutine per RELP session (conn.relpReplier): it
//     waits for each reply's durable channel and writes the answers;
//     the connection goroutine only reads.
//   - The pruner goroutine (pruner.run), with --retain or --retain-size:
//     every pruneEvery it lists the directory and, for each file the
//     retain package picks (final-sealed, and immutable, so the write
//     stage is done with it), appends the pruned seal through the chain,
//     removes the file and submits the prune event like any event. It
//     never takes pipeline.mu. At start-up, before it runs, New finishes
//     prunes a crash cut short (pruner.finishInterrupted).
//   - With --witness, one goroutine per witness (witness.Pool, started
//     by startWitnessing): each checkpoint the chain's seal publishes is
//     handed over without blocking (one pending slot per witness, newest
//     wins); the goroutine asks its witness, adds a verified cosignature
//     to DIR/checkpoint under the tlog.Publisher's lock (Amend), and
//     submits a `witness` event only when the witness's state changes.
//     Shutdown stops it after the final seals, within --shutdown-grace.
//   - The metrics HTTP server (Run, --metrics-listen): net/http's own
//     goroutines serve /metrics from metrics.Metrics, whose counters the
//     goroutines above add to (atomics: per write(2), per connection, per
//     seal; never per event).
//
// # Channels
//
//   - pipeline.in (queueDepth batches): connections to the write stage.
//     Full means back-pressure: submit blocks, the socket is not read.
//   - pipeline.kick (1, coalescing): a submitter found the lock held.
//   - syncer.req and syncer.done (16 each): jobs to the syncer and back.
//     Only the holder of pipeline.mu uses them, so a holder that waits on
//     done for a job of its own (stream.await) never loses it to another.
//   - syncer.note (1, coalescing): wakes the pipeline goroutine to take
//     finished jobs.
//   - pipeline.done: closed when the pipeline goroutine has finished;
//     Shutdown waits on it.
//
// A failed write of DIR/checkpoint happens inside a seal (the chain's
// lock held, often on the syncer) or on a witness goroutine, neither of
// which may submit: checkpointHealth only records it, and the holder of
// pipeline.mu writes the write_error and write_recovered events
// (reportCheckpoint) at the pipeline goroutine's next turn.
//
// # Locks
//
//   - pipeline.mu is the write stage: whoever holds it owns both streams,
//     their files, the fail-closed state and the security stream's
//     scratch. A failed write, fsync or seal is retried while holding it
//     (fail closed, docs/format.md §5): the queue fills and every
//     connection stops reading.
//   - Server.mu guards the listeners, the connections and closing, for
//     Shutdown.
//   - seal.Chain and limiter have locks of their own: the chain is used by
//     the syncer, the holder of pipeline.mu and the pruner.
//
// # States
//
// pipeState is the write stage's life (new, running, closed, finished);
// health is its fail-closed state (healthy, failing); a stream's marks
// (sealed ≤ durable ≤ written ≤ accepted) say how far its file got, and
// its inFlight the jobKinds it has on the syncer.
package server
