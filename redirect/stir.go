package redirect

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/policy"
	"callgate/stir"
)

// STIR/SHAKEN on the redirect server (Config.Verifier, Config.Originators).
//
// Verification service: when Config.Verifier is set, every INVITE's
// Identity headers ("Identity" or compact "y") are verified before the
// engine runs; the result becomes policy.Call.Attestation (A, B, C, failed,
// none) and Call.AttestationReason (stir.Reason, kept in the decision
// log). An INVITE without Identity is not verified at all (the scanner only
// notes the header kind, so the stateless fast path stays fast). The 302 of
// an allowed call then carries, for the downstream switch:
//
//	P-Asserted-Identity: "TAG DISPLAY" <tel:+NUMBER;verstat=VERSTAT>
//	    verstat (3GPP TS 24.229 §7.2A.20): TN-Validation-Passed,
//	    TN-Validation-Failed or No-TN-Validation (no Identity, or the
//	    certificate not fetched within stir.Config.MissWait); TAG is
//	    Decision.Tag, the provider's display-name word ("verified" for A
//	    and B, "unknown" otherwise) when it tags, before the From display
//	    name; absent when the call has no calling number
//	P-Attestation-Indicator: A | B | C
//	    the attestation of the PASSporT that verified (absent otherwise)
//
// A provider whose policy rejects failed calls (store.StirReject) gets the
// RFC 8224 response code of the failure (403 Stale Date, 428, 436, 437,
// 438) instead of 603/608; screen and block are ordinary decisions.
//
// Authentication service: an INVITE from an Originator (by source address)
// that carries no Identity is signed: the attestation follows
// stir.AttestationFor (A when Config.NumberOwner says the calling number is
// the originator's customer's, B when it is someone else's, C for a
// gateway originator without a customer), and the 302 of an allowed call
// carries the Identity header to add.

// Originator is a peer whose calls the authentication service signs: an
// enterprise or PBX trunk, or a gateway.
type Originator struct {
	Name     string         // for logs and metrics
	Sources  []netip.Prefix // source addresses of its INVITEs
	Customer string         // the customer NumberOwner names for its numbers; "" = a gateway (attestation C)
	OrigID   string         // the origid of its PASSporTs (a UUID per customer; default: a new one per run)
}

// Response header names of the verification service.
const (
	HeaderPAI                  = "P-Asserted-Identity"
	HeaderAttestationIndicator = "P-Attestation-Indicator"
	HeaderIdentity             = "Identity"
	maxStirHeaders             = 3
)

// stirMetrics are the verification and authentication counters.
type stirMetrics struct {
	verified *prometheus.CounterVec // verdict, reason
	warnings prometheus.Counter
	signed   *prometheus.CounterVec // originator, attestation
	signErrs prometheus.Counter
}

func newStirMetrics() *stirMetrics {
	const ns, sub = "callgate", "sip"
	return &stirMetrics{
		verified: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "stir_verifications_total",
			Help: "INVITEs with Identity headers verified, by verdict (valid, invalid, none) and stir reason code."}, []string{"verdict", "reason"}),
		warnings: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "stir_warnings_total",
			Help: "Verifications that passed with a fallback (a CRL not available), logged rate-limited."}),
		signed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "stir_signed_total",
			Help: "INVITEs signed by the authentication service, by originator and attestation."}, []string{"originator", "attestation"}),
		signErrs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "stir_sign_errors_total",
			Help: "INVITEs of an originator that could not be signed (no calling number, signing failed); answered without Identity."}),
	}
}

func (m *stirMetrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.verified, m.warnings, m.signed, m.signErrs} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// stirResult is what the verification and authentication services found
// for one INVITE (kept in the answer).
type stirResult struct {
	on       bool        // the verification service ran (Config.Verifier set)
	res      stir.Result // its result
	identity string      // authentication: the Identity value to add ("" = none)
	attest   string      // authentication: its attestation
}

// hasIdentity reports whether the request carries an Identity header.
func (v *reqView) hasIdentity() bool {
	for _, h := range v.ext {
		if h.kind == extIdentity {
			return true
		}
	}
	return false
}

// verifyIdentity runs the verification service for an INVITE with Identity
// headers and puts the result into the call.
func (s *Server) verifyIdentity(v *reqView, now time.Time, c *policy.Call, st *stirResult) {
	st.on = true
	if !v.hasIdentity() {
		st.res = stir.Result{Verdict: stir.VerdictNone, Reason: stir.ReasonNoIdentity, Header: -1}
		return
	}
	req := stir.Request{From: stirAddr(v.from), To: stirAddr(v.to), RequestURI: strings.Trim(stirAddr(v.ruri), "<>"), At: now}
	var pai []string
	for _, h := range v.ext {
		switch h.kind {
		case extIdentity:
			req.Identity = append(req.Identity, stir.SplitIdentityValues(h.value)...)
		case extPAI:
			pai = append(pai, h.value)
		}
	}
	req.PAI = strings.Join(pai, ",")
	st.res = s.cfg.Verifier.Verify(context.Background(), &req)
	c.Attestation = st.res.Attestation
	c.AttestationReason = string(st.res.Reason)
	s.stirm.verified.WithLabelValues(st.res.Verdict.String(), string(st.res.Reason)).Inc()
	if len(st.res.Warnings) > 0 {
		s.stirm.warnings.Inc()
		if ok, n := s.stirLog.Allow(time.Now(), time.Minute); ok {
			s.log.Warn("redirect: STIR/SHAKEN verification passed with a fallback", "warnings", st.res.Warnings,
				"x5u", st.res.X5U, "suppressed_since_last", n)
		}
	}
}

