package rotate

import (
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/sealog/sealog/tlog"
)

// stampLayout is the UTC opening time in a file name (docs/format.md §3.1):
// 20261122T101500.123Z. Milliseconds are truncated, not rounded, so a name
// never claims a time later than the opening.
const stampLayout = "20060102T150405.000Z"

const stampLen = len("20261122T101500.123Z")

// Streams whose files Scan reports (docs/format.md §3.1).
const (
	StreamEvents   = "events"
	StreamSecurity = "security"
)

// FormatStamp formats t in UTC as it appears in a file name,
// "20261122T101500.123Z".
func FormatStamp(t time.Time) string {
	return string(t.UTC().AppendFormat(make([]byte, 0, stampLen), stampLayout))
}

func appendName(dst []byte, stream string, t time.Time) []byte {
	dst = append(dst, stream...)
	dst = append(dst, '-')
	dst = t.UTC().AppendFormat(dst, stampLayout)
	return append(dst, ".log"...)
}

// ParseName splits a log file name "<stream>-YYYYMMDDTHHMMSS.mmmZ.log" into
// its stream (1 to 32 lowercase letters) and UTC opening time. It accepts
// only names Create could have made: exactly these digits, a valid calendar
// time, nothing before or after. Whatever it accepts formats back to the same
// name.
func ParseName(name string) (stream string, opened time.Time, ok bool) {
	const suffix = ".log"
	if len(name) < 1+1+stampLen+len(suffix) || name[len(name)-len(suffix):] != suffix {
		return "", time.Time{}, false
	}
	rest := name[:len(name)-len(suffix)]
	stamp := rest[len(rest)-stampLen:]
	rest = rest[:len(rest)-stampLen]
	if rest[len(rest)-1] != '-' {
		return "", time.Time{}, false
	}
	stream = rest[:len(rest)-1]
	if !validStream(stream) {
		return "", time.Time{}, false
	}
	// time.Parse allows some variation (e.g. other fraction digits
	// elsewhere); insist on digits in every numeric position, then check the
	// round trip so that only the canonical form passes.
	for i := 0; i < stampLen; i++ {
		c := stamp[i]
		switch i {
		case 8:
			if c != 'T' {
				return "", time.Time{}, false
			}
		case 15:
			if c != '.' {
				return "", time.Time{}, false
			}
		case 19:
			if c != 'Z' {
				return "", time.Time{}, false
			}
		default:
			if c < '0' || c > '9' {
				return "", time.Time{}, false
			}
		}
	}
	t, err := time.Parse(stampLayout, stamp)
	if err != nil || FormatStamp(t) != stamp {
		return "", time.Time{}, false
	}
	return stream, t.UTC(), true
}

// Found is a log file found at start-up.
type Found struct {
	Name   string    // base name
	Stream string    // StreamEvents or StreamSecurity
	Opened time.Time // UTC time in the name
	Size   int64     // size when scanned
}

// Scan lists the events and security log files in dir: regular files whose
// names ParseName accepts with one of the two streams. Everything else
// (seals.log, probe and temporary files, other names, directories, symbolic
// links) is left out. The result is in opening order across both streams
// (by the time in the name, then by name), which within one stream is name
// order.
func Scan(dir string) ([]Found, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	var found []Found
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		stream, opened, ok := ParseName(e.Name())
		if !ok || (stream != StreamEvents && stream != StreamSecurity) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", dir, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		found = append(found, Found{Name: e.Name(), Stream: stream, Opened: opened, Size: fi.Size()})
	}
	slices.SortStableFunc(found, func(a, b Found) int {
		if c := a.Opened.Compare(b.Opened); c != 0 {
			return c
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return found, nil
}

// Summarize reads a whole file once, for crash recovery (docs/format.md §5): its size,
// its number of LF bytes (complete lines), the Merkle tree hash of its lines
// (docs/format.md §4 ROOT: a torn last line is one more leaf), and whether
// it is torn (not empty and not ending in LF). It reads the file as
// found and never changes it; it refuses anything but a regular file and does
// not follow a symbolic link.
func Summarize(path string) (size, lines int64, root [32]byte, torn bool, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, 0, root, false, fmt.Errorf("summarize: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, root, false, fmt.Errorf("summarize: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, 0, root, false, fmt.Errorf("summarize %s: %w", path, errNotRegular)
	}
	var tree tlog.LineHasher
	buf := make([]byte, 256<<10)
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			tree.Write(buf[:n])
			size += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, root, false, fmt.Errorf("summarize: %w", rerr)
		}
	}
	return size, int64(tree.Lines()), tree.Root(), tree.Torn(), nil
}
