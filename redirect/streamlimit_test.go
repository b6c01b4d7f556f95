package redirect

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// syncBuffer is a log destination the test can read while the server logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// withBody returns an INVITE whose body makes the whole message size bytes.
func withBody(r req, size int) string {
	msg := r.String() // ends "Content-Length: 0\r\n\r\n"
	head := strings.TrimSuffix(msg, "Content-Length: 0\r\n\r\n") + "Content-Type: application/sdp\r\n"
	for n := 1; n < 10; n++ {
		cl := size - len(head) - len("Content-Length: \r\n\r\n") - n
		if len(itoa(cl)) == n {
			return head + "Content-Length: " + itoa(cl) + "\r\n\r\n" + strings.Repeat("a", cl)
		}
	}
	panic("size")
}

// withHeaders returns an INVITE padded with header lines to at least size bytes.
func withHeaders(r req, size int) string {
	var pad []string
	for n := 0; n < size; n += 1000 {
		pad = append(pad, "X-Pad: "+strings.Repeat("p", 990))
	}
	r.extra = append(r.extra, pad...)
	return r.String()
}

type streamClient struct {
	t    *testing.T
	conn net.Conn
	rd   *bufio.Reader
	tp   string
}

func dialStream(t *testing.T, s *Server, tp string) *streamClient {
	t.Helper()
	var conn net.Conn
	var err error
	if tp == "TLS" {
		conn, err = tls.Dial("tcp", s.Addr("tls").String(), &tls.Config{InsecureSkipVerify: true})
	} else {
		conn, err = net.Dial("tcp", s.Addr("tcp").String())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &streamClient{t: t, conn: conn, rd: bufio.NewReader(conn), tp: tp}
}

func (c *streamClient) via() string {
	return "SIP/2.0/" + c.tp + " 127.0.0.1:5099;branch=z9hG4bK-big" + itoa(seq+1)
}

func (c *streamClient) exchange(msg string) *sip.Response {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
	c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	return readStreamResponse(c.t, c.rd)
}

// TestStreamMessageTooLarge: a request over sipgo's 65,535-byte limit over
// TCP or TLS gets 513 and one short log line, and the connection goes on
// (sipgo closed it, answering nothing and logging 32 KiB of the message).
func TestStreamMessageTooLarge(t *testing.T) {
	logs := &syncBuffer{}
	cfg := testConfig()
	cfg.TLS = "127.0.0.1:0"
	cfg.TLSConfig = selfSigned(t)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s := startServer(t, cfg, newFakeDecider())
	limit := sip.ParseMaxMessageLength

	for _, tp := range []string{"TCP", "TLS"} {
		t.Run(tp, func(t *testing.T) {
			c := dialStream(t, s, tp)
			vip := req{from: "<sip:+12125550101@x>;tag=1"}
			cases := []struct {
				name string
				msg  func(r req) string
				code int
			}{
				{"64 KiB body", func(r req) string { return withBody(r, 64<<10+512) }, 513},
				{"at the limit", func(r req) string { return withBody(r, limit) }, 302},
				{"one byte over", func(r req) string { return withBody(r, limit+1) }, 513},
				{"header section over the limit", func(r req) string { return withHeaders(r, 70<<10) }, 513},
				{"header section over the limit, with a body", func(r req) string {
					return strings.Replace(withHeaders(r, 80<<10), "Content-Length: 0\r\n\r\n", "Content-Length: 100\r\n\r\n"+strings.Repeat("b", 100), 1)
				}, 513},
				{"small after the large ones", func(r req) string { return r.String() }, 302},
			}
			for _, tc := range cases {
				r := vip
				r.via = c.via()
				r.callID = "big-" + tp + itoa(seq+1) + "@test"
				msg := tc.msg(r)
				if tc.code == 513 && len(msg) <= limit || tc.code == 302 && len(msg) > limit {
					t.Fatalf("%s: test message of %d bytes", tc.name, len(msg))
				}
				before := logs.String()
				res := c.exchange(msg)
				if res.StatusCode != tc.code {
					t.Fatalf("%s (%d bytes): %d %s, want %d", tc.name, len(msg), res.StatusCode, res.Reason, tc.code)
				}
				if res.CallID().Value() != r.callID || res.CSeq().MethodName != sip.INVITE {
					t.Errorf("%s: response to another request: %s", tc.name, res)
				}
				if v := res.Via(); v == nil || !strings.Contains(v.Value(), "z9hG4bK-big") {
					t.Errorf("%s: Via %v", tc.name, v)
				}
				if tag, _ := res.To().Params.Get("tag"); tag == "" {
					t.Errorf("%s: no To tag", tc.name)
				}
				if tc.code == 513 {
					if res.Reason != "Message Too Large" {
						t.Errorf("%s: reason %q", tc.name, res.Reason)
					}
					added := strings.TrimPrefix(logs.String(), before)
					lines := strings.Split(strings.TrimSpace(added), "\n")
					if len(lines) != 1 || !strings.Contains(lines[0], "status=513") || len(lines[0]) > 400 {
						t.Errorf("%s: want one short log line, got %d lines:\n%.600s", tc.name, len(lines), added)
					}
				}
			}
		})
	}
	if st := s.Stats(); st.Malformed != 8 {
		t.Errorf("Malformed %d, want 8 (the 513s)", st.Malformed)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if len(line) > 400 {
			t.Errorf("log line of %d bytes: %.200s...", len(line), line)
		}
	}
}

// TestStreamFraming: keep-alives still get their pong through the framer;
// CRLFs before a request are ignored (RFC 3261 §7.5); a request without a
// Content-Length over a stream gets 400 and the connection is closed (it
// has no end).
func TestStreamFraming(t *testing.T) {
	s := startServer(t, testConfig(), newFakeDecider())
	c := dialStream(t, s, "TCP")
	if _, err := c.conn.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	pong := make([]byte, 2)
	if _, err := io.ReadFull(c.rd, pong); err != nil || string(pong) != "\r\n" {
		t.Fatalf("keep-alive: %q %v", pong, err)
	}
	r := req{from: "<sip:+12125550102@x>;tag=1", via: c.via()}
	if res := c.exchange("\r\n\r\n\r\n" + r.String()); res.StatusCode != 603 {
		t.Fatalf("request after CRLFs: %d", res.StatusCode)
	}
	r = req{from: "<sip:+12125550102@x>;tag=1", via: c.via()}
	noCL := strings.Replace(r.String(), "Content-Length: 0\r\n", "", 1)
	res := c.exchange(noCL)
	if res.StatusCode != 400 || res.Reason != "Missing Content-Length Header" {
		t.Fatalf("no Content-Length: %d %s", res.StatusCode, res.Reason)
	}
	c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.rd.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection still open after a request without Content-Length: %v", err)
	}
}

