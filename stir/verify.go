package stir

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"math/big"
	"time"

	"callgate/policy"
)

// Config is the verification service's policy.
type Config struct {
	// Anchors are the STI-CA trust anchors (the STI-PA's list). Required:
	// the system roots are never used.
	Anchors []*x509.Certificate
	// Intermediates are extra CA certificates a chain may go through, in
	// addition to those served with the x5u certificate.
	Intermediates []*x509.Certificate
	// Freshness is how old iat may be (RFC 8224 §6.2 recommends 60 s).
	Freshness time.Duration
	// Skew is how far iat may be ahead of our clock (default 5 s). It does
	// not widen Freshness.
	Skew time.Duration
	// MissWait is how long a call may wait, in all, for certificates (and
	// CRLs) that are not in the cache yet. 0 (the default) never waits: the call goes on
	// at once with No-TN-Validation (verdict none, reason x5u-pending) while
	// the fetch completes in the background for the next call. A positive
	// value holds the call up to that long (keep it inside the tier's
	// decision budget); if the fetch is still not done it is the same
	// No-TN-Validation outcome.
	MissWait time.Duration
	// RequireCRL fails certificates whose issuer's CRL is not available,
	// or only past its nextUpdate (crl-unavailable, 437). Off, such a certificate passes with
	// a warning in Result.Warnings (logged and counted by the caller).
	RequireCRL bool
}

// Verifier is a STIR/SHAKEN verification service (RFC 8224 §6.2, ATIS-1000074
// §5.3). It is safe for concurrent use.
type Verifier struct {
	cfg           Config
	cache         *Cache
	anchors       *x509.CertPool
	intermediates *x509.CertPool
}

// NewVerifier returns a verifier fetching certificates through cache.
func NewVerifier(cfg Config, cache *Cache) (*Verifier, error) {
	if len(cfg.Anchors) == 0 {
		return nil, errors.New("stir: no STI-CA trust anchors configured (give the STI-PA's list of CA certificates)")
	}
	if cache == nil {
		return nil, errors.New("stir: no certificate cache")
	}
	if cfg.Freshness <= 0 {
		cfg.Freshness = 60 * time.Second
	}
	if cfg.Skew < 0 {
		return nil, errors.New("stir: negative clock skew")
	}
	if cfg.Skew == 0 {
		cfg.Skew = 5 * time.Second
	}
	v := &Verifier{cfg: cfg, cache: cache, anchors: x509.NewCertPool(), intermediates: x509.NewCertPool()}
	for _, c := range cfg.Anchors {
		v.anchors.AddCert(c)
	}
	for _, c := range cfg.Intermediates {
		v.intermediates.AddCert(c)
	}
	return v, nil
}

// Cache returns the verifier's certificate cache.
func (v *Verifier) Cache() *Cache { return v.cache }

// Request is what verification needs from a SIP request.
type Request struct {
	Identity   []string  // every Identity (or "y") header value, in order
	PAI        string    // P-Asserted-Identity values, comma-joined ("" when absent)
	From       string    // From header value
	To         string    // To header value
	RequestURI string    // for retargeted calls (RFC 8946)
	At         time.Time // when the request arrived
}

// checked is one Identity header after its own checks.
type checked struct {
	idx int
	pp  *Passport
	f   *fail
}

