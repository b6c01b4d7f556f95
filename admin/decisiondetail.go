package admin

import (
	"callgate/policy"
	"callgate/policy/decisionlog"
)

// recordDetail is the part of a decision-log record beside the call and
// the answer (decisionView): the signals the engine had, the exact
// latency, and the steps of the treatment the B2BUA carried out (PIN,
// name, ringing, the subscriber's choice: decisionlog.AddSteps). With it
// a record read through the API is the record as logged.
type recordDetail struct {
	Direction   policy.Direction         `json:"direction,omitempty"`
	StirReason  string                   `json:"stir_reason,omitempty"`
	Reputation  policy.Reputation        `json:"reputation,omitempty"`
	KeyMatch    policy.KeyMatch          `json:"key_match,omitempty"`
	FraudLocked bool                     `json:"fraud_locked,omitempty"`
	Lookup      *policy.ReputationLookup `json:"reputation_lookup,omitempty"`
	Brand       string                   `json:"brand,omitempty"`
	LatencyNS   int64                    `json:"latency_ns"`
	Steps       []decisionlog.Step       `json:"steps,omitempty"`
}

func detailOf(r *decisionlog.Record) recordDetail {
	d := recordDetail{Direction: r.Direction, StirReason: r.StirReason, Reputation: r.Reputation, KeyMatch: r.KeyMatch,
		FraudLocked: r.FraudLocked, Brand: r.Brand, LatencyNS: int64(r.Latency)}
	if r.Lookup != (policy.ReputationLookup{}) {
		l := r.Lookup
		d.Lookup = &l
	}
	return d
}

// addSteps fills in the treatment steps of the records vs show. A failure
// to read them is logged, not fatal: the records stand without.
func (c *call) addSteps(l *decisionlog.Log, vs []decisionView) {
	if len(vs) == 0 {
		return
	}
	recs := make([]decisionlog.Record, len(vs))
	for i := range vs {
		recs[i] = decisionlog.Record{Time: vs[i].Time, Called: vs[i].Called}
	}
	steps, err := l.StepsOf(recs)
	if err != nil {
		c.t.log.Warn("api: reading treatment steps of decisions", "err", err)
		return
	}
	for i := range vs {
		vs[i].Steps = steps[i]
	}
}
