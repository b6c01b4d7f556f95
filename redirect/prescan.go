package redirect

import (
	"bytes"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// sipgo drops a datagram it cannot parse (it logs and reads the next one),
// and answers a request without a usable Via or CSeq with a bare
// "400 Bad Request" before any handler sees it. A sender that gets no answer
// retransmits for 32 s, and a carrier wants to know what was wrong, so two
// hooks make every malformed request that can be answered get a 400 with a
// reason phrase:
//
//  1. The parser is sipgo's with each header parser wrapped (lenientParser):
//     a header value sipgo cannot parse is kept as a generic header under its
//     canonical name instead of failing the whole message. checkHeaders then
//     answers "400 Malformed <Name> Header" through the normal transaction.
//  2. A read filter on UDP (prescan) looks at each datagram before sipgo
//     parses it and catches what would still make the parse or the
//     transaction layer fail: a broken request line or Request-URI, lines not
//     ended by CRLF, a header line without a colon, a Content-Length beyond
//     the datagram, a missing or unparseable top Via, a missing or bad CSeq.
//     It answers those itself, statelessly, with the request's Via, From, To,
//     Call-ID and CSeq lines copied verbatim, to the datagram's source address
//     (the request's own Via cannot be trusted), and drops the datagram.
//     Responses (we send no requests) are dropped unparsed.
//
// Over TCP/TLS the stream cannot be resynchronised after a framing error, so
// sipgo closes the connection; header-value errors still get their 400, and
// the framer of streamlimit.go answers oversized requests (513) and ones
// without Content-Length (400) before sipgo sees them.

// canonicalNames are the names of the headers sipgo parses into types; a
// generic header with one of these names is one the lenient parser kept
// after sipgo's parser refused it.
var canonicalNames = map[string]string{
	"c": "Content-Type", "content-type": "Content-Type",
	"f": "From", "from": "From",
	"t": "To", "to": "To",
	"m": "Contact", "contact": "Contact",
	"i": "Call-ID", "call-id": "Call-ID",
	"cseq": "CSeq",
	"v":    "Via", "via": "Via",
	"max-forwards": "Max-Forwards",
	"l":            "Content-Length", "content-length": "Content-Length",
	"route":        "Route",
	"record-route": "Record-Route",
	"refer-to":     "Refer-To",
	"r":            "Refer-To",
	"referred-by":  "Referred-By",
	"b":            "Referred-By",
}

func isStrictHeader(name string) bool {
	switch name {
	case "Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Contact", "Content-Length",
		"Content-Type", "Route", "Record-Route", "Refer-To", "Referred-By":
		return true
	}
	return false
}

// sipgo's own parsers, used by prescan to judge a value exactly as the
// message parser will.
var (
	sipgoParsers = sip.DefaultHeadersParser()
	parseVia     = sipgoParsers["via"]
	parseCSeq    = sipgoParsers["cseq"]
	parseCL      = sipgoParsers["content-length"]
)

// newLenientParser returns sipgo's parser with every typed header parser
// wrapped so that a value it refuses becomes a generic header.
func newLenientParser() *sip.Parser {
	m := make(map[string]sip.HeaderParser, len(sipgoParsers))
	for k, p := range sipgoParsers {
		name, ok := canonicalNames[k]
		if !ok {
			name = k
		}
		m[k] = lenient(name, p)
	}
	return sip.NewParser(sip.WithHeadersParsers(m))
}

func lenient(name string, p sip.HeaderParser) sip.HeaderParser {
	return func(hn []byte, text string) (sip.Header, error) {
		h, err := p(hn, text)
		if err == nil || isCommaSplit(err) {
			// sipgo signals "first value parsed, more after a comma" with
			// an error; it must reach the caller unchanged.
			return h, err
		}
		return sip.NewHeader(name, text), nil
	}
}

func isCommaSplit(err error) bool { return err.Error() == "comma detected" }

// scanResult is what prescan found in one datagram.
type scanResult struct {
	code   int    // 0: pass to sipgo; -1: drop silently; else the status to answer
	reason string // reason phrase for code
	// Spans (start, end) of the header lines copied into a stateless reply.
	lines [][2]int
	hasTo bool
	toTag bool
}

// prescan judges a UDP datagram before sipgo parses it (see above).
func prescan(data []byte, r *scanResult) {
	*r = scanResult{lines: r.lines[:0]}
	if len(bytes.Trim(data, "\r\n")) == 0 {
		return // keep-alive; sipgo ignores it
	}
	if bytes.HasPrefix(data, []byte("SIP/")) || bytes.HasPrefix(data, []byte("sip/")) {
		r.code = -1 // a response: we send no requests
		return
	}
	end := bytes.IndexByte(data, '\r')
	if end < 0 || end+1 >= len(data) || data[end+1] != '\n' {
		r.code = -1 // not line-structured: nothing to answer to
		return
	}
	start := string(data[:end])
	method, problem := checkRequestLine(start)
	setProblem := func(code int, reason string) {
		if r.code == 0 {
			r.code, r.reason = code, reason
		}
	}
	if problem != "" {
		setProblem(400, problem)
	}

	// Header lines, with sipgo's line rules (RFC 3261 §7.3.1 folding).
	pos := end + 2
	var (
		viaSeen, cseqSeen, headersEnded bool
		clValue                         = -1
	)
	// nextLine returns the physical line at p and where the next begins.
	// sipgo needs CRLF everywhere; a lone CR or LF is reported, but the
	// scan goes on to collect the headers a reply needs.
	nextLine := func(p int) (line []byte, next int, ok bool) {
		i := bytes.IndexAny(data[p:], "\r\n")
		if i < 0 {
			setProblem(400, "Missing CRLF")
			return data[p:], len(data), false
		}
		e := p + i
		if data[e] == '\r' && e+1 < len(data) && data[e+1] == '\n' {
			return data[p:e], e + 2, true
		}
		setProblem(400, "Missing CRLF")
		return data[p:e], e + 1, true
	}
	for pos < len(data) {
		line, next, ok := nextLine(pos)
		if !ok {
			break
		}
		if len(line) == 0 {
			headersEnded = true
			pos = next
			break
		}
		lineStart, lineEnd := pos, pos+len(line)
		// Folded continuation lines belong to this header (the first
		// header line is never a continuation, as in sipgo).
		var folded []byte
		for next < len(data) && (data[next] == ' ' || data[next] == '\t') {
			cont, n2, ok := nextLine(next)
			if !ok {
				next = n2
				break
			}
			if folded == nil {
				folded = append([]byte(nil), bytes.TrimRight(line, " \t")...)
			}
			folded = append(folded, ' ')
			folded = append(folded, bytes.Trim(cont, " \t")...)
			lineEnd = next + len(cont)
			next = n2
		}
		if folded != nil {
			line = folded
		}
		pos = next
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			setProblem(400, "Malformed Header Line")
			continue
		}
		name := strings.ToLower(string(bytes.TrimSpace(line[:colon])))
		value := string(bytes.TrimSpace(line[colon+1:]))
		span := [2]int{lineStart, lineEnd}
		switch name {
		case "via", "v":
			r.lines = append(r.lines, span)
			if !viaSeen {
				viaSeen = true
				if _, err := parseVia([]byte("via"), value); err != nil && !isCommaSplit(err) {
					setProblem(400, "Malformed Via Header")
				}
			}
		case "cseq":
			r.lines = append(r.lines, span)
			if !cseqSeen {
				cseqSeen = true
				h, err := parseCSeq([]byte("cseq"), value)
				switch {
				case err != nil:
					setProblem(400, "Malformed CSeq Header")
				case method != "" && string(h.(*sip.CSeqHeader).MethodName) != method:
					setProblem(400, "CSeq Method Does Not Match Request")
				}
			}
		case "from", "f", "call-id", "i":
			r.lines = append(r.lines, span)
		case "to", "t":
			r.lines = append(r.lines, span)
			r.hasTo = true
			r.toTag = hasTagParam(value)
		case "content-length", "l":
			if h, err := parseCL([]byte("content-length"), value); err == nil {
				clValue = int(*h.(*sip.ContentLengthHeader))
			}
		}
	}
	if !headersEnded && r.code == 0 {
		setProblem(400, "Missing End Of Headers")
	}
	if headersEnded && clValue > len(data)-pos {
		setProblem(400, "Content-Length Exceeds Message")
	}
	if !viaSeen {
		setProblem(400, "Missing Via Header")
	}
	if !cseqSeen {
		setProblem(400, "Missing CSeq Header")
	}
	if r.code > 0 && method == "" && !viaSeen && !cseqSeen {
		r.code = -1 // neither a request line nor SIP headers: not SIP
	}
}

