package sipcall

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"unsafe"

	"callgate/e164"
	"callgate/sipcall/isup"
)

// IAM gives the Builder the ISUP IAM a SIP-T or SIP-I gateway sent in the
// INVITE's body (RFC 3204; nil: none). A gateway that maps ISUP to SIP in
// full (RFC 3398) puts what the IAM says into headers; one that does not
// leaves it in the IAM alone, and the call would be read without it — a
// call forwarded to a route's routing number (the B2BUA's gateway path)
// would have no diverting subscriber, a restricted caller's number would
// be shown. So the IAM fills in what the headers lack, and only that,
// since a gateway's headers are its own word on the call:
//
//   - Calling number: the Calling Party Number, when neither
//     P-Asserted-Identity nor From gave one (an anonymous From, say).
//   - Presentation: restricted when the Calling Party Number's address
//     presentation restricted indicator says so and the INVITE has no
//     Privacy header.
//   - Original called number: the Original Called Number, else the
//     Redirecting Number, when the INVITE has neither Diversion nor
//     History-Info.
//
// A number that is not national or international, or not all digits, is
// not taken (isup.Number.E164).
func (b *Builder) IAM(m *isup.IAM) { b.iam = m }

// iamCalling applies the IAM to the calling number and privacy the
// headers gave.
func (b *Builder) iamCalling(calling e164.Number, privacy bool) (e164.Number, bool) {
	m := b.iam
	if !m.HasCalling {
		return calling, privacy
	}
	if calling == 0 {
		if n, err := m.Calling.E164(); err == nil {
			calling = n
		}
	}
	if !b.hasPrivacy && m.Calling.Presentation == isup.PresentationRestricted {
		privacy = true
	}
	return calling, privacy
}

// iamOriginalCalled is the number the IAM says the call was first meant
// for, 0 when it says none.
func iamOriginalCalled(m *isup.IAM) e164.Number {
	if m.HasOriginalCalled {
		if n, err := m.OriginalCalled.E164(); err == nil {
			return n
		}
	}
	if m.HasRedirecting {
		if n, err := m.Redirecting.E164(); err == nil {
			return n
		}
	}
	return 0
}

// iamRedirecting is the number the IAM says the call was last forwarded
// from: the Redirecting Number, else the Original Called Number (forwarded
// once), 0 when it says none.
func iamRedirecting(m *isup.IAM) e164.Number {
	if m.HasRedirecting {
		if n, err := m.Redirecting.E164(); err == nil {
			return n
		}
	}
	if m.HasOriginalCalled {
		if n, err := m.OriginalCalled.E164(); err == nil {
			return n
		}
	}
	return 0
}

// maxBodyParts bounds the parts of a multipart body looked at for an IAM.
const maxBodyParts = 8

// ErrNoIAM is BodyIAM's answer for a body without an application/ISUP
// part.
var ErrNoIAM = errors.New("no application/ISUP body part")

