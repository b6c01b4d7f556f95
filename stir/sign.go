package stir

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Signer is a STIR/SHAKEN authentication service's signing half: it makes
// SHAKEN (RFC 8588) and div (RFC 8946) PASSporTs with ES256 and wraps them
// in Identity header values. Which attestation a call gets is the caller's
// decision (ATIS-1000074 §5.2.3: A when the customer is known and the number
// is theirs, B when the customer is known but not the number, C for gateway
// traffic); see Attestation.
type Signer struct {
	x5u    string
	shaken jose.Signer
	div    jose.Signer
}

// NewSigner returns a signer with an ECDSA P-256 key whose certificate is
// published at x5u (an https URL in production).
func NewSigner(key *ecdsa.PrivateKey, x5u string) (*Signer, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("stir: the signing key must be ECDSA P-256 (ES256)")
	}
	if !equalFoldPrefix(x5u, "https://") && !equalFoldPrefix(x5u, "http://") {
		return nil, fmt.Errorf("stir: x5u %q is not an http(s) URL", x5u)
	}
	mk := func(ppt string) (jose.Signer, error) {
		opts := (&jose.SignerOptions{}).WithType("passport").WithHeader("ppt", ppt).WithHeader("x5u", x5u)
		return jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	}
	s := &Signer{x5u: x5u}
	var err error
	if s.shaken, err = mk(PptShaken); err != nil {
		return nil, err
	}
	if s.div, err = mk(PptDiv); err != nil {
		return nil, err
	}
	return s, nil
}

// X5U is the certificate URL the signer puts in its PASSporTs.
func (s *Signer) X5U() string { return s.x5u }

// Claims are a SHAKEN PASSporT's claims. Numbers may be given in any form
// CanonicalTN accepts; they are written canonical ("12155551212").
type Claims struct {
	Attest string   // "A", "B" or "C"
	OrigTN string   // calling number
	DestTN []string // called number(s)
	OrigID string   // origination identifier (a UUID per customer or gateway)
	Iat    time.Time
}

type tnObj struct {
	TN string `json:"tn"`
}
type tnList struct {
	TN []string `json:"tn"`
}

// Field order is lexicographic, as RFC 8225 §9 asks of a canonical form.
type shakenPayload struct {
	Attest string `json:"attest"`
	Dest   tnList `json:"dest"`
	Iat    int64  `json:"iat"`
	Orig   tnObj  `json:"orig"`
	OrigID string `json:"origid"`
}

type divPayload struct {
	Dest tnList `json:"dest"`
	Div  tnObj  `json:"div"`
	Iat  int64  `json:"iat"`
	Orig tnObj  `json:"orig"`
}

// Sign returns a SHAKEN PASSporT in full form.
func (s *Signer) Sign(c Claims) (string, error) {
	if c.Attest != "A" && c.Attest != "B" && c.Attest != "C" {
		return "", fmt.Errorf("stir: attestation %q, want A, B or C", c.Attest)
	}
	if c.OrigID == "" {
		return "", errors.New("stir: origid is required (ATIS-1000074)")
	}
	orig, dest, err := canonicalPair(c.OrigTN, c.DestTN)
	if err != nil {
		return "", err
	}
	return s.sign(s.shaken, shakenPayload{Attest: c.Attest, Dest: tnList{dest}, Iat: c.Iat.Unix(), Orig: tnObj{orig}, OrigID: c.OrigID})
}

// SignDiv returns a div PASSporT (RFC 8946): the call from orig to divTN
// was retargeted to dest.
func (s *Signer) SignDiv(origTN, divTN string, destTN []string, iat time.Time) (string, error) {
	orig, dest, err := canonicalPair(origTN, destTN)
	if err != nil {
		return "", err
	}
	div, ok := CanonicalTN(divTN)
	if !ok {
		return "", fmt.Errorf("stir: div number %q is not a telephone number", divTN)
	}
	return s.sign(s.div, divPayload{Dest: tnList{dest}, Div: tnObj{div}, Iat: iat.Unix(), Orig: tnObj{orig}})
}

func (s *Signer) sign(js jose.Signer, payload any) (string, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	obj, err := js.Sign(b)
	if err != nil {
		return "", fmt.Errorf("stir: signing: %w", err)
	}
	return obj.CompactSerialize()
}

// Identity returns the Identity header value for a SHAKEN PASSporT signed
// from c: the token, info=<x5u>, alg=ES256 and ppt=shaken.
func (s *Signer) Identity(c Claims) (string, error) {
	tok, err := s.Sign(c)
	if err != nil {
		return "", err
	}
	return IdentityValue(tok, s.x5u, PptShaken), nil
}

// IdentityValue formats an Identity header value.
func IdentityValue(token, x5u, ppt string) string {
	return token + ";info=<" + x5u + ">;alg=ES256;ppt=" + ppt
}

func canonicalPair(origTN string, destTN []string) (string, []string, error) {
	orig, ok := CanonicalTN(origTN)
	if !ok {
		return "", nil, fmt.Errorf("stir: calling number %q is not a telephone number", origTN)
	}
	if len(destTN) == 0 {
		return "", nil, errors.New("stir: no called number")
	}
	dest := make([]string, len(destTN))
	for i, d := range destTN {
		if dest[i], ok = CanonicalTN(d); !ok {
			return "", nil, fmt.Errorf("stir: called number %q is not a telephone number", d)
		}
	}
	return orig, dest, nil
}

// NewOrigID returns a random UUID (version 4) for an origid.
func NewOrigID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", b[:])
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}

// AttestationFor is ATIS-1000074 §5.2.3's attestation rule for an
// authentication service: A (full) when the originating customer is known
// and the calling number is allocated to it, B (partial) when the customer
// is known but the number is not theirs, C (gateway) when the call comes
// from a peer whose customer is not known (a gateway).
func AttestationFor(customerKnown, numberAllocated bool) string {
	switch {
	case !customerKnown:
		return "C"
	case numberAllocated:
		return "A"
	}
	return "B"
}
