package stir_test

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"callgate/policy"
	"callgate/stir"
)

// tc builds one corpus INVITE from the default PASSporT by mutation.
type tc struct {
	name    string
	header  func(h string) string          // JOSE header JSON
	claims  func(c string) string          // claims JSON
	x5u     string                         // certificate (and signing key) to use
	params  string                         // Identity parameters after the token
	token   func(tok string) string        // the finished token
	invite  func(in *invite, ident string) // the request around it
	at      time.Duration                  // call time relative to iat
	want    stir.Reason
	verdict stir.Verdict
	attest  policy.Attestation
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic(fmt.Sprintf("corpus mutation: %q not in %s", old, s))
		}
		return strings.Replace(s, old, new, 1)
	}
}

// corpusCases is the table, kept for TestCorpusFiles.
var corpusCases []tc

func TestCorpus(t *testing.T) {
	f := getFixture(t)
	v := f.verifier(t, stir.Config{})
	iat := t0.Unix()
	valid, invalid, none := stir.VerdictValid, stir.VerdictInvalid, stir.VerdictNone
	A := policy.AttestationA
	cases := []tc{
		// Identity header field.
		{name: "valid, full header name", want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "valid, compact name y", invite: func(in *invite, id string) { in.identity = []string{"y: " + id} }, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "valid, lower-case name and spaces around parameters", invite: func(in *invite, id string) {
			in.identity = []string{"identity:   " + strings.ReplaceAll(id, ";", " ; ")}
		}, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "no Identity header", invite: func(in *invite, id string) { in.identity = nil }, want: stir.ReasonNoIdentity, verdict: none},
		{name: "second of two headers verifies", invite: func(in *invite, id string) {
			in.identity = []string{"Identity: garbage!;info=<" + x5uGood + ">", "Identity: " + id}
		}, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "two values joined by a comma", invite: func(in *invite, id string) {
			in.identity = []string{"Identity: e30.e30.AAAA;info=<" + x5uGood + ">;ppt=shaken, " + id}
		}, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "ppt quoted in the parameter", params: ";info=<" + x5uGood + `>;alg=ES256;ppt="shaken"`, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "alg parameter absent (ES256 implied)", params: ";info=<" + x5uGood + ">;ppt=shaken", want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "garbage in the header", token: func(string) string { return "not a passport" }, want: stir.ReasonIdentityMalformed, verdict: invalid},
		{name: "compact form", token: func(tok string) string {
			p := strings.Split(tok, ".")
			return p[0] + ".." + p[2]
		}, want: stir.ReasonCompactForm, verdict: invalid},
		{name: "two segments", token: func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')] }, want: stir.ReasonPassportMalformed, verdict: invalid},
		{name: "base64 padding", token: func(tok string) string {
			p := strings.Split(tok, ".")
			return p[0] + "==." + p[1] + "." + p[2]
		}, want: stir.ReasonPassportMalformed, verdict: invalid},
		{name: "info parameter missing", params: ";alg=ES256;ppt=shaken", want: stir.ReasonInfoMissing, verdict: invalid},
		{name: "info differs from x5u", params: ";info=<https://other.example.net/sp.pem>;alg=ES256;ppt=shaken", want: stir.ReasonInfoMismatch, verdict: invalid},
		{name: "alg parameter RS256", params: ";info=<" + x5uGood + ">;alg=RS256;ppt=shaken", want: stir.ReasonParamAlg, verdict: invalid},
		{name: "ppt parameter missing", params: ";info=<" + x5uGood + ">;alg=ES256", want: stir.ReasonParamPpt, verdict: invalid},
		{name: "ppt parameter div on a shaken PASSporT", params: ";info=<" + x5uGood + ">;alg=ES256;ppt=div", want: stir.ReasonParamPpt, verdict: invalid},
		{name: "parameter repeated", params: ";info=<" + x5uGood + ">;info=<" + x5uGood + ">;ppt=shaken", want: stir.ReasonIdentityMalformed, verdict: invalid},
		// JOSE header.
		{name: "alg none", header: replace(`"alg":"ES256"`, `"alg":"none"`), want: stir.ReasonHeaderAlg, verdict: invalid},
		{name: "alg HS256", header: replace(`"alg":"ES256"`, `"alg":"HS256"`), want: stir.ReasonHeaderAlg, verdict: invalid},
		{name: "alg es256 (case)", header: replace(`"alg":"ES256"`, `"alg":"es256"`), want: stir.ReasonHeaderAlg, verdict: invalid},
		{name: "typ JWT", header: replace(`"typ":"passport"`, `"typ":"JWT"`), want: stir.ReasonHeaderTyp, verdict: invalid},
		{name: "typ missing", header: replace(`"typ":"passport",`, ``), want: stir.ReasonHeaderTyp, verdict: invalid},
		{name: "ppt missing", header: replace(`"ppt":"shaken",`, ``), want: stir.ReasonHeaderPpt, verdict: invalid},
		{name: "ppt rcd", header: replace(`"ppt":"shaken"`, `"ppt":"rcd"`), params: ";info=<" + x5uGood + ">;alg=ES256;ppt=rcd", want: stir.ReasonPptUnsupported, verdict: invalid},
		{name: "x5u missing", header: replace(`,"x5u":"`+x5uGood+`"`, ``), want: stir.ReasonHeaderX5u, verdict: invalid},
		{name: "crit", header: replace(`{`, `{"crit":["foo"],"foo":1,`), want: stir.ReasonHeaderCrit, verdict: invalid},
		{name: "jwk in the header is ignored, not trusted", header: replace(`{`, `{"jwk":{"kty":"EC"},`), want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "duplicate alg key", header: replace(`{`, `{"alg":"none",`), want: stir.ReasonPassportMalformed, verdict: invalid},
		// Signature.
		{name: "DER signature", token: func(tok string) string {
			p := strings.Split(tok, ".")
			return p[0] + "." + p[1] + "." + b64.EncodeToString(append([]byte{0x30, 0x44, 0x02, 0x20}, make([]byte, 66)...))
		}, want: stir.ReasonSignatureFormat, verdict: invalid},
		{name: "signature bit flipped", token: func(tok string) string {
			p := strings.Split(tok, ".")
			sig, _ := b64.DecodeString(p[2])
			sig[10] ^= 1
			return p[0] + "." + p[1] + "." + b64.EncodeToString(sig)
		}, want: stir.ReasonSignature, verdict: invalid},
		{name: "claims swapped after signing", token: func(tok string) string {
			p := strings.Split(tok, ".")
			return p[0] + "." + b64.EncodeToString([]byte(strings.Replace(defaultClaims(iat), `"attest":"A"`, `"attest":"B"`, 1))) + "." + p[2]
		}, want: stir.ReasonSignature, verdict: invalid},
		{name: "claims re-encoded with different whitespace (same JSON) does not verify", token: func(tok string) string {
			p := strings.Split(tok, ".")
			return p[0] + "." + b64.EncodeToString([]byte(strings.Replace(defaultClaims(iat), `,`, `, `, 1))) + "." + p[2]
		}, want: stir.ReasonSignature, verdict: invalid},
		{name: "signed with another key than x5u's", x5u: x5uGood, token: func(tok string) string {
			p := strings.Split(tok, ".")
			other := signRaw(t, getFixture(t).keys[x5uCritical], mustB64(p[0]), mustB64(p[1]))
			return other
		}, want: stir.ReasonSignature, verdict: invalid},
		// Claims.
		{name: "attest D", claims: replace(`"attest":"A"`, `"attest":"D"`), want: stir.ReasonAttest, verdict: invalid},
		{name: "attest lower case", claims: replace(`"attest":"A"`, `"attest":"a"`), want: stir.ReasonAttest, verdict: invalid},
		{name: "attest missing", claims: replace(`"attest":"A",`, ``), want: stir.ReasonAttest, verdict: invalid},
		{name: "attest B", claims: replace(`"attest":"A"`, `"attest":"B"`), want: stir.ReasonOK, verdict: valid, attest: policy.AttestationB},
		{name: "attest C", claims: replace(`"attest":"A"`, `"attest":"C"`), want: stir.ReasonOK, verdict: valid, attest: policy.AttestationC},
		{name: "attest twice", claims: replace(`"attest":"A"`, `"attest":"C","attest":"A"`), want: stir.ReasonPassportMalformed, verdict: invalid},
		{name: "attest in upper-case key", claims: replace(`"attest":"A"`, `"ATTEST":"A"`), want: stir.ReasonAttest, verdict: invalid},
		{name: "origid missing", claims: replace(`,"origid":"123e4567-e89b-12d3-a456-426614174000"`, ``), want: stir.ReasonOrigID, verdict: invalid},
		{name: "origid empty", claims: replace(`"origid":"123e4567-e89b-12d3-a456-426614174000"`, `"origid":""`), want: stir.ReasonOrigID, verdict: invalid},
		{name: "iat a string", claims: replace(fmt.Sprintf(`"iat":%d`, iat), fmt.Sprintf(`"iat":"%d"`, iat)), want: stir.ReasonIat, verdict: invalid},
		{name: "iat missing", claims: replace(fmt.Sprintf(`"iat":%d,`, iat), ``), want: stir.ReasonIat, verdict: invalid},
		{name: "orig.tn a number", claims: replace(`"orig":{"tn":"12155551212"}`, `"orig":{"tn":12155551212}`), want: stir.ReasonOrigTN, verdict: invalid},
		{name: "orig uri instead of tn", claims: replace(`"orig":{"tn":"12155551212"}`, `"orig":{"uri":"sip:alice@example.com"}`), want: stir.ReasonOrigTN, verdict: invalid},
		{name: "dest.tn a string", claims: replace(`"dest":{"tn":["12155550100"]}`, `"dest":{"tn":"12155550100"}`), want: stir.ReasonDestTN, verdict: invalid},
		{name: "dest.tn empty", claims: replace(`"dest":{"tn":["12155550100"]}`, `"dest":{"tn":[]}`), want: stir.ReasonDestTN, verdict: invalid},
		{name: "dest.tn second of two", claims: replace(`"dest":{"tn":["12155550100"]}`, `"dest":{"tn":["12155550199","12155550100"]}`), want: stir.ReasonOK, verdict: valid, attest: A},
		// Freshness.
		{name: "iat exactly 60 s old", at: 60 * time.Second, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "iat 61 s old", at: 61 * time.Second, want: stir.ReasonStale, verdict: invalid},
		{name: "iat 5 s ahead (skew)", at: -5 * time.Second, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "iat 6 s ahead", at: -6 * time.Second, want: stir.ReasonFuture, verdict: invalid},
		{name: "iat an hour ahead", at: -time.Hour, want: stir.ReasonFuture, verdict: invalid},
		// orig and dest against the request, canonicalised.
		{name: "orig differs from PAI", invite: func(in *invite, id string) { in.pai = "<sip:+12155559999@carrier.example.com>" }, want: stir.ReasonOrigTNs, verdict: invalid},
		{name: "From matches but PAI does not", invite: func(in *invite, id string) { in.pai = "<tel:+12155559999>" }, want: stir.ReasonOrigTNs, verdict: invalid},
		{name: "no PAI, From matches", invite: func(in *invite, id string) { in.pai = "" }, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "no PAI, From differs", invite: func(in *invite, id string) { in.pai = ""; in.from = "<sip:+12155559999@x.example.com>;tag=1" }, want: stir.ReasonOrigTNs, verdict: invalid},
		{name: "PAI with name, tel URI second", invite: func(in *invite, id string) {
			in.pai = `"Alice" <sip:alice@carrier.example.com>, <tel:+1-215-555-1212>`
		}, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "PAI national 10 digits with separators", invite: func(in *invite, id string) { in.pai = "<sip:(215)555-1212@carrier.example.com;user=phone>" }, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "PAI with npdi and rn parameters in the user part", invite: func(in *invite, id string) {
			in.pai = "<sip:+12155551212;npdi;rn=+12155550000@carrier.example.com;user=phone>"
		}, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "orig.tn with + and separators", claims: replace(`"orig":{"tn":"12155551212"}`, `"orig":{"tn":"+1-215-555-1212"}`), want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "To differs from dest", invite: func(in *invite, id string) { in.to = "<sip:+12155550999@callgate.example.net>" }, want: stir.ReasonDestTNs, verdict: invalid},
		{name: "To as tel URI", invite: func(in *invite, id string) { in.to = "<tel:+12155550100>;tag=x" }, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "To compact name and national form", invite: func(in *invite, id string) {
			in.to = "sip:2155550100@callgate.example.net"
		}, want: stir.ReasonOK, verdict: valid, attest: A},
		// Certificates.
		{name: "x5u over http", x5u: x5uHTTP, params: ";info=<" + x5uHTTP + ">;alg=ES256;ppt=shaken", want: stir.ReasonX5uScheme, verdict: invalid},
		{name: "certificate not cached: No-TN-Validation at once", x5u: x5uUncached, params: ";info=<" + x5uUncached + ">;alg=ES256;ppt=shaken", want: stir.ReasonX5uPending, verdict: none},
		{name: "untrusted STI-CA", x5u: x5uForeign, want: stir.ReasonCertTrust, verdict: invalid},
		{name: "certificate expired", x5u: x5uExpired, want: stir.ReasonCertDates, verdict: invalid},
		{name: "certificate not yet valid", x5u: x5uFuture, want: stir.ReasonCertDates, verdict: invalid},
		{name: "certificate is a CA", x5u: x5uCA, want: stir.ReasonCertCA, verdict: invalid},
		{name: "keyUsage without digitalSignature", x5u: x5uNoDS, want: stir.ReasonCertKeyUse, verdict: invalid},
		{name: "no TNAuthList", x5u: x5uNoTN, want: stir.ReasonCertTN, verdict: invalid},
		{name: "critical TNAuthList is understood", x5u: x5uCritical, want: stir.ReasonOK, verdict: valid, attest: A},
		{name: "revoked", x5u: x5uRevoked, want: stir.ReasonRevoked, verdict: invalid},
		{name: "RSA certificate", x5u: x5uRSA, want: stir.ReasonCertKey, verdict: invalid},
	}
	corpusCases = cases
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCase(t, v, c)
			if r.Reason != c.want || r.Verdict != c.verdict {
				t.Fatalf("got %s/%s (%s), want %s/%s", r.Verdict, r.Reason, r.Detail, c.verdict, c.want)
			}
			if c.verdict == valid && r.Attestation != c.attest {
				t.Fatalf("attestation %s, want %s", r.Attestation, c.attest)
			}
			if c.verdict == invalid && (r.Attestation != policy.AttestationFailed || r.ResponseCode() < 403) {
				t.Fatalf("invalid with attestation %s and code %d", r.Attestation, r.ResponseCode())
			}
		})
	}
}

