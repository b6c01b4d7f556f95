package policy

import (
	"context"
	"fmt"

	"callgate/e164"
	"callgate/store"
)

// Engine is the decision engine: a fixed chain of small steps over a
// store.View. It is safe for concurrent use (it holds no per-call state) and
// Decide neither allocates nor blocks: the View is an in-memory index.
//
// An incoming call (Call.Direction terminating, the default) goes through
// this chain, in order (each step either settles the decision or passes on):
//
//	subscriber       look up the owner of the called number (trace only)
//	key              spoof protection: enrolled caller without a call key -> block
//	                 (or the provider's / platform's key-missing action; setting=)
//	not-subscriber   called number not a subscriber -> allow
//	provider-vip     caller on the provider's VIP list -> allow
//	vip              caller on the subscriber's VIP list -> allow
//	blocked          caller on the subscriber's Blocked list -> block
//	provider-blocked caller on the provider's Blocked list -> block
//	key (again)      a matched call key (verified enterprise call) -> allow
//	attestation      STIR/SHAKEN C or failed -> the provider's policy (screen, block, reject)
//	reputation       the caller's spam-risk band (or exempt, unknown) -> the
//	                 called subscriber's provider's action for it, else the
//	                 platform's (ReputationPolicy): allow, challenge, block,
//	                 screen, or continue to the treatments; the trace's
//	                 setting=provider|platform says whose
//	anonymous        no number or presentation restricted/unavailable -> anonymous treatment
//	unknown          everyone else -> unknown-caller treatment
//
// and then finishing steps: two for actions that need the B2BUA, the tag
// and the brand:
//
//	route            actions that need the B2BUA: fill Decision.Route; no way
//	                 to the B2BUA -> the no-route fallback (see route)
//	pin              PINAllowed when the subscriber has an override PIN
//	tag              Decision.Tag of an allowed call when the provider tags display names
//	brand            a delivered call whose call key matched: Decision.Brand
//
// An outgoing call (Call.Direction originating, the AIN originating
// triggers) has its own short chain, in originate.go: line, fraud,
// destination.
//
// The chain is written out as direct method calls rather than a slice of
// step functions: an indirect call would make the per-call state escape to
// the heap (one allocation per Decide), and the order is policy, not
// configuration. Each step is a method on *Engine taking *state, so tests
// drive any step on its own.
//
// The store look-ups of an incoming call are made at once, in the
// subscriber step, when the view offers it (store.CallViewer, which the
// Store implements: one read lock per call, cache misses overlapped); the
// later steps then read their answers (lookup.go). Any other view is asked
// one look-up at a time, as each step needs it. The decisions are the same.
type Engine struct {
	view                store.View
	calls               store.CallViewer // view's all-at-once look-up, nil if it has none (lookup.go)
	defaultAnnouncement uint32
	noRoute             Fallback
	repPolicy           ReputationPolicy
	keyMissing          ReputationAction // what a spoofed call (KeyMissing) gets; RepBlock by default
	classify            Classifier       // nil: DestinationOf alone (see WithClassifier)
}

// Option configures an Engine.
type Option func(*Engine)

// WithDefaultAnnouncement sets the platform announcement used when a
// subscriber with Reject with Media on (or with the announce-then-voicemail
// treatment) has no announcement of their own. 0 (the default) means none:
// a Reject-with-Media block without any announcement becomes a plain Block,
// and the trace says announcement=missing.
func WithDefaultAnnouncement(id uint32) Option {
	return func(e *Engine) { e.defaultAnnouncement = id }
}

// Fallback is what the engine answers for a call whose rules chose a
// conversation on the B2BUA (screen, challenge, voicemail) when no way to
// the B2BUA exists for the asking tier: no egress route it can use and no
// default of its own (Call.DefaultRoute). Configured as
// engine.no_route_fallback.
type Fallback uint8

// Fallbacks.
const (
	// FallbackAllow lets the call ring unscreened (the default): a carrier
	// would rather connect an unscreened call than lose it.
	FallbackAllow Fallback = iota
	// FallbackBlock refuses the call: for a platform whose subscribers
	// would rather miss a call than take an unscreened one.
	FallbackBlock
)

var fallbackNames = [...]string{"allow", "block"}

