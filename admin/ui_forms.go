package admin

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// A form the store refuses (a bad or taken value, a change made meanwhile
// by someone else) is shown again on its page, not replaced by an error
// page that loses what was typed: the page is rendered as for a GET, with
// the error at its top (#error, role=alert), the refused form's controls
// holding what was posted and described by the error (aria-describedby),
// the control at fault, when it is known, also aria-invalid. PINs and
// passwords are never typed back: they would sit in the page's HTML.

// formRefusal is a refused form as its page shows it again.
type formRefusal struct {
	Form    string     // the form's name in the page's template
	Field   string     // the id of the control at fault ("": the form as a whole)
	Entered url.Values // what was posted (nil: nothing is typed back)
	status  int
	err     error
}

// refusable says whether err refuses what a user entered in a form (a bad
// value, one already taken, a change too large) or when it was entered (a
// change made meanwhile), so the form is shown again with the entries.
// Everything else (not found, forbidden, the store unavailable) is an
// error page: the form has nothing to correct.
func refusable(err error) bool {
	switch statusOf(err) {
	case http.StatusUnprocessableEntity, http.StatusConflict, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge:
		return true
	}
	return false
}

// refused is the refusal of the form posted in this call; field is the id
// of the control at fault ("" if not known).
func (c *uiCall) refused(form, field string, err error) *formRefusal {
	_ = c.r.ParseForm() // read already by the handler; an error was answered there
	return &formRefusal{Form: form, Field: field, Entered: c.r.PostForm, status: statusOf(err), err: err}
}

// secret is a refusal that types nothing back (a PIN form).
func (f *formRefusal) secret() *formRefusal {
	f.Entered = nil
	return f
}

// posted is the form of this call as posted, for a page that answers a
// POST itself (an import's report): its options stay as chosen. A file
// cannot be given back: a page may not set a file control's value (HTML,
// the input element's file upload state).
func (c *uiCall) posted(form string) formRefusal {
	if c.r.Method != http.MethodPost {
		return formRefusal{}
	}
	return formRefusal{Form: form, Entered: c.r.PostForm}
}

// show renders page name with the refusal, if any (nil: as for a GET).
func (c *uiCall) show(ref *formRefusal, name string, p uiPage) {
	status := http.StatusOK
	if ref != nil {
		status, p.Refused, p.Error = ref.status, *ref, ref.message()
	}
	c.render(status, name, p)
}

// message is the refusal as the page says it: the store's error, and for
// a change made meanwhile what the page now shows and what to do.
func (f *formRefusal) message() string {
	if f.status == http.StatusPreconditionFailed {
		return "Someone else changed this since the page was loaded, so nothing was saved (" + f.err.Error() +
			"). The page now shows what is in effect, with what you entered in the form: check it and save again."
	}
	return f.err.Error()
}

// Value is what control name of form shows: what was posted, when form
// was refused; else current.
func (p uiPage) Value(form, name, current string) string {
	if p.Refused.Form == form && p.Refused.Entered.Has(name) {
		return p.Refused.Entered.Get(name)
	}
	return current
}

// Checked says whether the checkbox name=value of form is checked: as
// posted, when form was refused; else current.
func (p uiPage) Checked(form, name, value string, current bool) bool {
	if p.Refused.Form == form && p.Refused.Entered != nil {
		return slices.Contains(p.Refused.Entered[name], value)
	}
	return current
}

// Aria is the ARIA attributes of control id of form: described by the
// ids in help and, when form was refused, by the error; invalid when it
// is the control at fault.
func (p uiPage) Aria(form, id string, help ...string) template.HTMLAttr {
	return ariaAttrs(p.Refused.Form == form && form != "", p.Refused.Field == id && p.Refused.Field != "", help...)
}

// ariaAttrs writes aria-describedby (help, then the error if refused) and
// aria-invalid; the ids are the templates' own, never user input.
func ariaAttrs(refused, invalid bool, help ...string) template.HTMLAttr {
	if refused {
		help = append(help, "error")
	}
	var b strings.Builder
	if len(help) > 0 {
		b.WriteString(` aria-describedby="` + template.HTMLEscapeString(strings.Join(help, " ")) + `"`)
	}
	if invalid {
		b.WriteString(` aria-invalid="true"`)
	}
	return template.HTMLAttr(b.String())
}

// fieldOf is the request field an error is attributed to (fieldErr), if
// any.
func fieldOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.field
	}
	return ""
}
