package scp

import (
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
