package main

import (
	"bytes"
	"errors"
	"strconv"
)

// The messages are uac-mix.xml's, byte for byte the same layout, so both
// servers parse what sipp sends them: an INVITE from the injection file
// and, for every final response, the ACK of RFC 3261 §17.1.1.3 (same
// Request-URI, Via branch, From, Call-ID and CSeq number, the response's To).
// Call k of instance id has Call-ID "k-id@local_ip", From tag "id-k" and
// Via branch "z9hG4bK-id-k-0", so a response names its call.

// local is one socket's side of the messages.
type local struct {
	ip   string // local_ip
	port string // local_port
}

// remote is the server's side: its "ip:port", and the Request-URI's user.
// With ruriUser "" the Request-URI user is the called number, as in
// uac-mix.xml (a call to screen); set (gen -ruri-user), it is that fixed
// user and the called number is only in To, which is how SIP enrolment of
// call keys addresses the enrolment user (keys.sip_enrolment_user,
// redirect/enrol.go): sip:enrol@server, To: <sip:+called@server>.
type remote struct {
	addr     string // "ip:port"
	ruriUser string // "" = the called number
}

// appendInvite writes call k's INVITE.
func appendInvite(b []byte, l *local, r *remote, id string, c *callSpec, k int) []byte {
	b = append(b, "INVITE "...)
	b = appendRURI(b, r, c)
	b = append(b, " SIP/2.0\r\n"...)
	b = appendVia(b, l, id, k)
	b = appendFrom(b, l, id, c, k)
	b = append(b, "To: <sip:"...)
	b = append(b, c.called...)
	b = append(b, '@')
	b = append(b, r.addr...)
	b = append(b, ";user=phone>\r\n"...)
	b = appendCallID(b, l, id, k)
	b = append(b, "CSeq: 1 INVITE\r\nContact: <sip:"...)
	b = append(b, c.calling...)
	b = append(b, '@')
	b = append(b, l.ip...)
	b = append(b, ':')
	b = append(b, l.port...)
	b = append(b, ";user=phone>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"...)
	return b
}

// appendAck writes the ACK of call k's final response, whose To value
// (with the server's tag) is to.
func appendAck(b []byte, l *local, r *remote, id string, c *callSpec, k int, to []byte) []byte {
	b = append(b, "ACK "...)
	b = appendRURI(b, r, c)
	b = append(b, " SIP/2.0\r\n"...)
	b = appendVia(b, l, id, k)
	b = appendFrom(b, l, id, c, k)
	b = append(b, "To: "...)
	b = append(b, to...)
	b = append(b, "\r\n"...)
	b = appendCallID(b, l, id, k)
	b = append(b, "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"...)
	return b
}

// appendRURI writes the Request-URI, the same in the INVITE and its ACK
// (RFC 3261 §17.1.1.3).
func appendRURI(b []byte, r *remote, c *callSpec) []byte {
	b = append(b, "sip:"...)
	if r.ruriUser != "" {
		b = append(b, r.ruriUser...)
		b = append(b, '@')
		return append(b, r.addr...)
	}
	b = append(b, c.called...)
	b = append(b, '@')
	b = append(b, r.addr...)
	return append(b, ";user=phone"...)
}

// validRURIUser reports whether u can be written as a Request-URI's user
// as it is: letters, digits and - _ . + (RFC 3261's unreserved characters
// but the marks that would need care in a shell, and '+' for numbers).
func validRURIUser(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, c := range []byte(u) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '+':
		default:
			return false
		}
	}
	return true
}

func appendVia(b []byte, l *local, id string, k int) []byte {
	b = append(b, "Via: SIP/2.0/UDP "...)
	b = append(b, l.ip...)
	b = append(b, ':')
	b = append(b, l.port...)
	b = append(b, ";branch=z9hG4bK-"...)
	b = append(b, id...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(k), 10)
	return append(b, "-0;rport\r\n"...)
}

func appendFrom(b []byte, l *local, id string, c *callSpec, k int) []byte {
	b = append(b, "From: <sip:"...)
	b = append(b, c.calling...)
	b = append(b, '@')
	b = append(b, l.ip...)
	b = append(b, ";user=phone>;tag="...)
	b = append(b, id...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(k), 10)
	return append(b, "\r\n"...)
}

func appendCallID(b []byte, l *local, id string, k int) []byte {
	b = append(b, "Call-ID: "...)
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, '-')
	b = append(b, id...)
	b = append(b, '@')
	b = append(b, l.ip...)
	return append(b, "\r\n"...)
}

// response is what the generator needs from a server's response.
type response struct {
	code   int
	k      int    // the call, from the Call-ID
	to     []byte // the To value (aliases the datagram)
	screen bool   // the Contact is the B2BUA's sip:screen@ URI (uac-mix.xml's test)
}

var (
	errNotResponse = errors.New("not a SIP/2.0 response")
	errNoCallID    = errors.New("no Call-ID")
	errForeignCall = errors.New("Call-ID is not one of this generator's calls")
	errNoTo        = errors.New("no To header")
)

// parseResponse reads the status code, Call-ID, To and Contact of a
// response to one of instance id's calls.
func parseResponse(b []byte, id string, r *response) error {
	*r = response{k: -1}
	if len(b) < 12 || !bytes.HasPrefix(b, []byte("SIP/2.0 ")) {
		return errNotResponse
	}
	code := 0
	for _, c := range b[8:11] {
		if c < '0' || c > '9' {
			return errNotResponse
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || b[11] != ' ' && b[11] != '\r' && b[11] != '\n' {
		return errNotResponse
	}
	r.code = code
	rest := b[bytes.IndexByte(b, '\n')+1:]
	var callID []byte
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of the headers
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		value := bytes.TrimSpace(line[colon+1:])
		switch {
		case isHeader(name, "Call-ID", "i"):
			callID = value
		case isHeader(name, "To", "t"):
			r.to = value
		case isHeader(name, "Contact", "m"):
			r.screen = r.screen || bytes.Contains(value, []byte("sip:screen@"))
		}
	}
	if callID == nil {
		return errNoCallID
	}
	dash := bytes.IndexByte(callID, '-')
	if dash < 1 || dash > 10 || !bytes.HasPrefix(callID[dash+1:], []byte(id)) ||
		len(callID) <= dash+1+len(id) || callID[dash+1+len(id)] != '@' {
		return errForeignCall
	}
	k, err := strconv.Atoi(string(callID[:dash]))
	if err != nil || k < 0 {
		return errForeignCall
	}
	r.k = k
	if r.to == nil {
		return errNoTo
	}
	return nil
}

// isHeader reports whether name is the header long or its compact form.
func isHeader(name []byte, long, compact string) bool {
	return bytes.EqualFold(name, []byte(long)) || bytes.EqualFold(name, []byte(compact))
}
