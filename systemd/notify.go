// Package systemd speaks the two small protocols sealog needs from
// systemd without libsystemd or cgo: sd_notify (READY, STATUS, STOPPING,
// WATCHDOG over $NOTIFY_SOCKET) and socket activation ($LISTEN_FDS,
// $LISTEN_PID, $LISTEN_FDNAMES). It also holds the unit files. It knows
// nothing about syslog.
package systemd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends sd_notify datagrams. The zero value (no NOTIFY_SOCKET)
// does nothing, so callers need not care whether systemd is there.
type Notifier struct {
	addr *unix.SockaddrUnix
}

// NewNotifier reads $NOTIFY_SOCKET (an absolute path, or "@name" for the
// abstract namespace) and unsets it so child processes do not inherit it.
// Any other value (a relative path, or a vsock address, which sealog does
// not speak) gives a Notifier that does nothing, as sd_notify(3) ignores
// addresses it cannot use.
func NewNotifier() *Notifier {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return &Notifier{}
	}
	os.Unsetenv("NOTIFY_SOCKET")
	if len(path) < 2 || (path[0] != '/' && path[0] != '@') {
		return &Notifier{}
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	return &Notifier{addr: &unix.SockaddrUnix{Name: path}}
}

// Enabled reports whether notifications go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// Notify sends one state message, e.g. "READY=1\nSTATUS=serving". Errors
// are returned but not fatal: a missing systemd must not stop logging.
func (n *Notifier) Notify(state string) error {
	if n == nil || n.addr == nil {
		return nil
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// A fresh address each time: Sendto encodes the address into the
	// SockaddrUnix itself, and the watchdog goroutine notifies while the
	// server does (a data race the race detector found).
	addr := unix.SockaddrUnix{Name: n.addr.Name}
	return unix.Sendto(fd, []byte(state), 0, &addr)
}

// WatchdogInterval is half of $WATCHDOG_USEC when the watchdog is meant
// for this process, else 0.
func WatchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// StartWatchdog sends WATCHDOG=1 at half the watchdog interval until ctx
// ends. The pings come from their own goroutine, so they prove that the
// process is alive and the Go scheduler runs, not that every part of the
// server makes progress: a deadlocked process (all goroutines asleep) is
// killed by the Go runtime, and one that stops being scheduled misses its
// pings and is restarted by systemd (WatchdogSec=, Restart=on-failure).
func (n *Notifier) StartWatchdog(ctx context.Context) {
	iv := WatchdogInterval()
	if iv <= 0 || n == nil || n.addr == nil {
		return
	}
	go func() {
		t := time.NewTicker(iv)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n.Notify("WATCHDOG=1")
			}
		}
	}()
}

// Socket is one socket inherited from systemd.
type Socket struct {
	Name     string // from LISTEN_FDNAMES (FileDescriptorName=), or ""
	Listener net.Listener
	Packet   net.PacketConn
}

// listenFDsStart is SD_LISTEN_FDS_START: inherited sockets begin at fd 3.
const listenFDsStart = 3

// InheritedSockets returns the sockets passed by socket activation, or
// nil when there are none for this process. The environment variables
// are unset so they do not leak into children.
func InheritedSockets() ([]Socket, error) {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil, nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil, nil
	}
	names := splitNames(os.Getenv("LISTEN_FDNAMES"))
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	// Mark them all close-on-exec first, as sd_listen_fds(3) does, so that
	// an early return cannot leak one into a child.
	for i := 0; i < n; i++ {
		unix.CloseOnExec(listenFDsStart + i)
	}
	var out []Socket
	for i := 0; i < n; i++ {
		fd := listenFDsStart + i
		s := Socket{}
		if i < len(names) {
			s.Name = names[i]
		}
		if err := s.open(fd); err != nil {
			closeSockets(out)
			return nil, fmt.Errorf("inherited fd %d (%q): %w", fd, s.Name, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// ErrNotListening is returned for an inherited descriptor sealog cannot
// serve: not a socket, or a stream socket that is not listening (a unit
// with Accept=yes passes connected sockets).
var ErrNotListening = errors.New("not a listening socket")

// open wraps fd as a listener or a packet socket. The descriptor is
// closed either way: net.File* work on a duplicate.
func (s *Socket) open(fd int) error {
	f := os.NewFile(uintptr(fd), "listen-fd-"+strconv.Itoa(fd))
	defer f.Close()
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotListening, err)
	}
	switch typ {
	case unix.SOCK_DGRAM:
		s.Packet, err = net.FilePacketConn(f)
		return err
	case unix.SOCK_STREAM, unix.SOCK_SEQPACKET:
		if acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || acc == 0 {
			return ErrNotListening
		}
		s.Listener, err = net.FileListener(f)
		return err
	default:
		return fmt.Errorf("%w: socket type %d", ErrNotListening, typ)
	}
}

func closeSockets(socks []Socket) {
	for _, s := range socks {
		if s.Listener != nil {
			s.Listener.Close()
		}
		if s.Packet != nil {
			s.Packet.Close()
		}
	}
}

func splitNames(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ':' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