// checkRequestLine applies sipgo's request-line rules (method SP
// Request-URI SP SIP-Version); it returns the method and a reason phrase
// for a line sipgo would refuse.
func checkRequestLine(line string) (method, problem string) {
	i := strings.IndexByte(line, ' ')
	if i <= 0 {
		return "", "Malformed Request-Line"
	}
	rest := line[i+1:]
	j := strings.IndexByte(rest, ' ')
	if j < 0 {
		return "", "Malformed Request-Line"
	}
	uri, version := rest[:j], rest[j+1:]
	if len(version) < 3 || strings.IndexByte(version, ' ') >= 0 || !sip.UriIsSIP(version[:3]) {
		return "", "Malformed Request-Line"
	}
	method = strings.ToUpper(line[:i])
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil || u.Wildcard {
		return method, "Malformed Request-URI"
	}
	return method, ""
}

// hasTagParam reports whether a To/From value carries a tag parameter
// (after the URI, outside <...> and quotes).
func hasTagParam(v string) bool {
	if i := strings.LastIndexByte(v, '>'); i >= 0 {
		v = v[i+1:]
	}
	for _, p := range strings.Split(v, ";")[1:] {
		p = strings.TrimSpace(p)
		if len(p) >= 4 && strings.EqualFold(p[:4], "tag=") || strings.EqualFold(p, "tag") {
			return true
		}
	}
	return false
}

