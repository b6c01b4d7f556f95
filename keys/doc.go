// Package keys is spoof protection by call keys, a signal feeding the
// decision engine (policy.Call.KeyMatch).
//
// An enterprise (a store tenant) enrols the calling numbers it places
// calls from. Before each call it registers the call's key — calling
// number, called number, a window — by REST (Handler, POST /api/v1/keys
// with the enterprise's API token, token.go) or by sending the INVITE to
// the SIP tier's enrolment address (Registry.Enrol, enrol.go: the tier
// answers 302 to the enterprise's onward route). When a call claiming an
// enrolled number terminates, on either tier, Registry.Check says
// KeyMatched (the engine brands it), KeyMissing (the engine blocks it as
// spoofed) or KeyNotChecked (the number is nobody's).
//
// The map:
//
//   - registry.go: Config, Key, Registry (Register, RegisterWait, Check,
//     Stats): the Go API.
//   - table.go: the in-memory table — fixed-size shards of 32-byte slots,
//     bounded (Config.MaxKeys), keys that ended swept and their slots
//     reused; Check neither allocates nor blocks beyond a shard lock. The
//     log record format.
//   - persist.go: survival across a restart within the window — a snapshot
//     and an append log written and fsynced by one goroutine off the call
//     path, replay on Open.
//   - http.go, token.go: the REST handler and the enterprise API token
//     (only its SHA-256 is stored).
//   - enrol.go: SIP enrolment (the trunk check and the onward URI).
//
// Keys are single-use (the first matching call uses the key; its
// retransmissions still match for Config.Grace) or window-bound (every
// call of the two numbers within the window matches), per Config.SingleUse.
// Registering the same key twice (same numbers, same window) is one key, so
// clients may retry. Windows have second resolution.
package keys
