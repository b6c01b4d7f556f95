package redirect

import (
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/policy"
	"callgate/sipcall"
	"callgate/sipcall/isup"
)

// The answer to a request is computed once, from a reqView, whichever way
// the request arrived: parsed by sipgo (TCP, TLS, stateful UDP, and the
// stateless path's fallback) or by the stateless scanner (scan.go). Both
// fill the same view with the same values, so the checks, the translation to
// policy.Call and the decision's response are one piece of code; a fuzz test
// (FuzzStatelessScan) holds the two extractions together.

// uriView is the part of a URI the answer uses, as sipgo's URI parser gives
// it: the scheme in lower case; for sip and sips the user (without a
// password) and the host; for other schemes the scheme-specific part.
type uriView struct{ scheme, user, host, raw string }

func uriViewOf(u *sip.Uri) uriView { return uriView{u.Scheme, u.User, u.Host, u.Raw()} }

// uri is the view in the form package sipcall translates.
func (u *uriView) uri() sipcall.URI {
	return sipcall.URI{Scheme: u.scheme, User: u.user, Host: u.host, Raw: u.raw}
}

// extKind names the headers the translation reads besides the mandatory
// ones (package sipcall's kinds).
type extKind = sipcall.HeaderKind

const (
	extPAI       = sipcall.PAI
	extPrivacy   = sipcall.Privacy
	extDiversion = sipcall.Diversion
	extHistory   = sipcall.HistoryInfo
	extRequire   = sipcall.Require
	extIdentity  = sipcall.Identity // Identity or its compact form "y" (RFC 8224)
)

// extKindOf classifies a header name (any case; only Identity has a
// compact form, "y").
func extKindOf(name string) extKind { return sipcall.KindOf(name) }

type extHeader struct {
	kind  extKind
	value string
}

// reqView is what the answer needs from a request. Strings may point into
// the datagram being handled (stateless path): nothing may keep them.
type reqView struct {
	method, version string
	ruri            uriView

	hasFrom     bool
	fromDisplay string
	from        uriView
	fromTag     string

	hasTo    bool
	to       uriView
	toTagged bool

	callID string

	hasCSeq    bool
	cseqSeq    uint32
	cseqMethod string

	hasMaxFwd bool
	maxFwd    uint32

	branch string // top Via branch ("" when absent)

	// malformed is the reason phrase of a 400 for a mandatory header that
	// is present but unparseable (sipgo path only: the scanner hands such
	// requests to sipgo instead).
	malformed string

	// ext holds P-Asserted-Identity, Privacy, Diversion, History-Info,
	// Require and Identity header values in message order.
	ext []extHeader

	// iam is the ISUP IAM of a SIP-T or SIP-I INVITE, read by the
	// fallback only (the scanner hands such INVITEs to it); iamErr says
	// why one did not read.
	iam    *isup.IAM
	iamErr error
}

// fillFromRequest fills v from a request parsed by sipgo (with the lenient
// parser, whose refused headers show up in v.malformed).
func (v *reqView) fillFromRequest(req *sip.Request, ext []extHeader) {
	*v = reqView{method: string(req.Method), version: req.SipVersion, ruri: uriViewOf(&req.Recipient), ext: ext}
	for _, h := range req.Headers() {
		switch h.(type) {
		case *sip.ViaHeader, *sip.FromHeader, *sip.ToHeader, *sip.CallIDHeader, *sip.CSeqHeader,
			*sip.MaxForwardsHeader, *sip.ContactHeader, *sip.ContentLengthHeader, *sip.ContentTypeHeader,
			*sip.RouteHeader, *sip.RecordRouteHeader, *sip.ReferToHeader, *sip.ReferredByHeader:
			continue
		}
		name := h.Name()
		// The lenient parser keeps a header its sipgo parser refused as a
		// generic header under the canonical name.
		if v.malformed == "" && isStrictHeader(name) {
			v.malformed = "Malformed " + name + " Header"
		}
		if k := extKindOf(name); k != 0 {
			v.ext = append(v.ext, extHeader{k, h.Value()})
		}
	}
	if f := req.From(); f != nil {
		v.hasFrom, v.fromDisplay, v.from = true, f.DisplayName, uriViewOf(&f.Address)
		v.fromTag, _ = f.Params.Get("tag")
	}
	if t := req.To(); t != nil {
		v.hasTo, v.to, v.toTagged = true, uriViewOf(&t.Address), t.Params.Has("tag")
	}
	if id := req.CallID(); id != nil {
		v.callID = string(*id)
	}
	if c := req.CSeq(); c != nil {
		v.hasCSeq, v.cseqSeq, v.cseqMethod = true, c.SeqNo, string(c.MethodName)
	}
	if mf := req.MaxForwards(); mf != nil {
		v.hasMaxFwd, v.maxFwd = true, uint32(*mf)
	}
	if via := req.Via(); via != nil {
		v.branch, _ = via.Params.Get("branch")
	}
	if ct := req.ContentType(); ct != nil && req.IsInvite() && sipcall.CarriesISUP(ct.Value()) {
		v.iam, v.iamErr = sipcall.BodyIAM(ct.Value(), req.Body())
		if errors.Is(v.iamErr, sipcall.ErrNoIAM) {
			v.iamErr = nil
		}
	}
}

