package stir

import (
	"errors"
	"fmt"
	"strings"
)

// IsIdentityName reports whether a SIP header name is the Identity header
// field: its full name or its compact form "y" (RFC 8224 §4), in any case.
func IsIdentityName(name string) bool {
	return strings.EqualFold(name, "Identity") || name == "y" || name == "Y"
}

// IdentityHeader is one Identity header field value, split into the
// PASSporT exactly as received and its parameters (RFC 8224 §4.1):
//
//	Identity = "Identity" HCOLON signed-identity-digest SEMI ident-info *( SEMI ident-info-params )
type IdentityHeader struct {
	Token  string // the PASSporT, byte for byte as received
	Info   string // the info URI without its angle brackets; "" when absent
	Alg    string // the alg parameter; "" when absent (RFC 8224: ES256 is implied)
	Ppt    string // the ppt parameter, unquoted; "" when absent
	HasPpt bool
}

var errEmptyIdentity = errors.New("empty Identity header value")

// SplitIdentityValues splits one header line into its values. RFC 8224's
// grammar has no comma list, but a proxy may still join repeated fields
// with commas (RFC 3261 §7.3.1 style); a comma cannot occur in a PASSporT
// or a parameter outside <...> and quotes, so splitting there is safe.
func SplitIdentityValues(line string) []string {
	var out []string
	for {
		value, rest, found := cutOutside(line, ',')
		out = append(out, value)
		if !found {
			return out
		}
		line = rest
	}
}

// ParseIdentity parses one Identity header value. The token is kept as
// received (the signature covers those bytes); parameter names are
// case-insensitive, a repeated parameter is an error.
func ParseIdentity(v string) (IdentityHeader, error) {
	var h IdentityHeader
	v = strings.Trim(v, " \t\r\n")
	if v == "" {
		return h, errEmptyIdentity
	}
	tok, rest, _ := strings.Cut(v, ";")
	h.Token = strings.TrimRight(tok, " \t")
	if h.Token == "" {
		return h, errors.New("Identity header has no PASSporT before its parameters")
	}
	for i := 0; i < len(h.Token); i++ {
		if !isTokenChar(h.Token[i]) {
			return h, fmt.Errorf("Identity header: character %q at %d is not base64url or '.'", h.Token[i], i)
		}
	}
	seen := map[string]bool{}
	for rest != "" {
		var p string
		p, rest = cutParam(rest)
		p = strings.Trim(p, " \t")
		if p == "" {
			return h, errors.New("Identity header: empty parameter")
		}
		name, val, hasVal := strings.Cut(p, "=")
		name = strings.ToLower(strings.Trim(name, " \t"))
		val = strings.Trim(val, " \t")
		if seen[name] {
			return h, fmt.Errorf("Identity header: parameter %q appears twice", name)
		}
		seen[name] = true
		switch name {
		case "info":
			if !hasVal {
				return h, errors.New("Identity header: info parameter without a value")
			}
			if strings.HasPrefix(val, "<") {
				if !strings.HasSuffix(val, ">") || len(val) < 2 {
					return h, fmt.Errorf("Identity header: info %q lacks its closing '>'", val)
				}
				val = val[1 : len(val)-1]
			}
			h.Info = val
		case "alg":
			h.Alg = unquote(val)
		case "ppt":
			h.Ppt, h.HasPpt = unquote(val), true
		}
	}
	return h, nil
}

// cutParam returns the text up to the next ';' outside <...> and quotes.
func cutParam(s string) (param, rest string) {
	param, rest, _ = cutOutside(s, ';')
	return param, rest
}

// cutOutside cuts s at the first sep outside <...> and double quotes
// (a backslash in quotes escapes the next byte). Without one it returns
// s, "", false. Both the ',' between values and the ';' between
// parameters are found this way.
func cutOutside(s string, sep byte) (before, after string, found bool) {
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			if depth > 0 {
				depth--
			}
		case c == sep && depth == 0:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unquote drops one pair of surrounding double quotes: ppt="shaken" is not
// RFC 8224's token form but is common and unambiguous.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func isTokenChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '=' || c == '+' || c == '/'
}
