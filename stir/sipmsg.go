package stir

import (
	"errors"
	"strings"
	"time"
)

// RequestFromSIP reads what verification needs from a SIP request's text
// (request line and headers; the body is ignored): every Identity or "y"
// header (several fields, or comma-joined values), P-Asserted-Identity,
// From ("f"), To ("t") and the Request-URI. Folded header lines are joined.
// The SIP tier has its own zero-copy scanner; this is for the CLI, tests
// and tools.
func RequestFromSIP(msg []byte, at time.Time) (*Request, error) {
	text := string(msg)
	if i := strings.Index(text, "\r\n\r\n"); i >= 0 {
		text = text[:i]
	} else if i := strings.Index(text, "\n\n"); i >= 0 {
		text = text[:i]
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, errors.New("SIP message: empty")
	}
	rl := strings.Fields(lines[0])
	if len(rl) != 3 || !strings.HasPrefix(rl[2], "SIP/") {
		return nil, errors.New("SIP message: first line is not a request line (METHOD URI SIP/2.0)")
	}
	req := &Request{RequestURI: rl[1], At: at}
	// Unfold: a line starting with space or tab continues the previous one.
	var hdrs []string
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(hdrs) > 0 {
			hdrs[len(hdrs)-1] += " " + strings.TrimSpace(l)
			continue
		}
		hdrs = append(hdrs, l)
	}
	var pai []string
	for _, h := range hdrs {
		name, val, ok := strings.Cut(h, ":")
		if !ok {
			return nil, errors.New("SIP message: header line without ':': " + h)
		}
		name = strings.TrimSpace(name)
		val = strings.TrimSpace(val)
		switch {
		case IsIdentityName(name):
			req.Identity = append(req.Identity, SplitIdentityValues(val)...)
		case strings.EqualFold(name, "P-Asserted-Identity"):
			pai = append(pai, val)
		case strings.EqualFold(name, "From") || name == "f" || name == "F":
			req.From = val
		case strings.EqualFold(name, "To") || name == "t" || name == "T":
			req.To = val
		}
	}
	req.PAI = strings.Join(pai, ",")
	return req, nil
}

// SignInvite signs a SIP request the way an authentication service does:
// the calling number is P-Asserted-Identity's (else From's), the called
// number To's, and the Identity header is inserted after the last header
// (before the blank line). It returns the new message and the Identity value.
func SignInvite(msg []byte, s *Signer, attest, origID string, at time.Time) ([]byte, string, error) {
	req, err := RequestFromSIP(msg, at)
	if err != nil {
		return nil, "", err
	}
	orig, ok := "", false
	if req.PAI != "" {
		orig, ok = TNFromHeaderList(req.PAI)
	}
	if !ok {
		if orig, ok = TNFromHeader(req.From); !ok {
			return nil, "", errors.New("the request has no calling telephone number (P-Asserted-Identity or From)")
		}
	}
	dest, ok := TNFromHeader(req.To)
	if !ok {
		return nil, "", errors.New("the request's To header has no telephone number")
	}
	id, err := s.Identity(Claims{Attest: attest, OrigTN: orig, DestTN: []string{dest}, OrigID: origID, Iat: at})
	if err != nil {
		return nil, "", err
	}
	return AddHeader(msg, "Identity", id), id, nil
}

// AddHeader inserts "name: value" after a SIP message's last header.
func AddHeader(msg []byte, name, value string) []byte {
	s := string(msg)
	eol := "\r\n"
	end := strings.Index(s, "\r\n\r\n")
	if end < 0 {
		if end = strings.Index(s, "\n\n"); end >= 0 {
			eol = "\n"
		} else {
			s = strings.TrimRight(s, "\r\n")
			return []byte(s + "\r\n" + name + ": " + value + "\r\n\r\n")
		}
	}
	return []byte(s[:end] + eol + name + ": " + value + s[end:])
}