// BodyIAM reads the ISUP IAM of an INVITE body of Content-Type ct: the
// whole body when it is application/ISUP, else the first application/ISUP
// part of a multipart body (RFC 3204, RFC 5621), in the ISUP variant its
// version and base parameters name (isup.VariantOf). It returns ErrNoIAM
// when there is none, and otherwise why it does not read.
func BodyIAM(ct string, body []byte) (*isup.IAM, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fmt.Errorf("Content-Type %q: %w", ct, err)
	}
	if mt == "application/isup" {
		return ReadIAM(body, params)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return nil, ErrNoIAM
	}
	if params["boundary"] == "" {
		return nil, fmt.Errorf("Content-Type %q: multipart without boundary", ct)
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for range maxBodyParts {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		pt, pp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil || pt != "application/isup" {
			continue
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		return ReadIAM(b, pp)
	}
	return nil, ErrNoIAM
}

// ReadIAM reads an application/ISUP body or part with Content-Type
// parameters params as an IAM.
func ReadIAM(b []byte, params map[string]string) (*isup.IAM, error) {
	m, err := isup.ParseIAM(b, isup.VariantOf(params["version"], params["base"]))
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// CarriesISUP reports whether an INVITE of Content-Type ct may carry an
// ISUP IAM (application/ISUP, or any multipart body), for a reader that
// takes such an INVITE the slower way to read it.
func CarriesISUP(ct string) bool {
	ct = strings.TrimSpace(ct)
	return hasPrefixFold(ct, "multipart/") || hasPrefixFold(ct, "application/isup")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// ScanIAM is BodyIAM for a reader that allocates nothing (the redirect
// server's stateless scanner). It takes a plain subset of the syntax: a
// Content-Type of application/ISUP, or multipart/* with a boundary,
// parameters as token=token; a multipart body that starts with its first
// delimiter, CRLF line ends, part headers without folding, at most
// maxBodyParts parts. It reads the first application/ISUP part into m
// (isup.ParseIAMInto: views of buf and body). found says an IAM was read;
// ok false says the body is outside the subset, or its IAM did not read:
// the caller then reads it the general way (BodyIAM), which also says why.
func ScanIAM(ct string, body []byte, m *isup.IAM, buf *isup.DigitBuf) (found, ok bool) {
	mt, p, ok := scanMediaType(ct)
	if !ok {
		return false, false
	}
	if strings.EqualFold(mt, "application/isup") {
		if isup.ParseIAMInto(m, body, isup.VariantOf(p.version, p.base), buf) != nil {
			return false, false
		}
		return true, true
	}
	if !hasPrefixFold(mt, "multipart/") || p.boundary == "" {
		return false, false
	}
	delim := p.boundary
	if len(body) < 2+len(delim) || string(body[:2]) != "--" || string(body[2:2+len(delim)]) != delim {
		return false, false
	}
	at := 2 + len(delim)
	for range maxBodyParts {
		// After a delimiter: CRLF and a part, or "--" and the end.
		rest := body[at:]
		if len(rest) >= 2 && string(rest[:2]) == "--" {
			// The close delimiter, at the end or on a line of its own.
			end := rest[2:]
			return false, len(end) == 0 || len(end) >= 2 && string(end[:2]) == "\r\n"
		}
		if len(rest) < 2 || string(rest[:2]) != "\r\n" {
			return false, false
		}
		at += 2
		partType, pp, ok := scanPartHeaders(body[at:])
		if !ok {
			return false, false
		}
		at += pp.headerLen
		end := indexDelimiter(body[at:], delim)
		if end < 0 {
			return false, false
		}
		content := body[at : at+end]
		if strings.EqualFold(partType, "application/isup") {
			if isup.ParseIAMInto(m, content, isup.VariantOf(pp.version, pp.base), buf) != nil {
				return false, false
			}
			return true, true
		}
		at += end + 4 + len(delim) // CRLF "--" boundary
	}
	return false, false
}

// mediaParams are the Content-Type parameters ScanIAM reads, and the
// length of a part's header section.
type mediaParams struct {
	boundary, version, base string
	headerLen               int
}

// scanMediaType splits a Content-Type value into its media type and the
// parameters ScanIAM reads, taking only token=token parameters, each once.
func scanMediaType(v string) (string, mediaParams, bool) {
	var p mediaParams
	mt, rest, _ := strings.Cut(v, ";")
	mt = strings.TrimSpace(mt)
	slash := strings.IndexByte(mt, '/')
	if slash <= 0 || slash == len(mt)-1 || !isMIMEToken(mt[:slash]) || !isMIMEToken(mt[slash+1:]) {
		return "", p, false
	}
	var names [maxParams]string
	n := 0
	for rest != "" {
		var param string
		param, rest, _ = strings.Cut(rest, ";")
		name, value, ok := strings.Cut(param, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !isMIMEToken(name) || !isMIMEToken(value) || n == maxParams {
			return "", p, false
		}
		for _, seen := range names[:n] {
			if strings.EqualFold(seen, name) {
				return "", p, false // a repeated parameter, which MIME refuses
			}
		}
		names[n] = name
		n++
		switch {
		case strings.EqualFold(name, "boundary"):
			p.boundary = value
		case strings.EqualFold(name, "version"):
			p.version = value
		case strings.EqualFold(name, "base"):
			p.base = value
		}
	}
	return mt, p, true
}

// maxParams bounds the parameters scanMediaType takes.
const maxParams = 8

// scanPartHeaders reads a part's header section (up to and with its empty
// line): its Content-Type's media type ("text/plain" when it has none, as
// RFC 2046 §5.1 says) and parameters, and the section's length.
func scanPartHeaders(b []byte) (string, mediaParams, bool) {
	mt, p, hasType := "text/plain", mediaParams{}, false
	at := 0
	for {
		eol := bytes.Index(b[at:], []byte("\r\n"))
		if eol < 0 {
			return "", p, false
		}
		line := b[at : at+eol]
		at += eol + 2
		if len(line) == 0 {
			p.headerLen = at
			return mt, p, true
		}
		for _, c := range line {
			if c < ' ' && c != '\t' || c == 0x7f {
				return "", p, false // a control character: left to the general reader
			}
		}
		nb, vb, ok := bytes.Cut(line, []byte(":"))
		name, value := view(nb), view(vb)
		if !ok || !isMIMEToken(name) {
			return "", p, false
		}
		if !strings.EqualFold(name, "Content-Type") {
			continue
		}
		if hasType {
			return "", p, false
		}
		hasType = true
		var vp mediaParams
		if mt, vp, ok = scanMediaType(value); !ok {
			return "", p, false
		}
		p.boundary, p.version, p.base = vp.boundary, vp.version, vp.base
	}
}

// indexDelimiter returns where the CRLF "--" boundary that ends a part
// starts in b: a delimiter followed by CRLF, or the close delimiter's
// "--". It returns -1 when there is none, or when one is followed by
// anything else a MIME reader could still take as a delimiter (white
// space, a lone CR or LF, the end of the body): ScanIAM then leaves the
// body to that reader. The boundary followed by other characters is
// part of the content, as RFC 2046 §5.1.1 has it.
func indexDelimiter(b []byte, boundary string) int {
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte("\r\n--"))
		if i < 0 {
			return -1
		}
		at := off + i
		after := at + 4 + len(boundary)
		if len(b) >= after && string(b[at+4:after]) == boundary {
			rest := b[after:]
			switch {
			case len(rest) >= 2 && (string(rest[:2]) == "\r\n" || string(rest[:2]) == "--"):
				return at
			case len(rest) == 0, rest[0] == ' ', rest[0] == '\t', rest[0] == '\r', rest[0] == '\n', rest[0] == '-':
				return -1 // perhaps a delimiter: not ours to say
			}
		}
		off = at + 1
	}
}

// isMIMEToken reports whether s is a non-empty RFC 2045 token.
func isMIMEToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// view is b as a string without copying: ScanIAM's strings live as long as
// the body they are read from.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
