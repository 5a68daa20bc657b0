package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealog/sealog/metrics"
	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/tlog"
	"github.com/sealog/sealog/writer"
)

// Server receives syslog and hands it to the pipeline. It is shaped like
// net/http.Server: Serve, ServePlain and ServePacket take sockets opened
// elsewhere (tests, socket activation), and Shutdown drains.
type Server struct {
	cfg    Config
	log    *slog.Logger
	stderr io.Writer
	ids    *writer.IDGen
	pipe   *pipeline
	chain  *seal.Chain
	// keyWarnings: key files where they should not be, key memory not
	// locked (for stderr and the start event).
	keyWarnings []string
	// checkpoints signs and writes DIR/checkpoint after every seal; nil
	// without a log key.
	checkpoints *tlog.Publisher
	// ckptHealth records failed writes of DIR/checkpoint for the write
	// stage to report; nil without a log key.
	ckptHealth *checkpointHealth
	// witnesses asks --witness witnesses to cosign the checkpoints; nil
	// without witnesses.
	witnesses *witnessing
	limiter   *limiter
	pruner    *pruner
	tls       atomic.Pointer[tlsMaterial]

	mu        sync.Mutex // guards the fields below
	listeners map[io.Closer]struct{}
	conns     map[*conn]struct{}
	closing   bool

	active    atomic.Int64 // open stream connections, for --max-connections
	connWG    sync.WaitGroup
	graceEnd  atomic.Pointer[time.Time] // set by Shutdown: reads end here
	stopOnce  sync.Once
	bgCancel  context.CancelFunc
	bgWG      sync.WaitGroup
	pipeStart sync.Once
}

