package b2bua

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"

	"callgate/sipcall"
	"callgate/sipcall/isup"

	"github.com/emiago/sipgo/sip"
)

// A carrier's INVITE may carry more than SDP: SIP-T and SIP-I gateways send
// the ISUP IAM beside it in a multipart/mixed body (RFC 3204, RFC 5621).
// diago reads a request's whole body as SDP, so every INVITE and ACK is
// reduced to its SDP before anything reads it (the middleware,
// dialogs.go): a body without SDP then counts as no offer (a late offer
// for an INVITE). The IAM is read on the way, for what the gateway may
// have left out of the headers (sipt.go). A part the B2BUA does not
// understand is ignored unless its Content-Disposition says
// handling=required (RFC 3261 §20.11): then 415 with Accept.

// maxParts bounds the parts of a multipart body looked at.
const maxParts = 8

// acceptTypes is what a 415 says the B2BUA takes (Accept).
const acceptTypes = "application/sdp, application/isup"

// errEncoding refuses a body with a content coding (gzip, ...).
var errEncoding = &sdpError{415, "Unsupported Content Encoding"}

// encapsulated is the ISUP message a body carried (RFC 3204), read.
type encapsulated struct {
	present bool
	iam     *isup.IAM
	err     error // the part did not read as an IAM (and was optional)
}

// offerBody returns the SDP carried by a request with body body,
// Content-Type ct and Content-Disposition disp: the whole body when it is
// application/sdp (or untyped), the application/sdp part of a
// multipart body, or nil when there is none; and the ISUP IAM beside it,
// whole or as a part. It refuses a required part other than SDP or ISUP
// (415), a required ISUP part that is not an IAM and a multipart body
// that does not parse (400).
func offerBody(body []byte, ct, disp string) ([]byte, encapsulated, *sdpError) {
	if len(body) == 0 {
		return nil, encapsulated{}, nil
	}
	if strings.TrimSpace(ct) == "" {
		return body, encapsulated{}, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, encapsulated{}, &sdpError{400, "Malformed Content-Type"}
	}
	switch {
	case mt == "application/sdp":
		return body, encapsulated{}, nil
	case mt == "application/isup":
		e, serr := readISUP(body, params, required(disp))
		return nil, e, serr
	case strings.HasPrefix(mt, "multipart/"):
		return sdpPart(body, params["boundary"])
	case required(disp):
		return nil, encapsulated{}, &sdpError{415, "Unsupported Media Type"}
	}
	return nil, encapsulated{}, nil
}

// readISUP reads an application/ISUP body or part (RFC 3204) as an IAM,
// in the variant its version and base parameters name.
func readISUP(b []byte, params map[string]string, required bool) (encapsulated, *sdpError) {
	iam, err := sipcall.ReadIAM(b, params)
	if err != nil && required {
		return encapsulated{}, &sdpError{400, "Malformed ISUP Body"}
	}
	return encapsulated{present: true, iam: iam, err: err}, nil
}

// sdpPart returns the application/sdp part of a multipart body, and its
// first application/isup part read.
func sdpPart(body []byte, boundary string) ([]byte, encapsulated, *sdpError) {
	var none encapsulated
	if boundary == "" {
		return nil, none, &sdpError{400, "Malformed Body: multipart without boundary"}
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	var sdp []byte
	var enc encapsulated
	for range maxParts {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			return sdp, enc, nil
		}
		if err != nil {
			return nil, none, &sdpError{400, "Malformed Body: multipart does not parse"}
		}
		mt, params := partType(p.Header)
		req := required(p.Header.Get("Content-Disposition"))
		if mt != "application/sdp" && mt != "application/isup" && req {
			return nil, none, &sdpError{415, "Unsupported Media Type"}
		}
		b, err := io.ReadAll(io.LimitReader(p, maxSDP+1))
		if err != nil {
			return nil, none, &sdpError{400, "Malformed Body: multipart does not parse"}
		}
		switch mt {
		case "application/sdp":
			if sdp != nil {
				return nil, none, &sdpError{400, "Malformed Body: two SDP parts"}
			}
			// The CRLF before a boundary belongs to the boundary (RFC 2046
			// §5.1.1), so the part's last SDP line has lost its end.
			if len(b) > 0 && b[len(b)-1] != '\n' {
				b = append(b, '\r', '\n')
			}
			sdp = b
		case "application/isup":
			if enc.present {
				break // one IAM to an INVITE; a second one is not read
			}
			var serr *sdpError
			if enc, serr = readISUP(b, params, req); serr != nil {
				return nil, none, serr
			}
		}
	}
	return nil, none, &sdpError{400, "Malformed Body: too many parts"}
}

// partType returns a part's media type, lower case, and its parameters.
func partType(h textproto.MIMEHeader) (string, map[string]string) {
	ct := h.Get("Content-Type")
	if ct == "" {
		return "text/plain", nil // RFC 2046 §5.1's default for a part
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", nil
	}
	return mt, params
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
// application/sdp, or no body, and returns the ISUP IAM it carried. It
// returns the refusal when the body cannot be taken.
func reduceToSDP(req *sip.Request) (encapsulated, *sdpError) {
	body := req.Body()
	if len(body) == 0 {
		return encapsulated{}, nil
	}
	if h := req.GetHeader("Content-Encoding"); h != nil {
		// A compressed body would be read as garbage (RFC 3261 §8.2.3:
		// 415, with the encodings taken in Accept-Encoding).
		if e := strings.TrimSpace(h.Value()); e != "" && !strings.EqualFold(e, "identity") {
			return encapsulated{}, errEncoding
		}
	}
	var ct, disp string
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	if h := req.GetHeader("Content-Disposition"); h != nil {
		disp = h.Value()
	}
	sdp, enc, serr := offerBody(body, ct, disp)
	if serr != nil {
		return enc, serr
	}
	if bytes.Equal(sdp, body) {
		return enc, nil // the body is the SDP
	}
	req.RemoveHeader("Content-Disposition")
	if sdp == nil {
		req.RemoveHeader("Content-Type")
	} else {
		req.ReplaceHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(sdp)
	return enc, nil
}
