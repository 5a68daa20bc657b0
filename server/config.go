package server

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sealog/sealog/metrics"
	"github.com/sealog/sealog/rotate"
	"github.com/sealog/sealog/seal"
	"github.com/sealog/sealog/witness"
)

// MinMessageSize is the smallest --max-message-size allowed: attackers pad
// events past short limits to hide evidence [T 19].
const MinMessageSize = 10240

// Config is the whole serve configuration (docs/operations.md). The zero value is
// not usable; start from DefaultConfig.
type Config struct {
	Listen        []string // TLS listeners (RFC 5425)
	ListenTCP     []string // plain TCP listeners (RFC 6587), unencrypted
	ListenUDP     []string // UDP listeners (RFC 5426), unencrypted
	ListenRELP    []string // RELP over TLS (docs/format.md §9.1)
	ListenRELPTCP []string // RELP in plain text, unencrypted
	// ProxyFrom lists the load balancers whose connections must begin
	// with a PROXY protocol header (docs/format.md §9.2).
	ProxyFrom []netip.Prefix
	// TLSCRLs are CRL files (PEM or DER) signed by the client CA
	// (docs/format.md §9.3).
	TLSCRLs          []string
	TLSCert, TLSKey  string
	TLSClientCA      string
	PermittedPeers   []string
	TLSMinVersion    uint16
	HandshakeTimeout time.Duration
	ShutdownGrace    time.Duration
	AllowFrom        []netip.Prefix
	MaxConnections   int
	// IdleTimeout closes a stream connection that has sent nothing for this
	// long (0 = never: appliances keep quiet connections for days, and
	// closing them makes some senders lose the next message).
	IdleTimeout time.Duration
	// FrameTimeout bounds how long one frame may take to arrive once it has
	// begun, so a stalled partial frame cannot pin its buffer forever.
	FrameTimeout time.Duration

	MaxMessageSize int
	Instance       string

	Dir     string
	KeyPath string
	// LogKeyPath is the checkpoint signer, log.key (docs/format.md §7.1);
	// empty = no signed checkpoints (the start event warns).
	LogKeyPath     string
	RotateSize     int64
	RotateInterval time.Duration
	SealInterval   time.Duration
	FsyncInterval  time.Duration
	NoChattr       bool
	// Retain and RetainSize are the retention of docs/format.md §8
	// (--retain, --retain-size); 0 = keep forever, no size limit.
	Retain     time.Duration
	RetainSize int64
	// Witnesses are asked to cosign every checkpoint (--witness,
	// docs/format.md §7.3); they need a log key.
	Witnesses []witness.Witness

	// MetricsListen is the address of the Prometheus endpoint
	// (--metrics-listen); empty = off.
	MetricsListen string
	// Metrics receives the counts of docs/format.md §10.1; nil = none.
	// Run makes it when --metrics-listen is given.
	Metrics *metrics.Metrics

	Dev bool
	// DevChattrFallback is set by --dev: try chattr, fall back with a warning.
	DevChattrFallback bool

	Version string // recorded in the start event
}

// DefaultConfig returns the defaults of docs/operations.md.
func DefaultConfig() Config {
	return Config{
		Listen:           nil, // ":6514" is applied by Validate when nothing else is given
		TLSMinVersion:    tls.VersionTLS12,
		HandshakeTimeout: 10 * time.Second,
		ShutdownGrace:    2 * time.Second,
		MaxConnections:   4096,
		FrameTimeout:     5 * time.Minute,
		MaxMessageSize:   65536,
		Instance:         DefaultInstance(),
		Dir:              "/var/log/sealog",
		KeyPath:          "/var/lib/sealog/seal.key",
		RotateSize:       128 << 20,
		RotateInterval:   24 * time.Hour,
		SealInterval:     time.Minute,
		FsyncInterval:    time.Second,
	}
}

// ErrConfig is wrapped by every configuration error (exit status 2).
var ErrConfig = errors.New("configuration error")

func configErrorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

var instancePattern = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)

