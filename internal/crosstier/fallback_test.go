package crosstier

import (
	"context"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
	"callgate/store/storetest"
)

// The no-route fallback across the tiers. acme (Alice, Bob) uses the
// platform default route "b2bua"; each case strips it to one half or
// removes it, sets the engine's no-route fallback and gives the SIP tier a
// screening URI or none. Where neither tier has a way to the B2BUA both
// give the same configured fallback; where one has a way (a routing number
// for AIN, a SIP URI or the screening URI for SIP) that one screens and the
// other falls back, counted by each tier.

// routeVariant reshapes acme's route.
type routeVariant string

const (
	routeAINOnly routeVariant = "ain-only" // routing number, no SIP URI
	routeSIPOnly routeVariant = "sip-only" // SIP URI, no routing number
	routeNone    routeVariant = "none"     // no route at all
)

func (v routeVariant) apply(t *testing.T, st *store.Store) {
	t.Helper()
	var err error
	switch v {
	case routeAINOnly:
		_, err = st.SetRoute(store.Operator, store.RouteSpec{Name: storetest.Route, RoutingNumber: storetest.RoutingNumber})
	case routeSIPOnly:
		_, err = st.SetRoute(store.Operator, store.RouteSpec{Name: storetest.Route, SIPURI: storetest.RouteURI})
	case routeNone:
		err = st.SetDefaultRoute(store.Operator, "")
	}
	if err != nil {
		t.Fatal(err)
	}
}

const (
	screeningURI  = "sip:screen@b2bua.invalid"
	screeningHost = "b2bua.invalid"
	routeHost     = "b2bua.example.net" // storetest.RouteURI's host
)

// Verdicts of the table.
var (
	ring       = verdict{Class: "ring"}
	block      = verdict{Class: "block"}
	forwarded  = verdict{Class: "sip-tier", Routing: e164.MustParse(storetest.RoutingNumber)}
	announce   = verdict{Class: "announce-then-release"}
	viaScreen  = verdict{Class: "sip-tier", Action: policy.ActionScreen, B2BUA: screeningHost}
	viaRoute   = verdict{Class: "sip-tier", Action: policy.ActionScreen, B2BUA: routeHost}
	annScreen  = verdict{Class: "announce-then-release", Action: policy.ActionBlockWithAnnouncement, B2BUA: screeningHost}
	annRoute   = verdict{Class: "announce-then-release", Action: policy.ActionBlockWithAnnouncement, B2BUA: routeHost}
	aliceCall  = [2]string{storetest.UnknownCaller, storetest.AliceNumber} // screens unknown callers
	bobCall    = [2]string{storetest.UnknownCaller, storetest.BobNumber}   // blocks them, Reject with Media
	vipToAlice = [2]string{storetest.VIPCaller, storetest.AliceNumber}
)

func TestNoRouteFallbackAcrossTiers(t *testing.T) {
	cases := []struct {
		name      string
		route     routeVariant
		screening string
		fallback  policy.Fallback
		call      [2]string
		ain, sip  verdict
		// whether each tier's fallback counter must move
		ainFellBack, sipFellBack bool
	}{
		// No way to the B2BUA on either tier: both give the fallback.
		{"no way, allow", routeNone, "", policy.FallbackAllow, aliceCall, ring, ring, true, true},
		{"no way, block", routeNone, "", policy.FallbackBlock, aliceCall, block, block, true, true},
		{"no way, VIP unaffected", routeNone, "", policy.FallbackBlock, vipToAlice, ring, ring, false, false},
		// Reject with Media: the switch plays the announcement itself; SIP
		// needs the B2BUA and, without one, blocks plainly (never allows).
		{"no way, announcement", routeNone, "", policy.FallbackAllow, bobCall, announce, block, false, true},
		// The SIP tier's screening URI is its own way to the B2BUA: the
		// silent fail-open (302 to the continue route) is gone.
		{"no route, screening URI", routeNone, screeningURI, policy.FallbackBlock, aliceCall, block, viaScreen, true, false},
		{"no route, screening URI, announcement", routeNone, screeningURI, policy.FallbackBlock, bobCall, announce, annScreen, false, false},
		// Half a route.
		{"AIN-only route", routeAINOnly, "", policy.FallbackBlock, aliceCall, forwarded, block, false, true},
		{"AIN-only route, screening URI", routeAINOnly, screeningURI, policy.FallbackBlock, aliceCall, forwarded, viaScreen, false, false},
		{"SIP-only route", routeSIPOnly, "", policy.FallbackAllow, aliceCall, ring, viaRoute, true, false},
		{"SIP-only route beats the screening URI", routeSIPOnly, screeningURI, policy.FallbackAllow, aliceCall, ring, viaRoute, true, false},
		{"SIP-only route, announcement", routeSIPOnly, "", policy.FallbackAllow, bobCall, announce, annRoute, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st := storetest.Fixture(t)
			tc.route.apply(t, st)
			engine := policy.New(st, policy.WithNoRouteFallback(tc.fallback))
			tt := startTiers(t, ctx, engine, tc.screening)
			calling, called := e164.MustParse(tc.call[0]), e164.MustParse(tc.call[1])

			gotAIN := tt.askAIN(t, ctx, calling, called, policy.PresentationAllowed)
			gotSIP := tt.askSIP(t, calling, called, policy.PresentationAllowed)
			t.Logf("AIN %v, SIP %v via %q", gotAIN, gotSIP, gotSIP.B2BUA)
			if gotAIN.Class != tc.ain.Class || gotAIN.Routing != tc.ain.Routing {
				t.Errorf("AIN %v, want %v", gotAIN, tc.ain)
			}
			if gotSIP != tc.sip {
				t.Errorf("SIP %v via %q, want %v via %q", gotSIP, gotSIP.B2BUA, tc.sip, tc.sip.B2BUA)
			}

			// The engine asked directly, as each tier asks it, agrees.
			ainCall := policy.Call{Calling: calling, Called: called, Origin: policy.OriginAIN}
			sipCall := policy.Call{Calling: calling, Called: called, Origin: policy.OriginSIP, DefaultRoute: tc.screening != ""}
			dAIN, dSIP := engine.Decide(ctx, ainCall), engine.Decide(ctx, sipCall)
			if v := engineVerdict(dAIN); v.Class != gotAIN.Class {
				t.Errorf("engine says %v for AIN [%s]", v, dAIN.Trace.String())
			}
			if v := engineVerdict(dSIP); v.Class != gotSIP.Class {
				t.Errorf("engine says %v for SIP [%s]", v, dSIP.Trace.String())
			}
			// A fallback is never silent: in the trace and in each tier's metrics.
			if dAIN.FellBack() != tc.ainFellBack || dSIP.FellBack() != tc.sipFellBack {
				t.Errorf("fallback in the trace: AIN %v [%s], SIP %v [%s]", dAIN.FellBack(), dAIN.Trace.String(),
					dSIP.FellBack(), dSIP.Trace.String())
			}
			if n := tt.scpFallbacks(t); (n == 1) != tc.ainFellBack || n > 1 {
				t.Errorf("callgate_scp_no_route_fallback_total = %v, want fallback %v", n, tc.ainFellBack)
			}
			if n := tt.rs.Stats().NoRouteFallback; (n == 1) != tc.sipFellBack || n > 1 {
				t.Errorf("SIP NoRouteFallback = %d, want fallback %v", n, tc.sipFellBack)
			}
		})
	}
}