func (f Fallback) String() string {
	if int(f) < len(fallbackNames) {
		return fallbackNames[f]
	}
	return "fallback?"
}

// ParseFallback reads a configured fallback ("allow" or "block").
func ParseFallback(s string) (Fallback, error) {
	for i, n := range fallbackNames {
		if s == n {
			return Fallback(i), nil
		}
	}
	return 0, fmt.Errorf("no-route fallback %q: want allow or block", s)
}

// WithNoRouteFallback sets the no-route fallback (default FallbackAllow).
// Whichever it is, the trace of such a call says route=missing
// fallback=apply, Decision.FellBack reports it, and the tiers count it and
// warn; Engine.AuditRoutes finds the providers it would hit before a call
// does. A block with an announcement that cannot reach the B2BUA (SIP) is
// a plain block whatever the setting: a blocked caller stays blocked.
func WithNoRouteFallback(f Fallback) Option {
	return func(e *Engine) { e.noRoute = f }
}

// NoRouteFallback returns the configured no-route fallback.
func (e *Engine) NoRouteFallback() Fallback { return e.noRoute }

// New returns an engine reading view. A nil view is treated as a store with
// no subscribers (every call is allowed) rather than a crash at the first call.
func New(view store.View, opts ...Option) *Engine {
	if view == nil {
		view = emptyView{}
	}
	e := &Engine{view: view, repPolicy: DefaultReputationPolicy, keyMissing: RepBlock}
	e.calls, _ = view.(store.CallViewer)
	for _, o := range opts {
		o(e)
	}
	return e
}

var _ Decider = (*Engine)(nil)

// state is one decision in progress. It lives on Decide's stack.
//
// The call is copied in rather than pointed to: steps copy strings between
// fields of *state, which escape analysis treats as a store to the heap, so
// a pointer field here would move the caller's Call to the heap.
type state struct {
	call  Call
	sub   store.SubscriberView
	found bool // sub is valid: the called number belongs to a subscriber
	d     Decision

	// look holds the list and route answers when the view gave them all
	// at once (looked; see lookup.go).
	look   store.CallLookup
	looked bool
}

// Decide runs the chain for one call (the originating chain for an
// outgoing one). It always returns a Decision with a non-zero Action.
//
// If ctx is already done the asking tier has given up and is using its own
// safe answer, so the engine does not spend time on lookups: it returns
// Allow with the single trace step cancelled=yes (a call is never lost
// because of the engine). Only whether ctx was done when the decision
// began is consulted (Expired) — the check is cheap and the chain itself
// never waits, so there is nothing to interrupt.
func (e *Engine) Decide(ctx context.Context, c Call) Decision {
	var s state
	s.call = c
	if ctx != nil && Expired(ctx) {
		s.d.Trace.Add(RuleCancelled, OutcomeYes)
		s.d.Action = ActionAllow
		return s.d
	}
	if c.Direction == DirectionOriginating {
		e.originate(&s)
		return s.d
	}
	e.subscriber(&s)
	_ = e.signalsBeforeLists(&s) ||
		e.notSubscriber(&s) ||
		e.providerVIP(&s) ||
		e.vip(&s) ||
		e.blocked(&s) ||
		e.providerBlocked(&s) ||
		e.signalsBeforeTreatment(&s) ||
		e.anonymous(&s) ||
		e.unknown(&s)
	e.route(&s)
	e.pin(&s)
	e.tag(&s)
	e.brand(&s)
	return s.d
}

// subscriber looks up the owner of the called number. A call without a
// called number cannot belong to anyone: subscriber=missing.
func (e *Engine) subscriber(s *state) {
	if s.call.Called == 0 {
		s.d.Trace.Add(RuleSubscriber, OutcomeMissing)
		return
	}
	e.lookUp(s)
	if s.found {
		s.d.Subscriber = s.sub.ID
		s.d.Trace.Add(RuleSubscriber, OutcomeYes)
		return
	}
	s.d.Trace.Add(RuleSubscriber, OutcomeNo)
}