// readFilter is the pre-parse hook sipgo calls for every read.
func (s *Server) readFilter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if p.Transport != "UDP" {
		return data, nil
	}
	var r scanResult
	var spans [8][2]int
	r.lines = spans[:0]
	prescan(data, &r)
	switch {
	case r.code == 0:
		return data, nil
	case r.code < 0:
		if !bytes.HasPrefix(data, []byte("SIP/")) {
			s.stats.malformed.Add(1)
		}
		return nil, nil
	}
	s.stats.malformed.Add(1)
	conn, _ := s.udpConnFor(p.LocalAddr)
	if conn == nil {
		return nil, nil
	}
	var buf [1500]byte
	out := s.appendRawReply(buf[:0], data, &r)
	if _, err := conn.WriteTo(out, p.RemoteAddr); err != nil {
		s.stats.sendErrors.Add(1)
		s.log.Warn("redirect: sending 400 for malformed datagram failed", "peer", p.RemoteAddr.String(), "error", err)
	}
	s.log.Debug("redirect: malformed request", "peer", p.RemoteAddr.String(), "status", r.code, "reason", r.reason)
	return nil, nil
}

func (s *Server) udpConnFor(local net.Addr) (net.PacketConn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udpConn == nil {
		return nil, false
	}
	return s.udpConn, true
}

// appendRawReply builds a stateless response to a datagram sipgo cannot
// parse, from the request's header lines.
func (s *Server) appendRawReply(b, data []byte, r *scanResult) []byte {
	b = append(b, "SIP/2.0 "...)
	b = appendInt(b, r.code)
	b = append(b, ' ')
	b = append(b, r.reason...)
	b = append(b, "\r\n"...)
	for _, sp := range r.lines {
		line := data[sp[0]:sp[1]]
		b = append(b, line...)
		colon := bytes.IndexByte(line, ':')
		name := strings.ToLower(string(bytes.TrimSpace(line[:colon])))
		if (name == "to" || name == "t") && !r.toTag {
			b = append(b, ";tag="...)
			b = append(b, s.rawTag(data)...)
		}
		b = append(b, "\r\n"...)
	}
	if s.hdrServer != nil {
		b = append(b, "Server: "...)
		b = append(b, s.hdrServer.Value()...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: 0\r\n\r\n"...)
	return b
}

func (s *Server) rawTag(data []byte) string {
	var sum [8]byte
	v := hashBytes(s, data)
	for i := range sum {
		sum[i] = "0123456789abcdef"[(v>>(4*i))&0xf]
	}
	return "cg" + string(sum[:])
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
