package scp

import (
	"context"
	"testing"

	"callgate/e164"
	"callgate/policy"
)

// BenchmarkAnswerPath is BenchmarkServeQuery with an engine that answers
// at once with a fixed decision, so that what is measured is the SCP's
// own path: P-01Q decoded, the Call built, the guard, and the answer
// encoded down to M3UA DATA bytes (forwardCall for a screen, with the
// caller, routing and redirecting numbers; authorizeTermination for an
// allow). The decode side is the same work in every sub-benchmark; the
// difference between base and a change to the answer path is that
// change's cost.
func BenchmarkAnswerPath(b *testing.B) {
	screen := policy.Decision{Action: policy.ActionScreen}
	screen.Route.RoutingNumber = e164.MustParse("+17205550123")
	for _, c := range []struct {
		name string
		d    policy.Decision
	}{{"forwardCall", screen}, {"authorizeTermination", policy.Decision{Action: policy.ActionAllow}}} {
		b.Run(c.name, func(b *testing.B) {
			d := c.d
			benchHandleP01Q(b, decideFunc(func(context.Context, policy.Call) policy.Decision { return d }))
		})
	}
}