// Verify verifies the request's Identity headers. Each header is checked
// in this order, and the first failing check gives its reason: header
// syntax; PASSporT segments and base64url; JOSE header (alg, typ, ppt,
// x5u, crit); claims (attest, dest, iat, orig, origid or div); signature
// format (raw 64 bytes); header-field parameters (info present, alg, ppt,
// info equal to x5u); freshness; x5u scheme; certificate (fetch, leaf checks, path to an
// anchor, validity, revocation); signature; orig against
// P-Asserted-Identity (else From). Then the request passes when one SHAKEN
// PASSporT passed all of that and its dest.tn holds the To number, directly
// or through a chain of verified div PASSporTs (RFC 8946) ending at the To
// or Request-URI number. Otherwise the reason is that of the first SHAKEN
// PASSporT (or, without any, of the first header).
func (v *Verifier) Verify(ctx context.Context, req *Request) Result {
	if len(req.Identity) == 0 {
		return Result{Verdict: VerdictNone, Reason: ReasonNoIdentity, Header: -1}
	}
	var res Result
	origTN, origOK := "", false
	if req.PAI != "" {
		origTN, origOK = TNFromHeaderList(req.PAI)
	}
	if !origOK {
		origTN, origOK = TNFromHeader(req.From)
	}
	// MissWait is the call's, not each fetch's: several Identity headers,
	// or a certificate and then its CRLs, share it.
	var waitUntil time.Time
	if v.cfg.MissWait > 0 {
		waitUntil = time.Now().Add(v.cfg.MissWait)
	}
	hs := make([]checked, 0, len(req.Identity))
	for i, raw := range req.Identity {
		pp, f := v.checkOne(ctx, raw, req.At, waitUntil, &res)
		if f == nil && pp.Ppt == PptShaken {
			if tn, ok := CanonicalTN(pp.OrigTN); !ok || !origOK || tn != origTN {
				f = failf(ReasonOrigTNs, "orig.tn %q does not match the caller %q (P-Asserted-Identity, else From)", pp.OrigTN, origTN)
			}
		}
		hs = append(hs, checked{idx: i, pp: pp, f: f})
	}
	toTN, _ := TNFromHeader(req.To)
	ruriTN, _ := TNFromHeader("<" + req.RequestURI + ">")
	best := -1
	diverted := false
	var firstShaken *checked
	for i := range hs {
		h := &hs[i]
		if h.pp == nil || h.pp.Ppt != PptShaken {
			continue
		}
		if firstShaken == nil {
			firstShaken = h
		}
		if h.f != nil {
			continue
		}
		direct := containsTN(h.pp.DestTN, toTN)
		viaDiv := !direct && divChain(h.pp, hs, toTN, ruriTN)
		if !direct && !viaDiv {
			h.f = failf(ReasonDestTNs, "To %q is not in dest.tn %q", toTN, h.pp.DestTN)
			continue
		}
		if best < 0 || attestRank(h.pp.Attest) < attestRank(hs[best].pp.Attest) {
			best, diverted = i, viaDiv
		}
	}
	if best >= 0 {
		pp := hs[best].pp
		res.Verdict, res.Reason, res.Header = VerdictValid, ReasonOK, hs[best].idx
		if diverted {
			res.Reason, res.Diverted = ReasonOKDiverted, true
		}
		res.Attestation = attestationOf(pp.Attest)
		res.OrigID, res.X5U = pp.OrigID, pp.X5U
		res.OrigTN, _ = CanonicalTN(pp.OrigTN)
		return res
	}
	decider := firstShaken
	if decider == nil {
		decider = &hs[0]
		if decider.f == nil { // a verified div PASSporT alone
			decider.f = failf(ReasonDivChain, "div PASSporT without a SHAKEN PASSporT to chain to")
		}
	}
	if decider.f.reason == ReasonX5uPending {
		res.Verdict, res.Reason, res.Header, res.Detail = VerdictNone, ReasonX5uPending, decider.idx, decider.f.detail
		if decider.pp != nil {
			res.X5U = decider.pp.X5U
		}
		return res
	}
	res.Verdict, res.Reason, res.Header = VerdictInvalid, decider.f.reason, decider.idx
	res.Attestation, res.Detail = policy.AttestationFailed, decider.f.detail
	if decider.pp != nil {
		res.X5U, res.OrigID = decider.pp.X5U, decider.pp.OrigID
	}
	return res
}