// signalsBeforeLists is the slot for signals that override the subscriber's
// own lists because the caller's identity itself is in doubt:
//
//   - key: a call claiming an enrolled calling number without a
//     matching call key is spoofed and blocked (spoof protection; or
//     screened, or let on with the trace's key=missing as its tag:
//     WithKeyMissing),
//     whoever is called and whatever the lists say — a spoofed VIP number
//     must not ring through. A matched key is recorded and the chain goes on.
//     KeyNotChecked (the caller is not enrolled) adds no step.
//
// (Call.FraudLocked restricts the outgoing calls of a locked line: it is
// the originating chain's fraud step, see originate.go.)
func (e *Engine) signalsBeforeLists(s *state) bool {
	switch s.call.KeyMatch {
	case KeyMissing:
		s.d.Trace.Add(RuleKey, OutcomeMissing)
		return e.spoofed(s) // signals.go: block by default
	case KeyMatched:
		s.d.Trace.Add(RuleKey, OutcomeYes)
	}
	return false
}

// notSubscriber settles calls to numbers nobody subscribed: the engine has
// no business with them, so they proceed (AIN Authorize_Termination).
func (e *Engine) notSubscriber(s *state) bool {
	if s.found {
		return false
	}
	s.d.Action = ActionAllow
	return true
}

// providerVIP lets callers on the provider-wide VIP list through: numbers
// the provider says must always get through to its subscribers, such as
// public-safety callers. Its place in the chain is policy:
//
//   - after the key step (signalsBeforeLists): a provider VIP number is a
//     claim like any other, and a spoofed one (an enrolled number without
//     its call key) must stay blocked, so spoof protection runs first;
//   - before the subscriber's own VIP and Blocked lists: "always gets
//     through" includes subscribers who blocked the number themselves
//     (a PSAP call-back must ring even if the subscriber once blocked it),
//     and the provider's Blocked list cannot stop it either;
//   - before the signals that refine treatment (attestation, reputation):
//     a public-safety caller is never challenged or screened.
func (e *Engine) providerVIP(s *state) bool {
	if s.call.Calling == 0 {
		return false
	}
	if e.inProviderVIP(s) {
		s.d.Trace.Add(RuleProviderVIP, OutcomeYes)
		s.d.Action = ActionAllow
		return true
	}
	s.d.Trace.Add(RuleProviderVIP, OutcomeNo)
	return false
}

// vip lets callers on the subscriber's VIP list through. Lists are only
// consulted when there is a calling number; a restricted-presentation call
// still carries the network-provided number, so VIP and Blocked apply to it
// (privacy hides the number from the called party, not from the network).
func (e *Engine) vip(s *state) bool {
	if s.call.Calling == 0 {
		return false
	}
	if e.inVIP(s) {
		s.d.Trace.Add(RuleVIP, OutcomeYes)
		s.d.Action = ActionAllow
		return true
	}
	s.d.Trace.Add(RuleVIP, OutcomeNo)
	return false
}

// blocked rejects callers on the subscriber's own Blocked list.
func (e *Engine) blocked(s *state) bool {
	if s.call.Calling == 0 {
		return false
	}
	if e.inBlocked(s) {
		s.d.Trace.Add(RuleBlocked, OutcomeYes)
		e.block(s)
		return true
	}
	s.d.Trace.Add(RuleBlocked, OutcomeNo)
	return false
}

// providerBlocked rejects callers on the provider-wide Blocked list. It
// comes after the subscriber's VIP list: a subscriber may still accept a
// number their provider blocks for everyone else.
func (e *Engine) providerBlocked(s *state) bool {
	if s.call.Calling == 0 {
		return false
	}
	if e.inProviderBlocked(s) {
		s.d.Trace.Add(RuleProviderBlocked, OutcomeYes)
		e.block(s)
		return true
	}
	s.d.Trace.Add(RuleProviderBlocked, OutcomeNo)
	return false
}

// signalsBeforeTreatment is the slot for signals that refine how a caller
// the subscriber has not listed is treated:
//
//   - key (keyed, signals.go): a call whose enterprise call key matched is
//     a verified caller: delivered (key=apply), with the enterprise's brand
//     (the brand step), rather than screened as an unknown caller. The
//     subscriber's own Blocked lists still win (they ran before).
//   - attestation (RuleAttestation): the provider's STIR/SHAKEN policy for
//     C-attested and failed calls (see attestation).
//   - reputation (RuleReputation, signals.go): the band the reputation
//     provider gave (Call.Reputation; Call.ReputationLookup says how) ->
//     the configured ReputationPolicy: by default low risk is delivered
//     untouched and medium and high risk are challenged (the B2BUA's DTMF
//     challenge); exempt callers (private, anonymous, non-NANP: never looked
//     up) and unknown ones (no band in the call's budget) have their own
//     branches. The trace says reputation=low|medium|high|exempt|unknown.
//
// They run after VIP and Blocked (the subscriber's explicit choices win) and
// before the anonymous/unknown treatments. A step returns true when it
// settles the decision, like every other step.
func (e *Engine) signalsBeforeTreatment(s *state) bool {
	return e.keyed(s) || e.attestation(s) || e.reputation(s)
}