// New prepares everything that must hold before the first byte is read
// (docs/format.md §3.1, §4, §5): the directory, the attribute check, the seal
// chain, crash recovery of files left unsealed, fresh active files and
// the start event. listeners describes what Run opened, for that event.
func New(cfg Config, listeners []string, log *slog.Logger, stderr io.Writer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		stderr:    stderr,
		limiter:   newLimiter(),
		listeners: map[io.Closer]struct{}{},
		conns:     map[*conn]struct{}{},
	}
	if len(cfg.Listen) > 0 || len(cfg.ListenRELP) > 0 || cfg.TLSCert != "" {
		m, err := loadTLSMaterial(cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA, cfg.TLSCRLs)
		if err != nil {
			return nil, err
		}
		s.tls.Store(m)
	}
	ids, err := writer.NewIDGen(cfg.Instance)
	if err != nil {
		return nil, configErrorf("--instance: %v", err)
	}
	s.ids = ids

	if err := CheckDir(cfg.Dir); err != nil {
		return nil, err
	}
	chattr := !cfg.NoChattr
	if chattr {
		if err := rotate.CheckAttributes(cfg.Dir); err != nil {
			if !cfg.DevChattrFallback {
				return nil, fmt.Errorf("cannot keep files append-only in %s (run with CAP_LINUX_IMMUTABLE on a filesystem that supports chattr, or pass --no-chattr): %w", cfg.Dir, err)
			}
			fmt.Fprintf(stderr, "sealog: warning: %v; --dev continues without append-only attributes (--no-chattr)\n", err)
			chattr = false
			s.cfg.NoChattr = true
		}
	}
	var appendOnly func(*os.File) error
	if chattr {
		appendOnly = rotate.SetAppendOnly
	}
	chainOpt := seal.ChainOptions{AppendOnly: appendOnly, Head: stderr, OnSeal: s.countSeal}
	if len(cfg.Witnesses) > 0 && cfg.LogKeyPath == "" {
		// (Not in Validate: serve finds the default log key after it.)
		return nil, configErrorf("--witness needs a log key to sign the checkpoints witnesses cosign (sealog keygen makes log.key; name it with --log-key)")
	}
	if cfg.LogKeyPath != "" {
		signer, err := tlog.LoadSigner(cfg.LogKeyPath)
		if err != nil {
			return nil, configErrorf("--log-key %s: %v", cfg.LogKeyPath, err)
		}
		s.checkpoints = tlog.NewPublisher(cfg.Dir, signer, stderr)
		s.ckptHealth = newCheckpointHealth(stderr, cfg.Metrics)
		chainOpt.Sealed = s.publishCheckpoint
	}
	chain, err := seal.OpenChain(cfg.Dir, cfg.KeyPath, chainOpt)
	if err != nil {
		if errors.Is(err, seal.ErrKeyState) {
			return nil, sealKeyError(cfg.KeyPath, err)
		}
		return nil, fmt.Errorf("open seal chain in %s: %w", cfg.Dir, err)
	}
	s.chain = chain
	s.keyWarnings = append(chain.Warnings(), verifyKeyInDir(cfg.Dir, cfg.KeyPath)...)
	for _, w := range s.keyWarnings {
		fmt.Fprintf(stderr, "sealog: warning: %s\n", w)
	}
	if size, root := chain.SealsTree().Head(); s.checkpoints != nil && size > 0 {
		// The checkpoint of the chain as found, unless DIR/checkpoint
		// says it already: it may be missing (the log key is new) or
		// behind (a crash before it was replaced).
		msg, err := tlog.ReadFile(filepath.Join(cfg.Dir, tlog.CheckpointName))
		if cp, perr := tlog.Peek(msg); err != nil || perr != nil || cp.Size != size || cp.Root != root || cp.Origin != s.checkpoints.Origin() {
			s.publishCheckpoint(size, root)
		} else {
			s.checkpoints.Adopt(cp, msg)
		}
	}
	found, err := rotate.Scan(cfg.Dir)
	if err != nil {
		chain.Close()
		return nil, fmt.Errorf("scan %s: %w", cfg.Dir, err)
	}
	s.pipe = newPipeline(&s.cfg, chain, ids, chattr, log, stderr)
	s.pipe.ckpt = s.ckptHealth
	if err := s.pipe.open(); err != nil {
		chain.Close()
		return nil, err
	}
	s.startEvent(listeners, chattr)
	s.pipe.reportCheckpoint() // the start-up checkpoint's failure, if any
	if torn, ok := chain.Torn(); ok {
		// A seal line cut off by a failed write before the last stop;
		// the chain ended it with an LF and goes on (see seal.OpenChain).
		var d writer.Detail
		d.Str("file", "seals.log")
		d.Int("line", int64(torn.Line))
		d.Int("bytes", int64(torn.Bytes))
		d.Bool("torn", true)
		d.Bool("complete", torn.Complete)
		s.pipe.securityEvent("recover", "success", &d)
		fmt.Fprintf(stderr, "sealog: seals.log line %d was an interrupted seal line (%d bytes); ended it and continued the chain\n", torn.Line, torn.Bytes)
	}
	s.pruner = newPruner(s)
	lost := s.pruner.lostEvents(found) // before recover seals the crashed files
	if err := s.pipe.recover(found); err != nil {
		chain.Close()
		return nil, err
	}
	s.pruner.finishInterrupted(found, lost)
	// Everything said so far is on disk before the first client is served.
	s.pipe.security.flush()
	s.pipe.security.sync()
	if len(cfg.Witnesses) > 0 {
		s.witnesses = startWitnessing(cfg.Witnesses, s.checkpoints, s.ckptHealth, chain.SealsTree(), cfg.Metrics, s.serverEvent, stderr)
	}
	return s, nil
}

// publishCheckpoint signs and writes the checkpoint of the seals tree
// (docs/format.md §7.2). It runs inside seal.Chain.Seal, with the chain's
// lock held, on whichever goroutine sealed. A failure is a write_error
// (ckptHealth, which the write stage reports later); the next seal writes
// a newer checkpoint, and the seals themselves are not held up.
func (s *Server) publishCheckpoint(size uint64, root tlog.Hash) {
	msg, err := s.checkpoints.Publish(size, root)
	s.ckptHealth.note(size, "checkpoint", err)
	if err != nil {
		return
	}
	if s.witnesses != nil {
		s.witnesses.submit(size, msg)
	}
	s.cfg.Metrics.CheckpointWritten(size)
}

// Checkpoints returns the publisher of DIR/checkpoint (nil without a log
// key) and the seals tree it signs, for witnessing.
func (s *Server) Checkpoints() (*tlog.Publisher, *tlog.Tree) {
	return s.checkpoints, s.chain.SealsTree()
}

// start runs the pipeline and the background workers, once. Serve* and
// Shutdown call it, so nothing runs before New has fully succeeded.
func (s *Server) start() {
	s.pipeStart.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.bgCancel = cancel
		go s.pipe.run()
		s.bgWG.Add(1)
		go func() {
			defer s.bgWG.Done()
			s.limiter.run(ctx, s.emitSuppressed)
		}()
		if !s.pruner.policy.Off() {
			s.bgWG.Add(1)
			go func() {
				defer s.bgWG.Done()
				s.pruner.run(ctx)
			}()
		}
	})
}

