package parse_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sealog/sealog/parse"
)

// A connection's bytes become frames (here RFC 6587 octet counting, told
// from the first byte), and each frame a Message whose fields are slices
// of the frame as sent: an RFC 5424 frame, an RFC 3164 frame, and bytes
// that are neither, which are kept as they came.
func Example() {
	var stream strings.Builder
	for _, frame := range []string{
		"<34>1 2026-12-07T04:00:01Z host app 42 ID47 - disk full",
		"<13>Dec  7 04:00:01 host app[42]: retrying",
		"not syslog",
	} {
		fmt.Fprintf(&stream, "%d %s", len(frame), frame)
	}
	r := parse.NewReader(strings.NewReader(stream.String()), 8192)
	p := parse.NewParser()
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		m := p.Parse(f.Data)
		fmt.Printf("%s pri=%d host=%q app=%q msg=%q\n", m.Format, m.PRI, m.Hostname.Value, m.AppName.Value, m.Msg.Value)
	}
	fmt.Println("framing:", r.Framing())
	// Output:
	// rfc5424 pri=34 host="host" app="app" msg="disk full"
	// rfc3164 pri=13 host="host" app="app" msg="Dec  7 04:00:01 host app[42]: retrying"
	// raw pri=-1 host="" app="" msg="not syslog"
	// framing: octet
}

// Parse slices the columns of an RFC 5424 frame verbatim, so the frame can
// be rebuilt from them byte for byte; an RFC 3164 frame keeps its whole
// text after the PRI as MSG.
func ExampleParser_Parse() {
	p := parse.NewParser()
	frame := []byte(`<34>1 2026-11-22T10:15:00Z web01 su - ID47 [origin ip="192.0.2.1"] 'su root' failed`)
	m := p.Parse(frame)
	fmt.Println(m.Format, m.PRI)
	for _, f := range []parse.Field{m.Timestamp, m.Hostname, m.AppName, m.ProcID, m.MsgID, m.SD, m.Msg} {
		if f.Nil {
			fmt.Println("-")
		} else {
			fmt.Printf("%s\n", f.Value)
		}
	}
	fmt.Println(string(m.AppendFrame(nil)) == string(frame))

	m = p.Parse([]byte("<13>Nov 22 10:15:00 sshd[999]: Accepted publickey"))
	fmt.Printf("%v host=%v app=%s pid=%s msg=%s\n", m.Format, m.Hostname.Nil, m.AppName.Value, m.ProcID.Value, m.Msg.Value)
	// Output:
	// rfc5424 34
	// 2026-11-22T10:15:00Z
	// web01
	// su
	// -
	// ID47
	// [origin ip="192.0.2.1"]
	// 'su root' failed
	// true
	// rfc3164 host=true app=sshd pid=999 msg=Nov 22 10:15:00 sshd[999]: Accepted publickey
}

// A Reader keeps at most maxSize bytes of a frame and says how large it
// really was, so a frame over the limit is cut, never dropped.
func ExampleReader() {
	r := parse.NewReader(strings.NewReader("11 <13>1 - - -12 <13>hello\n"), 8)
	for {
		f, err := r.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q size=%d truncated=%v\n", f.Data, f.Size, f.Truncated)
	}
	// Output:
	// "<13>1 - " size=11 truncated=true
	// "<13>hell" size=12 truncated=true
	// EOF
}
