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
// spoofed) or KeyNotChecked (the number is nobody's). A call the
// carrier's switch forwarded is checked against the number first dialled
// as well (the AIN OriginalCalledPartyID; daemon's signal stage), never
// through a SIP Diversion, which any peer can forge.
//
// A key is the enterprise's that registered it: it matches only while that
// enterprise enrols the calling number, so a number moved to another
// enterprise (deleted and enrolled again) does not carry the old one's
// keys, nor show the new one's brand on calls the old one registered.
// Keys are withdrawn by revocation (revoke.go): the enterprise revokes its
// keys of one pair of numbers or all of them (DELETE
// /api/v1/keys/{calling}/{called}, DELETE /api/v1/keys), the operator all
// of an enterprise's
// (admin: DELETE /api/v1/enterprises/{e}/keys, or the token's reissue with
// revoke_keys when it leaked: a thief's keys cannot be told from the
// enterprise's own; a routine reissue keeps them). Each revocation is
// recorded in the store's audit log (op keys.revoke, store/keyaudit.go),
// once it is done: the only write of this package to the store, off the
// call path.
//
// The map:
//
//   - registry.go: Config, Key, Registry (Register, RegisterWait, Check,
//     Stats): the Go API.
//   - table.go: the in-memory table — fixed-size shards of 32-byte slots,
//     bounded (Config.MaxKeys), keys that ended swept and their slots
//     reused; Check neither allocates nor blocks beyond a shard lock. The
//     log record format (version 2 names the enterprise; version 1 files,
//     written before, still load, bound to the enterprise enrolling the
//     number then).
//   - revoke.go: Revoke, RevokeAll.
//   - persist.go: survival across a restart within the window — a snapshot
//     and an append log written and fsynced by one goroutine off the call
//     path, replay on Open.
//   - http.go, token.go, field.go: the REST handler (registration and
//     revocation; errors as RFC 9457
//     problem details naming the field), the enterprise API token (only
//     its SHA-256 is stored), the registration errors' field.
//   - enrol.go: SIP enrolment (the trunk check and the onward URI).
//   - replicate.go: Replicator and Apply, the registry's side of sharing
//     keys among nodes; keys/keysync carries them through etcd.
//
// Keys are single-use (the first matching call uses the key; its
// retransmissions still match for Config.Grace) or window-bound (every
// call of the two numbers within the window matches), per Config.SingleUse.
// Registering the same key twice (same numbers, same window) is one key, so
// clients may retry; a revoked key registered again stays revoked
// (ErrRevoked: register a new window). Windows have second resolution and are set on the
// enterprise's clock, so a key matches Config.ClockSkew (keys.clock_skew,
// 5 s) before and after its window; a used key's grace is on ours. Peek answers as Check
// without using a key up (`callgate decide`); OpenReadOnly loads the saved
// keys without writing (decide while no daemon runs).
//
// # Many nodes
//
// Each node holds its own table: Check is a memory lookup under a shard
// lock, and must stay one (the SCP's budget is milliseconds; a call key is
// checked on every call from an enrolled number). On a platform of several
// nodes (store.backend etcd) a key registered on one node must still match
// a call that the network routes to another, so with keys.replicate the
// registrations, single-use uses and revocations are shared through etcd
// (keys/keysync): the table stays local, the changes travel.
//
// Why not through the store's kv seam (store/kv, store/etcdkv). The store's
// etcd backend replicates its prefix into a bbolt file on every node and
// advances the store's index from that feed; a key per call through it
// would be a bbolt write per key on every node (the issue asks for keys in
// memory, not in bbolt per key) and an index event per key for nothing.
// So keysync uses the store's etcd client (etcdkv.Backend.Client) under a
// prefix of its own beside the store's (store.etcd.prefix with ".keys/"
// for its final '/'), and applies what it hears straight to this table.
//
// Leases. A key lives in etcd for its window only: keys whose windows end
// in the same 10 s slot share one lease, expiring a minute after the slot
// (the grace of used keys, clock skew), so etcd forgets keys by itself and
// a node holds a handful of leases whatever the key count.
//
// Costs and limits, measured against the single node:
//
//   - A REST registration waits for one etcd transaction (a Raft round
//     trip) besides the local fsync, so registrations per second are
//     bounded by etcd's write rate, not by the table: about 3,800 a second
//     from 16 parallel clients against a one-member etcd sharing a loaded
//     2-core machine (BenchmarkReplicatedRegister in keys/keysync; the
//     command is in its comment), against millions a second in memory
//     (bench/keys). SIP enrolment and uses are published in the
//     background from a bounded queue: the call path never waits, a full
//     queue drops and counts (callgate_keys_replication_dropped_total).
//   - etcd holds every live key of the platform: about 130 bytes each in
//     its database (the same benchmark), so 10M live keys take about
//     1.3 GB of etcd's default 2 GiB quota (raise --quota-backend-bytes,
//     at most 8 GiB, for more); every node still holds every key in
//     memory (32 bytes each).
//   - A key reaches the other nodes within the watch's delay
//     (milliseconds): a call placed to another node before that is
//     taken for a spoof. A single-use key used on one node can match on
//     another node a call arriving before the use has travelled. Both
//     windows are the watch's delay; a platform that cannot accept them
//     keeps an enterprise's calls on one node.
//   - A node starts by loading every key the cluster holds (paginated), so
//     a restarted node knows keys registered while it was down.
package keys
