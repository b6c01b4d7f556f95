package sipcall

import (
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
	"callgate/sipcall/isup"
)

// ErrNoCalled is returned when neither the Request-URI nor To names a
// telephone number.
var ErrNoCalled = errors.New("no telephone number in the Request-URI or To")

// URI is the part of a URI the translation reads, as sipgo's URI parser
// gives it: the scheme in lower case; for sip and sips the user (without a
// password) and the host; for other schemes the scheme-specific part (Raw).
type URI struct{ Scheme, User, Host, Raw string }

// URIOf returns the URI view of a parsed sipgo URI.
func URIOf(u *sip.Uri) URI { return URI{u.Scheme, u.User, u.Host, u.Raw()} }

// HeaderKind names the headers the translation reads besides the mandatory
// ones (and Require and Identity, which the SIP tiers read themselves).
type HeaderKind uint8

// Header kinds.
const (
	PAI         HeaderKind = iota + 1 // P-Asserted-Identity
	Privacy                           // Privacy
	Diversion                         // Diversion
	HistoryInfo                       // History-Info
	Require                           // Require (not read by the translation)
	Identity                          // Identity, compact form "y" (RFC 8224; not read by the translation)
)

// KindOf classifies a header name (any case; only Identity has a compact
// form, "y"), 0 when it is none of the kinds.
func KindOf(name string) HeaderKind {
	switch len(name) {
	case 1:
		if name[0]|0x20 == 'y' {
			return Identity
		}
	case 8:
		if strings.EqualFold(name, "Identity") {
			return Identity
		}
	case 19:
		if strings.EqualFold(name, "P-Asserted-Identity") {
			return PAI
		}
	case 7:
		if strings.EqualFold(name, "Privacy") {
			return Privacy
		}
		if strings.EqualFold(name, "Require") {
			return Require
		}
	case 9:
		if strings.EqualFold(name, "Diversion") {
			return Diversion
		}
	case 12:
		if strings.EqualFold(name, "History-Info") {
			return HistoryInfo
		}
	}
	return 0
}

// Builder collects the values of one INVITE and turns them into a
// policy.Call. Feed it the Request-URI, From, To and every header of the
// kinds above in message order, then call Call. The zero Builder is ready;
// it holds only strings of the request and allocates nothing.
type Builder struct {
	ruri, from, to URI
	hasFrom, hasTo bool
	fromDisplay    string

	calling, original e164.Number
	privacy           bool
	hasPrivacy        bool   // a Privacy header, whatever it asks
	divLast           string // the last (oldest) Diversion entry
	divFirst          string // the first (newest) Diversion entry
	hasDiv            bool
	histFirst         string // the first History-Info entry
	histPrev          string // the History-Info entry before histLast
	histLast          string // the last History-Info entry
	histN             int

	iam *isup.IAM // the ISUP IAM of a SIP-T or SIP-I INVITE (isup.go)

	dialled bool // the Request-URI is what a line dialled (Dialled)
}

// Dialled says the INVITE is an outgoing call: its Request-URI (or To) is
// the number a line dialled, read through a carrier access code or an
// operator prefix (e164.FromDialled), as the network will route it.
func (b *Builder) Dialled() { b.dialled = true }

// RequestURI sets the Request-URI.
func (b *Builder) RequestURI(u URI) { b.ruri = u }

// From sets the From display name and URI.
func (b *Builder) From(display string, u URI) { b.from, b.fromDisplay, b.hasFrom = u, display, true }

// To sets the To URI.
func (b *Builder) To(u URI) { b.to, b.hasTo = u, true }

// Header adds one header value of kind k; values of other kinds are ignored.
func (b *Builder) Header(k HeaderKind, value string) {
	switch k {
	case PAI:
		if b.calling == 0 {
			b.calling = firstNumber(value)
		}
	case Privacy:
		b.hasPrivacy = true
		if privacyRequested(value) {
			b.privacy = true
		}
	case Diversion:
		b.divLast = lastEntry(value) // the last header's oldest entry
		if !b.hasDiv {
			b.divFirst, _ = nextEntry(value) // the first header's newest entry
		}
		b.hasDiv = true
	case HistoryInfo:
		rest := value
		for len(rest) > 0 {
			var e string
			e, rest = nextEntry(rest)
			if e == "" {
				continue
			}
			b.histN++
			if b.histFirst == "" {
				b.histFirst = e
			}
			b.histPrev, b.histLast = b.histLast, e
		}
	}
}