// FuzzStreamFramer: whatever arrives, in whatever pieces, the framer never
// hands sipgo a message over the limit, passes nothing it did not read,
// and answers only with SIP responses.
func FuzzStreamFramer(f *testing.F) {
	small := req{}.String()
	f.Add([]byte(small+small), uint8(7))
	f.Add([]byte(withBody(req{}, 600)+small), uint8(100))
	f.Add([]byte(withHeaders(req{}, 2000)+small), uint8(50))
	f.Add([]byte("\r\n\r\n"+small+"\r\n"+small), uint8(3))
	f.Add([]byte(strings.Replace(small, "Content-Length: 0", "l: 5", 1)+"abcde"+small), uint8(1))
	f.Add([]byte(strings.Replace(small, "Content-Length: 0", "Content-Length: x", 1)), uint8(9))
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length: 900\r\n\r\n"+strings.Repeat("b", 900)+small), uint8(200))
	srv, err := New(testConfig(), newFakeDecider())
	if err != nil {
		f.Fatal(err)
	}
	const limit = 512
	f.Fuzz(func(t *testing.T, data []byte, piece uint8) {
		in := &chunkConn{data: data, piece: int(piece) + 1}
		c := &framedConn{Conn: in, s: srv, transport: "TCP", limit: limit}
		var got []byte
		buf := make([]byte, 300)
		for range 10000 {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if len(got) > len(data) {
			t.Fatalf("passed on %d bytes of %d", len(got), len(data))
		}
		p := sip.NewParser()
		p.MaxMessageLength = limit
		ps := p.NewSIPStream()
		ps.Write(got)
		for {
			_, _, err := ps.ParseNext()
			if errors.Is(err, sip.ErrMessageTooLarge) {
				t.Fatalf("framer passed a message over %d bytes: %q", limit, got)
			}
			if err != nil {
				break
			}
		}
		for out := in.out.Bytes(); len(out) > 0; {
			if !bytes.HasPrefix(out, []byte("SIP/2.0 ")) {
				t.Fatalf("framer wrote %q", out)
			}
			end := bytes.Index(out, []byte("\r\n\r\n"))
			if end < 0 {
				t.Fatalf("framer wrote an unterminated response %q", out)
			}
			out = out[end+4:]
		}
	})
}

// chunkConn is a net.Conn that delivers data in pieces and records writes.
type chunkConn struct {
	net.Conn
	data  []byte
	piece int
	out   bytes.Buffer
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data[:min(c.piece, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error) { return c.out.Write(p) }

func (c *chunkConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5099}
}

// BenchmarkStreamFramer: what the framer adds per message on TCP/TLS
// (finding the header end and Content-Length, one copy), over a stream of
// typical INVITEs read 32 KiB at a time.
func BenchmarkStreamFramer(b *testing.B) {
	msg := []byte(withBody(req{}, 900))
	const perRun = 256
	data := bytes.Repeat(msg, perRun)
	srv, err := New(testConfig(), newFakeDecider())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	in := &chunkConn{piece: 32 << 10}
	c := &framedConn{Conn: in, s: srv, transport: "TCP", limit: srv.parser.MaxMessageLength}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		in.data = data
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.readEr = nil
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perRun), "ns/msg")
}

// FuzzContentLength: the framer reads a Content-Length value exactly as
// sipgo's parser does, so the two agree on where every message ends.
func FuzzContentLength(f *testing.F) {
	for _, s := range []string{"0", " 12 ", "4294967295", "4294967296", "+5", "-1", "1_000", "0x10", "", " ", "\t7", "12a", "007"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsAny(v, "\r\n") {
			return
		}
		n, ok := contentLengthLine([]byte("Content-Length:" + v))
		h, err := parseCL([]byte("content-length"), v)
		if ok != (err == nil) || ok && n != int(*h.(*sip.ContentLengthHeader)) {
			t.Fatalf("%q: framer %d %v, sipgo %v %v", v, n, ok, h, err)
		}
	})
}
