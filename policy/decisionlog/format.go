package decisionlog

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// recordJSON is the JSON shape of a Record (`callgate log search --json`). Enums are names; numbers are "+E.164"; latency is in
// nanoseconds so scripts need not parse Go durations.
type recordJSON struct {
	Time           time.Time                `json:"time"`
	Origin         policy.Origin            `json:"origin"`
	Direction      policy.Direction         `json:"direction,omitempty"`
	Peer           string                   `json:"peer,omitempty"`
	Calling        e164.Number              `json:"calling,omitempty"`
	Called         e164.Number              `json:"called,omitempty"`
	OriginalCalled e164.Number              `json:"original_called,omitempty"`
	Presentation   policy.Presentation      `json:"presentation"`
	Attestation    policy.Attestation       `json:"attestation,omitempty"`
	StirReason     string                   `json:"stir_reason,omitempty"`
	Reputation     policy.Reputation        `json:"reputation,omitempty"`
	KeyMatch       policy.KeyMatch          `json:"key_match,omitempty"`
	FraudLocked    bool                     `json:"fraud_locked,omitempty"`
	Action         policy.Action            `json:"action"`
	Subscriber     uint32                   `json:"subscriber,omitempty"`
	Announcement   uint32                   `json:"announcement,omitempty"`
	PINAllowed     bool                     `json:"pin_allowed,omitempty"`
	Voicemail      string                   `json:"voicemail,omitempty"`
	Route          *policy.RouteJSON        `json:"route,omitempty"`
	Trace          policy.Trace             `json:"trace"`
	LatencyNS      int64                    `json:"latency_ns"`
	Lookup         *policy.ReputationLookup `json:"reputation_lookup,omitempty"`
	Brand          string                   `json:"brand,omitempty"`
}

// MarshalJSON renders the record as one JSON object, e.g.
//
//	{"time":"2026-05-01T12:00:00.123Z","origin":"ain","peer":"1-2-3",
//	 "calling":"+12125550002","called":"+13035550101","presentation":"allowed",
//	 "action":"block","subscriber":1,"trace":[...],"latency_ns":850}
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordJSON{
		Time: r.Time.UTC(), Origin: r.Origin, Direction: r.Direction, Peer: r.Peer,
		Calling: r.Calling, Called: r.Called, OriginalCalled: r.OriginalCalled,
		Presentation: r.Presentation, Attestation: r.Attestation, StirReason: r.StirReason, Reputation: r.Reputation,
		KeyMatch: r.KeyMatch, FraudLocked: r.FraudLocked,
		Action: r.Action, Subscriber: r.Subscriber, Announcement: r.Announcement,
		PINAllowed: r.PINAllowed, Voicemail: r.Voicemail, Route: policy.NewRouteJSON(r.Route),
		Trace: r.Trace, LatencyNS: int64(r.Latency), Lookup: lookupJSON(r.Lookup), Brand: r.Brand,
	})
}

func lookupJSON(l policy.ReputationLookup) *policy.ReputationLookup {
	if l == (policy.ReputationLookup{}) {
		return nil
	}
	return &l
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decisionlog: record: %w", err)
	}
	*r = Record{
		Time: j.Time, Origin: j.Origin, Direction: j.Direction, Peer: j.Peer,
		Calling: j.Calling, Called: j.Called, OriginalCalled: j.OriginalCalled,
		Presentation: j.Presentation, Attestation: j.Attestation, StirReason: j.StirReason, Reputation: j.Reputation,
		KeyMatch: j.KeyMatch, FraudLocked: j.FraudLocked,
		Action: j.Action, Subscriber: j.Subscriber, Announcement: j.Announcement,
		PINAllowed: j.PINAllowed, Voicemail: j.Voicemail, Route: j.Route.Route(),
		Trace: j.Trace, Latency: time.Duration(j.LatencyNS), Brand: j.Brand,
	}
	if j.Lookup != nil {
		r.Lookup = *j.Lookup
	}
	return nil
}

// TimeLayout is the time format of the text form: UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// String renders the record on one line for people:
//
//	2026-05-01T12:00:00.123Z ain 1-2-3 +12125550002 -> +13035550101 block subscriber=1 [subscriber=yes vip=no blocked=yes] 850ns
//
// An absent calling number prints as "anonymous"; presentation other than
// allowed, a forwarding number and non-default signals are shown between
// the called number and the decision.
func (r *Record) String() string { return string(r.AppendText(nil)) }

// AppendText appends the String form to b.
func (r *Record) AppendText(b []byte) []byte {
	b = r.Time.UTC().AppendFormat(b, TimeLayout)
	b = append(b, ' ')
	b = append(b, r.Origin.String()...)
	if r.Direction == policy.DirectionOriginating {
		b = append(b, " originating"...)
	}
	b = append(b, ' ')
	if r.Peer != "" {
		b = append(b, r.Peer...)
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	if r.Calling != 0 {
		b = r.Calling.AppendTo(b)
	} else {
		b = append(b, "anonymous"...)
	}
	b = append(b, " -> "...)
	b = r.Called.AppendTo(b)
	if r.OriginalCalled != 0 {
		b = append(b, " forwarded-from="...)
		b = r.OriginalCalled.AppendTo(b)
	}
	if r.Presentation != policy.PresentationAllowed {
		b = append(b, ' ')
		b = append(b, r.Presentation.String()...)
	}
	if r.Attestation != policy.AttestationNone {
		b = append(b, " attestation="...)
		b = append(b, r.Attestation.String()...)
	}
	if r.StirReason != "" {
		b = append(b, " stir="...)
		b = append(b, r.StirReason...)
	}
	if r.Reputation != policy.ReputationUnknown || r.Lookup != (policy.ReputationLookup{}) {
		b = append(b, " reputation="...)
		b = append(b, r.Reputation.String()...)
		if r.Lookup != (policy.ReputationLookup{}) {
			b = append(b, '(')
			b = r.Lookup.AppendText(b)
			b = append(b, ')')
		}
	}
	if r.KeyMatch != policy.KeyNotChecked {
		b = append(b, " key="...)
		b = append(b, r.KeyMatch.String()...)
	}
	if r.FraudLocked {
		b = append(b, " fraud-locked"...)
	}
	if r.Brand != "" {
		b = append(b, " brand="...)
		b = strconv.AppendQuote(b, r.Brand)
	}
	b = append(b, " : "...)
	d := r.Decision()
	b = d.AppendText(b)
	b = append(b, ' ')
	return appendDuration(b, r.Latency)
}

// appendDuration renders d like time.Duration.String without allocating.
func appendDuration(b []byte, d time.Duration) []byte {
	switch {
	case d < time.Microsecond:
		return append(strconv.AppendInt(b, int64(d), 10), "ns"...)
	case d < time.Millisecond:
		return append(strconv.AppendFloat(b, float64(d)/1e3, 'f', 1, 64), "µs"...)
	case d < time.Second:
		return append(strconv.AppendFloat(b, float64(d)/1e6, 'f', 1, 64), "ms"...)
	}
	return append(b, d.String()...)
}

// WriteText writes records one per line (the CLI's default output).
func WriteText(w io.Writer, recs []Record) error {
	var b []byte
	for i := range recs {
		b = recs[i].AppendText(b[:0])
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("decisionlog: write: %w", err)
		}
	}
	return nil
}

// WriteJSON writes records as one JSON array (the CLI's --json output).
func WriteJSON(w io.Writer, recs []Record) error {
	if recs == nil {
		recs = []Record{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(recs); err != nil {
		return fmt.Errorf("decisionlog: write json: %w", err)
	}
	return nil
}
