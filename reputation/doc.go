// Package reputation is spam-risk screening's signal: the calling
// number's risk band (policy.Call.Reputation) from a reputation provider,
// found within the call's time budget, with how it was found
// (policy.ReputationLookup) for the trace and the decision log.
//
// The map:
//
//   - provider.go: Provider, the interface of a reputation service, and
//     the band names.
//   - http.go: HTTPProvider, a reputation API over HTTP (base URL, API key,
//     time-out); the simulator in simulators/reputation speaks it.
//   - checker.go: Checker, what the call path asks — exemptions
//     (anonymous, private, non-NANP: never looked up, and the reason
//     recorded), then the cache (fresh: answered at once; stale: answered
//     at once and refreshed in the background), then one look-up per
//     number at a time (single flight) waited for at most Config.Budget
//     and never past the call's deadline less Config.Reserve. A look-up
//     still running when the wait ends goes on in the background and
//     fills the cache for the next call; the call gets ReputationUnknown
//     (why=timeout).
//   - cache.go: the bounded, sharded cache (no allocation on a hit).
//   - breaker.go: the circuit breaker: after Config.BreakerFailures
//     failures in a row the provider is not asked for Config.BreakerOpen
//     (calls get ReputationUnknown, why=circuit-open), then one trial
//     look-up decides whether it is asked again. Opening and closing are
//     logged (ERROR, INFO) apart from the rate-limited warnings of
//     failures and timeouts, so a provider that is down never turns
//     calls to the unknown branch unheard; Stats counts the openings.
//
// What the engine does with a band (low allow; medium and high challenge
// or block; exempt and unknown their own branches) is the engine's
// policy.ReputationPolicy, configured per provider; nothing here decides a
// call.
package reputation