// missingHeader returns the reason phrase of a 400 for a request without a
// mandatory header (RFC 3261 §8.1.1), or "".
func (v *reqView) missingHeader() string {
	switch {
	case !v.hasFrom:
		return "Missing From Header"
	case !v.hasTo:
		return "Missing To Header"
	case v.callID == "":
		return "Missing Call-ID Header"
	case !v.hasCSeq:
		return "Missing CSeq Header"
	case v.cseqMethod != v.method:
		return "CSeq Method Does Not Match Request"
	}
	return ""
}

// fixedHdr names a response header whose whole value is fixed when the
// server is built.
type fixedHdr uint8

const (
	hdrAllow fixedHdr = iota
	hdrAccept
	hdrRetryAfter
	hdrCallInfo
	hdrWarnSIPS // Warning: 380 "SIPS Not Allowed" (sips.go)
	numFixed
)

// answer is the response to a request short of the parts copied from the
// request (Via, From, To, Call-ID, CSeq): the status, and the headers in
// the order they are sent. code 0 means no response (ACK).
type answer struct {
	code   int
	reason string
	fixed  [2]fixedHdr
	nfixed int
	// unsupported is the Unsupported value of a 420; contact the Contact
	// value of a 302 (with <>); both in buf.
	unsupported []byte
	contact     []byte
	tags        []Header // Tagger headers of an allowed call's 302
	// STIR/SHAKEN: what the services found, and the headers of an allowed
	// call's 302, STIR/SHAKEN's and the brand's (values in buf or constant;
	// see stir.go, brand.go).
	stir  stirResult
	hdrs  [maxStirHeaders + maxBrandHeaders]Header
	nhdrs int
	buf   []byte // reused backing store (stateless path)
	// The INVITE's call and decision (see invite).
	call policy.Call
	dec  policy.Decision
	// bud is the Budget the decision runs under: the stateless reader's
	// own (kept across reset), or one from the server's pool on sipgo's
	// path (see respond).
	bud *policy.Budget
	// deadline is when the decision must be made by (zero: no budget),
	// from the INVITE's arrival: a deferred decision keeps it.
	deadline time.Time
	// flush sends the responses the stateless reader holds for its batch
	// (udpbatch.go); nil on sipgo's path. Kept across reset.
	flush func()
	// defers: the decision may be deferred (a stateless reader's answer,
	// deferred.go); kept across reset. deferred: it was, and there is no
	// response here: the INVITE is answered on a goroutine of its own.
	defers, deferred bool
}

func (a *answer) reset() {
	*a = answer{buf: a.buf[:0], bud: a.bud, flush: a.flush, defers: a.defers}
}

// beforeWait is called before a step of the answer that may wait (a
// certificate fetch, a store write): the responses already made for the
// same batch go out first instead of waiting with it.
func (a *answer) beforeWait() {
	if a.flush != nil {
		a.flush()
	}
}

func (a *answer) set(code int, reason string) { a.code, a.reason = code, reason }

func (a *answer) add(h fixedHdr) {
	a.fixed[a.nfixed] = h
	a.nfixed++
}
