package decisionlog

import (
	"errors"
	"strings"
	"testing"

	"callgate/policy"
)

// TestStirReason: the STIR/SHAKEN reason code is kept in the record (binary,
// JSON and text), and records without one (all written before it existed)
// still decode.
func TestStirReason(t *testing.T) {
	r := sample()
	r.Attestation, r.StirReason = policy.AttestationFailed, "signature-invalid"
	b := appendRecord(nil, &r)
	var got Record
	if err := decodeRecord(b, &got); err != nil {
		t.Fatal(err)
	}
	got.Time = r.Time
	if got != r {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
	if c := got.Call(); c.AttestationReason != "signature-invalid" {
		t.Fatalf("Call() lost the reason: %+v", c)
	}
	j, err := r.MarshalJSON()
	if err != nil || !strings.Contains(string(j), `"stir_reason":"signature-invalid"`) {
		t.Fatalf("JSON %s %v", j, err)
	}
	var back Record
	if err := back.UnmarshalJSON(j); err != nil || back.StirReason != r.StirReason {
		t.Fatalf("JSON round trip: %+v %v", back, err)
	}
	if txt := string(r.AppendText(nil)); !strings.Contains(txt, " attestation=failed stir=signature-invalid") {
		t.Fatalf("text %q", txt)
	}
	// The reason is the last field (version 2: always written, empty as a
	// zero length).
	plain := sample()
	plain.Attestation = policy.AttestationFailed
	old := appendRecord(nil, &plain)
	if string(old[:len(old)-1]) != string(b[:len(old)-1]) || len(b) != len(old)+len("signature-invalid") {
		t.Fatal("the reason is not the last field of the encoding")
	}
	// A truncated reason is damage.
	for i := len(old); i < len(b); i++ {
		if err := decodeRecord(b[:i], &got); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v", i, err)
		}
	}
}
