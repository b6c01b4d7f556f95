package policy

import (
	"encoding/json"
	"fmt"
	"strconv"

	"callgate/e164"
	"callgate/store"
)

// This file holds the text and JSON forms of the engine's values, used by
// the decision log, the CLI (`callgate log search`, `--json`) and the REST
// API. Every enum marshals as its lower-case name so JSON stays readable and
// stable even if numeric values are ever extended.

var presentationNames = [...]string{"allowed", "restricted", "unavailable"}

func (p Presentation) String() string {
	if int(p) < len(presentationNames) {
		return presentationNames[p]
	}
	return "presentation(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (p Presentation) MarshalText() ([]byte, error) {
	if int(p) >= len(presentationNames) {
		return nil, fmt.Errorf("policy: presentation %d has no name", uint8(p))
	}
	return []byte(presentationNames[p]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Presentation) UnmarshalText(b []byte) error {
	i := lookupName(presentationNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown presentation %q", b)
	}
	*p = Presentation(i)
	return nil
}

var originNames = [...]string{"unknown", "ain", "sip"}

// MarshalText implements encoding.TextMarshaler ("ain", "sip", "unknown").
func (o Origin) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Origin) UnmarshalText(b []byte) error {
	i := lookupName(originNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown origin %q", b)
	}
	*o = Origin(i)
	return nil
}

var directionNames = [...]string{"terminating", "originating"}

