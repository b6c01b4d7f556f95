package store

import "callgate/e164"

// This file is the read-side contract between the store and the decision
// engine (policy). The engine runs on the hot path, so the contract is shaped
// for it: lookups by value, no errors (the view is an in-memory index kept in
// step with every committed write), no allocation.

// Treatment is what happens to a caller who is neither VIP nor blocked.
type Treatment uint8

// Treatments a provider or subscriber can choose.
const (
	TreatUnset             Treatment = iota // not set here: inherit from the level above
	TreatAllow                              // let the call ring
	TreatScreen                             // caller records their name; subscriber accepts/rejects/voicemail
	TreatAnnounceVoicemail                  // announcement, then voicemail
	TreatBlock                              // reject
	TreatChallenge                          // DTMF challenge (spam screening)
)

var treatmentNames = [...]string{"unset", "allow", "screen", "announce-voicemail", "block", "challenge"}

// String returns the treatment's configuration name.
func (t Treatment) String() string {
	if int(t) < len(treatmentNames) {
		return treatmentNames[t]
	}
	return "treatment(" + string(rune('0'+t)) + ")"
}

// ParseTreatment is the inverse of String.
func ParseTreatment(s string) (Treatment, bool) {
	for i, n := range treatmentNames {
		if n == s {
			return Treatment(i), true
		}
	}
	return 0, false
}

// SubscriberView is what the engine needs to know about the subscriber who
// owns a called number, with provider defaults and provider restrictions
// already applied (the effective settings).
type SubscriberView struct {
	ID              uint32    // internal, dense; keys the list lookups below
	Provider        uint32    // internal ID of the owning service provider
	Name            string    // subscriber's name, for traces and logs
	Unknown         Treatment // effective unknown-caller treatment (never TreatUnset)
	Anonymous       Treatment // effective anonymous-caller treatment (never TreatUnset)
	RejectWithMedia bool      // blocked callers hear an announcement before release
	HasPIN          bool      // an override PIN is set
	Voicemail       string    // voicemail target: E.164 or SIP URI ("" = none)
	Announcement    uint32    // announcement ID for Reject with Media / announce treatments

	Stir StirPolicy // the provider's STIR/SHAKEN policy
	// Signals is the provider's signal policy (reputation bands, missing
	// call keys); a SignalDefault setting means the platform's action.
	Signals ProviderSignals
}

// Route is a platform egress route: where calls that need the SIP tier go.
type Route struct {
	Name          string      // operator's label
	RoutingNumber e164.Number // AIN Forward_Call destination (a SIP-capable switch)
	SIPURI        string      // the B2BUA's screening URI for the SIP tier
}

// View is the read side of the store used by the decision engine.
// Implementations must be safe for any number of concurrent readers.
type View interface {
	// Subscriber returns the subscriber owning the called number.
	Subscriber(called e164.Number) (SubscriberView, bool)
	// InVIP reports whether caller is on the subscriber's VIP list.
	InVIP(subscriber uint32, caller e164.Number) bool
	// InBlocked reports whether caller is on the subscriber's Blocked list.
	InBlocked(subscriber uint32, caller e164.Number) bool
	// ProviderBlocked reports whether caller is on the provider-wide Blocked list.
	ProviderBlocked(provider uint32, caller e164.Number) bool
	// ProviderVIP reports whether caller is on the provider-wide VIP list
	// (numbers that must always get through, e.g. public-safety callers).
	ProviderVIP(provider uint32, caller e164.Number) bool
	// EgressRoute returns the route for the provider (falling back to the
	// platform's default route) and whether any route is configured.
	EgressRoute(provider uint32) (Route, bool)
}

// CallViewer is an optional interface of a View: all the look-ups of one
// incoming call at once (the Store answers them under one read lock
// instead of one lock per look-up, and overlaps their cache misses). The
// engine uses it when its View has it; every answer must equal what the
// View's own methods give for the same call:
//
//	Subscriber, Found = Subscriber(called)
//	VIP, Blocked      = InVIP / InBlocked(Subscriber.ID, caller) (false when !Found)
//	ProviderVIP, ProviderBlocked = ProviderVIP / ProviderBlocked(Subscriber.Provider, caller)
//	Route, RouteOK    = EgressRoute(Subscriber.Provider)
//
// (Subscriber is the zero view when !Found, so the provider answers are
// those of provider 0, as the engine would ask.)
type CallViewer interface {
	LookupCall(called, caller e164.Number) CallLookup
}

// CallLookup is the answer of CallViewer.LookupCall.
type CallLookup struct {
	Subscriber      SubscriberView
	Found           bool
	ProviderVIP     bool
	VIP             bool
	Blocked         bool
	ProviderBlocked bool
	Route           Route
	RouteOK         bool
}
