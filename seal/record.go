package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Kind is the KIND column of a seal line (docs/format.md §4).
type Kind string

// The four kinds of seal (docs/format.md §4).
const (
	KindCheckpoint Kind = "checkpoint" // a prefix of an active file
	KindFinal      Kind = "final"      // a file closed normally
	KindRecovered  Kind = "recovered"  // a file final-sealed as found after a crash (docs/format.md §5)
	KindPruned     Kind = "pruned"     // a final-sealed file removed by retention (docs/format.md §8)
)

// final reports whether no seal may follow k for the same file.
func (k Kind) final() bool { return k == KindFinal || k == KindRecovered }

// kinds are the KIND names a seal line may carry.
var kinds = []Kind{KindCheckpoint, KindFinal, KindRecovered, KindPruned}

func (k Kind) valid() bool {
	for _, v := range kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Record is one seal line of seals.log (docs/format.md §4 columns 2–10).
type Record struct {
	Seq          uint64
	Time         time.Time // UTC, microsecond precision
	Kind         Kind
	File         string   // file name, no directory
	Bytes, Lines int64    // bytes of File covered; complete lines among them
	Root         [32]byte // Merkle tree hash of the lines covered (ROOT)
	Prev         [32]byte // MAC of seal Seq-1; zero for Seq 1
	MAC          [32]byte // HMAC-SHA256(K_Seq, columns 2–9 joined by TAB)
}

// Errors of the seal line format.
var (
	// ErrSealLine is wrapped by every error about a malformed seal line.
	ErrSealLine = errors.New("malformed seal line")
	// ErrFileName is returned for a FILE that is not an events or security
	// file name of docs/format.md §3.1.
	ErrFileName = errors.New("not an events or security file name")
)

// timeLayout is TIME of docs/format.md §3.3: UTC, always 6 fraction digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// timeLen is the length of a TIME column for years 0000–9999.
const timeLen = len("2026-11-22T10:15:00.123456Z")

// evolveLabel is the message of the key evolution HMAC (docs/format.md §4).
var evolveLabel = []byte("sealog key evolution")

// evolveKey replaces *key, K(n), by K(n+1) = HMAC-SHA256(Kn, "sealog key
// evolution") (docs/format.md §4), in place: no copy of either key is
// left anywhere but in s.
func (s *secrets) evolveKey(key *[32]byte) {
	old := holdSignals()
	s.mac.sum(key, evolveLabel, &s.next)
	*key = s.next
	clear(s.next[:])
	releaseSignals(&old)
}

// sealMAC writes HMAC-SHA256(key, body) to out, where body is columns
// 2–9 of a seal line joined by TAB.
func (s *secrets) sealMAC(key *[32]byte, body []byte, out *[32]byte) {
	old := holdSignals()
	s.mac.sum(key, body, out)
	releaseSignals(&old)
}

// appendBody appends columns 2–9 of r (the MAC input) joined by TAB.
func appendBody(dst []byte, r *Record) []byte {
	dst = r.Time.UTC().AppendFormat(dst, timeLayout)
	dst = append(dst, '\t')
	dst = strconv.AppendUint(dst, r.Seq, 10)
	dst = append(dst, '\t')
	dst = append(dst, r.Kind...)
	dst = append(dst, '\t')
	dst = append(dst, r.File...)
	dst = append(dst, '\t')
	dst = strconv.AppendInt(dst, r.Bytes, 10)
	dst = append(dst, '\t')
	dst = strconv.AppendInt(dst, r.Lines, 10)
	dst = append(dst, '\t')
	dst = hex.AppendEncode(dst, r.Root[:])
	dst = append(dst, '\t')
	dst = hex.AppendEncode(dst, r.Prev[:])
	return dst
}

// appendLine appends r as one seal line of docs/format.md §4, LF included:
// LEN TAB TIME TAB SEQ TAB KIND TAB FILE TAB BYTES TAB LINES TAB ROOT TAB PREV TAB MAC LF.
// It writes r.MAC as given; the Chain computes it.
func appendLine(dst []byte, r *Record) []byte {
	// LEN counts the bytes after its own TAB, so format the rest first.
	start := len(dst)
	dst = appendBody(dst, r)
	dst = append(dst, '\t')
	dst = hex.AppendEncode(dst, r.MAC[:])
	n := len(dst) - start
	var lenBuf [24]byte
	head := strconv.AppendInt(lenBuf[:0], int64(n), 10)
	head = append(head, '\t')
	dst = append(dst, head...) // grow by len(head), then shift the body right
	copy(dst[start+len(head):], dst[start:start+n])
	copy(dst[start:], head)
	return append(dst, '\n')
}

// parseLine parses one seal line without its LF. It accepts only the
// canonical form appendLine writes (so that appendLine(parseLine(l)) == l):
// exact LEN, 10 columns, TIME with 6 fraction digits in UTC, decimal
// numbers without leading zeros, lowercase hex, a known KIND and a FILE
// that is an events or security file name. It returns the record and
// the MAC input (columns 2–9 joined by TAB, a subslice of line). It does
// not check the MAC.
func parseLine(line []byte) (r Record, body []byte, err error) {
	var cols [10][]byte
	n := 0
	rest := line
	for n < 9 {
		i := bytes.IndexByte(rest, '\t')
		if i < 0 {
			break
		}
		cols[n] = rest[:i]
		rest = rest[i+1:]
		n++
	}
	if n != 9 || bytes.IndexByte(rest, '\t') >= 0 {
		return r, nil, fmt.Errorf("%w: want %d TAB-separated columns", ErrSealLine, sealColumns)
	}
	cols[9] = rest
	l, ok := parseDec(cols[0])
	if !ok {
		return r, nil, fmt.Errorf("%w: LEN is not a decimal number", ErrSealLine)
	}
	if want := uint64(len(line) - len(cols[0]) - 1); l != want {
		return r, nil, fmt.Errorf("%w: LEN says %d, line has %d bytes", ErrSealLine, l, want)
	}
	body = line[len(cols[0])+1 : len(line)-len(cols[9])-1]

	t, ok := parseTime(cols[1])
	if !ok {
		return r, nil, fmt.Errorf("%w: TIME is not YYYY-MM-DDTHH:MM:SS.ffffffZ", ErrSealLine)
	}
	r.Time = t
	if r.Seq, ok = parseDec(cols[2]); !ok || r.Seq == 0 {
		return r, nil, fmt.Errorf("%w: SEQ is not a positive decimal number", ErrSealLine)
	}
	r.Kind = Kind(cols[3])
	if !r.Kind.valid() {
		return r, nil, fmt.Errorf("%w: unknown KIND %q", ErrSealLine, cols[3])
	}
	if _, ok := fileStream(cols[4]); !ok {
		return r, nil, fmt.Errorf("%w: FILE: %w", ErrSealLine, ErrFileName)
	}
	r.File = string(cols[4])
	b, ok1 := parseDec(cols[5])
	ln, ok2 := parseDec(cols[6])
	if !ok1 || !ok2 || b > 1<<62 || ln > b {
		return r, nil, fmt.Errorf("%w: BYTES and LINES must be decimal numbers, LINES <= BYTES", ErrSealLine)
	}
	r.Bytes, r.Lines = int64(b), int64(ln)
	for i, dst := range []*[32]byte{&r.Root, &r.Prev, &r.MAC} {
		if !parseHex32(dst, cols[7+i]) {
			return r, nil, fmt.Errorf("%w: %s is not 64 lowercase hex digits", ErrSealLine, [...]string{"ROOT", "PREV", "MAC"}[i])
		}
	}
	return r, body, nil
}

// parseTime parses a canonical TIME column: UTC, 6 fraction digits.
func parseTime(c []byte) (time.Time, bool) {
	if len(c) != timeLen {
		return time.Time{}, false
	}
	t, err := time.Parse(timeLayout, string(c))
	if err != nil || string(t.AppendFormat(nil, timeLayout)) != string(c) {
		return time.Time{}, false
	}
	return t, true
}

func validTime(c []byte) bool { _, ok := parseTime(c); return ok }

// parseDec parses a canonical unsigned decimal: no sign, no leading zero
// (except "0" itself), at most 19 digits so it cannot overflow.
func parseDec(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 || (len(b) > 1 && b[0] == '0') {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// parseHex32 decodes exactly 64 lowercase hex digits into dst.
func parseHex32(dst *[32]byte, b []byte) bool {
	if len(b) != 64 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	_, err := hex.Decode(dst[:], b)
	return err == nil
}

// Stream prefixes of docs/format.md §3.1 file names.
const (
	eventsPrefix   = "events-"
	securityPrefix = "security-"
)

// fileStream reports whether name is `events-YYYYMMDDTHHMMSS.mmmZ.log` or
// `security-YYYYMMDDTHHMMSS.mmmZ.log` (docs/format.md §3.1) and returns the number
// of columns its lines have (docs/format.md §3.3, §3.4).
func fileStream(name []byte) (columns int, ok bool) {
	var rest []byte
	switch {
	case bytes.HasPrefix(name, []byte(eventsPrefix)):
		rest, columns = name[len(eventsPrefix):], eventColumns
	case bytes.HasPrefix(name, []byte(securityPrefix)):
		rest, columns = name[len(securityPrefix):], securityColumns
	default:
		return 0, false
	}
	const pat = "99999999T999999.999Z.log" // 9 = any digit
	if len(rest) != len(pat) {
		return 0, false
	}
	for i := 0; i < len(pat); i++ {
		c := rest[i]
		if pat[i] == '9' {
			if c < '0' || c > '9' {
				return 0, false
			}
		} else if c != pat[i] {
			return 0, false
		}
	}
	return columns, true
}

// FormatHead formats a chain head as "SEQ:HEX" (docs/format.md §4, `--head`).
func FormatHead(seq uint64, mac [32]byte) string {
	b := make([]byte, 0, 20+1+64)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ':')
	b = hex.AppendEncode(b, mac[:])
	return string(b)
}

// ErrHead is wrapped by ParseHead's errors.
var ErrHead = errors.New("bad chain head, want SEQ:MAC (decimal, 64 hex digits)")

// ParseHead parses "SEQ:HEX" as FormatHead writes it. Uppercase hex is
// accepted, since an operator may have copied the head by hand.
func ParseHead(s string) (seq uint64, mac [32]byte, err error) {
	i := bytes.IndexByte([]byte(s), ':')
	if i < 0 {
		return 0, mac, fmt.Errorf("%q: %w", s, ErrHead)
	}
	seq, ok := parseDec([]byte(s[:i]))
	if !ok {
		return 0, mac, fmt.Errorf("%q: %w", s, ErrHead)
	}
	h := s[i+1:]
	if len(h) != 64 {
		return 0, mac, fmt.Errorf("%q: %w", s, ErrHead)
	}
	if _, err := hex.Decode(mac[:], []byte(h)); err != nil {
		return 0, [32]byte{}, fmt.Errorf("%q: %w", s, ErrHead)
	}
	return seq, mac, nil
}
