package b2bua

import (
	"bytes"
	"errors"

	"github.com/emiago/sipgo/sip"
)

// readFilter sees every SIP datagram before sipgo parses it, to answer
// the requests sipgo would drop. sipgo drops a datagram it cannot parse
// and logs it whole, at error level, through the process's default
// logger: a caller whose INVITE says a Content-Length longer than the
// datagram got no answer and retransmitted it until its transaction timed
// out, and a flood of bad datagrams was a flood of log lines. RFC 3261
// §18.3 asks for 400 to such a request; one over the parser's size limit
// gets 513 Message Too Large (§21.5.14). What cannot be answered (a
// response, an ACK, a request without Via, From, To, Call-ID or CSeq, or
// whose answer built from them would not parse) is dropped. Each is
// counted in malformed_total (by answer) and logged at most once a
// second.
//
// The datagram is parsed here and again by sipgo when it is good: the
// B2BUA's rate is that of calls being screened, where a parse costs
// little; the redirect server, which has its own scanner, does not do
// this.
func (s *Server) readFilter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if p.Transport != "UDP" || len(bytes.Trim(data, "\r\n\x00")) == 0 {
		return data, nil // keep-alives are sipgo's
	}
	msg, err := s.parser.ParseSIP(data)
	if err == nil {
		return data, nil
	}
	code, reason := 400, "Malformed Request"
	switch {
	case errors.Is(err, sip.ErrParseReadBodyIncomplete):
		reason = "Content-Length Exceeds Datagram"
	case errors.Is(err, sip.ErrMessageTooLarge):
		code, reason = 513, "Message Too Large"
	}
	req, _ := msg.(*sip.Request)
	var out []byte
	if req != nil && !req.IsAck() && req.SipVersion == "SIP/2.0" && req.Via() != nil && req.From() != nil &&
		req.To() != nil && req.CallID() != nil && req.CSeq() != nil {
		out = []byte(sip.NewResponseFromRequest(req, code, reason, nil).String())
		// Headers sipgo's lenient parse took may still be too broken to
		// copy into an answer the caller could read: answer only with
		// what parses.
		if _, perr := s.parser.ParseSIP(out); perr != nil {
			out = nil
		}
	}
	if out == nil || s.udpConn == nil {
		s.m.malformed.WithLabelValues("dropped").Inc()
		if s.badLog.allow() {
			s.log.Info("b2bua: unparsable SIP datagram dropped", "peer", p.RemoteAddr.String(), "bytes", len(data), "err", err)
		}
		return nil, nil
	}
	s.m.malformed.WithLabelValues("answered").Inc()
	if _, werr := s.udpConn.WriteTo(out, p.RemoteAddr); werr != nil && s.badLog.allow() {
		s.log.Warn("b2bua: answering a malformed request failed", "peer", p.RemoteAddr.String(), "err", werr)
	}
	if s.badLog.allow() {
		s.log.Info("b2bua: malformed request answered", "peer", p.RemoteAddr.String(), "method", string(req.Method),
			"status", code, "err", err)
	}
	return nil, nil
}
