// Package rotate owns sealog's log files on disk (docs/format.md §3.1, §4, §5): it
// creates the active file append-only before its first byte, counts and
// hashes exactly the bytes the kernel accepted, fsyncs, makes finished files
// immutable, computes the UTC-aligned rotation schedule, and finds the files
// a previous run left behind.
//
// It must not know what a line contains, where bytes come from, or how a seal
// is made: it never parses, encodes, splits or repairs data, never touches
// sockets or keys, and never rewrites a byte once written. Deciding when to
// rotate and what to seal is the caller's job; Policy only answers the
// questions "may n more bytes go in?" and "when does this file expire?".
//
// The attributes are FS_APPEND_FL and FS_IMMUTABLE_FL (chattr +a / +i) set
// with the FS_IOC_SETFLAGS ioctl. Setting or clearing either needs
// CAP_LINUX_IMMUTABLE and a filesystem that supports them; failures are
// reported as ErrNoCapability or ErrUnsupported, wrapped with the path and
// the filesystem type so that an operator knows which one to fix.
package rotate
