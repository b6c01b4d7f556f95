package redirect

import "callgate/policy"

// Display-name tagging. A redirect server cannot
// rewrite the call's From: the upstream proxy builds the new INVITE from the
// 302. So the 302 of an allowed call carries headers that tell a downstream
// proxy what to apply; AttestationTagger is the documented mapping, enabled
// with Config.Tagger = AttestationTagger (off by default):
//
//	X-Callgate-Verstat: TN-Validation-Passed | TN-Validation-Failed | No-TN-Validation
//	    the verification status, with the values of the verstat tel URI
//	    parameter (ATIS-1000074 §5.3.1), for a proxy that sets verstat on
//	    the P-Asserted-Identity or From it forwards
//	X-Callgate-Attestation: A | B | C
//	    the attestation of a verified Identity (RFC 8588), absent otherwise
//	X-Callgate-Display-Prefix: verified | unknown
//	    the word to put in front of the caller's display name: "verified"
//	    only for a full (A) attestation that verified
//
// The attestation comes from policy.Call.Attestation, which the
// verification service (Config.Verifier, stir.go) fills; without it every
// call is AttestationNone and gets the No-TN-Validation set. The
// verification service's own headers (stir.go) carry verstat on
// P-Asserted-Identity and the provider's display-name tag. A Tagger sees the
// decision too, so a later one can also use signals the engine adds to it.
// A Tagger only labels what the engine decided: it never changes the
// answer (no screening rule lives in a tier).

// Tagging header names.
const (
	HeaderVerstat       = "X-Callgate-Verstat"
	HeaderAttestation   = "X-Callgate-Attestation"
	HeaderDisplayPrefix = "X-Callgate-Display-Prefix"
)

// Precomputed, shared (read-only) header sets: tagging allocates nothing.
var (
	tagsA      = []Header{{HeaderVerstat, "TN-Validation-Passed"}, {HeaderAttestation, "A"}, {HeaderDisplayPrefix, "verified"}}
	tagsB      = []Header{{HeaderVerstat, "TN-Validation-Passed"}, {HeaderAttestation, "B"}, {HeaderDisplayPrefix, "unknown"}}
	tagsC      = []Header{{HeaderVerstat, "TN-Validation-Passed"}, {HeaderAttestation, "C"}, {HeaderDisplayPrefix, "unknown"}}
	tagsFailed = []Header{{HeaderVerstat, "TN-Validation-Failed"}, {HeaderDisplayPrefix, "unknown"}}
	tagsNone   = []Header{{HeaderVerstat, "No-TN-Validation"}, {HeaderDisplayPrefix, "unknown"}}
)

// AttestationTagger maps the call's STIR/SHAKEN result to the tagging
// headers above. The returned slice is shared; callers must not modify it.
func AttestationTagger(c *policy.Call, _ *policy.Decision) []Header {
	switch c.Attestation {
	case policy.AttestationA:
		return tagsA
	case policy.AttestationB:
		return tagsB
	case policy.AttestationC:
		return tagsC
	case policy.AttestationFailed:
		return tagsFailed
	}
	return tagsNone
}
