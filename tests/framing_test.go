package tests

// Framing (docs/format.md §2, RFC 6587): octet counting and LF framing,
// coalesced and split frames, and what a bad frame costs.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCoreFraming covers docs/format.md §2 framing: both framings, coalesced and
// split frames, partial frames, oversized frames, malformed counts, and
// the three parse outcomes.
func TestCoreFraming(t *testing.T) {
	s := startSealog(t, "--max-message-size", "10240")

	t.Run("octet counting, many frames in one write", func(t *testing.T) {
		var fr []string
		for i := 0; i < 50; i++ {
			fr = append(fr, bbMsg(fmt.Sprintf("coalesced %d", i)))
		}
		peer := bbSendRaw(t, s, true, bbOctet(fr...))
		ev := bbWaitFrom(t, s, peer, 50)
		if len(ev) != 50 {
			t.Fatalf("got %d lines, want 50", len(ev))
		}
		for i, l := range ev {
			if got, _ := bbFrame(l); string(got) != fr[i] {
				t.Errorf("line %d: got frame %q, want %q", i, got, fr[i])
			}
		}
	})
	t.Run("octet counting, one frame split over many writes", func(t *testing.T) {
		f := bbMsg("split " + strings.Repeat("x", 300))
		data := bbOctet(f, bbMsg("after split"))
		var chunks [][]byte
		for i := 0; i < len(data); i += 7 {
			chunks = append(chunks, data[i:min(i+7, len(data))])
		}
		c := s.Dial(t)
		peer := c.LocalAddr().String()
		for _, ch := range chunks {
			c.Write(ch)
			time.Sleep(time.Millisecond)
		}
		closeAndDrain(c)
		ev := bbWaitFrom(t, s, peer, 2)
		if len(ev) != 2 {
			t.Fatalf("got %d lines, want 2", len(ev))
		}
		if got, _ := bbFrame(ev[0]); string(got) != f {
			t.Errorf("got frame %q, want %q", got, f)
		}
		if bbHasFlag(ev[0], "partial") {
			t.Errorf("a complete frame is flagged partial: %q", ev[0][6])
		}
	})
	t.Run("LF framing, CR kept", func(t *testing.T) {
		a, b := bbMsg("lf one"), bbMsg("lf two\r")
		peer := bbSendRaw(t, s, true, []byte(a+"\n"+b+"\n"))
		ev := bbWaitFrom(t, s, peer, 2)
		if len(ev) != 2 {
			t.Fatalf("got %d lines, want 2", len(ev))
		}
		if got, _ := bbFrame(ev[0]); string(got) != a {
			t.Errorf("got frame %q, want %q", got, a)
		}
		if ev[1][14] != "lf two%0D" {
			t.Errorf("got MSG %q, want %q", ev[1][14], "lf two%0D")
		}
	})
	t.Run("partial octet frame at EOF", func(t *testing.T) {
		f := bbMsg("cut short here")
		peer := bbSendRaw(t, s, false, []byte(fmt.Sprintf("%d %s", len(f)+50, f)))
		ev := bbWaitFrom(t, s, peer, 1)
		if len(ev) != 1 || !bbHasFlag(ev[0], "partial") {
			t.Fatalf("got %q, want one line flagged partial", ev)
		}
		if got, _ := bbFrame(ev[0]); string(got) != f {
			t.Errorf("got frame %q, want %q", got, f)
		}
		// DETAIL bytes is what came, not what the count promised.
		bbWantDisconnectBytes(t, s, peer, len(f))
	})
	t.Run("partial LF frame at EOF", func(t *testing.T) {
		f := bbMsg("no newline at the end")
		peer := bbSendRaw(t, s, false, []byte(f))
		ev := bbWaitFrom(t, s, peer, 1)
		if len(ev) != 1 || !bbHasFlag(ev[0], "partial") {
			t.Fatalf("got %q, want one line flagged partial", ev)
		}
	})
	for _, lf := range []bool{false, true} {
		name := "oversized octet frame"
		if lf {
			name = "oversized LF frame"
		}
		t.Run(name, func(t *testing.T) {
			big := bbMsg("big " + strings.Repeat("0123456789", 1500)) // 15000+ bytes
			next := bbMsg("next frame intact")
			var data []byte
			if lf {
				data = []byte(big + "\n" + next + "\n")
			} else {
				data = bbOctet(big, next)
			}
			peer := bbSendRaw(t, s, true, data)
			ev := bbWaitFrom(t, s, peer, 2)
			if len(ev) != 2 {
				t.Fatalf("got %d lines, want 2 (an oversized frame must not split)", len(ev))
			}
			if !bbHasFlag(ev[0], fmt.Sprintf("trunc=%d", len(big))) {
				t.Errorf("got FLAGS %q, want trunc=%d", ev[0][6], len(big))
			}
			got, err := bbFrame(ev[0])
			if err != nil || string(got) != big[:10240] {
				t.Errorf("kept %d bytes (err %v), want the first 10240 of the frame", len(got), err)
			}
			if got, _ := bbFrame(ev[1]); string(got) != next {
				t.Errorf("next frame: got %q, want %q", got, next)
			}
			if len(ev[1][6]) > 0 && strings.Contains(ev[1][6], "trunc") {
				t.Errorf("next frame flagged %q", ev[1][6])
			}
			o := bbSec(t, s, peer, "oversized")[0]
			d := bbDetail(t, o)
			sum := sha256.Sum256([]byte(big))
			if d["ref"] != ev[0][2] {
				t.Errorf("oversized: got ref %v, want the event ID %q", d["ref"], ev[0][2])
			}
			if d["length"] != float64(len(big)) {
				t.Errorf("oversized: got length %v, want %d", d["length"], len(big))
			}
			if d["sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("oversized: got sha256 %v, want %x", d["sha256"], sum)
			}
		})
	}
	t.Run("declared length 2000000000 then close", func(t *testing.T) {
		f := bbMsg(strings.Repeat("y", 20000))
		peer := bbSendRaw(t, s, false, []byte("2000000000 "+f))
		ev := bbWaitFrom(t, s, peer, 1)
		if len(ev) != 1 {
			t.Fatalf("got %d lines, want 1", len(ev))
		}
		if !bbHasFlag(ev[0], "partial") || !bbHasFlag(ev[0], "trunc=2000000000") {
			t.Errorf("got FLAGS %q, want trunc=2000000000 and partial", ev[0][6])
		}
		if got, _ := bbFrame(ev[0]); string(got) != f[:10240] {
			t.Errorf("kept %d bytes, want the first 10240", len(got))
		}
		// The sender sent about 20 kB, not 2 GB: the disconnect says so,
		// and the oversized event pairs its sha256 (of what came) with
		// how much came.
		bbWantDisconnectBytes(t, s, peer, len(f))
		ov := bbSec(t, s, peer, "oversized")
		d := bbDetail(t, ov[0])
		sum := sha256.Sum256([]byte(f))
		if d["length"] != float64(2000000000) || d["received"] != float64(len(f)) || d["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("oversized DETAIL %s, want length 2000000000, received %d and the sha256 of the bytes sent", ov[0][8], len(f))
		}
	})
	for _, bad := range []struct{ name, data string }{
		{"11-digit count", "12345678901 " + bbMsg("never")},
		{"zero count", "0 " + bbMsg("never")},
		{"non-digit count", "abc " + bbMsg("never")},
	} {
		t.Run("frame_error "+bad.name, func(t *testing.T) {
			good := bbMsg("good before " + bad.name)
			c := s.Dial(t)
			peer := c.LocalAddr().String()
			c.Write(bbOctet(good))
			c.Write([]byte(bad.data))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			start := time.Now()
			_, err := io.Copy(io.Discard, c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("connection still open %v after a malformed count", time.Since(start))
			}
			c.Close()
			fe := bbSec(t, s, peer, "frame_error")[0]
			if fe[7] != "failure" {
				t.Errorf("frame_error: got RESULT %q, want failure", fe[7])
			}
			ev := bbWaitFrom(t, s, peer, 1)
			if len(ev) != 1 {
				t.Fatalf("got %d lines, want only the good frame", len(ev))
			}
			if got, _ := bbFrame(ev[0]); string(got) != good {
				t.Errorf("got %q, want the good frame %q", got, good)
			}
			if ref := bbDetail(t, fe)["ref"]; ref != ev[0][2] {
				t.Errorf("frame_error ref %v, want %s (the last event kept)", ref, ev[0][2])
			}
		})
	}
	t.Run("RFC 3164 and raw frames", func(t *testing.T) {
		f3164 := "<13>Oct 11 22:14:15 mymachine su[123]: 'su root' failed"
		rawPRI := "<13>this is not syslog"
		badPRI := "<999>pri out of range"
		noPRI := "no pri at all"
		peer := bbSendRaw(t, s, true, bbOctet(f3164, rawPRI, badPRI, noPRI))
		ev := bbWaitFrom(t, s, peer, 4)
		if len(ev) != 4 {
			t.Fatalf("got %d lines, want 4", len(ev))
		}
		want := []struct {
			flag, pri, host, app, procid, msg string
		}{
			{"rfc3164", "13", "mymachine", "su", "123", "Oct 11 22:14:15 mymachine su[123]: 'su root' failed"},
			{"raw", "13", "-", "-", "-", "this is not syslog"},
			{"raw", "-", "-", "-", "-", "<999>pri out of range"},
			{"raw", "-", "-", "-", "-", "no pri at all"},
		}
		for i, w := range want {
			l := ev[i]
			got := []string{strings.Split(l[6], ",")[0], l[7], l[9], l[10], l[11], l[12], l[13], l[14]}
			exp := []string{w.flag, w.pri, w.host, w.app, w.procid, "-", "-", pctColumn(w.msg)}
			if strings.Join(got, "|") != strings.Join(exp, "|") {
				t.Errorf("frame %d: got FLAGS,PRI,HOSTNAME,APP,PROCID,MSGID,SD,MSG %q, want %q", i, got, exp)
			}
		}
		pf := bbSec(t, s, peer, "parse_failed")
		refs := map[string]bool{}
		for _, l := range pf {
			refs[fmt.Sprint(bbDetail(t, l)["ref"])] = true
		}
		if refs[ev[0][2]] {
			t.Errorf("parse_failed for the RFC 3164 frame %s", ev[0][2])
		}
		for _, l := range ev[1:] {
			if !refs[l[2]] {
				t.Errorf("no parse_failed with ref %s (raw frame)", l[2])
			}
		}
	})
	bbCheckAll(t, s)
}

// bbWantDisconnectBytes checks the `bytes` of peer's disconnect event:
// the payload bytes the server received (docs/format.md §3.4).
func bbWantDisconnectBytes(t *testing.T, s *Sealog, peer string, want int) {
	t.Helper()
	dc := bbSec(t, s, peer, "disconnect")
	if got := bbDetail(t, dc[0])["bytes"]; got != float64(want) {
		t.Errorf("disconnect DETAIL %s: bytes %v, want %d (the bytes received)", dc[0][8], got, want)
	}
}

// TestFrameErrorFirstBytesNoRef: a connection whose first bytes are a bad
// octet count has no event for the frame_error's ref to name, so DETAIL
// leaves ref out instead of writing an empty ID. (Its own server: the
// failures of TestCoreFraming fill the per-minute budget of 127.0.0.1.)
func TestFrameErrorFirstBytesNoRef(t *testing.T) {
	s := startSealog(t)
	peer := bbSendRaw(t, s, false, []byte("0 "+bbMsg("never")))
	fe := bbSec(t, s, peer, "frame_error")[0]
	if ref, ok := bbDetail(t, fe)["ref"]; ok {
		t.Errorf("frame_error DETAIL %s: ref %q names no event", fe[8], ref)
	}
}
