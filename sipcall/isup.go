package sipcall

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

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