func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) {
	if int(d) >= len(directionNames) {
		return nil, fmt.Errorf("policy: direction %d has no name", uint8(d))
	}
	return []byte(directionNames[d]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Direction) UnmarshalText(b []byte) error {
	i := lookupName(directionNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown direction %q", b)
	}
	*d = Direction(i)
	return nil
}

// MarshalText implements encoding.TextMarshaler ("allow", "screen", ...;
// "none" for the zero Action).
func (a Action) MarshalText() ([]byte, error) {
	if int(a) >= len(actionNames) {
		return nil, fmt.Errorf("policy: action %d has no name", uint8(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	v, ok := ParseAction(string(b))
	if !ok {
		return fmt.Errorf("policy: unknown action %q", b)
	}
	*a = v
	return nil
}

// ParseAction is the inverse of Action.String ("none" gives the zero Action).
func ParseAction(s string) (Action, bool) {
	if s == "none" {
		return 0, true
	}
	i := lookupName(actionNames[:], []byte(s))
	if i <= 0 {
		return 0, false
	}
	return Action(i), true
}

var attestationNames = [...]string{"none", "A", "B", "C", "failed"}

func (a Attestation) String() string {
	if int(a) < len(attestationNames) {
		return attestationNames[a]
	}
	return "attestation(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (a Attestation) MarshalText() ([]byte, error) {
	if int(a) >= len(attestationNames) {
		return nil, fmt.Errorf("policy: attestation %d has no name", uint8(a))
	}
	return []byte(attestationNames[a]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Attestation) UnmarshalText(b []byte) error {
	i := lookupName(attestationNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown attestation %q", b)
	}
	*a = Attestation(i)
	return nil
}

var reputationNames = [...]string{"unknown", "exempt", "low", "medium", "high"}

func (r Reputation) String() string {
	if int(r) < len(reputationNames) {
		return reputationNames[r]
	}
	return "reputation(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (r Reputation) MarshalText() ([]byte, error) {
	if int(r) >= len(reputationNames) {
		return nil, fmt.Errorf("policy: reputation %d has no name", uint8(r))
	}
	return []byte(reputationNames[r]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Reputation) UnmarshalText(b []byte) error {
	i := lookupName(reputationNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown reputation %q", b)
	}
	*r = Reputation(i)
	return nil
}

var keyMatchNames = [...]string{"not-checked", "matched", "missing"}

func (k KeyMatch) String() string {
	if int(k) < len(keyMatchNames) {
		return keyMatchNames[k]
	}
	return "key(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (k KeyMatch) MarshalText() ([]byte, error) {
	if int(k) >= len(keyMatchNames) {
		return nil, fmt.Errorf("policy: key match %d has no name", uint8(k))
	}
	return []byte(keyMatchNames[k]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *KeyMatch) UnmarshalText(b []byte) error {
	i := lookupName(keyMatchNames[:], b)
	if i < 0 {
		return fmt.Errorf("policy: unknown key match %q", b)
	}
	*k = KeyMatch(i)
	return nil
}

// MarshalJSON renders the trace as an array of {"rule","outcome"} objects,
// in the order the rules were consulted.
func (t Trace) MarshalJSON() ([]byte, error) {
	steps := t.Steps()
	if len(steps) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(steps)
}

// UnmarshalJSON is the inverse of MarshalJSON. More than MaxSteps steps
// is an error rather than a silently shortened trace.
func (t *Trace) UnmarshalJSON(b []byte) error {
	var steps []Step
	if err := json.Unmarshal(b, &steps); err != nil {
		return fmt.Errorf("policy: trace: %w", err)
	}
	if len(steps) > maxSteps {
		return fmt.Errorf("policy: trace has %d steps, at most %d fit", len(steps), maxSteps)
	}
	t.Reset()
	for i, s := range steps {
		if !s.Rule.Valid() || !s.Outcome.Valid() {
			return fmt.Errorf("policy: trace step %d: rule and outcome are both required", i+1)
		}
		t.Add(s.Rule, s.Outcome)
	}
	return nil
}

// RouteJSON is the JSON shape of a store.Route (store.Route itself carries
// no tags; the store package owns it).
type RouteJSON struct {
	Name          string      `json:"name,omitempty"`
	RoutingNumber e164.Number `json:"routing_number,omitempty"`
	SIPURI        string      `json:"sip_uri,omitempty"`
}

// NewRouteJSON converts r; it returns nil for the zero Route so that
// `omitempty` drops it.
func NewRouteJSON(r store.Route) *RouteJSON {
	if r == (store.Route{}) {
		return nil
	}
	return &RouteJSON{Name: r.Name, RoutingNumber: r.RoutingNumber, SIPURI: r.SIPURI}
}

// Route converts back (nil gives the zero Route).
func (r *RouteJSON) Route() store.Route {
	if r == nil {
		return store.Route{}
	}
	return store.Route{Name: r.Name, RoutingNumber: r.RoutingNumber, SIPURI: r.SIPURI}
}

// AppendRoute appends a one-line form of r: name(routing-number sip-uri).
func AppendRoute(b []byte, r store.Route) []byte {
	b = append(b, r.Name...)
	b = append(b, '(')
	b = r.RoutingNumber.AppendTo(b)
	if r.SIPURI != "" {
		if r.RoutingNumber != 0 {
			b = append(b, ' ')
		}
		b = append(b, r.SIPURI...)
	}
	return append(b, ')')
}

type decisionJSON struct {
	Action       Action     `json:"action"`
	Subscriber   uint32     `json:"subscriber,omitempty"`
	Announcement uint32     `json:"announcement,omitempty"`
	PINAllowed   bool       `json:"pin_allowed,omitempty"`
	Voicemail    string     `json:"voicemail,omitempty"`
	Route        *RouteJSON `json:"route,omitempty"`
	Trace        Trace      `json:"trace"`
	Tag          string     `json:"tag,omitempty"`
	RejectIdent  bool       `json:"reject_identity,omitempty"`
}

// MarshalJSON renders the decision with named enums:
//
//	{"action":"screen","subscriber":42,"pin_allowed":true,
//	 "route":{"name":"east","routing_number":"+13035550000","sip_uri":"sip:screen@b2bua"},
//	 "trace":[{"rule":"subscriber","outcome":"yes"},...]}
func (d Decision) MarshalJSON() ([]byte, error) {
	return json.Marshal(decisionJSON{
		Action: d.Action, Subscriber: d.Subscriber, Announcement: d.Announcement,
		PINAllowed: d.PINAllowed, Voicemail: d.Voicemail, Route: NewRouteJSON(d.Route), Trace: d.Trace,
		Tag: d.Tag, RejectIdent: d.RejectIdentity,
	})
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (d *Decision) UnmarshalJSON(b []byte) error {
	var j decisionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("policy: decision: %w", err)
	}
	*d = Decision{Action: j.Action, Subscriber: j.Subscriber, Announcement: j.Announcement,
		PINAllowed: j.PINAllowed, Voicemail: j.Voicemail, Route: j.Route.Route(), Trace: j.Trace,
		Tag: j.Tag, RejectIdentity: j.RejectIdent}
	return nil
}

// String renders the decision on one line for people, e.g.
//
//	screen subscriber=42 route=east(+13035550000 sip:screen@b2bua) pin [subscriber=yes vip=no ...]
func (d *Decision) String() string { return string(d.AppendText(nil)) }

// AppendText appends the String form to b.
func (d *Decision) AppendText(b []byte) []byte {
	b = append(b, d.Action.String()...)
	if d.Subscriber != 0 {
		b = append(b, " subscriber="...)
		b = strconv.AppendUint(b, uint64(d.Subscriber), 10)
	}
	if d.Announcement != 0 {
		b = append(b, " announcement="...)
		b = strconv.AppendUint(b, uint64(d.Announcement), 10)
	}
	if d.Voicemail != "" {
		b = append(b, " voicemail="...)
		b = append(b, d.Voicemail...)
	}
	if d.Route != (store.Route{}) {
		b = append(b, " route="...)
		b = AppendRoute(b, d.Route)
	}
	if d.PINAllowed {
		b = append(b, " pin"...)
	}
	b = append(b, " ["...)
	b = d.Trace.AppendText(b)
	return append(b, ']')
}

// Valid reports whether r is a named rule (decoders use it to reject
// damaged input).
func (r Rule) Valid() bool { return r != 0 && int(r) < len(ruleNames) }

// Valid reports whether o is a named outcome.
func (o Outcome) Valid() bool { return o != 0 && int(o) < len(outcomeNames) }

// Valid reports whether a is a named action or the zero Action ("none").
func (a Action) Valid() bool { return int(a) < len(actionNames) }

// Valid reports whether o is a named origin or the zero Origin ("unknown").
func (o Origin) Valid() bool { return int(o) < len(originNames) }

// Valid reports whether d is a named direction.
func (d Direction) Valid() bool { return int(d) < len(directionNames) }

// Valid reports whether p is a named presentation.
func (p Presentation) Valid() bool { return int(p) < len(presentationNames) }

// Valid reports whether a is a named attestation.
func (a Attestation) Valid() bool { return int(a) < len(attestationNames) }

// Valid reports whether r is a named reputation band.
func (r Reputation) Valid() bool { return int(r) < len(reputationNames) }

// Valid reports whether k is a named key-match outcome.
func (k KeyMatch) Valid() bool { return int(k) < len(keyMatchNames) }