// checkOne runs every check of one Identity header except the match of
// dest against the request (which may need the other headers).
func (v *Verifier) checkOne(ctx context.Context, raw string, at, waitUntil time.Time, res *Result) (*Passport, *fail) {
	h, err := ParseIdentity(raw)
	if err != nil {
		return nil, failf(ReasonIdentityMalformed, "%v", err)
	}
	pp, f := decodePassport(h.Token)
	if f != nil {
		return pp, f
	}
	if h.Info == "" {
		return pp, failf(ReasonInfoMissing, "Identity header has no info parameter")
	}
	if h.Alg != "" && h.Alg != "ES256" {
		return pp, failf(ReasonParamAlg, "Identity alg=%s: only ES256 is accepted", h.Alg)
	}
	if !h.HasPpt || h.Ppt != pp.Ppt {
		return pp, failf(ReasonParamPpt, "Identity ppt=%q, PASSporT ppt %q: they must be present and equal", h.Ppt, pp.Ppt)
	}
	if h.Info != pp.X5U {
		return pp, failf(ReasonInfoMismatch, "Identity info <%s> differs from x5u %s", h.Info, pp.X5U)
	}
	iat := time.Unix(pp.Iat, 0)
	if age := at.Sub(iat); age > v.cfg.Freshness {
		return pp, failf(ReasonStale, "iat %d is %s old (limit %s)", pp.Iat, age.Round(time.Second), v.cfg.Freshness)
	} else if -age > v.cfg.Skew {
		return pp, failf(ReasonFuture, "iat %d is %s ahead of our clock (skew allowed %s)", pp.Iat, (-age).Round(time.Second), v.cfg.Skew)
	}
	if u := pp.X5U; !(len(u) > 8 && equalFoldPrefix(u, "https://")) && !(v.cache.fetcher.cfg.AllowHTTP && equalFoldPrefix(u, "http://")) {
		return pp, failf(ReasonX5uScheme, "x5u %s: only https is fetched", u)
	}
	cv := v.cache.cert(ctx, pp.X5U, waitLeft(waitUntil))
	if cv == nil {
		return pp, failf(ReasonX5uPending, "certificate %s not cached yet (fetching in the background)", pp.X5U)
	}
	if cv.err != nil {
		return pp, cv.err
	}
	if cv.leafErr != nil {
		return pp, cv.leafErr
	}
	chain, f := v.checkChain(cv, at)
	if f != nil {
		return pp, f
	}
	if f := v.checkRevocation(ctx, cv, chain, at, waitUntil, res); f != nil {
		return pp, f
	}
	if !verifyES256(cv.leaf.PublicKey.(*ecdsa.PublicKey), pp.SigningInput, pp.Signature) {
		return pp, failf(ReasonSignature, "ES256 signature does not verify with the x5u certificate's key")
	}
	return pp, nil
}

// waitLeft is how long a fetch may still be waited for (0: not at all).
func waitLeft(until time.Time) time.Duration {
	if until.IsZero() {
		return 0
	}
	return time.Until(until)
}

// verifyES256 checks a raw R||S signature over the exact received text.
func verifyES256(pub *ecdsa.PublicKey, signingInput string, sig []byte) bool {
	sum := sha256.Sum256([]byte(signingInput))
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, sum[:], r, s)
}

// divChain reports whether verified div PASSporTs lead from the SHAKEN
// PASSporT's dest to the To or Request-URI number: each link's div.tn is a
// target reached so far and its orig.tn is the SHAKEN orig.tn.
func divChain(sh *Passport, hs []checked, toTN, ruriTN string) bool {
	orig, _ := CanonicalTN(sh.OrigTN)
	reached := append([]string(nil), sh.DestTN...)
	used := make([]bool, len(hs))
	for progress := true; progress; {
		progress = false
		for i := range hs {
			d := hs[i].pp
			if used[i] || hs[i].f != nil || d == nil || d.Ppt != PptDiv {
				continue
			}
			if o, _ := CanonicalTN(d.OrigTN); o != orig || !containsTN(reached, canonicalOrEmpty(d.DivTN)) {
				continue
			}
			used[i], progress = true, true
			reached = append(reached, d.DestTN...)
			if containsTN(d.DestTN, toTN) || containsTN(d.DestTN, ruriTN) {
				return true
			}
		}
	}
	return false
}

func canonicalOrEmpty(s string) string {
	c, _ := CanonicalTN(s)
	return c
}

// containsTN reports whether one of tns canonicalises to the canonical tn.
func containsTN(tns []string, tn string) bool {
	if tn == "" {
		return false
	}
	for _, t := range tns {
		if c, ok := CanonicalTN(t); ok && c == tn {
			return true
		}
	}
	return false
}

func attestRank(a string) int { return int(a[0] - 'A') }

func attestationOf(a string) policy.Attestation {
	switch a {
	case "A":
		return policy.AttestationA
	case "B":
		return policy.AttestationB
	case "C":
		return policy.AttestationC
	}
	return policy.AttestationFailed
}

func equalFoldPrefix(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}