func (s *Server) startEvent(listeners []string, chattr bool) {
	var d writer.Detail
	d.Str("version", s.cfg.Version)
	d.Str("instance", s.cfg.Instance)
	d.Strs("listeners", listeners)
	d.Str("config_sha256", s.cfg.Hash())
	d.Bool("chattr", chattr)
	var warnings []string
	if !chattr {
		warnings = append(warnings, "running without append-only attributes (--no-chattr)")
	}
	if s.checkpoints != nil {
		d.Str("origin", s.checkpoints.Origin())
		if len(s.cfg.Witnesses) > 0 {
			// Who is asked to cosign (docs/format.md §7.3), by key name.
			var names []string
			for _, w := range s.cfg.Witnesses {
				names = append(names, w.Key.Name())
			}
			d.Strs("witnesses", names)
		}
	} else {
		warnings = append(warnings, "no log key (--log-key): no signed checkpoints")
	}
	if m := s.tls.Load(); m != nil {
		warnings = append(warnings, m.warnings...)
		for _, w := range m.warnings {
			fmt.Fprintf(s.stderr, "sealog: warning: %s\n", w)
		}
	}
	warnings = append(warnings, s.keyWarnings...)
	if len(warnings) > 0 {
		d.Str("warning", strings.Join(warnings, "; "))
	}
	d.Int("max_message_size", int64(s.cfg.MaxMessageSize))
	d.Str("retain", s.cfg.Retain.String())
	d.Int("retain_size", s.cfg.RetainSize)
	s.pipe.securityEvent("start", "success", &d)
}

// serverEvent submits one of the server's own events (no peer) from any
// goroutine other than the pipeline's.
func (s *Server) serverEvent(action, result string, d *writer.Detail) {
	b := getBatch()
	ev := writer.SecurityEvent{Time: time.Now(), ID: s.ids.AppendID(nil, s.ids.Next()), Action: action, Result: result, Detail: d}
	b.security = writer.AppendSecurity(b.security, &ev)
	s.pipe.submit(b)
}

func (s *Server) emitSuppressed(sum suppressedSummary) {
	var d writer.Detail
	d.Str("source", sum.source)
	d.Int("count", int64(sum.count))
	var counts writer.Detail
	for _, a := range sortedKeys(sum.counts) {
		counts.Int(a, int64(sum.counts[a]))
	}
	d.Object("counts", &counts)
	d.Str("minute", string(writer.AppendTime(nil, sum.minute)))
	s.serverEvent("suppressed", "failure", &d)
}

func (s *Server) track(l io.Closer, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing {
			return false
		}
		s.listeners[l] = struct{}{}
	} else {
		delete(s.listeners, l)
	}
	return true
}

// ErrServerClosed is returned by Serve* after Shutdown.
var ErrServerClosed = errors.New("sealog: server closed")

// Serve accepts TLS connections (RFC 5425) on l until Shutdown.
func (s *Server) Serve(l net.Listener) error { return s.serveStream(l, streamKind{tls: true}) }

// ServePlain accepts unencrypted TCP connections (RFC 6587) on l.
func (s *Server) ServePlain(l net.Listener) error { return s.serveStream(l, streamKind{}) }

// ServeRELP accepts RELP sessions over TLS on l (docs/format.md §9.1).
func (s *Server) ServeRELP(l net.Listener) error {
	return s.serveStream(l, streamKind{tls: true, relp: true})
}

// ServeRELPPlain accepts RELP sessions in plain text on l.
func (s *Server) ServeRELPPlain(l net.Listener) error {
	return s.serveStream(l, streamKind{relp: true})
}

// streamKind is what a stream listener speaks.
type streamKind struct {
	tls  bool // TLS first (RFC 5425), else plain TCP
	relp bool // RELP commands, else syslog frames (RFC 6587)
}

// String names the kind as Listeners.Describe does: tls, tcp, relp,
// relp-tcp.
func (k streamKind) String() string {
	switch {
	case k.relp && k.tls:
		return "relp"
	case k.relp:
		return "relp-tcp"
	case k.tls:
		return "tls"
	default:
		return "tcp"
	}
}

