package redirect

import (
	"callgate/policy"
	"callgate/store"
)

// Branding: the 302 of a delivered call whose enterprise call key matched
// (policy.Decision.Brand) shows the enterprise's brand to the proxy that
// builds the onward INVITE:
//
//	Contact: "Brand Name" <continue route>
//	P-Asserted-Identity: "Brand Name" <tel:+CALLING>
//	Call-Info: <https://logo>;purpose=icon;call-reason="Reason"
//
// The proxy copies the display name into the From / P-Asserted-Identity of
// the INVITE it forwards (a redirect server cannot rewrite them itself).
// With the STIR/SHAKEN verification service on, its P-Asserted-Identity
// (with verstat and the provider's tag) carries the brand as its display
// name instead, so there is one P-Asserted-Identity (stir.go).
//
// The logo and the call reason are Rich Call Data in SIP's Call-Info as
// RFC 9796 uses it: all of a call's RCD in one Call-Info header field
// (§ the framework: a receiver must not have to reconcile several), the
// logo as an "icon" purpose (§ the "icon" token: an https URI of an
// image), the reason as the 'call-reason' parameter, a quoted string
// shown while the call alerts. A brand with a reason and no logo carries
// it on the null data URI with purpose "jcard", as RFC 9796 recommends
// for a 'call-reason' without a URI of its own:
//
//	Call-Info: <data:>;purpose=jcard;call-reason="Reason"
//
// RFC 9796 asks that the reason be at most 64 characters; the store allows
// 128 and the header carries it whole (a display may cut it). A signed
// "rcd" PASSporT (RFC 9795) is not added: the authentication service signs
// "shaken" PASSporTs only, so the RCD here is vouched for by the network
// that inserts it, as RFC 9796 allows within a trusted domain.
//
// Display names and the reason are quoted strings: characters that cannot
// appear in one (quotes, backslashes, controls) become '?'; the store
// refuses them anyway.

// maxBrandHeaders is the most headers brandHeaders adds.
const maxBrandHeaders = 2

// appendDisplayName appends `"name" ` for a brand with a name.
func appendDisplayName(b []byte, br *store.Brand) []byte {
	if br.Name == "" {
		return b
	}
	b = append(b, '"')
	b = appendQuotedText(b, br.Name)
	return append(b, '"', ' ')
}

func appendQuotedText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			c = '?'
		}
		b = append(b, c)
	}
	return b
}

// brandHeaders adds the brand's P-Asserted-Identity (unless STIR/SHAKEN
// added one) and Call-Info, with their values in a.buf.
func brandHeaders(a *answer, c *policy.Call, d *policy.Decision) {
	br := &d.Brand
	if br.Name != "" && c.Calling != 0 && !a.stir.on {
		start := len(a.buf)
		a.buf = appendDisplayName(a.buf, br)
		a.buf = append(a.buf, "<tel:"...)
		a.buf = c.Calling.AppendTo(a.buf)
		a.buf = append(a.buf, '>')
		a.addHeader(HeaderPAI, bstr(a.buf[start:len(a.buf):len(a.buf)]))
	}
	if br.LogoURL != "" || br.Reason != "" {
		start := len(a.buf)
		a.buf = appendRCD(a.buf, br)
		a.addHeader(HeaderCallInfo, bstr(a.buf[start:len(a.buf):len(a.buf)]))
	}
}

// HeaderCallInfo carries the brand's Rich Call Data (RFC 9796).
const HeaderCallInfo = "Call-Info"

// appendRCD appends the value of the brand's one RCD Call-Info header
// field: the logo as an icon, else the null data URI, then the call
// reason.
func appendRCD(b []byte, br *store.Brand) []byte {
	if br.LogoURL != "" {
		b = append(b, '<')
		b = appendQuotedText(b, br.LogoURL)
		b = append(b, ">;purpose=icon"...)
	} else {
		b = append(b, "<data:>;purpose=jcard"...)
	}
	if br.Reason != "" {
		b = append(b, `;call-reason="`...)
		b = appendQuotedText(b, br.Reason)
		b = append(b, '"')
	}
	return b
}
