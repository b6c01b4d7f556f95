package scp

import (
	"bytes"
	"context"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/store"
)

// Every answer to a terminationAttempt is built and encoded without
// allocating: allow (plain and branded), block, block with an
// announcement, screen (forwardCall). A branded allow allocated its text
// buffer once per answer until the buffer moved into the worker.
func TestAnswersDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	screen := policy.Decision{Action: policy.ActionScreen}
	screen.Route.RoutingNumber = e164.MustParse("+17205550123")
	branded := policy.Decision{Action: policy.ActionAllow, Brand: store.Brand{Name: "ACME PHARMACY", Reason: "Prescription ready"}}
	for _, c := range []struct {
		name string
		d    policy.Decision
		op   ain.OpCode
	}{
		{"allow", policy.Decision{Action: policy.ActionAllow}, ain.OpAuthorizeTermination},
		{"allow branded", branded, ain.OpAuthorizeTermination},
		{"block", policy.Decision{Action: policy.ActionBlock}, ain.OpDisconnect},
		{"announcement", policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 21}, ain.OpSendToResource},
		{"screen", screen, ain.OpForwardCall},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.d
			h := newHarness(t, testConfig(), decideFunc(func(context.Context, policy.Call) policy.Decision { return d }))
			var in m3ua.Data
			if err := in.UnmarshalBinary(vectorM3UA(t, "P-01Q")); err != nil {
				t.Fatal(err)
			}
			sink := &encodeSink{buf: make([]byte, 0, 512)}
			serve := func() {
				pd := in.ProtocolData
				h.s.handle(h.w, sink, &pd, time.Now(), safeNone)
			}
			serve()
			if got := h.w.rsp.Components[len(h.w.rsp.Components)-1].Op.Code; got != uint16(c.op) {
				t.Fatalf("answered operation 0x%04x, want 0x%04x", got, uint16(c.op))
			}
			if n := testing.AllocsPerRun(200, serve); n != 0 {
				t.Errorf("%v allocations per answer, want 0", n)
			}
		})
	}
}

// The unbranded allow is sent as an empty Parameter Set without calling
// Marshal: that must be what Marshal encodes for an argument with no
// parameter.
func TestEmptyAuthorizeTermination(t *testing.T) {
	if b := (&ain.AuthorizeTerminationArg{}).Marshal(nil); len(b) != 0 {
		t.Errorf("authorizeTermination {} encodes as %x, the SCP sends it empty", b)
	}
}

// encodeForward reuses the worker's ForwardCallArg: each answer encodes
// what a fresh argument for that query encodes, whatever the previous
// answer on the worker carried (a redirecting number and redirection
// information, a caller, or neither).
func TestEncodeForwardReusedArgument(t *testing.T) {
	s := newHarness(t, testConfig(), decideFunc(func(context.Context, policy.Call) policy.Decision { return policy.Decision{} })).s
	w := newWorker(0)
	caller := ain.Some(digits(t, "6175550100", ain.NOANational))
	dialled := digits(t, "3035550100", ain.NOANational)
	queries := []struct {
		ta     ain.TerminationAttemptArg
		called *ain.Digits
		to     string
	}{
		{ain.TerminationAttemptArg{CallingPartyID: caller, RedirectionInformation: []byte{0x13, 0x32}}, &dialled, "+17205550123"},
		{ain.TerminationAttemptArg{}, nil, "+17205550199"},
		{ain.TerminationAttemptArg{CallingPartyID: caller}, nil, "+442079460000"},
		{ain.TerminationAttemptArg{}, &dialled, "+17205550123"},
		{ain.TerminationAttemptArg{CallingPartyID: caller}, &dialled, "+17205550123"},
	}
	for i, q := range queries {
		to := e164.MustParse(q.to)
		if !s.encodeForward(w, &q.ta, q.called, to) {
			t.Fatalf("query %d: not encoded", i)
		}
		var rn ain.Digits
		if err := numberDigits(&rn, to); err != nil {
			t.Fatal(err)
		}
		fresh := ain.ForwardCallArg{CalledPartyID: ain.Some(rn), CallingPartyID: q.ta.CallingPartyID}
		if q.called != nil {
			redir := nextRedirection(q.ta.RedirectionInformation)
			fresh.RedirectingPartyID, fresh.RedirectionInformation = ain.Some(*q.called), redir[:]
		}
		if want := fresh.Marshal(nil); !bytes.Equal(w.ans, want) {
			t.Errorf("query %d: forwardCall %x, a fresh argument encodes %x", i, w.ans, want)
		}
	}
}