// attestation applies the called subscriber's provider's STIR/SHAKEN policy
// (store.StirPolicy) to a call whose verification gave C or failed: screen,
// block, or (failed only) block with RejectIdentity so the SIP tier answers
// with the RFC 8224 code of the failure; a reject setting for C blocks
// (a C attestation verified: there is no failure code to give). The trace
// says attestation=apply when the policy settled the call and
// attestation=no when a C or failed call was let on (the policy is allow);
// A, B and none add no step.
func (e *Engine) attestation(s *state) bool {
	var act store.StirAction
	switch s.call.Attestation {
	case AttestationC:
		act = s.sub.Stir.OnC
	case AttestationFailed:
		act = s.sub.Stir.OnFailed
	default:
		return false
	}
	switch act {
	case store.StirScreen:
		s.d.Trace.Add(RuleAttestation, OutcomeApply)
		s.d.Action = ActionScreen
		s.d.Voicemail = s.sub.Voicemail
		return true
	case store.StirBlock:
		s.d.Trace.Add(RuleAttestation, OutcomeApply)
		e.block(s)
		return true
	case store.StirReject:
		s.d.Trace.Add(RuleAttestation, OutcomeApply)
		if s.call.Attestation == AttestationFailed {
			s.d.Action = ActionBlock
			s.d.RejectIdentity = true
			return true
		}
		e.block(s)
		return true
	}
	s.d.Trace.Add(RuleAttestation, OutcomeNo)
	return false
}

// tag sets Decision.Tag for an allowed call to a subscriber whose provider
// tags display names: the verified word for A and B, the unknown word for
// everything else (C, failed, no or unverifiable Identity).
func (e *Engine) tag(s *state) {
	if !s.found || !s.sub.Stir.Tag || s.d.Action != ActionAllow {
		return
	}
	switch s.call.Attestation {
	case AttestationA, AttestationB:
		s.d.Tag = s.sub.Stir.VerifiedTag
	default:
		s.d.Tag = s.sub.Stir.UnknownTag
	}
}

// anonymous applies the anonymous-caller treatment to callers with no
// number or with presentation restricted/unavailable.
func (e *Engine) anonymous(s *state) bool {
	if !s.call.Anonymous() {
		s.d.Trace.Add(RuleAnonymous, OutcomeNo)
		return false
	}
	e.treat(s, RuleAnonymous, s.sub.Anonymous)
	return true
}

// unknown applies the unknown-caller treatment to everyone else.
func (e *Engine) unknown(s *state) bool {
	e.treat(s, RuleUnknown, s.sub.Unknown)
	return true
}

// treat maps a treatment to an action and records rule=apply. A treatment
// the engine does not know (or TreatUnset, which the view promises never to
// return) records rule=missing and allows the call: a configuration gap must
// not lose calls.
func (e *Engine) treat(s *state, r Rule, t store.Treatment) {
	switch t {
	case store.TreatAllow:
		s.d.Action = ActionAllow
	case store.TreatScreen:
		s.d.Action = ActionScreen
		// The subscriber may send a screened caller to voicemail.
		s.d.Voicemail = s.sub.Voicemail
	case store.TreatAnnounceVoicemail:
		s.d.Action = ActionVoicemail
		// No announcement anywhere is acceptable here: the B2BUA has a
		// generic "please leave a message" prompt.
		s.d.Announcement = e.announcementFor(&s.sub)
		s.d.Voicemail = s.sub.Voicemail
	case store.TreatBlock:
		s.d.Trace.Add(r, OutcomeApply)
		e.block(s)
		return
	case store.TreatChallenge:
		s.d.Action = ActionChallenge
	default:
		s.d.Trace.Add(r, OutcomeMissing)
		s.d.Action = ActionAllow
		return
	}
	s.d.Trace.Add(r, OutcomeApply)
}

