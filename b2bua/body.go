package b2bua

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// A carrier's INVITE may carry more than SDP: SIP-T and SIP-I gateways send
// the ISUP IAM beside it in a multipart/mixed body (RFC 3204, RFC 5621).
// The B2BUA needs only the SDP, and diago reads a request's whole body as
// SDP, so every INVITE and ACK is reduced to its SDP before anything reads
// it (the middleware, dialogs.go): a body without SDP then counts as no
// offer (a late offer for an INVITE). A part the B2BUA does not
// understand is ignored unless its Content-Disposition says
// handling=required (RFC 3261 §20.11): then 415 with Accept.

// maxParts bounds the parts of a multipart body looked at.
const maxParts = 8

// offerBody returns the SDP carried by a request with body body,
// Content-Type ct and Content-Disposition disp: the whole body when it is
// application/sdp (or untyped), the application/sdp part of a
// multipart body, or nil when there is none. It refuses a required part
// other than SDP (415) and a multipart body that does not parse (400).
func offerBody(body []byte, ct, disp string) ([]byte, *sdpError) {
	if len(body) == 0 {
		return nil, nil
	}
	if strings.TrimSpace(ct) == "" {
		return body, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, &sdpError{400, "Malformed Content-Type"}
	}
	switch {
	case mt == "application/sdp":
		return body, nil
	case strings.HasPrefix(mt, "multipart/"):
		return sdpPart(body, params["boundary"])
	case required(disp):
		return nil, &sdpError{415, "Unsupported Media Type"}
	}
	return nil, nil
}

// sdpPart returns the application/sdp part of a multipart body.
func sdpPart(body []byte, boundary string) ([]byte, *sdpError) {
	if boundary == "" {
		return nil, &sdpError{400, "Malformed Body: multipart without boundary"}
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	var sdp []byte
	for range maxParts {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			return sdp, nil
		}
		if err != nil {
			return nil, &sdpError{400, "Malformed Body: multipart does not parse"}
		}
		isSDP := partType(p.Header) == "application/sdp"
		if !isSDP && required(p.Header.Get("Content-Disposition")) {
			return nil, &sdpError{415, "Unsupported Media Type"}
		}
		b, err := io.ReadAll(io.LimitReader(p, maxSDP+1))
		if err != nil {
			return nil, &sdpError{400, "Malformed Body: multipart does not parse"}
		}
		if isSDP {
			if sdp != nil {
				return nil, &sdpError{400, "Malformed Body: two SDP parts"}
			}
			// The CRLF before a boundary belongs to the boundary (RFC 2046
			// §5.1.1), so the part's last SDP line has lost its end.
			if len(b) > 0 && b[len(b)-1] != '\n' {
				b = append(b, '\r', '\n')
			}
			sdp = b
		}
	}
	return nil, &sdpError{400, "Malformed Body: too many parts"}
}

func partType(h textproto.MIMEHeader) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		return "text/plain" // RFC 2046 §5.1's default for a part
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

// required reports whether a Content-Disposition says handling=required.
func required(disp string) bool {
	if disp == "" {
		return false
	}
	_, params, err := mime.ParseMediaType(disp)
	return err == nil && strings.EqualFold(params["handling"], "required")
}

// reduceToSDP makes req's body its SDP (offerBody), with Content-Type
// application/sdp, or no body. It returns the refusal when the body
// cannot be taken.
func reduceToSDP(req *sip.Request) *sdpError {
	body := req.Body()
	if len(body) == 0 {
		return nil
	}
	var ct, disp string
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	if h := req.GetHeader("Content-Disposition"); h != nil {
		disp = h.Value()
	}
	sdp, serr := offerBody(body, ct, disp)
	if serr != nil {
		return serr
	}
	if bytes.Equal(sdp, body) {
		return nil // the body is the SDP
	}
	req.RemoveHeader("Content-Disposition")
	if sdp == nil {
		req.RemoveHeader("Content-Type")
	} else {
		req.ReplaceHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(sdp)
	return nil
}
