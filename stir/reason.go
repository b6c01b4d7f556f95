package stir

import "callgate/policy"

// Verdict is the outcome of verifying one request's Identity headers.
type Verdict uint8

// Verdicts. VerdictNone covers both "no Identity header" and "could not be
// verified in time" (a certificate cache miss under MissNoValidation); the
// Reason tells them apart.
const (
	VerdictNone Verdict = iota
	VerdictValid
	VerdictInvalid
)

var verdictNames = [...]string{"none", "valid", "invalid"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict?"
}

// Reason is a stable, machine-readable code for why verification ended the
// way it did. The strings are part of the product's interface (decision
// trace, CLI output, metrics labels): never rename one.
type Reason string

// Reasons. Each maps to the RFC 8224 §6.2.2 response code returned by
// ResponseCode. The order of the checks (and so which reason a request with
// several defects gets) is documented in Verifier.Verify.
const (
	ReasonOK         Reason = "ok"          // a SHAKEN PASSporT verified and matched
	ReasonOKDiverted Reason = "ok-diverted" // verified and matched through div PASSporTs (RFC 8946)
	ReasonNoIdentity Reason = "no-identity" // no Identity header: 428 when a policy requires one

	// Identity header field (RFC 8224 §4.1).
	ReasonIdentityMalformed Reason = "identity-malformed"  // header value does not parse
	ReasonCompactForm       Reason = "identity-compact"    // compact-form PASSporT (empty claims segment)
	ReasonInfoMissing       Reason = "info-missing"        // no info parameter (or not a URI)
	ReasonParamAlg          Reason = "param-alg"           // alg parameter other than ES256
	ReasonParamPpt          Reason = "param-ppt"           // ppt parameter missing or not the PASSporT's ppt
	ReasonInfoMismatch      Reason = "info-x5u-mismatch"   // info parameter differs from the x5u header
	ReasonPptUnsupported    Reason = "ppt-unsupported"     // only PASSporT types other than shaken/div
	ReasonPassportMalformed Reason = "passport-malformed"  // segments, base64url or JSON
	ReasonHeaderAlg         Reason = "header-alg"          // JOSE alg other than ES256 (none, HS256, ES384...)
	ReasonHeaderTyp         Reason = "header-typ"          // typ not "passport"
	ReasonHeaderPpt         Reason = "header-ppt"          // ppt not "shaken" (or "div" in a div PASSporT)
	ReasonHeaderX5u         Reason = "header-x5u"          // x5u missing or not an absolute URL
	ReasonHeaderCrit        Reason = "header-crit"         // crit names an extension we do not implement
	ReasonSignatureFormat   Reason = "signature-malformed" // not a raw 64-byte R||S value
	ReasonSignature         Reason = "signature-invalid"   // ES256 signature does not verify

	// Claims (RFC 8225 §5, RFC 8588, RFC 8946).
	ReasonAttest   Reason = "claim-attest"    // attest not "A", "B" or "C"
	ReasonOrigID   Reason = "claim-origid"    // origid missing or empty
	ReasonIat      Reason = "claim-iat"       // iat missing or not a number
	ReasonOrigTN   Reason = "claim-orig"      // orig.tn missing or not a string
	ReasonDestTN   Reason = "claim-dest"      // dest.tn missing or not an array of strings
	ReasonDivClaim Reason = "claim-div"       // div.tn missing or malformed in a div PASSporT
	ReasonStale    Reason = "iat-stale"       // iat older than the freshness window
	ReasonFuture   Reason = "iat-future"      // iat later than now plus the allowed skew
	ReasonOrigTNs  Reason = "orig-mismatch"   // orig.tn is not P-Asserted-Identity (else From)
	ReasonDestTNs  Reason = "dest-mismatch"   // To is not in dest.tn (and no div chain leads there)
	ReasonDivChain Reason = "div-unconnected" // a div PASSporT does not chain to the SHAKEN one

	// Certificate (RFC 8226, ATIS-1000080).
	ReasonX5uScheme  Reason = "x5u-scheme"      // x5u not https (and plain http not allowed)
	ReasonX5uFetch   Reason = "x5u-fetch"       // x5u could not be fetched (or the failure is cached)
	ReasonX5uContent Reason = "x5u-content"     // x5u body holds no certificate
	ReasonX5uPending Reason = "x5u-pending"     // not in the cache and not fetched within the budget
	ReasonCertTrust  Reason = "cert-untrusted"  // no path to a configured STI-CA trust anchor
	ReasonCertDates  Reason = "cert-expired"    // leaf or chain outside its validity at the call's time
	ReasonCertCA     Reason = "cert-ca"         // leaf is a CA, or a chain CA breaks its constraints
	ReasonCertKeyUse Reason = "cert-key-usage"  // leaf keyUsage lacks digitalSignature
	ReasonCertKey    Reason = "cert-key"        // leaf key is not ECDSA P-256
	ReasonCertTN     Reason = "cert-tnauthlist" // no TNAuthList extension with an SPC
	ReasonRevoked    Reason = "cert-revoked"    // leaf serial on its issuer's CRL
	ReasonCRL        Reason = "crl-invalid"     // CRL not signed by the certificate's issuer
	ReasonCRLMissing Reason = "crl-unavailable" // CRL required but none current (missing, or past nextUpdate)
)

