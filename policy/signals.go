package policy

import (
	"fmt"
	"strconv"
	"time"

	"callgate/store"
)

// This file holds the details the signal stages (keys/, reputation/)
// hand the engine beside Call.KeyMatch and Call.Reputation: how the
// reputation band was found (for the trace and the decision log) and the
// brand of a verified enterprise.

// ReputationWhy says why a call's reputation was not looked up, or why
// the look-up gave no band. Values are persisted (decision log): append-only.
type ReputationWhy uint8

// Reasons.
const (
	WhyNone        ReputationWhy = iota // a band was found (or nothing was asked)
	WhyPrivate                          // exempt: presentation restricted or unavailable
	WhyAnonymous                        // exempt: no calling number
	WhyNonNANP                          // exempt: calling number outside the North American Numbering Plan
	WhyTimeout                          // unknown: no answer within the call's budget
	WhyError                            // unknown: the provider answered with an error
	WhyCircuitOpen                      // unknown: the provider failed repeatedly; not asked until it recovers
	WhyBusy                             // unknown: too many look-ups in flight or calls waiting; not asked or not waited for
	WhyGiven                            // not looked up: the band was given by hand (a what-if question, `callgate decide --reputation`)
)

var reputationWhyNames = [...]string{"", "private", "anonymous", "non-nanp", "timeout", "error", "circuit-open", "busy", "given"}

func (w ReputationWhy) String() string {
	if int(w) < len(reputationWhyNames) {
		return reputationWhyNames[w]
	}
	return "why(" + strconv.Itoa(int(w)) + ")"
}

// Valid reports whether w is a known reason.
func (w ReputationWhy) Valid() bool { return int(w) < len(reputationWhyNames) }

