package redirect

import (
	"callgate/e164"
	"callgate/sipcall"
)

// template is a route template (sipcall.Template: a SIP or tel URI with the
// placeholders {called}, {calling} and {original}), shared with the B2BUA
// through package sipcall.
type template struct{ sipcall.Template }

func compileTemplate(what, s string) (*template, error) {
	t, err := sipcall.CompileTemplate(what, s)
	if err != nil {
		return nil, err
	}
	return &template{*t}, nil
}

// appendTo appends the expansion for one call to b.
func (t *template) appendTo(b []byte, called, calling, original e164.Number) []byte {
	return t.AppendTo(b, called, calling, original)
}
