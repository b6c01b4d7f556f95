// Package policy is callgate's one decision engine. Every protocol tier (the
// AIN SCP, the SIP redirect server) translates its input into a Call, asks
// the engine, and translates the Decision back; no screening rule lives
// anywhere else, so the tiers cannot disagree.
//
// The map:
//
//   - types.go: Call, Decision, Action, Decider (what tiers and wrappers see).
//   - engine.go: the incoming-call chain (Engine.Decide) and the no-route
//     fallback; originate.go: the outgoing-call chain (Call.Direction
//     originating) and the destination classes of the fraud lockdown;
//     classify.go: Classifier, a signal's say in those classes.
//   - trace.go: the persisted rule and outcome names (append-only) and
//     their help text; format.go: text and JSON forms.
//   - guard.go, budget.go: the one way a tier asks the engine, Guard.Decide
//     under a reusable Budget, returning a Fault (late, panic, invalid) the
//     tier maps to its own safe answer, or deferred: a Budget that allows
//     it lets a stage that would wait say so instead (Defer), for the tier
//     to ask again where waiting holds up nothing; the stages share the
//     decision's start (Started), whose wall-clock time is derived from a
//     monotonic reading (wallclock.go: one clock read per Start, the
//     distance between the clocks re-anchored every 100 ms); loglimit.go:
//     the rate limit for the warnings that go with safe answers and
//     fallbacks.
//   - routeaudit.go: which providers' calls to screen have no way to the
//     B2BUA (AuditRoutes, Engine.WatchRoutes).
//   - signals.go: what the signal stages (keys/, reputation/) hand the
//     engine besides Call.KeyMatch and Call.Reputation (ReputationLookup,
//     the brand), the ReputationPolicy mapping and the steps that use them
//     (keyed, reputation, brand); a provider's own settings
//     (store.ProviderSignals, read through the view) override the
//     platform's, and the trace's setting step says whose applied.
//
// Decorators wrap a Decider (policy/decisionlog.Wrap records every
// decision, incoming and outgoing; internal/metrics counts them).
package policy

import (
	"context"

	"callgate/e164"
	"callgate/store"
)

// Presentation is the caller's presentation indicator.
type Presentation uint8

// Presentation values (T1.113 / RFC 3323 privacy mapped onto them).
const (
	PresentationAllowed Presentation = iota
	PresentationRestricted
	PresentationUnavailable
)

// Origin says which tier asked.
type Origin uint8

// Origins.
const (
	OriginAIN Origin = iota + 1
	OriginSIP
)

func (o Origin) String() string {
	switch o {
	case OriginAIN:
		return "ain"
	case OriginSIP:
		return "sip"
	}
	return "unknown"
}

// Attestation is a STIR/SHAKEN verification result (RFC 8588).
type Attestation uint8

// Attestation levels; AttestationNone = no or unverifiable Identity.
const (
	AttestationNone Attestation = iota
	AttestationA
	AttestationB
	AttestationC
	AttestationFailed // Identity present but verification failed
)

// Reputation is the spam-risk band of the calling number.
type Reputation uint8

// Reputation bands; ReputationUnknown = not looked up or no answer in budget.
const (
	ReputationUnknown Reputation = iota
	ReputationExempt             // private / non-NANP: not looked up by policy
	ReputationLow
	ReputationMedium
	ReputationHigh
)

// KeyMatch is the outcome of the spoof-protection call-key check.
type KeyMatch uint8

// KeyMatch values.
const (
	KeyNotChecked KeyMatch = iota // calling number not enrolled
	KeyMatched
	KeyMissing // enrolled calling number, no key for this call: spoofed
)

// Direction says which end of the call the engine is asked about.
//
// Direction values are persisted (the decision log keeps the originating
// flag): append-only.
type Direction uint8

// Directions.
const (
	// DirectionTerminating: an incoming call to Called, a subscriber's
	// number (AIN Termination_Attempt, a SIP INVITE). The zero value.
	DirectionTerminating Direction = iota
	// DirectionOriginating: an outgoing call placed by the Calling line
	// to the number it dialled, Called (AIN Info_Analyzed /
	// Info_Collected). The engine answers Allow (the call proceeds) or
	// Block (it is refused); see Engine.Decide.
	DirectionOriginating
)