func mustB64(s string) string {
	b, err := b64.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func runCase(t *testing.T, v *stir.Verifier, c tc) stir.Result {
	in, at := buildCase(t, c)
	return verifyInvite(t, v, in, at)
}

// buildCase makes the case's INVITE and the time the call arrives.
func buildCase(t testing.TB, c tc) (invite, time.Time) {
	f := getFixture(t)
	x5u := c.x5u
	if x5u == "" {
		x5u = x5uGood
	}
	iat := t0.Unix()
	h, cl := defaultHeader(x5u), defaultClaims(iat)
	if c.header != nil {
		h = c.header(h)
	}
	if c.claims != nil {
		cl = c.claims(cl)
	}
	key := f.keys[x5u]
	if key == nil {
		key = f.keys[x5uGood]
	}
	tok := signRaw(t, key, h, cl)
	if c.token != nil {
		tok = c.token(tok)
	}
	params := c.params
	if params == "" {
		params = ";info=<" + x5u + ">;alg=ES256;ppt=shaken"
	}
	id := tok + params
	in := defaultInvite("Identity: " + id)
	if c.invite != nil {
		c.invite(&in, id)
	}
	return in, t0.Add(c.at)
}

// TestResponseCodes pins the RFC 8224 code of every reason family.
func TestResponseCodes(t *testing.T) {
	for r, want := range map[stir.Reason]int{
		stir.ReasonOK: 0, stir.ReasonNoIdentity: 428, stir.ReasonStale: 403, stir.ReasonFuture: 403,
		stir.ReasonX5uFetch: 436, stir.ReasonInfoMissing: 436, stir.ReasonX5uScheme: 436,
		stir.ReasonCertTrust: 437, stir.ReasonRevoked: 437, stir.ReasonHeaderAlg: 437,
		stir.ReasonSignature: 438, stir.ReasonOrigTNs: 438, stir.ReasonDestTNs: 438, stir.ReasonCompactForm: 438,
	} {
		if got := r.ResponseCode(); got != want {
			t.Errorf("%s: %d, want %d", r, got, want)
		}
	}
	if stir.ReasonStale.ResponseText() != "Stale Date" {
		t.Error("403 text")
	}
}

// TestCRL covers the CRL's own checks: signature by the issuer and dates.
func TestCRL(t *testing.T) {
	f := getFixture(t)
	foreignCRL, err := f.foreign.CRL(nil, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expired, err := f.pki.CRL([]*big.Int{big.NewInt(revokedSerial)}, t0.Add(-48*time.Hour), t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Issued by a CA whose clock runs 3 s ahead of ours (Skew is 5 s).
	ahead, err := f.pki.CRL(nil, t0.Add(3*time.Second), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	notRevoked, err := f.pki.CRL([]*big.Int{big.NewInt(1)}, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// A CRL of another CA names another issuer: not a candidate, so the
	// distribution point is tried (not fetchable here) -> warning, or
	// failure when CRLs are required.
	// A CRL past its nextUpdate leaves the status undetermined (RFC 5280
	// §6.3.3), like a CRL not to be had: a warning, or 437 when CRLs are
	// required; a revocation it lists still holds.
	for _, c := range []struct {
		name    string
		crl     []byte
		x5u     string
		require bool
		want    stir.Reason
		warn    bool
	}{
		{"expired CRL, CRL optional", expired, x5uGood, false, stir.ReasonOK, true},
		{"expired CRL, CRL required", expired, x5uGood, true, stir.ReasonCRLMissing, false},
		{"expired CRL still revokes", expired, x5uRevoked, false, stir.ReasonRevoked, false},
		{"CRL issued within the clock skew", ahead, x5uGood, true, stir.ReasonOK, false},
		{"current CRL without the serial", notRevoked, x5uGood, false, stir.ReasonOK, false},
		{"foreign CRL, CRL optional", foreignCRL, x5uGood, false, stir.ReasonOK, true},
		{"foreign CRL, CRL required", foreignCRL, x5uGood, true, stir.ReasonCRLMissing, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := f.verifier(t, stir.Config{RequireCRL: c.require}, c.crl)
			r := runCase(t, v, tc{x5u: c.x5u})
			if r.Reason != c.want {
				t.Fatalf("got %s (%s), want %s", r.Reason, r.Detail, c.want)
			}
			if got := len(r.Warnings) > 0; got != c.warn {
				t.Fatalf("warnings %q", r.Warnings)
			}
		})
	}
	// The root's CRL revokes the intermediate: every SP certificate under it fails.
	rootCRL, err := f.pki.RootCRL([]*big.Int{f.pki.Inter.SerialNumber}, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r := runCase(t, f.verifier(t, stir.Config{}, notRevoked, rootCRL), tc{}); r.Reason != stir.ReasonRevoked {
		t.Fatalf("revoked intermediate: %s (%s)", r.Reason, r.Detail)
	}
	// A CRL whose signature is not the issuer's, under the issuer's name.
	forged := append([]byte(nil), notRevoked...)
	forged[len(forged)-5] ^= 0xff
	v := f.verifier(t, stir.Config{}, forged)
	if r := runCase(t, v, tc{}); r.Reason != stir.ReasonCRL {
		t.Fatalf("forged CRL: %s (%s)", r.Reason, r.Detail)
	}
}