// serveStream is the accept loop (STYLE 5): back off on temporary errors,
// return on close, one goroutine per connection, refusals logged.
func (s *Server) serveStream(l net.Listener, kind streamKind) error {
	s.start()
	if !s.track(l, true) {
		return ErrServerClosed
	}
	defer s.track(l, false)
	ml := s.cfg.Metrics.Listener(kind.String() + " " + l.Addr().String())
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosing() || errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.accept(nc, kind, ml)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// accept applies --allow-from and --max-connections before any byte is
// read, so a refused client costs nothing but the refusal event. (A
// balancer's connection is checked again with the client's address once
// its PROXY header is read.)
func (s *Server) accept(nc net.Conn, kind streamKind, ml *metrics.Listener) {
	c := newConn(s, nc, kind.tls)
	c.relp = kind.relp
	if !s.allowed(c.ip) {
		c.refuse("not_allowed")
		return
	}
	if s.active.Add(1) > int64(s.cfg.MaxConnections) {
		s.active.Add(-1)
		c.refuse("too_many_connections")
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.active.Add(-1)
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	s.mu.Unlock()
	c.ml = ml
	ml.Accepted()
	go c.serve()
}

// isBalancer reports whether ip is a --proxy-from source, whose
// connections must begin with a PROXY header (docs/format.md §9.2).
func (s *Server) isBalancer(ip netip.Addr) bool {
	for _, p := range s.cfg.ProxyFrom {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (s *Server) allowed(ip netip.Addr) bool {
	if len(s.cfg.AllowFrom) == 0 {
		return true
	}
	for _, p := range s.cfg.AllowFrom {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.ml.Closed()
	s.active.Add(-1)
	s.connWG.Done()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// ServePacket reads UDP datagrams (RFC 5426) from pc until Shutdown: one
// datagram is one frame.
func (s *Server) ServePacket(pc net.PacketConn) error {
	s.start()
	if !s.track(pc, true) {
		return ErrServerClosed
	}
	defer s.track(pc, false)
	s.connWG.Add(1)
	defer s.connWG.Done()
	u := newPacketReader(s, pc)
	return u.serve()
}

// Shutdown stops accepting, keeps reading open connections until they
// close or --shutdown-grace ends, writes everything read, then lets the
// pipeline write the stop event and final-seal both files (docs/format.md §5).
// ctx bounds the wait for the pipeline (a disk that stays full).
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() {
		s.start() // a server that never served still seals its files
		s.mu.Lock()
		s.closing = true
		for l := range s.listeners {
			l.Close()
		}
		end := time.Now().Add(s.cfg.ShutdownGrace)
		s.graceEnd.Store(&end)
		for c := range s.conns {
			c.nc.SetReadDeadline(end)
		}
		s.mu.Unlock()

		s.connWG.Wait()
		s.bgCancel()
		s.bgWG.Wait()
		s.limiter.flushAll(s.emitSuppressed)
		if s.witnesses != nil {
			s.witnesses.closeEvents()
		}
		s.pipe.close()
		select {
		case <-s.pipe.done:
		case <-ctx.Done():
			err = fmt.Errorf("stop: files not final-sealed: %w", ctx.Err())
			return
		}
		if s.witnesses != nil {
			// The final checkpoint, within the grace (docs/format.md §7.3).
			wctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownGrace)
			s.witnesses.stop(wctx)
			cancel()
		}
		if cerr := s.chain.Close(); cerr != nil {
			err = cerr
		}
	})
	return err
}

// Dir is the log directory (for messages and tests).
func (s *Server) Dir() string { return filepath.Clean(s.cfg.Dir) }

// verifyKeyInDir warns about a verify key inside the log directory (at its
// top or one level down, where --dev keeps its keys): anyone who can read
// the logs could forge the whole chain with it (docs/format.md §10.2).
func verifyKeyInDir(dir, keyPath string) []string {
	var found []string
	besideSealKey := filepath.Join(filepath.Dir(keyPath), seal.VerifyKeyName) // warned about by the chain
	for _, pat := range []string{seal.VerifyKeyName, "*/" + seal.VerifyKeyName} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, p := range m {
			if p == besideSealKey {
				continue
			}
			found = append(found, fmt.Sprintf("%s is inside --dir: the verify key lets anyone who reads it forge the whole chain; move it off this host", p))
		}
	}
	return found
}
