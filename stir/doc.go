// Package stir is callgate's STIR/SHAKEN signal: the verification service
// (RFC 8224 §6.2, RFC 8225, RFC 8588, RFC 8946, ATIS-1000074 §5.3,
// ATIS-1000080 for certificates) and the signing half of the
// authentication service. It sits beside policy: a tier hands it the
// Identity headers and identities of a SIP request, gets a Result, and puts
// Result.Attestation into policy.Call before the engine decides. It imports
// only policy (for Attestation), the standard library, go-jose and x/crypto;
// nothing here decides what happens to a call.
//
// # Verification
//
// Verifier.Verify checks every Identity header (full name or compact "y";
// several fields or comma-joined values) and passes the request when one
// SHAKEN PASSporT passes every check; each failure has a stable Reason
// (reason.go) and the RFC 8224 response code it maps to (403 Stale Date,
// 428, 436, 437, 438). The checks, in order, are listed on Verify. Points
// where verifiers commonly go wrong, and what this one does:
//
//   - The signature is checked over the received base64url text, never a
//     re-encoding; base64url must be unpadded and canonical (strict); the
//     signature must be the raw 64-byte R||S (a DER signature is refused).
//   - alg must be ES256 in the JOSE header (never none, HS256 or anything
//     else); a jwk, x5c or jku header is ignored, the key comes only from
//     the x5u certificate, and a crit header is refused.
//   - The JSON is read strictly: a repeated key anywhere, or a key in
//     another case ("ATTEST"), does not count; iat must be a number, orig.tn
//     a string, dest.tn an array of strings, attest exactly "A", "B" or "C".
//   - info must be present and equal to x5u; ppt must be present in the
//     header field and equal to the PASSporT's; alg, when present, ES256.
//   - iat may be at most Freshness old (60 s) and at most Skew (5 s) ahead;
//     the skew does not widen the age limit.
//   - orig.tn is compared with P-Asserted-Identity when it carries a
//     number (From only when it does not); dest.tn must hold the To number.
//     Both sides are canonicalised (CanonicalTN, RFC 8224 §8.3).
//   - The certificate path ends at a configured STI-CA anchor, never at a
//     system root; the leaf must be ECDSA P-256, not a CA, with keyUsage
//     digitalSignature and a TNAuthList holding an SPC (critical or not);
//     CAs with a keyUsage need keyCertSign; the CRL must be signed by the
//     issuer; a CRL past its nextUpdate still proves a revocation, but
//     otherwise counts as no CRL (RFC 5280 §6.3.3: status undetermined).
//   - A retargeted call (To no longer in the SHAKEN dest) passes only
//     through verified div PASSporTs (RFC 8946) chaining from that dest
//     (same orig) to the To or Request-URI number.
//
// # Certificates and the call path
//
// Cache holds x5u certificates and CRLs by URL. A call never waits on the
// network beyond Config.MissWait: with 0 (the default) a certificate not
// yet cached yields verdict none, reason x5u-pending, verstat
// No-TN-Validation, while one background fetch per URL fills the cache for
// the next call; a positive MissWait holds the call up to that long first.
// Certificates stay cached for their HTTP lifetime (Cache-Control max-age,
// Expires; else DefaultTTL) between MinTTL and MaxTTL, never past their
// notAfter; failures are remembered for NegativeTTL; a failed refresh keeps
// serving the old certificate. Chain verification is remembered per
// certificate for as long as every certificate of the path is valid, and
// CRLs are indexed once, so a warm call costs one ES256 verification.
// Cache.Run refreshes CRLs in the background (period CRLRefresh, sooner at
// nextUpdate). A CRL that cannot be had, or is past its nextUpdate, is a
// warning in Result.Warnings (Config.RequireCRL makes it a 437).
//
// The fetcher is steered by whoever signed the PASSporT, so (FetchConfig):
// https only (http is a lab setting; CRLs may use http, they are signed);
// connections to loopback, private, link-local, CGNAT or unspecified
// addresses are refused after DNS, for the first request and every
// redirect (AllowPrivate is the lab setting); no proxy from the
// environment; at most MaxRedirects redirects, MaxBytes of body,
// ConnectTimeout and Timeout, MaxConcurrent fetches at once (a fetch that
// finds no slot within Timeout is given up, not queued: the call stays
// x5u-pending and a later call tries the URL again).
//
// # Signing
//
// Signer makes SHAKEN and div PASSporTs with go-jose (ES256 only) in the
// canonical form (lexicographic keys, numbers without '+') and the Identity
// header value (info, alg=ES256, ppt). The attestation is the caller's
// decision (ATIS-1000074 §5.2.3).
//
// stir/pki makes test PKIs (STI-CA root, intermediate, SP certificates
// with TNAuthList, CRLs) for tests and `callgate stir pki demo`.
package stir
