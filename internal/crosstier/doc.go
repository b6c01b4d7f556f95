// Package crosstier holds the tests that keep callgate's two protocol tiers
// honest with each other: the same calls go through the AIN SCP (as a
// switch would send them, with the SSP simulator over M3UA/TCP) and
// through the SIP redirect server (as an INVITE over UDP), both over one
// store and one engine, and each call must get the same verdict from both
// and the verdict the engine gives when asked directly:
//
//   - crosstier_test.go: incoming calls with complete egress routes;
//   - fallback_test.go: routes with one half or none, the SIP tier with or
//     without a screening URI, and the engine's no-route fallback: where
//     neither tier can reach the B2BUA both give the configured fallback,
//     and each tier counts it;
//   - origination_test.go: outgoing calls at the AIN originating triggers
//     (the SIP tier has none), decided by the engine's originating chain
//     and logged as originations.
package crosstier
