package stir

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// PASSporT types this package knows (RFC 8588, RFC 8946).
const (
	PptShaken = "shaken"
	PptDiv    = "div"
)

// Passport is a decoded full-form PASSporT (RFC 8225) with its SHAKEN
// (RFC 8588) or div (RFC 8946) claims. Decoding checks the structure and the
// types; it does not check the signature, freshness or any value against the
// SIP request (Verifier does).
type Passport struct {
	Raw          string // as received: header.claims.signature
	SigningInput string // Raw up to the second '.', the exact bytes signed
	Signature    []byte // raw R||S, 64 bytes

	// JOSE header.
	Alg, Typ, Ppt, X5U string

	// Claims.
	Attest string   // shaken: "A", "B" or "C"
	OrigID string   // shaken
	Iat    int64    // seconds since the epoch
	OrigTN string   // orig.tn as sent
	DestTN []string // dest.tn as sent
	DivTN  string   // div.tn as sent (div PASSporTs)
}

// b64 is base64url without padding, strict about trailing bits: a second
// encoding of the same bytes would otherwise also "verify".
var b64 = base64.RawURLEncoding.Strict()

// fail is a check's failure: a reason and what exactly was wrong.
type fail struct {
	reason Reason
	detail string
}

func failf(r Reason, format string, a ...any) *fail {
	return &fail{reason: r, detail: fmt.Sprintf(format, a...)}
}

// DecodePassport decodes a full-form PASSporT and checks its JOSE header
// and claims (RFC 8225 §4-5, RFC 8588 §4-5, RFC 8946 §4). It returns the
// reason code of the first failed check.
func DecodePassport(token string) (*Passport, Reason, error) {
	p, f := decodePassport(token)
	if f != nil {
		return p, f.reason, fmt.Errorf("%s: %s", f.reason, f.detail)
	}
	return p, ReasonOK, nil
}

func decodePassport(token string) (*Passport, *fail) {
	p := &Passport{Raw: token}
	h, rest, ok1 := strings.Cut(token, ".")
	c, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s, ".") {
		return p, failf(ReasonPassportMalformed, "a PASSporT has three '.'-separated segments")
	}
	if c == "" {
		return p, failf(ReasonCompactForm, "compact form (empty claims segment): SHAKEN uses the full form")
	}
	p.SigningInput = token[:len(h)+1+len(c)]
	hdr, err := b64.DecodeString(h)
	if err != nil {
		return p, failf(ReasonPassportMalformed, "header segment is not base64url without padding: %v", err)
	}
	claims, err := b64.DecodeString(c)
	if err != nil {
		return p, failf(ReasonPassportMalformed, "claims segment is not base64url without padding: %v", err)
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return p, failf(ReasonSignatureFormat, "signature segment is not base64url without padding: %v", err)
	}
	p.Signature = sig
	if f := p.decodeHeader(hdr); f != nil {
		return p, f
	}
	if f := p.decodeClaims(claims); f != nil {
		return p, f
	}
	if len(sig) != 64 {
		return p, failf(ReasonSignatureFormat, "ES256 signature is %d bytes, want the raw 64-byte R||S (not DER)", len(sig))
	}
	return p, nil
}

func (p *Passport) decodeHeader(b []byte) *fail {
	ms, err := objectMembers(b)
	if err != nil {
		return failf(ReasonPassportMalformed, "JOSE header: %v", err)
	}
	str := func(key string, r Reason) (string, *fail) {
		raw := find(ms, key)
		if raw == nil {
			return "", failf(r, "JOSE header has no %q", key)
		}
		v, ok := jsonString(raw)
		if !ok {
			return "", failf(r, "JOSE header %q is not a string", key)
		}
		return v, nil
	}
	var f *fail
	if p.Alg, f = str("alg", ReasonHeaderAlg); f != nil {
		return f
	}
	if p.Alg != "ES256" {
		return failf(ReasonHeaderAlg, "alg %q: only ES256 is accepted", p.Alg)
	}
	if p.Typ, f = str("typ", ReasonHeaderTyp); f != nil {
		return f
	}
	if p.Typ != "passport" {
		return failf(ReasonHeaderTyp, "typ %q, want \"passport\"", p.Typ)
	}
	if p.Ppt, f = str("ppt", ReasonHeaderPpt); f != nil {
		return f
	}
	if p.Ppt != PptShaken && p.Ppt != PptDiv {
		return failf(ReasonPptUnsupported, "ppt %q: only shaken and div are supported", p.Ppt)
	}
	if p.X5U, f = str("x5u", ReasonHeaderX5u); f != nil {
		return f
	}
	if u, err := url.Parse(p.X5U); err != nil || !u.IsAbs() || u.Host == "" {
		return failf(ReasonHeaderX5u, "x5u %q is not an absolute URL", p.X5U)
	}
	if find(ms, "crit") != nil {
		// RFC 7515 §4.1.11: every extension named in crit must be understood;
		// SHAKEN defines none.
		return failf(ReasonHeaderCrit, "crit header parameter: no critical extension is supported")
	}
	return nil
}

func (p *Passport) decodeClaims(b []byte) *fail {
	ms, err := objectMembers(b)
	if err != nil {
		return failf(ReasonPassportMalformed, "claims: %v", err)
	}
	if p.Ppt == PptShaken {
		raw := find(ms, "attest")
		v, ok := jsonString(raw)
		if raw == nil || !ok || (v != "A" && v != "B" && v != "C") {
			return failf(ReasonAttest, "attest %s: want \"A\", \"B\" or \"C\"", show(raw))
		}
		p.Attest = v
	}
	// dest.
	raw := find(ms, "dest")
	dest, err := objectMembers(raw)
	if raw == nil || err != nil {
		return failf(ReasonDestTN, "dest %s: want an object with a tn array", show(raw))
	}
	tns, ok := jsonStringArray(find(dest, "tn"))
	if !ok || len(tns) == 0 {
		return failf(ReasonDestTN, "dest.tn %s: want a non-empty array of strings", show(find(dest, "tn")))
	}
	p.DestTN = tns
	// iat.
	raw = find(ms, "iat")
	iat, ok := jsonNumber(raw)
	if !ok {
		return failf(ReasonIat, "iat %s: want a number (NumericDate)", show(raw))
	}
	p.Iat = iat
	// orig.
	raw = find(ms, "orig")
	orig, err := objectMembers(raw)
	if raw == nil || err != nil {
		return failf(ReasonOrigTN, "orig %s: want an object with a tn string", show(raw))
	}
	tn, ok := jsonString(find(orig, "tn"))
	if !ok || tn == "" {
		return failf(ReasonOrigTN, "orig.tn %s: want a string", show(find(orig, "tn")))
	}
	p.OrigTN = tn
	switch p.Ppt {
	case PptShaken:
		raw = find(ms, "origid")
		v, ok := jsonString(raw)
		if !ok || strings.TrimSpace(v) == "" {
			return failf(ReasonOrigID, "origid %s: want a non-empty string", show(raw))
		}
		p.OrigID = v
	case PptDiv:
		raw = find(ms, "div")
		div, err := objectMembers(raw)
		if raw == nil || err != nil {
			return failf(ReasonDivClaim, "div %s: want an object with a tn string", show(raw))
		}
		tn, ok := jsonString(find(div, "tn"))
		if !ok || tn == "" {
			return failf(ReasonDivClaim, "div.tn %s: want a string", show(find(div, "tn")))
		}
		p.DivTN = tn
	}
	return nil
}

// show renders a raw JSON value for an error message.
func show(raw []byte) string {
	if raw == nil {
		return "missing"
	}
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}
