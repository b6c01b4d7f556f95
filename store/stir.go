package store

import (
	"fmt"
	"strings"
)

// StirAction is what a provider does with calls to its subscribers whose
// STIR/SHAKEN verification gave a weak (C) or failed result.
type StirAction uint8

// StirActions. StirAllow (the zero value) lets the call through to the
// subscriber's own treatments.
const (
	StirAllow  StirAction = iota // no special treatment
	StirScreen                   // screen the caller (the B2BUA asks their name)
	StirBlock                    // block (603/608, or Reject with Media)
	StirReject                   // reject with the RFC 8224 response code of the failure (failed only; C: block)
)

var stirActionNames = [...]string{"allow", "screen", "block", "reject"}

func (a StirAction) String() string {
	if int(a) < len(stirActionNames) {
		return stirActionNames[a]
	}
	return fmt.Sprintf("stir-action(%d)", uint8(a))
}

// ParseStirAction reads allow, screen, block or reject.
func ParseStirAction(s string) (StirAction, error) {
	for i, n := range stirActionNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return StirAction(i), nil
		}
	}
	return 0, fmt.Errorf("STIR/SHAKEN action %q: %w (want allow, screen, block or reject)", s, ErrInvalid)
}

// MarshalText implements encoding.TextMarshaler.
func (a StirAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *StirAction) UnmarshalText(b []byte) error {
	v, err := ParseStirAction(string(b))
	if err == nil {
		*a = v
	}
	return err
}

// StirPolicy is a provider's STIR/SHAKEN policy for calls to its
// subscribers (the SIP tier's verification service fills the attestation;
// the engine applies this after the subscriber's VIP and Blocked lists).
// The zero value changes nothing and tags nothing.
type StirPolicy struct {
	OnC      StirAction `json:"on_c,omitempty"`      // C-attested calls
	OnFailed StirAction `json:"on_failed,omitempty"` // Identity present, verification failed
	// Tag puts a word in front of the display name of allowed calls:
	// VerifiedTag for A and B attestations, UnknownTag for C, failed and
	// unverified calls ("" = "verified" / "unknown").
	Tag         bool   `json:"tag,omitempty"`
	VerifiedTag string `json:"verified_tag,omitempty"`
	UnknownTag  string `json:"unknown_tag,omitempty"`
}

// Default display-name tags.
const (
	DefaultVerifiedTag = "verified"
	DefaultUnknownTag  = "unknown"
)

// validate checks p and fills the default tags when tagging is on.
func (p StirPolicy) validate() (StirPolicy, error) {
	if p.OnC > StirReject || p.OnFailed > StirReject {
		return p, fmt.Errorf("STIR/SHAKEN action: %w", ErrInvalid)
	}
	for _, t := range []string{p.VerifiedTag, p.UnknownTag} {
		if len(t) > 32 || strings.ContainsAny(t, "\"\\\r\n<>") {
			return p, fmt.Errorf("display-name tag %q: %w (at most 32 characters, no quotes, backslashes, <> or line breaks)", t, ErrInvalid)
		}
	}
	if p.Tag {
		if p.VerifiedTag == "" {
			p.VerifiedTag = DefaultVerifiedTag
		}
		if p.UnknownTag == "" {
			p.UnknownTag = DefaultUnknownTag
		}
	}
	return p, nil
}

// SetProviderStir replaces a provider's STIR/SHAKEN policy; its
// subscribers' calls follow on the next call.
func (s *Store) SetProviderStir(actor Actor, name string, p StirPolicy) (Provider, error) {
	p, err := p.validate()
	if err != nil {
		return Provider{}, err
	}
	return s.changeProvider(actor, "provider.stir", true, name, func(_ *txn, pr *Provider) error {
		pr.Stir = p
		return nil
	})
}
