package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Hash is a SHA-256 tree hash (the same type as package tlog's Hash).
type Hash = [32]byte

// MaxProofLines is the most consistency proof lines a request may carry
// (C2SP tlog-witness: a client MUST NOT send more than 63).
const MaxProofLines = 63

// MaxResponse bounds the body of a witness's reply that is read: MaxSignatures
// lines of at most a few hundred bytes. A longer reply is an error, and
// nothing past the bound is read.
const MaxResponse = 64 << 10

// Errors of add-checkpoint, for errors.Is.
var (
	// ErrResponse: the witness answered something that is not the protocol.
	ErrResponse = errors.New("malformed witness response")
	// ErrCosignature: a 200 reply without a valid cosignature by the
	// witness's key (none at all, or one that does not verify).
	ErrCosignature = errors.New("no valid cosignature by the witness key")
	// ErrTooLarge: the reply was longer than MaxResponse.
	ErrTooLarge = errors.New("witness response too large")
)

// ConflictError is a 409 Conflict: the witness holds the log at another
// size than the request's old size, Size (C2SP tlog-witness). The client
// resends with a consistency proof from Size.
type ConflictError struct{ Size uint64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness holds the log at size %d (409 Conflict)", e.Size)
}

// StatusError is any other HTTP status than 200 and 409.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("witness answered HTTP %d %s", e.Code, http.StatusText(e.Code))
}

// Witness is one witness sealog asks for cosignatures: its verifier key
// and the base URL of its add-checkpoint endpoint (the submission prefix
// of C2SP tlog-witness).
type Witness struct {
	Key *Key
	URL string // base URL without a trailing slash
}

// ParseWitness parses the value of --witness: VKEY,URL, where VKEY is a
// cosignature key (ParseKey) and URL an http or https base URL.
func ParseWitness(s string) (Witness, error) {
	i := strings.Index(s, ",http://")
	if j := strings.Index(s, ",https://"); i < 0 || (j >= 0 && j < i) {
		i = j
	}
	if i < 0 {
		return Witness{}, errors.New("want VKEY,URL (a witness key, a comma, and an http:// or https:// URL)")
	}
	k, err := ParseKey(s[:i])
	if err != nil {
		return Witness{}, err
	}
	raw := strings.TrimRight(s[i+1:], "/")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Witness{}, fmt.Errorf("%q is not a witness base URL (scheme://host[:port][/path])", s[i+1:])
	}
	return Witness{Key: k, URL: raw}, nil
}

// String is the witness as --witness takes it.
func (w Witness) String() string { return w.Key.String() + "," + w.URL }

// Client sends add-checkpoint requests. Its zero value is not usable;
// NewClient sets the time bounds. A Client is safe for concurrent use.
type Client struct {
	http *http.Client
}

// NewClient returns a client whose every request, connection set-up to
// last byte, ends within timeout, whose TCP connect ends within the
// smaller of timeout and 5 s, and which keeps at most one idle
// connection per witness (C2SP tlog-witness asks clients for keep-alive).
func NewClient(timeout time.Duration) *Client {
	dial := min(timeout, 5*time.Second)
	tr := &http.Transport{
		Proxy:                  nil, // a log host talks to its witnesses directly
		DialContext:            (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:    dial,
		ResponseHeaderTimeout:  timeout,
		MaxIdleConnsPerHost:    1,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &Client{http: &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// A witness has no reason to redirect; following one would send
		// the log's checkpoints wherever a hijacked witness points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// CloseIdle closes the idle keep-alive connections.
func (c *Client) CloseIdle() { c.http.CloseIdleConnections() }

// RequestBody is the add-checkpoint request body (C2SP tlog-witness): the
// line "old N", one line of base64 per consistency proof hash, an empty
// line, then the signed checkpoint note.
func RequestBody(old uint64, proof []Hash, checkpoint []byte) []byte {
	b := make([]byte, 0, 24+len(proof)*45+len(checkpoint))
	b = append(b, "old "...)
	b = strconv.AppendUint(b, old, 10)
	b = append(b, '\n')
	for _, h := range proof {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, checkpoint...)
}

// AddCheckpoint asks w to cosign checkpoint (a signed note whose body
// text is the checkpoint) given that the witness holds the log at size
// old, with proof the RFC 9162 consistency proof from old to the
// checkpoint's size (empty when old is 0). It returns w's newest valid
// cosignature from the reply; a *ConflictError when the witness holds
// another size; a *StatusError for any other status; errors wrapping
// ErrResponse, ErrTooLarge or ErrCosignature for a reply that is not a
// valid cosignature; or the transport's error (a timeout is a net.Error
// whose Timeout() is true).
func (c *Client) AddCheckpoint(ctx context.Context, w Witness, old uint64, proof []Hash, checkpoint []byte) (Cosignature, error) {
	if len(proof) > MaxProofLines {
		return Cosignature{}, fmt.Errorf("consistency proof of %d hashes is longer than the %d the protocol allows", len(proof), MaxProofLines)
	}
	text, _, err := SplitNote(checkpoint)
	if err != nil {
		return Cosignature{}, fmt.Errorf("checkpoint: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL+"/add-checkpoint", bytes.NewReader(RequestBody(old, proof, checkpoint)))
	if err != nil {
		return Cosignature{}, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.http.Do(req)
	if err != nil {
		return Cosignature{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return Cosignature{}, fmt.Errorf("reading the witness's reply: %w", err)
	}
	if len(body) > MaxResponse {
		return Cosignature{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxResponse)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return parseCosignature(w.Key, text, body)
	case http.StatusConflict:
		size, err := ParseConflict(body)
		if err != nil {
			return Cosignature{}, err
		}
		return Cosignature{}, &ConflictError{Size: size}
	default:
		return Cosignature{}, &StatusError{Code: resp.StatusCode}
	}
}

// ParseConflict parses the body of a 409 reply: the witness's tree size
// in decimal, without leading zeros, and a newline (C2SP tlog-witness).
func ParseConflict(body []byte) (uint64, error) {
	s, ok := bytes.CutSuffix(body, []byte("\n"))
	if !ok || len(s) == 0 || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%w: a 409 reply must hold a tree size and a newline", ErrResponse)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: a 409 reply must hold a tree size and a newline", ErrResponse)
		}
	}
	n, err := strconv.ParseUint(string(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: a 409 reply must hold a tree size and a newline", ErrResponse)
	}
	return n, nil
}

// parseCosignature reads a 200 reply: signature lines, of which those by
// key (by name and key ID) must verify over text; others are ignored. It
// returns the newest valid one.
func parseCosignature(key *Key, text, body []byte) (Cosignature, error) {
	sigs, err := ParseSignatures(body)
	if err != nil {
		return Cosignature{}, fmt.Errorf("%w: %w", ErrResponse, err)
	}
	valid, bad := Find(text, sigs, []*Key{key})
	if len(bad) > 0 {
		return Cosignature{}, fmt.Errorf("%w: a signature line by %s does not verify", ErrCosignature, key.Name())
	}
	if len(valid) == 0 {
		return Cosignature{}, fmt.Errorf("%w: the reply has no line by %s+%08x", ErrCosignature, key.Name(), key.KeyHash())
	}
	best := valid[0]
	for _, c := range valid[1:] {
		if c.Time.After(best.Time) {
			best = c
		}
	}
	return best, nil
}
