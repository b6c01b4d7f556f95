// Package daemon is callgate's composition root: it turns the configuration
// into running tiers over one store, one decision engine and one decision
// log, and takes them down again in order.
//
// A tier is a protocol front end (the AIN SCP, the SIP redirect server, the
// B2BUA, the management API: admin_tier.go, always on the owner's unix
// socket, the CLI's way in, and with api.enabled on its own TCP listener).
// Every tier is built the same way:
//
//  1. daemon/<tier>.go holds one tierSpec (tiers.go): whether the tier is
//     enabled, the sockets it would open, and the function that maps the
//     tier's configuration section onto the tier package's own Config (the
//     tier never imports internal/config). That function is the only place
//     the translation happens; `config check` (Check) runs it too, so every
//     error serve would report is reported without opening a socket.
//  2. The tier package's New(cfg, ...options) validates its Config and
//     takes what it needs from the daemon (Deps) as options: the engine
//     (Deps.Guard, the guarded way to ask; Deps.Decider is the same engine
//     unguarded), the decision log for answers given without the engine,
//     a prometheus.Registerer for its own collectors (the tier defines and
//     registers them; the daemon only owns the registry), a logger and the
//     fail function. New opens no socket.
//  3. The daemon drives the result through the Tier interface below.
//
// Start order (Daemon.Start): store -> fraud monitor (fraud.go: over the
// store, before the engine, which asks its rate table about destinations;
// its decision hook goes in front of the logged engine for originating
// calls) -> decision log -> signals (call keys, reputation: signals.go, a
// stage in front of the logged engine that fills the Call's signals for
// every tier) -> metrics (the engine is wrapped to record and count every
// decision, then guarded; the fraud recompute loop starts) -> admin
// listener (with POST /api/v1/keys and POST /fraud/cdrs) -> tiers in the
// order of the tier list. Shutdown runs it in reverse: every tier drained,
// then every tier stopped, then the admin listener, the fraud monitor (a
// last checkpoint), the decision log (flushed) and the store.
//
// The admin listener (admin.go) serves /metrics, /healthz, /readyz (each
// tier's Ready and the other health sources), the cluster's state for
// `callgate cluster status` (/cluster/node, /cluster/status: etcd's
// members and every node of cluster.peers; cluster.go) and, with
// admin.debug, `callgate capture` (capture.go) and Go's profiler. The
// CLI's operator commands reach a running daemon through the management
// API on its socket, which answers only for the store the daemon holds
// (storeident.go).
package daemon

import (
	"context"
	"time"

	"callgate/sigtran/pcap"
)

// Tier is one protocol front end as the daemon runs it.
type Tier interface {
	// Name is the tier's short name for logs, metrics and readiness
	// ("scp", "sip", "b2bua").
	Name() string

	// Start opens the tier's sockets and starts serving in the background.
	// It returns once the tier accepts work, or with the reason it cannot
	// (a busy port, a bad certificate); the daemon then stops everything it
	// started. A failure after Start returned is reported through the
	// fail function the daemon gave the tier at construction.
	Start(ctx context.Context) error

	// Ready reports whether the tier is serving: nil, or why not (no
	// switch association active, SIP listener closed). /readyz shows each
	// tier's answer.
	Ready() error

	// Drain stops taking new work and tells the peers so they move it
	// elsewhere (M3UA ASP Inactive to the switches, SIP 503 to new
	// INVITEs), then waits until everything already received has been
	// answered or ctx ends. The tier keeps its sockets open, so answers
	// still go out.
	Drain(ctx context.Context) error

	// Stop closes everything the tier opened. It is called after Drain
	// (or after a failed start) and returns once the tier's goroutines have
	// ended or ctx ends.
	Stop(ctx context.Context) error

	// Describe says where the tier listens (addresses with ports resolved),
	// for the start-up summary.
	Describe() string
}

// Capturer is a tier that can trace its signalling for `callgate capture`
// (the SCP's M3UA associations): every message for d, or until max, and
// how many more were left out.
type Capturer interface {
	Capture(ctx context.Context, d time.Duration, max int) ([]pcap.Seen, int, error)
}