// DefaultInstance is the short host name, or "sealog" when the host name
// does not fit the instance pattern [T 21.3].
func DefaultInstance() string {
	h, err := os.Hostname()
	if err != nil {
		return "sealog"
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	if !instancePattern.MatchString(h) {
		return "sealog"
	}
	return h
}

// Validate checks the values an operator can get wrong and names the flag.
func (c *Config) Validate() error {
	if c.MaxMessageSize < MinMessageSize {
		return configErrorf("--max-message-size %d is below the minimum of %d bytes", c.MaxMessageSize, MinMessageSize)
	}
	if c.MaxMessageSize > 64<<20 {
		return configErrorf("--max-message-size %d is above the maximum of %d bytes", c.MaxMessageSize, 64<<20)
	}
	if !instancePattern.MatchString(c.Instance) {
		return configErrorf("--instance %q must match [A-Za-z0-9.-]+", c.Instance)
	}
	if !c.Dev && (c.TLSCert == "" || c.TLSKey == "") && len(c.Listen)+len(c.ListenRELP) > 0 {
		return configErrorf("--tls-cert and --tls-key are required (or use --dev)")
	}
	if len(c.TLSCRLs) > 0 && c.TLSClientCA == "" {
		return configErrorf("--tls-crl needs --tls-client-ca (the CA that signs the CRLs)")
	}
	if len(c.PermittedPeers) > 0 && c.TLSClientCA == "" {
		return configErrorf("--permitted-peer needs --tls-client-ca")
	}
	for _, p := range c.PermittedPeers {
		if p == "" || strings.ContainsAny(p, " \t") {
			return configErrorf("--permitted-peer %q is not a host name pattern", p)
		}
	}
	if c.MaxConnections < 1 {
		return configErrorf("--max-connections must be at least 1")
	}
	if c.HandshakeTimeout <= 0 {
		return configErrorf("--handshake-timeout must be positive")
	}
	if c.ShutdownGrace < 0 {
		return configErrorf("--shutdown-grace must not be negative")
	}
	if c.RotateSize < 4096 {
		return configErrorf("--rotate-size %d is below the minimum of 4096 bytes", c.RotateSize)
	}
	if c.RotateInterval < 0 || (c.RotateInterval > 0 && c.RotateInterval < time.Second) {
		return configErrorf("--rotate-interval must be 0 or at least 1s")
	}
	if c.SealInterval < 0 || c.FsyncInterval < 0 {
		return configErrorf("--seal-interval and --fsync-interval must not be negative")
	}
	if c.Dir == "" {
		return configErrorf("--dir must not be empty")
	}
	seen := map[string]bool{}
	for _, w := range c.Witnesses {
		if seen[w.Key.String()] {
			return configErrorf("--witness %s is given twice", w.Key.String())
		}
		seen[w.Key.String()] = true
	}
	if c.Retain < 0 {
		return configErrorf("--retain must not be negative (0 keeps files for ever)")
	}
	if c.RetainSize < 0 {
		return configErrorf("--retain-size must not be negative (0 = no limit)")
	}
	if len(c.Listen)+len(c.ListenTCP)+len(c.ListenUDP)+len(c.ListenRELP)+len(c.ListenRELPTCP) == 0 {
		return configErrorf("no listener: give --listen, --listen-tcp, --listen-udp, --listen-relp or --listen-relp-tcp")
	}
	for _, l := range []struct {
		flag  string
		addrs []string
	}{{"--listen", c.Listen}, {"--listen-tcp", c.ListenTCP}, {"--listen-udp", c.ListenUDP},
		{"--listen-relp", c.ListenRELP}, {"--listen-relp-tcp", c.ListenRELPTCP}} {
		for _, a := range l.addrs {
			if err := CheckListenAddr(l.flag, a); err != nil {
				return err
			}
		}
	}
	if c.MetricsListen != "" {
		if err := CheckListenAddr("--metrics-listen", c.MetricsListen); err != nil {
			return err
		}
	}
	return nil
}

// CheckListenAddr checks an address flag's value before anything binds
// it: HOST:PORT with a port of 0–65535. An empty value (an unset shell
// variable) would make the kernel listen on every interface and a random
// port, for the plain listeners unencrypted, so it is refused like any
// other mistake: a configuration error that names the flag.
func CheckListenAddr(flag, addr string) error {
	if strings.TrimSpace(addr) == "" {
		return configErrorf("%s is empty: give HOST:PORT (an empty address would listen on every interface and a random port)", flag)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return configErrorf("%s %q is not HOST:PORT (e.g. 0.0.0.0:6514 or [::1]:6514)", flag, addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return configErrorf("%s %q: the port must be a number from 0 to 65535", flag, addr)
	}
	return nil
}

// Hash is the SHA-256 of the effective configuration, recorded in the
// start event so an auditor can tell when the configuration changed.
// It holds no secrets: file names only, never their contents.
func (c *Config) Hash() string {
	var lines []string
	add := func(k string, v any) { lines = append(lines, fmt.Sprintf("%s=%v", k, v)) }
	add("listen", c.Listen)
	add("listen-tcp", c.ListenTCP)
	add("listen-udp", c.ListenUDP)
	// Added with RELP, PROXY and CRLs: only when set, so that the hash
	// of a configuration without them stays what it was.
	addSet := func(k string, v any, set bool) {
		if set {
			add(k, v)
		}
	}
	addSet("listen-relp", c.ListenRELP, len(c.ListenRELP) > 0)
	addSet("listen-relp-tcp", c.ListenRELPTCP, len(c.ListenRELPTCP) > 0)
	addSet("proxy-from", c.ProxyFrom, len(c.ProxyFrom) > 0)
	addSet("tls-crl", c.TLSCRLs, len(c.TLSCRLs) > 0)
	add("tls-cert", c.TLSCert)
	add("tls-key", c.TLSKey)
	add("tls-client-ca", c.TLSClientCA)
	add("permitted-peer", c.PermittedPeers)
	add("tls-min-version", c.TLSMinVersion)
	add("handshake-timeout", c.HandshakeTimeout)
	add("shutdown-grace", c.ShutdownGrace)
	add("allow-from", c.AllowFrom)
	add("max-connections", c.MaxConnections)
	add("idle-timeout", c.IdleTimeout)
	add("frame-timeout", c.FrameTimeout)
	add("max-message-size", c.MaxMessageSize)
	add("instance", c.Instance)
	add("dir", c.Dir)
	add("key", c.KeyPath)
	add("rotate-size", c.RotateSize)
	add("rotate-interval", c.RotateInterval)
	add("seal-interval", c.SealInterval)
	add("fsync-interval", c.FsyncInterval)
	add("no-chattr", c.NoChattr)
	add("retain", c.Retain)
	add("retain-size", c.RetainSize)
	var ws []string
	for _, w := range c.Witnesses {
		ws = append(ws, w.String())
	}
	add("witness", ws)
	add("dev", c.Dev)
	add("metrics-listen", c.MetricsListen)
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

// CheckDir creates the log directory if it is missing and makes sure
// sealog can write in it, before anything else is tried there: a
// directory sealog cannot write is a configuration mistake (exit 2), and
// must not be mistaken for a filesystem without chattr support, which the
// attribute check would otherwise report.
func CheckDir(dir string) error {
	if err := rotate.EnsureDir(dir); err != nil {
		if isSetupError(err) {
			return configErrorf("--dir %s: cannot create it: %v", dir, unwrapPathError(err))
		}
		return fmt.Errorf("--dir %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".sealog-write-probe-*")
	if err != nil {
		if isSetupError(err) {
			return configErrorf("--dir %s is not writable by sealog: %v", dir, unwrapPathError(err))
		}
		return fmt.Errorf("--dir %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("--dir %s: remove %s: %w", dir, filepath.Base(name), err)
	}
	return nil
}

// isSetupError tells the errors an operator fixes in the configuration
// (permissions, a read-only mount, a path through a file) from faults of
// the moment (a full disk, an I/O error).
func isSetupError(err error) bool {
	for _, e := range []error{fs.ErrPermission, syscall.EROFS, syscall.ENOTDIR, syscall.EEXIST, syscall.ENOENT} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// sealKeyError words a seal key state that OpenChain refused: one
// sentence naming --seal-key, saying what to do, with the path once.
func sealKeyError(path string, err error) error {
	if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
		return configErrorf("--seal-key %s does not exist: run `sealog keygen --out DIR` and give serve DIR/seal.key", path)
	}
	if vk, verr := seal.LoadVerifyKey(path); verr == nil {
		vk.Wipe() // only asked whether it is one: do not keep K1
		return configErrorf("--seal-key %s is the verify key, which belongs offline with `sealog verify`; give serve the seal.key that `sealog keygen` wrote beside it", path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return configErrorf("--seal-key %s: cannot read it: %v", path, pe.Err)
	}
	msg := strings.TrimPrefix(err.Error(), "key state "+path+": ")
	return configErrorf("--seal-key %s: %s", path, msg)
}