// block rejects the call, with the subscriber's announcement when Reject
// with Media is on. With Reject with Media on but no announcement anywhere,
// a plain Block is the honest answer (the SSP cannot play "nothing") and the
// trace says announcement=missing.
func (e *Engine) block(s *state) {
	if s.found && s.sub.RejectWithMedia {
		if a := e.announcementFor(&s.sub); a != 0 {
			s.d.Action = ActionBlockWithAnnouncement
			s.d.Announcement = a
			return
		}
		s.d.Trace.Add(RuleAnnouncement, OutcomeMissing)
	}
	s.d.Action = ActionBlock
}

func (e *Engine) announcementFor(sub *store.SubscriberView) uint32 {
	if sub.Announcement != 0 {
		return sub.Announcement
	}
	return e.defaultAnnouncement
}

// route fills Decision.Route for actions that need the B2BUA (Screen,
// Challenge, Voicemail; on SIP also BlockWithAnnouncement, see
// Action.NeedsB2BUA). The route must be usable by the asking tier: AIN
// forwards to its RoutingNumber, SIP redirects to its SIPURI.
//
// When the route cannot carry the call, a tier with its own way to the
// B2BUA (Call.DefaultRoute: the SIP tier's sip.screening_uri) uses that:
// route=default, the action stands. When there is no way at all the
// configured no-route fallback is applied (route=missing fallback=apply,
// see fallback): a missing route is a provisioning fault the operator
// sees in the decision log, the metrics and the warnings, never a silent
// change of the subscriber's treatment.
func (e *Engine) route(s *state) {
	if !s.d.Action.NeedsB2BUA(s.call.Origin) {
		return
	}
	r, ok := e.egressRoute(s)
	switch {
	case ok && routeUsable(&r, s.call.Origin):
		s.d.Route = r
		s.d.Trace.Add(RuleRoute, OutcomeYes)
	case s.call.DefaultRoute:
		s.d.Trace.Add(RuleRoute, OutcomeDefault)
	default:
		s.d.Trace.Add(RuleRoute, OutcomeMissing)
		e.fallback(s)
	}
}

// fallback applies the no-route fallback. A block with an announcement
// becomes a plain block (the caller was to be refused either way); the
// announcement and voicemail target of the abandoned treatment are cleared
// so the tier is not misled.
func (e *Engine) fallback(s *state) {
	s.d.Trace.Add(RuleFallback, OutcomeApply)
	if e.noRoute == FallbackBlock || s.d.Action == ActionBlockWithAnnouncement {
		s.d.Action = ActionBlock
	} else {
		s.d.Action = ActionAllow
	}
	s.d.Announcement = 0
	s.d.Voicemail = ""
}

// routeUsable reports whether r can carry a call for the given tier. An
// unknown origin accepts either half.
func routeUsable(r *store.Route, o Origin) bool {
	switch o {
	case OriginAIN:
		return r.RoutingNumber != 0
	case OriginSIP:
		return r.SIPURI != ""
	}
	return r.RoutingNumber != 0 || r.SIPURI != ""
}

// pin lets a caller who knows the subscriber's override PIN through: only
// meaningful when the call reaches a conversation on the SIP tier.
func (e *Engine) pin(s *state) {
	if !s.d.Action.NeedsSIPTier() {
		return
	}
	if s.sub.HasPIN {
		s.d.PINAllowed = true
		s.d.Trace.Add(RulePIN, OutcomeYes)
		return
	}
	s.d.Trace.Add(RulePIN, OutcomeNo)
}

// emptyView is a store with no subscribers, used when New is given nil.
type emptyView struct{}

func (emptyView) Subscriber(e164.Number) (store.SubscriberView, bool) {
	return store.SubscriberView{}, false
}
func (emptyView) InVIP(uint32, e164.Number) bool           { return false }
func (emptyView) InBlocked(uint32, e164.Number) bool       { return false }
func (emptyView) ProviderBlocked(uint32, e164.Number) bool { return false }
func (emptyView) ProviderVIP(uint32, e164.Number) bool     { return false }
func (emptyView) EgressRoute(uint32) (store.Route, bool)   { return store.Route{}, false }
