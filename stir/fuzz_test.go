package stir_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"callgate/policy"
	"callgate/stir"
)

func seedIdentity(t testing.TB) string {
	return signRaw(t, getFixture(t).keys[x5uGood], defaultHeader(x5uGood), defaultClaims(t0.Unix()))
}

// FuzzParseIdentity: the Identity header parser never panics, keeps the
// token as received, and splitting a line loses no byte.
func FuzzParseIdentity(f *testing.F) {
	tok := seedIdentity(f)
	for _, s := range []string{
		tok + ";info=<" + x5uGood + ">;alg=ES256;ppt=shaken",
		tok + " ; info=<https://a/b;c=d>;ppt=\"shaken\"",
		"a.b.c;info=<x>, d.e.f;info=<y>",
		";;;", "<<<>", "\"\\", "x;info",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := strings.Join(stir.SplitIdentityValues(s), ","); got != s {
			t.Fatalf("split and join changed %q into %q", s, got)
		}
		h, err := stir.ParseIdentity(s)
		if err != nil {
			return
		}
		if h.Token == "" || !strings.Contains(s, h.Token) {
			t.Fatalf("token %q not taken from %q", h.Token, s)
		}
		if strings.ContainsAny(h.Token, " \t;<>\"") {
			t.Fatalf("token %q holds a separator", h.Token)
		}
	})
}

// FuzzDecodePassport: the decoder never panics, and whatever it accepts is
// well-formed the way the verifier relies on.
func FuzzDecodePassport(f *testing.F) {
	f.Add(seedIdentity(f))
	f.Add("e30.e30.AAAA")
	f.Add("eyJhbGciOiJFUzI1NiJ9..sig")
	f.Fuzz(func(t *testing.T, tok string) {
		p, _, err := stir.DecodePassport(tok)
		if err != nil {
			return
		}
		if len(p.Signature) != 64 || !strings.HasPrefix(tok, p.SigningInput+".") {
			t.Fatalf("accepted a bad signature layout: %q", tok)
		}
		if p.Alg != "ES256" || p.Typ != "passport" || p.X5U == "" || len(p.DestTN) == 0 || p.OrigTN == "" {
			t.Fatalf("accepted incomplete PASSporT %+v", p)
		}
		if p.Ppt == stir.PptShaken && (len(p.Attest) != 1 || !strings.Contains("ABC", p.Attest) || p.OrigID == "") {
			t.Fatalf("accepted bad SHAKEN claims %+v", p)
		}
	})
}

// FuzzVerifyInvite: a whole INVITE through RequestFromSIP and Verify with
// a warm cache: no panic, and the verdict, attestation and response code
// always agree.
func FuzzVerifyInvite(f *testing.F) {
	fx := getFixture(f)
	v := fx.verifier(f, stir.Config{})
	id := seedIdentity(f) + ";info=<" + x5uGood + ">;alg=ES256;ppt=shaken"
	f.Add(defaultInvite("Identity: " + id).bytes())
	f.Add(defaultInvite("y: "+id, "Identity: "+id).bytes())
	f.Add([]byte("INVITE sip:x SIP/2.0\r\nIdentity: a.b.c\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		req, err := stir.RequestFromSIP(msg, t0)
		if err != nil {
			return
		}
		r := v.Verify(context.Background(), req)
		switch r.Verdict {
		case stir.VerdictValid:
			if r.Attestation < policy.AttestationA || r.Attestation > policy.AttestationC || r.ResponseCode() != 0 {
				t.Fatalf("valid with %+v", r)
			}
		case stir.VerdictInvalid:
			if c := r.ResponseCode(); r.Attestation != policy.AttestationFailed || c != 403 && c != 436 && c != 437 && c != 438 {
				t.Fatalf("invalid with %+v", r)
			}
		case stir.VerdictNone:
			if r.Attestation != policy.AttestationNone {
				t.Fatalf("none with %+v", r)
			}
		}
		if !utf8.ValidString(string(r.Reason)) || r.Reason == "" {
			t.Fatalf("reason %q", r.Reason)
		}
	})
}
