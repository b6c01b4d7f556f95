package sip

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"

	gosip "github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/sipcall/isup"
)

// SIPT is the ISUP side of a SIP-T gateway's INVITE (RFC 3372): the
// Initial Address Message the call would have had in the PSTN, carried as
// an application/ISUP body part (RFC 3204). A gateway that maps ISUP to
// SIP in full (RFC 3398) puts the same in headers; one that does not
// leaves it in the IAM alone, which is what this sends unless the call's
// headers say otherwise (CallConfig.From, Diversion, Privacy).
type SIPT struct {
	// Variant is the IAM's layout: isup.ANSI (T1.113, the default) or
	// isup.ITU (Q.763); the part's version parameter names it (ansi00,
	// itu-t92+).
	Variant isup.Variant
	// Called is the Called Party Number (E.164); default the
	// Request-URI's user when it is one.
	Called string
	// Calling is the Calling Party Number (E.164; "" none), its address
	// presentation restricted when Restricted (a caller with CLIR: the
	// network has the number, the SIP side shows anonymous).
	Calling    string
	Restricted bool
	// OriginalCalled and Redirecting are the Original Called Number and
	// the Redirecting Number of a forwarded call (E.164; "" none); with
	// either, a Redirection Information of one forwarding, reason
	// unconditional.
	OriginalCalled, Redirecting string
	// Required marks the part handling=required (RFC 3204 §5: a far end
	// that cannot read it must refuse the call); default optional.
	Required bool
}

// iam encodes the IAM, the called number being the Request-URI's user
// when s names none.
func (s *SIPT) iam(ruriUser string) ([]byte, error) {
	called := s.Called
	if called == "" {
		called = ruriUser
	}
	m := isup.IAM{ForwardCall: 0x2001, CallingCategory: 0x0a} // ISUP all the way (ISDN), ordinary subscriber
	var err error
	if m.Called, err = iamNumber("called", called); err != nil {
		return nil, err
	}
	if s.Calling != "" {
		if m.Calling, err = iamNumber("calling", s.Calling); err != nil {
			return nil, err
		}
		m.Calling.Screening = 3 // network provided
		if s.Restricted {
			m.Calling.Presentation = isup.PresentationRestricted
		}
		m.HasCalling = true
	}
	if s.OriginalCalled != "" {
		if m.OriginalCalled, err = iamNumber("original called", s.OriginalCalled); err != nil {
			return nil, err
		}
		m.HasOriginalCalled = true
	}
	if s.Redirecting != "" {
		if m.Redirecting, err = iamNumber("redirecting", s.Redirecting); err != nil {
			return nil, err
		}
		m.HasRedirecting = true
	}
	if m.HasOriginalCalled || m.HasRedirecting {
		m.Redirection = isup.RedirectionInfo{Indicator: 3, OriginalReason: isup.ReasonUnconditional, Counter: 1, Reason: isup.ReasonUnconditional}
		m.HasRedirection = true
	}
	return isup.AppendIAM(nil, s.variant(), &m)
}

func (s *SIPT) variant() isup.Variant {
	if s.Variant == isup.ITU {
		return isup.ITU
	}
	return isup.ANSI
}

// contentType is the ISUP part's Content-Type (RFC 3204 §4).
func (s *SIPT) contentType() string {
	if s.variant() == isup.ITU {
		return "application/ISUP;version=itu-t92+"
	}
	return "application/ISUP;version=ansi00"
}

// disposition is the ISUP part's Content-Disposition (RFC 3204 §5).
func (s *SIPT) disposition() string {
	if s.Required {
		return "signal;handling=required"
	}
	return "signal;handling=optional"
}

// iamNumber is an E.164 number as an IAM address: a NANP number national
// (10 digits), others international, ISDN numbering plan.
func iamNumber(what, v string) (isup.Number, error) {
	n, err := e164.Parse(v)
	if err != nil {
		return isup.Number{}, fmt.Errorf("SIP-T: %s number %q: %w", what, v, err)
	}
	if nat, ok := n.National(); ok {
		return isup.Number{Nature: isup.NatureNational, Plan: 1, Digits: nat}, nil
	}
	return isup.Number{Nature: isup.NatureInternational, Plan: 1, Digits: n.Digits()}, nil
}

// inviteBody is an INVITE's body and its content headers: the SDP offer
// (nil: a late offer, no body), beside the ISUP IAM in a multipart/mixed
// body when t is set (RFC 3204 §2), or the IAM alone without an offer.
func inviteBody(offer []byte, t *SIPT, ruriUser string) ([]byte, []gosip.Header, error) {
	if t == nil {
		if offer == nil {
			return nil, nil, nil
		}
		return offer, []gosip.Header{gosip.NewHeader("Content-Type", "application/sdp")}, nil
	}
	iam, err := t.iam(ruriUser)
	if err != nil {
		return nil, nil, err
	}
	if offer == nil {
		return iam, []gosip.Header{gosip.NewHeader("Content-Type", t.contentType()), gosip.NewHeader("Content-Disposition", t.disposition())}, nil
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	parts := []struct {
		h    textproto.MIMEHeader
		body []byte
	}{
		{textproto.MIMEHeader{"Content-Type": {"application/sdp"}}, offer},
		{textproto.MIMEHeader{"Content-Type": {t.contentType()}, "Content-Disposition": {t.disposition()}}, iam},
	}
	for _, p := range parts {
		pw, err := w.CreatePart(p.h)
		if err != nil {
			return nil, nil, err
		}
		if _, err := pw.Write(p.body); err != nil {
			return nil, nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), []gosip.Header{gosip.NewHeader("Content-Type", "multipart/mixed;boundary="+w.Boundary())}, nil
}
