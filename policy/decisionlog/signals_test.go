package decisionlog

import (
	"strings"
	"testing"
	"time"

	"callgate/policy"
)

// TestRecordSignals: a record keeps how the reputation was found and the
// brand (version 2), shows them in its text form, and version 1 records
// (written before) still read, without them.
func TestRecordSignals(t *testing.T) {
	r := Record{Time: time.Unix(1_700_000_000, 0), Origin: policy.OriginAIN, Calling: 16175550142, Called: 13035550101,
		Reputation: policy.ReputationUnknown, KeyMatch: policy.KeyMatched, Action: policy.ActionAllow,
		Lookup: policy.ReputationLookup{Why: policy.WhyTimeout, Cache: policy.CacheMiss, Latency: 20 * time.Millisecond},
		Brand:  "Initech"}
	r.Trace.Add(policy.RuleReputation, policy.OutcomeUnknown)
	b := appendRecord(nil, &r)
	var got Record
	if err := decodeRecord(b, &got); err != nil {
		t.Fatal(err)
	}
	got.Time = r.Time
	if got.Lookup != r.Lookup || got.Brand != r.Brand || got.Trace.String() != "reputation=unknown" {
		t.Errorf("round trip: %+v", got)
	}
	text := got.String()
	for _, want := range []string{"reputation=unknown(why=timeout cache=miss latency=20ms)", `brand="Initech"`} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
	// Version 1: the same bytes without the signal details, with and
	// without a trailing STIR/SHAKEN reason.
	v1 := appendRecord(nil, &Record{Calling: 16175550142, Called: 13035550101, Action: policy.ActionAllow})
	v1 = v1[:len(v1)-5] // why, cache, latency 0, empty brand, empty stir reason
	v1[0] = 1
	if err := decodeRecord(v1, &got); err != nil || got.Lookup != (policy.ReputationLookup{}) || got.Brand != "" {
		t.Errorf("version 1 record: %v %+v", err, got)
	}
	v1r := appendString(append([]byte(nil), v1...), "iat-stale")
	if err := decodeRecord(v1r, &got); err != nil || got.StirReason != "iat-stale" {
		t.Errorf("version 1 record with a stir reason: %v %+v", err, got)
	}
	bad := append([]byte(nil), b...)
	bad[len(bad)-len("Initech")-5] = 99 // the why byte
	if err := decodeRecord(bad, &got); err == nil {
		t.Error("an unknown reputation reason was accepted")
	}
}
