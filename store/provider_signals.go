package store

import (
	"fmt"
	"strings"
)

// This file holds a provider's say in what the signals (spam-risk
// reputation, spoof protection by call keys) do to calls to its
// subscribers. Each setting is either the provider's own action or
// SignalDefault: the platform's, configured for the whole platform
// (reputation.actions, keys.on_missing) and given to the engine by the
// daemon. The store keeps only what a provider set; the engine reads it
// through SubscriberView.Signals and names in its trace which of the two
// applied (setting=provider or setting=platform).

// SignalAction is what a call gets for one answer of a signal.
// Persisted by name (JSON); the values are append-only.
type SignalAction uint8

// Signal actions. The zero value defers to the platform default.
const (
	SignalDefault   SignalAction = iota // not set here: the platform's configured action
	SignalContinue                      // the answer settles nothing: the subscriber's own treatments decide (the trace tags the call)
	SignalAllow                         // deliver the call untouched
	SignalChallenge                     // the B2BUA's DTMF challenge
	SignalBlock                         // refuse the call (Reject with Media when the subscriber has it)
	SignalScreen                        // the subscriber's screening (the caller records their name)
)

var signalActionNames = [...]string{"default", "continue", "allow", "challenge", "block", "screen"}

func (a SignalAction) String() string {
	if int(a) < len(signalActionNames) {
		return signalActionNames[a]
	}
	return fmt.Sprintf("signal-action(%d)", uint8(a))
}

// ParseSignalAction reads default, continue (or its synonym tag: the
// call goes on, tagged in the trace), allow, challenge, block or screen.
func ParseSignalAction(s string) (SignalAction, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "tag" {
		return SignalContinue, nil
	}
	for i, n := range signalActionNames {
		if s == n {
			return SignalAction(i), nil
		}
	}
	return 0, fmt.Errorf("signal action %q: %w (want default, continue, allow, challenge, block or screen)", s, ErrInvalid)
}

// MarshalText implements encoding.TextMarshaler.
func (a SignalAction) MarshalText() ([]byte, error) {
	if int(a) >= len(signalActionNames) {
		return nil, fmt.Errorf("signal action %d: %w", uint8(a), ErrInvalid)
	}
	return []byte(signalActionNames[a]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *SignalAction) UnmarshalText(b []byte) error {
	v, err := ParseSignalAction(string(b))
	if err == nil {
		*a = v
	}
	return err
}

// ReputationActions maps a reputation provider's answer for a caller to
// an action: one per risk band, one for callers never looked up
// (exempt: private, anonymous, non-NANP) and one for a look-up that gave
// no band in the call's budget (unknown).
type ReputationActions struct {
	Low     SignalAction `json:"low,omitzero"`
	Medium  SignalAction `json:"medium,omitzero"`
	High    SignalAction `json:"high,omitzero"`
	Exempt  SignalAction `json:"exempt,omitzero"`
	Unknown SignalAction `json:"unknown,omitzero"`
}

// ProviderSignals is a provider's signal policy for calls to its
// subscribers. The zero value defers every setting to the platform.
type ProviderSignals struct {
	Reputation ReputationActions `json:"reputation,omitzero"`
	// KeyMissing is what a call claiming an enterprise's enrolled number
	// without a matching call key gets: block, screen, or continue (tag:
	// the trace's key=missing marks it and the chain decides, e.g. while
	// a provider watches what spoof protection would block).
	KeyMissing SignalAction `json:"key_missing,omitzero"`
}

// Validate checks every setting, naming the first that is out of range.
func (p ProviderSignals) Validate() error {
	_, err := p.Invalid()
	return err
}

// Invalid is Validate with the JSON member at fault (reputation.low,
// key_missing), for an API to name it; "" with a nil error when all is
// well.
func (p ProviderSignals) Invalid() (member string, err error) {
	for _, f := range []struct {
		name string
		v    SignalAction
	}{{"reputation.low", p.Reputation.Low}, {"reputation.medium", p.Reputation.Medium}, {"reputation.high", p.Reputation.High},
		{"reputation.exempt", p.Reputation.Exempt}, {"reputation.unknown", p.Reputation.Unknown}} {
		if f.v > SignalScreen {
			return f.name, fmt.Errorf("%s: action %d: %w (want default, continue, allow, challenge, block or screen)", f.name, uint8(f.v), ErrInvalid)
		}
	}
	switch p.KeyMissing {
	case SignalDefault, SignalContinue, SignalBlock, SignalScreen:
	default:
		return "key_missing", fmt.Errorf("key_missing %s: %w (want default, block, screen or continue/tag: a spoofed call is never delivered untouched or challenged)", p.KeyMissing, ErrInvalid)
	}
	return "", nil
}

// SetProviderSignals replaces a provider's signal policy (the provider
// itself or the operator); its subscribers' calls follow on the next call.
// The change is audited as provider.signals.
func (s *Store) SetProviderSignals(actor Actor, name string, p ProviderSignals) (Provider, error) {
	if err := p.Validate(); err != nil {
		return Provider{}, err
	}
	return s.changeProvider(actor, "provider.signals", false, name, func(_ *txn, pr *Provider) error {
		pr.Signals = p
		return nil
	})
}
