package redirect

import (
	"bytes"
	"io"
	"math"
	"net"
)

// Messages too large for a stream (TCP, TLS).
//
// sipgo's stream parser refuses a message over sip.ParseMaxMessageLength
// (65,535 bytes) by closing the connection, with no response and one Error
// line carrying the whole read (up to 32 KiB of the message) as its "data"
// attribute; sipgo has no option or hook to answer instead (its read filter
// sees reads, not messages, and cannot write to the connection). So the TCP
// and TLS listeners hand sipgo connections wrapped in a framer that finds
// each message's boundaries itself (RFC 3261 §7.5, §18.3: the header
// section ends at the first empty line, the body is Content-Length bytes)
// and passes on only messages that fit. A request over the limit gets
// "513 Message Too Large" (RFC 3261 §21.5.14) built from its Via, From, To,
// Call-ID and CSeq lines, one short Warn line, and a count in
// Stats.Malformed; its bytes are discarded and the connection goes on with
// the next message. This holds also when the header section alone is over
// the limit: the framer keeps only the first limit bytes (for the 513) and
// reads the rest line by line for the empty line and Content-Length. A
// response over the limit (we send no requests) is discarded the same way,
// with a Debug line.
//
// The framer also ignores CRLFs before a start line (§7.5) except a lone
// keep-alive (RFC 5626 §3.5.1: CRLF, or CRLFCRLF which sipgo answers with
// CRLF), which it hands on alone, as it arrived. A request without a
// usable Content-Length has no end on a stream (§18.3): it gets "400
// Missing Content-Length Header" (or Malformed) and the connection is
// closed, where sipgo would close it logging the whole read.

// streamReadChunk is how much the framer asks the connection for at once.
const streamReadChunk = 32 << 10

// limitedListener wraps the TCP or TLS listener given to sipgo.
type limitedListener struct {
	net.Listener
	s         *Server
	transport string
}

// limitStream returns ln with every accepted connection framed (see above).
func (s *Server) limitStream(ln net.Listener, transport string) net.Listener {
	return &limitedListener{Listener: ln, s: s, transport: transport}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// The limit is sipgo's: s.parser is built like the user agent's parser.
	return &framedConn{Conn: c, s: l.s, transport: l.transport, limit: l.s.parser.MaxMessageLength}, nil
}

// framedConn is one accepted connection as sipgo reads it.
type framedConn struct {
	net.Conn
	s         *Server
	transport string
	limit     int

	buf    []byte // backing store of in
	in     []byte // read from the connection, not yet passed on or dropped
	readEr error  // the connection's read error, returned once in is used up

	pass int // bytes of an accepted message still to pass on
	skip int // bytes of a refused message's body still to drop

	// An over-long header section being dropped line by line.
	dropping bool
	lineN    int      // bytes of the current line seen so far
	line     [64]byte // its first bytes (enough for a Content-Length line)
	dropCL   int      // the last Content-Length seen, -1 for none
}

// Read hands sipgo the next bytes of messages that fit the limit.
func (c *framedConn) Read(p []byte) (int, error) {
	for {
		if c.pass > 0 && len(c.in) > 0 {
			n := copy(p, c.in[:min(c.pass, len(c.in))])
			c.in = c.in[n:]
			c.pass -= n
			return n, nil
		}
		if len(c.in) > 0 {
			progressed, err := c.frame()
			if err != nil {
				return 0, err
			}
			if progressed {
				continue
			}
		}
		if c.readEr != nil {
			return 0, c.readEr
		}
		c.fill()
	}
}

// fill reads once from the connection into in.
func (c *framedConn) fill() {
	switch {
	case c.buf == nil:
		c.buf = make([]byte, streamReadChunk)
		c.in = c.buf[:0]
	case len(c.in) == 0:
		c.in = c.buf[:0]
	case cap(c.in)-len(c.in) < streamReadChunk/4:
		// Make room after what is left: a header section being gathered
		// may need up to limit bytes.
		if len(c.in)+streamReadChunk > len(c.buf) {
			nb := make([]byte, len(c.in)+streamReadChunk)
			copy(nb, c.in)
			c.buf = nb
		} else {
			copy(c.buf, c.in)
		}
		c.in = c.buf[:len(c.in)]
	}
	n, err := c.Conn.Read(c.in[len(c.in):cap(c.in)])
	c.in = c.in[:len(c.in)+n]
	if err != nil {
		c.readEr = err
	}
}