// ResponseCode is the SIP response code RFC 8224 §6.2.2 assigns to r (0 for
// a success or a "none" outcome that has no code of its own).
func (r Reason) ResponseCode() int {
	switch r {
	case ReasonOK, ReasonOKDiverted, ReasonX5uPending:
		return 0
	case ReasonNoIdentity:
		return 428
	case ReasonStale, ReasonFuture:
		return 403 // "Stale Date"
	case ReasonInfoMissing, ReasonX5uScheme, ReasonX5uFetch, ReasonX5uContent, ReasonHeaderX5u:
		return 436 // Bad Identity Info
	case ReasonParamAlg, ReasonHeaderAlg, ReasonCertTrust, ReasonCertDates, ReasonCertCA,
		ReasonCertKeyUse, ReasonCertKey, ReasonCertTN, ReasonRevoked, ReasonCRL, ReasonCRLMissing:
		return 437 // Unsupported Credential
	}
	return 438 // Invalid Identity Header
}

// ResponseText is the reason phrase that goes with ResponseCode.
func (r Reason) ResponseText() string {
	switch r.ResponseCode() {
	case 403:
		return "Stale Date"
	case 428:
		return "Use Identity Header"
	case 436:
		return "Bad Identity Info"
	case 437:
		return "Unsupported Credential"
	case 438:
		return "Invalid Identity Header"
	}
	return ""
}

// Verstat values (3GPP TS 24.229 §7.2A.20) for P-Asserted-Identity.
const (
	VerstatPassed = "TN-Validation-Passed"
	VerstatFailed = "TN-Validation-Failed"
	VerstatNone   = "No-TN-Validation"
)

// Result is what verification found.
type Result struct {
	Verdict     Verdict
	Reason      Reason
	Attestation policy.Attestation // A/B/C when valid, Failed when invalid, None otherwise
	OrigID      string             // origid of the PASSporT that verified
	OrigTN      string             // canonical orig.tn of that PASSporT
	X5U         string             // certificate URL of that PASSporT (or of the failing one)
	Diverted    bool               // the match went through div PASSporTs (RFC 8946)
	Header      int                // index of the deciding Identity header, -1 when none
	Detail      string             // human-readable detail of a failure, for logs and the CLI
	Warnings    []string           // fallbacks taken (CRL unavailable, ...), never silent
}

// ResponseCode is Reason.ResponseCode.
func (r *Result) ResponseCode() int { return r.Reason.ResponseCode() }

// Verstat is the verstat parameter value for the result.
func (r *Result) Verstat() string {
	switch r.Verdict {
	case VerdictValid:
		return VerstatPassed
	case VerdictInvalid:
		return VerstatFailed
	}
	return VerstatNone
}
