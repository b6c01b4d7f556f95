package stir_test

import (
	"crypto/ecdsa"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/policy"
	"callgate/stir"
)

func newSigner(t testing.TB, x5u string) *stir.Signer {
	t.Helper()
	f := getFixture(t)
	s, err := stir.NewSigner(f.keys[x5u].(*ecdsa.PrivateKey), x5u)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignVerify: our signer's output verifies, for each attestation, and
// the PASSporT is in the canonical form (lexicographic keys, numbers
// without '+').
func TestSignVerify(t *testing.T) {
	f := getFixture(t)
	v := f.verifier(t, stir.Config{})
	s := newSigner(t, x5uGood)
	for _, a := range []struct {
		level string
		want  policy.Attestation
	}{{"A", policy.AttestationA}, {"B", policy.AttestationB}, {"C", policy.AttestationC}} {
		id, err := s.Identity(stir.Claims{Attest: a.level, OrigTN: "+12155551212", DestTN: []string{"+1 215 555 0100"}, OrigID: "gw-1", Iat: t0})
		if err != nil {
			t.Fatal(err)
		}
		r := verifyInvite(t, v, defaultInvite("Identity: "+id), t0.Add(2*time.Second))
		if r.Verdict != stir.VerdictValid || r.Attestation != a.want || r.OrigID != "gw-1" || r.OrigTN != "12155551212" {
			t.Fatalf("%s: %+v", a.level, r)
		}
		pp, reason, err := stir.DecodePassport(strings.SplitN(id, ";", 2)[0])
		if err != nil {
			t.Fatal(reason, err)
		}
		claims := mustB64(strings.Split(pp.Raw, ".")[1])
		if want := `{"attest":"` + a.level + `","dest":{"tn":["12155550100"]},"iat":` + itoa(t0.Unix()) + `,"orig":{"tn":"12155551212"},"origid":"gw-1"}`; claims != want {
			t.Fatalf("claims %s, want %s", claims, want)
		}
		hdr := mustB64(strings.Split(pp.Raw, ".")[0])
		if want := `{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"` + x5uGood + `"}`; hdr != want {
			t.Fatalf("header %s, want %s", hdr, want)
		}
	}
	if _, err := s.Identity(stir.Claims{Attest: "D", OrigTN: "+12155551212", DestTN: []string{"+12155550100"}, OrigID: "x"}); err == nil {
		t.Fatal("attestation D signed")
	}
	if _, err := s.Identity(stir.Claims{Attest: "A", OrigTN: "alice", DestTN: []string{"+12155550100"}, OrigID: "x"}); err == nil {
		t.Fatal("non-number signed")
	}
}

// TestDiv: a call retargeted from 0100 to 0200 carries the original SHAKEN
// PASSporT and a div PASSporT (RFC 8946) from the retargeting provider.
func TestDiv(t *testing.T) {
	f := getFixture(t)
	v := f.verifier(t, stir.Config{})
	s := newSigner(t, x5uGood)
	div := newSigner(t, x5uCritical) // another provider's certificate
	shaken, _ := s.Identity(stir.Claims{Attest: "A", OrigTN: "+12155551212", DestTN: []string{"+12155550100"}, OrigID: "o", Iat: t0})
	dtok, err := div.SignDiv("+12155551212", "+12155550100", []string{"+12155550200"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	divID := stir.IdentityValue(dtok, x5uCritical, stir.PptDiv)
	retargeted := func(in *invite) { in.to = "<sip:+12155550200@callgate.example.net>" }
	ruriOnly := func(in *invite) { in.ruri = "sip:+12155550200@callgate.example.net" }

	for _, c := range []struct {
		name   string
		ids    []string
		change func(*invite)
		want   stir.Reason
	}{
		{"To changed, div links it", []string{shaken, divID}, retargeted, stir.ReasonOKDiverted},
		{"div first, SHAKEN second", []string{divID, shaken}, retargeted, stir.ReasonOKDiverted},
		{"To changed, no div", []string{shaken}, retargeted, stir.ReasonDestTNs},
		{"Request-URI changed, To kept: plain match", []string{shaken, divID}, ruriOnly, stir.ReasonOK},
		{"div alone", []string{divID}, retargeted, stir.ReasonDivChain},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := defaultInvite()
			for _, id := range c.ids {
				in.identity = append(in.identity, "Identity: "+id)
			}
			c.change(&in)
			r := verifyInvite(t, v, in, t0)
			if r.Reason != c.want {
				t.Fatalf("got %s (%s), want %s", r.Reason, r.Detail, c.want)
			}
			if c.want == stir.ReasonOKDiverted && (!r.Diverted || r.Attestation != policy.AttestationA) {
				t.Fatalf("%+v", r)
			}
		})
	}
	// A div PASSporT that does not start at the SHAKEN dest does not link.
	other, _ := div.SignDiv("+12155551212", "+12155550999", []string{"+12155550200"}, t0)
	in := defaultInvite("Identity: "+shaken, "Identity: "+stir.IdentityValue(other, x5uCritical, stir.PptDiv))
	in.to = "<sip:+12155550200@callgate.example.net>"
	if r := verifyInvite(t, v, in, t0); r.Reason != stir.ReasonDestTNs {
		t.Fatalf("unlinked div: %s", r.Reason)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
