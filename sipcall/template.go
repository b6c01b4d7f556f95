package sipcall

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
)

// A Template is a SIP or tel URI with placeholders, expanded per call:
//
//	{called}    the called number, E.164 with '+' ("+13035550100")
//	{calling}   the calling number, E.164 with '+', or "anonymous" when absent
//	{original}  the original called number of a forwarded call, E.164 with '+';
//	            the called number when the call was not forwarded
//
// Example: "sip:{called}@gw.carrier.example;user=phone". Templates are
// checked when they are compiled: unknown placeholders and templates that
// do not expand to a parseable sip:, sips: or tel: URI are refused.
type Template struct {
	src   string
	parts []tplPart
}

type tplPart struct {
	lit  string
	kind uint8 // 0 = literal, else placeholder
}

const (
	phCalled = iota + 1
	phCalling
	phOriginal
)

var placeholders = map[string]uint8{"called": phCalled, "calling": phCalling, "original": phOriginal}

// CompileTemplate checks and compiles s; what names it in errors (the
// configuration field, "ContinueRoute").
func CompileTemplate(what, s string) (*Template, error) {
	t := &Template{src: s}
	rest := s
	for len(rest) > 0 {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.parts = append(t.parts, tplPart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%s %q: unterminated placeholder at position %d", what, s, len(s)-len(rest)+i+1)
		}
		name := rest[i+1 : i+j]
		k, ok := placeholders[name]
		if !ok {
			return nil, fmt.Errorf("%s %q: unknown placeholder {%s} (known: {called}, {calling}, {original})", what, s, name)
		}
		t.parts = append(t.parts, tplPart{kind: k})
		rest = rest[i+j+1:]
	}
	// Expand with sample numbers and check the result is a usable URI.
	sample := string(t.AppendTo(nil, e164.MustParse("+13035550100"), e164.MustParse("+12125550199"), 0))
	var u sip.Uri
	if err := sip.ParseUri(sample, &u); err != nil {
		return nil, fmt.Errorf("%s %q does not expand to a URI (%q): %v", what, s, sample, err)
	}
	switch u.Scheme {
	case "sip", "sips":
		if u.Host == "" {
			return nil, fmt.Errorf("%s %q: SIP URI without a host", what, s)
		}
	case "tel":
	default:
		return nil, fmt.Errorf("%s %q: scheme %q is not sip, sips or tel", what, s, u.Scheme)
	}
	return t, nil
}

// String returns the template's source.
func (t *Template) String() string { return t.src }

// AppendTo appends the expansion for one call to b.
func (t *Template) AppendTo(b []byte, called, calling, original e164.Number) []byte {
	for _, p := range t.parts {
		switch p.kind {
		case 0:
			b = append(b, p.lit...)
		case phCalled:
			b = called.AppendTo(b)
		case phCalling:
			if calling == 0 {
				b = append(b, "anonymous"...)
			} else {
				b = calling.AppendTo(b)
			}
		case phOriginal:
			if original == 0 {
				original = called
			}
			b = original.AppendTo(b)
		}
	}
	return b
}

// Expand returns the expansion for one call, parsed.
func (t *Template) Expand(called, calling, original e164.Number) (sip.Uri, error) {
	var u sip.Uri
	s := string(t.AppendTo(nil, called, calling, original))
	if err := sip.ParseUri(s, &u); err != nil {
		return u, fmt.Errorf("template %q expands to %q, not a URI: %v", t.src, s, err)
	}
	return u, nil
}