// Call is one call as the engine sees it, whichever tier it came from.
type Call struct {
	Calling        e164.Number // zero when absent or not parseable; originating: the line placing the call
	Called         e164.Number // the number dialled (terminating: the subscriber's)
	OriginalCalled e164.Number // first redirecting number, if the call was forwarded
	// Redirecting is the number the call was last forwarded from (the
	// newest Diversion entry, the ISUP Redirecting Number), zero when it
	// was not forwarded; it differs from OriginalCalled when the call was
	// forwarded more than once. After the SCP's forwardCall to a route it
	// is the subscriber whose screening the call is for (the B2BUA's
	// gateway path). The engine does not read it.
	Redirecting  e164.Number
	Presentation Presentation
	Origin       Origin
	Direction    Direction
	Peer         string // originating point code or SIP source, for logs

	// DefaultRoute is set by a tier that has its own way to the B2BUA
	// for calls whose egress route cannot carry them (the SIP tier with
	// sip.screening_uri): the engine then keeps a screening action
	// without a route (route=default) instead of applying its
	// no-route fallback. It describes the asking tier, not the call, and
	// is not logged.
	DefaultRoute bool

	// Signals filled by later stages; zero values mean "not available".
	Attestation Attestation
	Reputation  Reputation
	KeyMatch    KeyMatch
	FraudLocked bool

	// AttestationReason is the verifier's stable reason code for
	// Attestation (stir.Reason: "ok", "signature-invalid", "iat-stale"...;
	// "" when no verification ran). The engine does not read it; it is
	// kept in the decision log beside the attestation.
	AttestationReason string
	// ReputationLookup says how Reputation was found (exemption and why,
	// cache, latency, failure), for the trace and the decision log; the
	// zero value means no look-up was made (no reputation provider).
	ReputationLookup ReputationLookup
	// Brand is the brand of the enterprise whose call key matched
	// (KeyMatch == KeyMatched); the engine puts it on the Decision when
	// the call is delivered.
	Brand store.Brand
}

// Anonymous reports whether the caller withheld or lacks a number.
func (c *Call) Anonymous() bool {
	return c.Calling == 0 || c.Presentation != PresentationAllowed
}

// Action is what should happen to the call.
type Action uint8

// Actions.
const (
	ActionAllow Action = iota + 1
	ActionBlock
	ActionBlockWithAnnouncement
	ActionScreen
	ActionChallenge
	ActionVoicemail
)

var actionNames = [...]string{"", "allow", "block", "block-with-announcement", "screen", "challenge", "voicemail"}

func (a Action) String() string {
	if int(a) < len(actionNames) && a != 0 {
		return actionNames[a]
	}
	return "none"
}

// NeedsSIPTier reports whether the call must reach the B2BUA (a human
// conversation is needed), whichever tier asked.
func (a Action) NeedsSIPTier() bool {
	return a == ActionScreen || a == ActionChallenge || a == ActionVoicemail
}

// NeedsB2BUA reports whether carrying a out for a call asked by origin o
// takes the B2BUA: the conversations of NeedsSIPTier, and on SIP a block
// with an announcement too (the B2BUA plays it as early media, then
// declines; an AIN switch plays it itself, sendToResource).
func (a Action) NeedsB2BUA(o Origin) bool {
	return a.NeedsSIPTier() || (a == ActionBlockWithAnnouncement && o == OriginSIP)
}

// Decision is the engine's answer: the action, what the tier needs to carry
// it out, and why.
type Decision struct {
	Action       Action
	Subscriber   uint32 // internal subscriber ID, 0 when the called number is not a subscriber
	Announcement uint32 // announcement to play (BlockWithAnnouncement, Voicemail)
	PINAllowed   bool   // the caller may enter the override PIN
	Voicemail    string // voicemail target for ActionVoicemail / screening outcomes
	Route        store.Route
	Trace        Trace

	// STIR/SHAKEN results of the provider's policy (see Engine.attestation).
	// Tag is the word to put in front of the caller's display name of an
	// allowed call ("" = none). RejectIdentity (with ActionBlock) asks the
	// SIP tier to answer with the RFC 8224 response code of the
	// verification failure instead of its usual decline.
	Tag            string
	RejectIdentity bool

	// Brand is shown to the called party (SIP display name, AIN
	// GenericName/DisplayText): set on delivered calls whose enterprise
	// call key matched. Zero: no brand.
	Brand store.Brand
}

// FellBack reports whether the engine could not carry out the action the
// rules chose because no way to the B2BUA exists for the asking tier, and
// gave the configured no-route fallback instead (trace fallback=apply).
// Tiers count these and warn (rate-limited): a fallback is never silent.
func (d *Decision) FellBack() bool { return d.Trace.Has(RuleFallback, OutcomeApply) }

// Decider is what the protocol tiers call. *Engine implements it; tests of
// a tier may use a fake.
type Decider interface {
	Decide(ctx context.Context, c Call) Decision
}
