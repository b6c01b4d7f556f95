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
//	Call-Info: <https://logo>;purpose=icon       (when the brand has a logo)
//
// The proxy copies the display name into the From / P-Asserted-Identity of
// the INVITE it forwards (a redirect server cannot rewrite them itself).
// With the STIR/SHAKEN verification service on, its P-Asserted-Identity
// (with verstat and the provider's tag) carries the brand as its display
// name instead, so there is one P-Asserted-Identity (stir.go). The call
// reason is not sent on SIP yet (RFC 9796's rcd claims need the signer).
// Display names are quoted strings: characters that cannot appear in one
// (quotes, backslashes, controls) become '?'; the store refuses them anyway.

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
	if br.LogoURL != "" {
		start := len(a.buf)
		a.buf = append(a.buf, '<')
		a.buf = appendQuotedText(a.buf, br.LogoURL)
		a.buf = append(a.buf, ">;purpose=icon"...)
		a.addHeader("Call-Info", bstr(a.buf[start:len(a.buf):len(a.buf)]))
	}
}
