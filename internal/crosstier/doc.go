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
//   - origination_test.go: outgoing calls at the AIN originating triggers,
//     decided by the engine's originating chain and logged as
//     originations;
//   - fraud_test.go: outgoing calls of a group the fraud signal locked,
//     at Info_Analyzed and as INVITEs from an originating SIP trunk: both
//     tiers refuse its international and premium calls alike;
//   - signals_test.go: call keys and reputation through the daemon's
//     signal stage (daemon.SignalStage): an enrolled caller without a key
//     or outside its window is blocked, with a key delivered with the
//     brand on the wire of both tiers; reputation low/medium/high give
//     allow/challenge/the configured action, private and non-NANP callers
//     are exempt (the simulator sees no request), a provider down or slow
//     gives the unknown branch within the SCP's time budget;
//   - provider_signals_test.go: the band -> action mapping and the
//     missing-key action per service provider: two providers with
//     different settings give the same caller different verdicts, each
//     the same on both tiers, and the trace says setting=provider or
//     setting=platform.
package crosstier