// frame judges what starts in, at a message boundary or while dropping. It
// reports whether it used up any input; false means it needs more.
func (c *framedConn) frame() (bool, error) {
	switch {
	case c.skip > 0:
		n := min(c.skip, len(c.in))
		c.in = c.in[n:]
		c.skip -= n
		return true, nil
	case c.dropping:
		return c.dropHeaders()
	}
	// At a message boundary.
	run := 0
	for run < len(c.in) && (c.in[run] == '\r' || c.in[run] == '\n') {
		run++
	}
	if run > 0 {
		if run == len(c.in) && run <= 4 && c.readEr == nil {
			// A keep-alive on its own: sipgo answers CRLFCRLF.
			c.pass = run
		} else {
			c.in = c.in[run:]
		}
		return true, nil
	}
	end := bytes.Index(c.in, []byte("\r\n\r\n"))
	if end < 0 {
		if len(c.in) <= c.limit {
			return false, nil
		}
		c.refuse(c.in[:c.limit], 513, "Message Too Large", -1)
		c.dropping, c.lineN, c.dropCL = true, 0, -1
		return true, nil
	}
	head := end + 4
	cl, ok := contentLength(c.in[:head])
	switch {
	case ok && head+cl <= c.limit:
		c.pass = head + cl
		return true, nil
	case ok:
		c.refuse(c.in[:head], 513, "Message Too Large", head+cl)
		c.in = c.in[head:]
		c.skip = cl
		return true, nil
	}
	// Without a usable Content-Length the message has no end on a stream
	// (RFC 3261 §18.3, §20.14); sipgo would close the connection, logging
	// the whole read.
	reason := "Missing Content-Length Header"
	if cl == -2 {
		reason = "Malformed Content-Length Header"
	}
	c.refuse(c.in[:head], 400, reason, -1)
	c.in = c.in[:0]
	return false, io.EOF
}

// dropHeaders drops the lines of an over-long header section up to the
// empty line, noting Content-Length, then drops the body.
func (c *framedConn) dropHeaders() (bool, error) {
	for len(c.in) > 0 {
		i := bytes.IndexByte(c.in, '\n')
		seg := c.in
		if i >= 0 {
			seg = c.in[:i]
		}
		if c.lineN < len(c.line) {
			copy(c.line[c.lineN:], seg)
		}
		c.lineN += len(seg)
		if i < 0 {
			c.in = c.in[:0]
			return true, nil
		}
		c.in = c.in[i+1:]
		line := c.line[:min(c.lineN, len(c.line))]
		line = bytes.TrimSuffix(line, []byte("\r"))
		full := c.lineN <= len(c.line)
		c.lineN = 0
		if len(line) == 0 && full {
			c.dropping = false
			if c.dropCL < 0 {
				// No way to find the next message.
				return false, io.EOF
			}
			c.skip = c.dropCL
			return true, nil
		}
		if full {
			if n, ok := contentLengthLine(line); ok {
				c.dropCL = n
			}
		}
	}
	return true, nil
}

// refuse answers a request it will not pass on (513 for a message over the
// limit, 400 for a framing error) from the header lines in head, with one
// short log line; size is the message's length when known.
func (c *framedConn) refuse(head []byte, code int, reason string, size int) {
	peer := c.RemoteAddr().String()
	var r scanResult
	prescan(head, &r)
	if r.code < 0 {
		// A response, or not SIP: nothing to answer.
		c.s.log.Debug("redirect: stream message dropped", "transport", c.transport, "peer", peer, "reason", reason, "limit", c.limit)
		return
	}
	c.s.stats.malformed.Add(1)
	r.code, r.reason = code, reason
	out := c.s.appendRawReply(make([]byte, 0, 1024), head, &r)
	attrs := []any{"transport", c.transport, "peer", peer, "status", code, "reason", reason}
	switch {
	case size >= 0:
		attrs = append(attrs, "bytes", size, "limit", c.limit)
	case code == 513:
		attrs = append(attrs, "bytes", "header section alone over the limit", "limit", c.limit)
	}
	c.s.log.Warn("redirect: request refused before parsing", attrs...)
	if _, err := c.Conn.Write(out); err != nil {
		c.s.stats.sendErrors.Add(1)
		c.s.log.Warn("redirect: sending the refusal failed", "transport", c.transport, "peer", peer, "status", code, "error", err)
	}
}

// contentLength finds the (last, as sipgo) Content-Length of a header
// section; ok is false when there is none (n -1) or one is not a number
// (n -2).
func contentLength(head []byte) (n int, ok bool) {
	n = -1
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSuffix(head[:i], []byte("\r"))
		head = head[i+1:]
		if len(line) == 0 {
			continue
		}
		if c := line[0] | 0x20; c != 'c' && c != 'l' {
			continue // most lines, at the cost of one test
		}
		if !isContentLengthName(line) {
			continue
		}
		v, found := contentLengthLine(line)
		if !found {
			return -2, false
		}
		n = v
	}
	return n, n >= 0
}

// contentLengthLine parses "Content-Length: 123" or "l: 123" (any case),
// accepting what sipgo's parser accepts: strconv.ParseUint(TrimSpace(v),
// 10, 32).
func contentLengthLine(line []byte) (int, bool) {
	if !isContentLengthName(line) {
		return 0, false
	}
	v := bytes.TrimSpace(line[bytes.IndexByte(line, ':')+1:])
	if len(v) == 0 {
		return 0, false
	}
	n := uint64(0)
	for _, ch := range v {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + uint64(ch-'0')
		if n > math.MaxUint32 {
			return 0, false
		}
	}
	return int(n), true
}

func isContentLengthName(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 || len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
		return false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	return bytes.EqualFold(name, []byte("content-length")) || bytes.EqualFold(name, []byte("l"))
}
