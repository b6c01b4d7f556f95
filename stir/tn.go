package stir

import "strings"

// CanonicalTN canonicalises a telephone number the way RFC 8224 §8.3 asks
// before a PASSporT's tn is compared: URI parameters (";npdi", ";rn=...",
// ";isub=...") and visual separators ("-", ".", "(", ")", space) are
// removed; a leading '+' means the digits already start with the country
// code and is dropped; a number without '+' is national and local policy
// adds the country code: NANP numbers of 10 digits (NXX-NXX-XXXX) get "1".
// Anything that is then not 1 to 15 digits is not a telephone number (ok is
// false). The same function is applied to both sides of a comparison, so a
// signer that wrote "+1 215 555 1212" still matches.
func CanonicalTN(s string) (string, bool) {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	plus := false
	var buf [24]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return "", false
			}
			buf[n] = c
			n++
		case c == '+' && n == 0 && !plus:
			plus = true
		case c == '-' || c == '.' || c == '(' || c == ')' || c == ' ':
		default:
			return "", false
		}
	}
	d := buf[:n]
	if n == 0 || n > 15 {
		return "", false
	}
	if !plus && n == 10 && d[0] >= '2' && d[3] >= '2' {
		return "1" + string(d), true
	}
	return string(d), true
}

// TNFromHeader returns the canonical telephone number of a SIP name-addr or
// addr-spec header value (From, To, P-Asserted-Identity): the user part of
// a sip:/sips: URI, or the number of a tel: URI. ok is false when the value
// does not carry a telephone number.
func TNFromHeader(v string) (string, bool) {
	uri := strings.TrimSpace(v)
	// A quoted display name may hold '<' or ';' (RFC 3261 quoted-string):
	// the URI is looked for after it.
	if q, ok := skipQuoted(uri); !ok {
		return "", false
	} else if q > 0 {
		uri = strings.TrimSpace(uri[q:])
		if !strings.HasPrefix(uri, "<") {
			return "", false
		}
	}
	if i := strings.IndexByte(uri, '<'); i >= 0 {
		j := strings.IndexByte(uri[i:], '>')
		if j < 0 {
			return "", false
		}
		uri = uri[i+1 : i+j]
	} else if i := strings.IndexByte(uri, ';'); i >= 0 {
		// addr-spec: header parameters follow the URI.
		uri = uri[:i]
	}
	uri = strings.TrimSpace(uri)
	colon := strings.IndexByte(uri, ':')
	if colon < 0 {
		return "", false
	}
	scheme, rest := strings.ToLower(uri[:colon]), uri[colon+1:]
	switch scheme {
	case "tel":
		return CanonicalTN(rest)
	case "sip", "sips":
		at := strings.LastIndexByte(rest, '@')
		if at < 0 {
			return "", false
		}
		user := rest[:at]
		if i := strings.IndexByte(user, ':'); i >= 0 { // user:password
			user = user[:i]
		}
		user = unescapePlus(user)
		return CanonicalTN(user)
	}
	return "", false
}

// skipQuoted returns the length of the quoted string s starts with (0 when
// it starts with none); ok is false when the quote is not closed.
func skipQuoted(s string) (n int, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return 0, true
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// TNFromHeaderList is TNFromHeader over a comma-separated list of values
// (P-Asserted-Identity may carry a sip: and a tel: URI); the first value
// with a telephone number wins.
func TNFromHeaderList(v string) (string, bool) {
	for _, part := range splitNameAddrs(v) {
		if tn, ok := TNFromHeader(part); ok {
			return tn, true
		}
	}
	return "", false
}

// splitNameAddrs splits at commas outside quotes and angle brackets.
func splitNameAddrs(v string) []string {
	return SplitIdentityValues(v)
}

// unescapePlus decodes the escapes a telephone-number user part may carry
// ("%2B" for '+', "%20" for a space); other escapes are left as they are,
// which makes the value not a number.
func unescapePlus(u string) string {
	if !strings.Contains(u, "%") {
		return u
	}
	r := strings.NewReplacer("%2B", "+", "%2b", "+", "%20", " ", "%2D", "-", "%2d", "-")
	return r.Replace(u)
}
