package writer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// ErrInstance is returned by NewIDGen for an instance name outside
// [A-Za-z0-9.-]+ (docs/operations.md --instance).
var ErrInstance = errors.New("bad instance name")

// maxInstance bounds the instance name to a DNS name's length: it begins
// every event ID of every line, so it must stay short.
const maxInstance = 253

// IDGen makes event IDs (docs/format.md §3.3 column 3, [T 4, 21.3]) of the form
//
//	<instance>-<boot token>-<n>
//
// for example "loghost-20261122T101500Z.9f3a61c0-42". The boot token is
// the UTC second the generator was made plus 32 random bits, so two runs
// of the server (restarts, or two processes started in the same second)
// never share a token, and n counts up from 1 within a run. Events and
// security events draw from one IDGen, so IDs are unique across both
// streams. Every ID matches ^[A-Za-z0-9._-]+$.
//
// The numbers within one run increase in the order Next is called; IDs of
// one run sort by n numerically, runs sort by their token.
type IDGen struct {
	prefix []byte        // "<instance>-<boot token>-", never changed after NewIDGen
	n      atomic.Uint64 // last number handed out
}

// NewIDGen returns a generator for the given instance name, which must
// match [A-Za-z0-9.-]+ and be at most 253 bytes.
func NewIDGen(instance string) (*IDGen, error) {
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (it aborts the process instead)
	return newIDGen(instance, time.Now(), r)
}

func newIDGen(instance string, now time.Time, r [4]byte) (*IDGen, error) {
	if err := checkInstance(instance); err != nil {
		return nil, err
	}
	p := make([]byte, 0, len(instance)+1+16+1+8+1)
	p = append(p, instance...)
	p = append(p, '-')
	now = now.UTC()
	year, month, day := now.Date()
	hour, minute, sec := now.Clock()
	if year < 0 || year > 9999 {
		return nil, fmt.Errorf("event ids: clock says year %d", year)
	}
	p = append2(p, year/100)
	p = append2(p, year%100)
	p = append2(p, int(month))
	p = append2(p, day)
	p = append(p, 'T')
	p = append2(p, hour)
	p = append2(p, minute)
	p = append2(p, sec)
	p = append(p, 'Z', '.')
	const lowerHex = "0123456789abcdef"
	for _, b := range r {
		p = append(p, lowerHex[b>>4], lowerHex[b&0xF])
	}
	p = append(p, '-')
	return &IDGen{prefix: p}, nil
}

func checkInstance(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInstance)
	}
	if len(s) > maxInstance {
		return fmt.Errorf("%w: longer than %d bytes", ErrInstance, maxInstance)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("%w: %q: only letters, digits, '.' and '-' are allowed", ErrInstance, s)
		}
	}
	return nil
}

// Next returns the next event number of this run, starting at 1. It is
// safe for concurrent use.
func (g *IDGen) Next() uint64 {
	return g.n.Add(1)
}

// AppendID appends the ID for number n (from Next) to dst.
func (g *IDGen) AppendID(dst []byte, n uint64) []byte {
	dst = append(dst, g.prefix...)
	return strconv.AppendUint(dst, n, 10)
}