// Call returns the call as the engine sees it, with Origin SIP and Peer
// peer (the transport source, for logs). The error is non-nil only when
// there is no usable called number (ErrNoCalled); the call is still
// returned.
func (b *Builder) Call(peer string) (policy.Call, error) {
	c := policy.Call{Origin: policy.OriginSIP, Peer: peer, Calling: b.calling}
	privacy := b.privacy
	if b.hasFrom {
		anon := isAnonymous(b.fromDisplay, &b.from)
		if anon {
			privacy = true
		}
		if c.Calling == 0 && !anon {
			c.Calling = uriNumber(&b.from)
		}
	}
	if b.iam != nil {
		c.Calling, privacy = b.iamCalling(c.Calling, privacy)
	}
	switch {
	case privacy:
		c.Presentation = policy.PresentationRestricted
	case c.Calling == 0:
		c.Presentation = policy.PresentationUnavailable
	}

	c.Called = uriNumberAs(&b.ruri, b.dialled)
	if c.Called == 0 && b.hasTo {
		c.Called = uriNumberAs(&b.to, b.dialled)
	}
	if b.hasDiv {
		c.OriginalCalled = EntryNumber(b.divLast)
	}
	if c.OriginalCalled == 0 && b.histN > 1 {
		c.OriginalCalled = EntryNumber(b.histFirst)
	}
	c.Redirecting = b.redirecting(c.Called)
	if b.iam != nil && !b.hasDiv && b.histN == 0 {
		c.OriginalCalled = iamOriginalCalled(b.iam)
		c.Redirecting = iamRedirecting(b.iam)
	}
	if c.OriginalCalled == c.Called {
		c.OriginalCalled = 0
	}
	if c.Redirecting == c.Called {
		c.Redirecting = 0
	}
	if c.Redirecting == 0 {
		c.Redirecting = c.OriginalCalled // forwarded once, or the newest entry is no number
	}
	if c.Called == 0 {
		return c, ErrNoCalled
	}
	return c, nil
}

// redirecting is the number the headers say the call was last forwarded
// from: the newest Diversion entry (RFC 5806: the first), else the History-Info
// entry the call was last retargeted from (RFC 7044: the one before the
// entry of the current target, or the last entry when the called number
// has none), 0 when the call was not retargeted.
func (b *Builder) redirecting(called e164.Number) e164.Number {
	if b.hasDiv {
		return EntryNumber(b.divFirst)
	}
	if b.histN < 2 {
		return 0
	}
	if n := EntryNumber(b.histLast); n != called {
		return n
	}
	return EntryNumber(b.histPrev)
}

// FromRequest translates an INVITE parsed by sipgo into the call the
// decision engine sees; peer is the transport source address ("ip:port").
// See the package documentation for the rules; the error is ErrNoCalled or
// nil.
func FromRequest(req *sip.Request, peer string) (policy.Call, error) {
	return FromRequestIAM(req, peer, nil)
}

// FromRequestIAM is FromRequest for an INVITE that carried the ISUP IAM
// iam (nil: none), which gives what the headers lack (Builder.IAM).
func FromRequestIAM(req *sip.Request, peer string, iam *isup.IAM) (policy.Call, error) {
	var b Builder
	b.IAM(iam)
	b.RequestURI(URIOf(&req.Recipient))
	for _, h := range req.Headers() {
		if k := KindOf(h.Name()); k != 0 {
			b.Header(k, h.Value())
		}
	}
	if f := req.From(); f != nil {
		b.From(f.DisplayName, URIOf(&f.Address))
	}
	if t := req.To(); t != nil {
		b.To(URIOf(&t.Address))
	}
	return b.Call(peer)
}

// isAnonymous recognises the anonymous From of RFC 3323 §4.1.1.3 and the
// forms seen in the field.
func isAnonymous(display string, u *URI) bool {
	if strings.EqualFold(display, "anonymous") {
		return true
	}
	if strings.EqualFold(u.User, "anonymous") {
		return true
	}
	return strings.EqualFold(u.Host, "anonymous.invalid")
}

// privacyRequested reports whether a Privacy header value (RFC 3323 §4.2,
// RFC 3325 §9.3: priv-value *(";" priv-value)) withholds the identity.
func privacyRequested(v string) bool {
	for len(v) > 0 {
		var tok string
		if i := strings.IndexAny(v, ";,"); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			tok, v = v, ""
		}
		tok = strings.TrimSpace(tok)
		if strings.EqualFold(tok, "id") || strings.EqualFold(tok, "header") || strings.EqualFold(tok, "user") {
			return true
		}
	}
	return false
}
