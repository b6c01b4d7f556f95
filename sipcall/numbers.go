package sipcall

import (
	"strings"

	"callgate/e164"
)

// firstNumber returns the number of the first entry of a name-addr list
// (P-Asserted-Identity) that holds one.
func firstNumber(v string) e164.Number {
	for len(v) > 0 {
		var e string
		e, v = nextEntry(v)
		if n := EntryNumber(e); n != 0 {
			return n
		}
	}
	return 0
}

// lastEntry returns the last entry of a name-addr list.
func lastEntry(v string) string {
	var last string
	for len(v) > 0 {
		var e string
		e, v = nextEntry(v)
		if e != "" {
			last = e
		}
	}
	return last
}

// nextEntry splits the first entry off a comma-separated list of
// name-addr / addr-spec values, honouring quoted strings and <...>.
func nextEntry(v string) (entry, rest string) {
	inQuote, inAngle := false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == ',' && !inAngle:
			return strings.TrimSpace(v[:i]), v[i+1:]
		}
	}
	return strings.TrimSpace(v), ""
}

// EntryNumber extracts the telephone number from one name-addr or
// addr-spec ("<sip:+13035550100@gw>;reason=no-answer", "tel:+1303..."), 0
// when it holds none.
func EntryNumber(e string) e164.Number {
	uri := e
	if i := strings.IndexByte(e, '<'); i >= 0 {
		// Skip a quoted display name that may itself contain '<'.
		if q := strings.IndexByte(e, '"'); q >= 0 && q < i {
			if end := closingQuote(e, q+1); end >= 0 {
				if j := strings.IndexByte(e[end:], '<'); j >= 0 {
					i = end + j
				} else {
					return 0
				}
			}
		}
		uri = e[i+1:]
		if j := strings.IndexByte(uri, '>'); j >= 0 {
			uri = uri[:j]
		} else {
			return 0
		}
	} else if j := strings.IndexByte(e, ';'); j >= 0 {
		// addr-spec form: header parameters follow the URI (RFC 3261 §20.10).
		if k := strings.IndexByte(e, ':'); k >= 0 && !strings.EqualFold(e[:k], "tel") {
			uri = e[:j]
		}
	}
	return rawURINumber(strings.TrimSpace(uri))
}

func closingQuote(s string, from int) int {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// rawURINumber extracts the number from a URI in text form.
func rawURINumber(uri string) e164.Number {
	i := strings.IndexByte(uri, ':')
	if i <= 0 {
		return 0
	}
	scheme, rest := uri[:i], uri[i+1:]
	switch {
	case strings.EqualFold(scheme, "tel"):
		if j := strings.IndexByte(rest, '?'); j >= 0 {
			rest = rest[:j]
		}
		return telNumber(rest)
	case strings.EqualFold(scheme, "sip"), strings.EqualFold(scheme, "sips"):
		j := strings.IndexByte(rest, '@')
		if j < 0 {
			return 0
		}
		user := rest[:j]
		if k := strings.IndexByte(user, ':'); k >= 0 { // user:password
			user = user[:k]
		}
		return telNumber(user)
	}
	return 0
}

// URINumber extracts the telephone number of a parsed sip, sips or tel
// URI, 0 when it holds none.
func URINumber(u URI) e164.Number { return uriNumber(&u) }

func uriNumber(u *URI) e164.Number { return uriNumberAs(u, false) }

// uriNumberAs extracts the number of u, its digits read as dialled
// (e164.FromDialled) or not (e164.FromDigits).
func uriNumberAs(u *URI, dialled bool) e164.Number {
	switch u.Scheme {
	case "sip", "sips":
		return telNumberAs(u.User, dialled)
	case "tel":
		return telNumberAs(u.Raw, dialled)
	}
	return 0
}

// telNumber parses a telephone-subscriber (RFC 3966 §3): a global number
// (+digits) or a local one, visual separators, and parameters after ';'.
// A local number with a global phone-context ("5550100;phone-context=+1303")
// is completed with the context's digits (RFC 3966 §5.1.5).
func telNumber(s string) e164.Number { return telNumberAs(s, false) }

// telNumberAs is telNumber with the digits read as dialled or not (a
// static call either way: the digit buffer stays on the stack).
func telNumberAs(s string, dialled bool) e164.Number {
	num, params := s, ""
	if i := strings.IndexByte(s, ';'); i >= 0 {
		num, params = s[:i], s[i+1:]
	}
	var d [e164.MaxDigits + 9]byte
	n := 0
	plus := false
	if ctx := phoneContext(params); ctx != "" && !strings.HasPrefix(num, "+") && !strings.HasPrefix(num, "%2B") && !strings.HasPrefix(num, "%2b") {
		var ok bool
		if n, ok = appendDigits(d[:], 0, ctx[1:]); !ok {
			return 0
		}
		plus = true
	} else if strings.HasPrefix(num, "+") {
		plus, num = true, num[1:]
	} else if len(num) >= 3 && num[0] == '%' && num[1] == '2' && (num[2] == 'B' || num[2] == 'b') {
		plus, num = true, num[3:]
	}
	n, ok := appendDigits(d[:], n, num)
	if !ok || n == 0 {
		return 0
	}
	var (
		v   e164.Number
		err error
	)
	if dialled {
		v, err = e164.FromDialled(d[:n], plus)
	} else {
		v, err = e164.FromDigits(d[:n], plus)
	}
	if err != nil {
		return 0
	}
	return v
}

// phoneContext returns a global (+digits) phone-context parameter, or "".
func phoneContext(params string) string {
	for len(params) > 0 {
		var p string
		if i := strings.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, ""
		}
		if len(p) > 14 && strings.EqualFold(p[:14], "phone-context=") && p[14] == '+' {
			return p[14:]
		}
	}
	return ""
}

// appendDigits appends the digit values of s to d[n:], skipping RFC 3966
// visual separators and %-escaped ones; any other character fails.
func appendDigits(d []byte, n int, s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return n, false
			}
			c = hi<<4 | lo
			i += 2
		}
		switch {
		case c >= '0' && c <= '9':
			if n == len(d) {
				return n, false
			}
			d[n] = c - '0'
			n++
		case c == '-' || c == '.' || c == '(' || c == ')' || c == ' ':
		default:
			return n, false
		}
	}
	return n, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