// stirAddr renders a URI of the view as a name-addr for stir's number
// extraction (the view keeps the user part of sip URIs, the rest of tel
// URIs).
func stirAddr(u uriView) string {
	switch u.scheme {
	case "sip", "sips":
		return "<sip:" + u.user + "@" + u.host + ">"
	case "tel":
		return "<tel:" + strings.TrimPrefix(u.raw, "tel:") + ">"
	}
	return ""
}

// originator returns the Originator the peer address belongs to.
func (s *Server) originator(peer string) *Originator {
	if len(s.cfg.Originators) == 0 {
		return nil
	}
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return nil
	}
	addr := ap.Addr().Unmap()
	for i := range s.cfg.Originators {
		for _, p := range s.cfg.Originators[i].Sources {
			if p.Contains(addr) {
				return &s.cfg.Originators[i]
			}
		}
	}
	return nil
}

// authenticate signs an originator's INVITE that has no Identity yet.
func (s *Server) authenticate(o *Originator, c *policy.Call, now time.Time, st *stirResult) {
	if c.Calling == 0 || c.Called == 0 {
		s.stirm.signErrs.Inc()
		return
	}
	owned := false
	if o.Customer != "" && s.cfg.NumberOwner != nil {
		owner, ok := s.cfg.NumberOwner(c.Calling)
		owned = ok && owner == o.Customer
	}
	st.attest = stir.AttestationFor(o.Customer != "", owned)
	id, err := s.cfg.Signer.Identity(stir.Claims{Attest: st.attest, OrigTN: c.Calling.String(),
		DestTN: []string{c.Called.String()}, OrigID: o.OrigID, Iat: now})
	if err != nil {
		s.stirm.signErrs.Inc()
		s.log.Error("redirect: cannot sign an originator's INVITE", "originator", o.Name, "error", err)
		return
	}
	st.identity = id
	s.stirm.signed.WithLabelValues(o.Name, st.attest).Inc()
}

// appendStirHeaders adds the verification and authentication headers of
// an allowed call's 302 (see the comment at the top of this file). Values
// are written into a.buf and referenced in place: nothing is allocated.
func appendStirHeaders(a *answer, v *reqView, c *policy.Call, d *policy.Decision) {
	st := &a.stir
	if st.identity != "" {
		a.addHeader(HeaderIdentity, st.identity)
	}
	if !st.on {
		return
	}
	if c.Calling != 0 {
		start := len(a.buf)
		fd := cleanDisplay(v.fromDisplay)
		if d.Brand.Name != "" {
			fd = cleanDisplay(d.Brand.Name) // a keyed enterprise call shows its brand (brand.go)
		}
		if d.Tag != "" || fd != "" {
			a.buf = append(a.buf, '"')
			a.buf = append(a.buf, d.Tag...)
			if d.Tag != "" && fd != "" {
				a.buf = append(a.buf, ' ')
			}
			a.buf = append(a.buf, fd...)
			a.buf = append(a.buf, "\" "...)
		}
		a.buf = append(a.buf, "<tel:"...)
		a.buf = c.Calling.AppendTo(a.buf)
		a.buf = append(a.buf, ";verstat="...)
		a.buf = append(a.buf, st.res.Verstat()...)
		a.buf = append(a.buf, '>')
		a.addHeader(HeaderPAI, bstr(a.buf[start:len(a.buf):len(a.buf)]))
	}
	if st.res.Verdict == stir.VerdictValid {
		switch c.Attestation {
		case policy.AttestationA:
			a.addHeader(HeaderAttestationIndicator, "A")
		case policy.AttestationB:
			a.addHeader(HeaderAttestationIndicator, "B")
		case policy.AttestationC:
			a.addHeader(HeaderAttestationIndicator, "C")
		}
	}
}

// cleanDisplay drops the characters a quoted display name cannot carry
// as they are.
func cleanDisplay(s string) string {
	if !strings.ContainsAny(s, "\"\\\r\n") {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s))
}

// identityReject answers a blocked call whose decision asks for the RFC
// 8224 code of its verification failure; false when there is none.
func identityReject(a *answer, d *policy.Decision) bool {
	if !d.RejectIdentity || a.stir.res.Verdict != stir.VerdictInvalid {
		return false
	}
	code := a.stir.res.ResponseCode()
	if code == 0 {
		return false
	}
	a.set(code, a.stir.res.Reason.ResponseText())
	return true
}

func (a *answer) addHeader(name, value string) {
	if a.nhdrs < len(a.hdrs) {
		a.hdrs[a.nhdrs] = Header{name, value}
		a.nhdrs++
	}
}