// MarshalText implements encoding.TextMarshaler.
func (w ReputationWhy) MarshalText() ([]byte, error) {
	if !w.Valid() {
		return nil, fmt.Errorf("policy: reputation reason %d has no name", uint8(w))
	}
	return []byte(reputationWhyNames[w]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (w *ReputationWhy) UnmarshalText(b []byte) error {
	i := lookupName(reputationWhyNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown reputation reason %q", b)
	}
	*w = ReputationWhy(i)
	return nil
}

// CacheUse says where a reputation band came from. Persisted: append-only.
type CacheUse uint8

// Cache uses.
const (
	CacheNone  CacheUse = iota // not looked up
	CacheFresh                 // a cached answer within its freshness
	CacheStale                 // a cached answer past its freshness (a refresh was started)
	CacheMiss                  // nothing cached: the provider was asked on the call path
)

var cacheUseNames = [...]string{"", "fresh", "stale", "miss"}

func (c CacheUse) String() string {
	if int(c) < len(cacheUseNames) {
		return cacheUseNames[c]
	}
	return "cache(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c is a known cache use.
func (c CacheUse) Valid() bool { return int(c) < len(cacheUseNames) }

// MarshalText implements encoding.TextMarshaler.
func (c CacheUse) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("policy: cache use %d has no name", uint8(c))
	}
	return []byte(cacheUseNames[c]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *CacheUse) UnmarshalText(b []byte) error {
	i := lookupName(cacheUseNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown cache use %q", b)
	}
	*c = CacheUse(i)
	return nil
}

// ReputationLookup is how Call.Reputation was found: the reason it is
// exempt or unknown, the cache's part, and the time the look-up took on
// the call path. The zero value: not looked up.
type ReputationLookup struct {
	Why     ReputationWhy `json:"why,omitzero"`
	Cache   CacheUse      `json:"cache,omitzero"`
	Latency time.Duration `json:"latency_ns,omitzero"`
}

// AppendText appends "why=timeout cache=miss latency=20ms" (the parts
// that are set).
func (l *ReputationLookup) AppendText(b []byte) []byte {
	start := len(b)
	sep := func() {
		if len(b) > start {
			b = append(b, ' ')
		}
	}
	if l.Why != WhyNone {
		sep()
		b = append(b, "why="...)
		b = append(b, l.Why.String()...)
	}
	if l.Cache != CacheNone {
		sep()
		b = append(b, "cache="...)
		b = append(b, l.Cache.String()...)
	}
	if l.Latency > 0 {
		sep()
		b = append(b, "latency="...)
		b = append(b, l.Latency.String()...)
	}
	return b
}

// ReputationAction is what the engine does with a call of one reputation
// band (or exempt, or unknown).
type ReputationAction uint8

// Reputation actions.
const (
	// RepContinue: the band settles nothing; the subscriber's own
	// treatments (anonymous, unknown caller) decide.
	RepContinue  ReputationAction = iota
	RepAllow                      // deliver the call untouched
	RepChallenge                  // the B2BUA's DTMF challenge (three digits)
	RepBlock                      // refuse the call (with the subscriber's announcement under Reject with Media)
	RepScreen                     // the subscriber's screening (the caller records their name)
)

var reputationActionNames = [...]string{"continue", "allow", "challenge", "block", "screen"}

func (a ReputationAction) String() string {
	if int(a) < len(reputationActionNames) {
		return reputationActionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// ParseReputationAction reads a configured action.
func ParseReputationAction(s string) (ReputationAction, error) {
	i := lookupName(reputationActionNames[:], []byte(s))
	if i < 0 {
		return 0, fmt.Errorf("reputation action %q: want continue, allow, challenge, block or screen", s)
	}
	return ReputationAction(i), nil
}

// ReputationPolicy maps a reputation provider's answer to an action: one
// per band, one for exempt calls (never looked up) and one for unknown
// (the look-up gave no band within the call's budget). The engine's is the
// platform default (reputation.actions); a service provider may set its
// own for each answer (store.ProviderSignals, see setting).
type ReputationPolicy struct {
	Low, Medium, High, Exempt, Unknown ReputationAction
}

// DefaultReputationPolicy is issue 13's: low risk is delivered untouched,
// medium and high risk are challenged; exempt and unknown calls take the
// subscriber's own treatments.
var DefaultReputationPolicy = ReputationPolicy{Low: RepAllow, Medium: RepChallenge, High: RepChallenge,
	Exempt: RepContinue, Unknown: RepContinue}

// WithReputationPolicy sets the platform's band -> action mapping
// (default DefaultReputationPolicy), for providers that set none.
func WithReputationPolicy(p ReputationPolicy) Option {
	return func(e *Engine) { e.repPolicy = p }
}

// reputation is the reputation step (see signalsBeforeTreatment). A call
// that was not looked up (no provider: Reputation unknown with no lookup
// detail) adds no step.
func (e *Engine) reputation(s *state) bool {
	var o Outcome
	var a ReputationAction
	var own store.SignalAction
	p, mine := &e.repPolicy, &s.sub.Signals.Reputation
	switch s.call.Reputation {
	case ReputationLow:
		o, a, own = OutcomeLow, p.Low, mine.Low
	case ReputationMedium:
		o, a, own = OutcomeMedium, p.Medium, mine.Medium
	case ReputationHigh:
		o, a, own = OutcomeHigh, p.High, mine.High
	case ReputationExempt:
		o, a, own = OutcomeExempt, p.Exempt, mine.Exempt
	default:
		if s.call.ReputationLookup == (ReputationLookup{}) {
			return false
		}
		o, a, own = OutcomeUnknown, p.Unknown, mine.Unknown
	}
	s.d.Trace.Add(RuleReputation, o)
	switch e.setting(s, own, a) {
	case RepAllow:
		s.d.Action = ActionAllow
	case RepChallenge:
		s.d.Action = ActionChallenge
	case RepBlock:
		e.block(s)
	case RepScreen:
		s.d.Action = ActionScreen
		s.d.Voicemail = s.sub.Voicemail
	default:
		return false
	}
	return true
}

// brand shows the enterprise's brand on a delivered call whose call key
// matched (brand=yes), or records that the enterprise has none
// (brand=missing). Only a delivered call is branded: a call the
// subscriber blocked or screens is not the enterprise's to label.
func (e *Engine) brand(s *state) {
	if s.call.KeyMatch != KeyMatched || s.d.Action != ActionAllow {
		return
	}
	if s.call.Brand.Name == "" {
		s.d.Trace.Add(RuleBrand, OutcomeMissing)
		return
	}
	s.d.Brand = s.call.Brand
	s.d.Trace.Add(RuleBrand, OutcomeYes)
}

// keyed delivers a call whose enterprise call key matched (key=apply): the
// caller is verified, so it is not treated as an unknown caller. It runs
// after the subscriber's VIP and Blocked lists, which still decide first.
func (e *Engine) keyed(s *state) bool {
	if s.call.KeyMatch != KeyMatched {
		return false
	}
	s.d.Trace.Add(RuleKey, OutcomeApply)
	s.d.Action = ActionAllow
	return true
}

// WithKeyMissing sets the platform's action for a call claiming an
// enrolled number without a matching call key (keys.on_missing), for
// providers that set none (store.ProviderSignals.KeyMissing) and calls to
// numbers nobody subscribed: RepBlock (the default) refuses it; RepScreen sends it to the subscriber's screening; RepContinue lets
// the rest of the chain decide, the trace's key=missing tagging it (for a
// platform that first watches what spoof protection would block). The
// ReputationAction values serve here as the actions a signal can take;
// allow and challenge are accepted too.
func WithKeyMissing(a ReputationAction) Option {
	return func(e *Engine) { e.keyMissing = a }
}

// spoofed applies the called subscriber's provider's action (or the
// platform's) to a KeyMissing call (key=missing is already in the trace).
// A call to a number nobody subscribed is blocked or let on, never
// screened: there is nobody to screen for.
func (e *Engine) spoofed(s *state) bool {
	switch e.setting(s, s.sub.Signals.KeyMissing, e.keyMissing) {
	case RepContinue:
		return false
	case RepAllow:
		s.d.Action = ActionAllow
	case RepChallenge:
		if !s.found {
			e.block(s)
			break
		}
		s.d.Action = ActionChallenge
	case RepScreen:
		if !s.found {
			e.block(s)
			break
		}
		s.d.Action = ActionScreen
		s.d.Voicemail = s.sub.Voicemail
	default:
		e.block(s)
	}
	return true
}

// setting picks the action for the step just traced: the called
// subscriber's provider's own setting when it has one (setting=provider),
// else the platform's (setting=platform), and says which in the trace, so
// a decision log record shows whose policy decided the call.
func (e *Engine) setting(s *state, own store.SignalAction, platform ReputationAction) ReputationAction {
	if s.found {
		if a, ok := actionOf(own); ok {
			s.d.Trace.Add(RuleSetting, OutcomeProvider)
			return a
		}
	}
	s.d.Trace.Add(RuleSetting, OutcomePlatform)
	return platform
}

// actionOf is the engine's action for a stored provider setting; false
// for SignalDefault (and any value the store would not write).
func actionOf(a store.SignalAction) (ReputationAction, bool) {
	switch a {
	case store.SignalContinue:
		return RepContinue, true
	case store.SignalAllow:
		return RepAllow, true
	case store.SignalChallenge:
		return RepChallenge, true
	case store.SignalBlock:
		return RepBlock, true
	case store.SignalScreen:
		return RepScreen, true
	}
	return 0, false
}
