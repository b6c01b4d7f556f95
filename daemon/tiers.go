package daemon

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/fraud"
	"callgate/internal/config"
	"callgate/keys"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// Deps is what the daemon lends every tier it builds. A tier builder
// passes the tier package the parts it needs, as that package's own
// options.
type Deps struct {
	// View is the live store (the engine reads it; a tier may read routes
	// from it for answers it gives without the engine, such as the SCP's
	// safe answer "forward").
	View store.View
	// Decider is the engine wrapped to record every decision in the
	// decision log and count it in the metrics.
	Decider policy.Decider
	// Guard is Decider under the time budget, panic recovery and the
	// late/invalid checks: the way a tier asks (policy.Guard). Guard and
	// Decider are the same engine: a tier uses one or the other, never
	// both on one call.
	Guard *policy.Guard
	// Registerer takes the tier's own prometheus collectors.
	Registerer prometheus.Registerer
	// DecisionLog records the answers a tier gives without the engine
	// (safe answers); nil when the log is off.
	DecisionLog *decisionlog.Log
	Logger      *slog.Logger
	// Fail reports a failure of a running tier; the daemon shuts down.
	Fail func(error)
	// Keys is the call-key registry (SIP enrolment); nil when keys are off.
	Keys *keys.Registry
	// Signals is the signal stage (call keys, reputation), for the
	// management API's decide to run what the tiers run; nil in `config
	// check`.
	Signals *Signals
	// Store is the store itself, for the management API (nil in
	// `config check`).
	Store *store.Store
	// Fraud is the toll-fraud monitor, for the management API's
	// /api/v1/fraud operations (nil when fraud.enabled is off).
	Fraud *fraud.Monitor
	// ServesStore checks that a path names the store file the daemon
	// holds: the management API's socket answers the CLI only for its own
	// store (storeident.go; nil in `config check`).
	ServesStore func(path string) error
}

// tierSpec is one entry of the tier list: a tier the daemon can run and
// how it is built from the configuration.
type tierSpec struct {
	name    string // the tier's Name
	section string // its configuration section
	// reads are the other sections its build maps (the B2BUA takes the
	// SIP tier's continue route and token keys), so `config check` does
	// not build it while those have problems of their own either.
	reads   []string
	enabled func(*config.Config) bool
	// listeners are the sockets the tier would open, for the port-clash
	// check of `config check` (which opens none).
	listeners func(*config.Config) []listener
	// build maps the section onto the tier package's Config and calls its
	// New, which validates it; it opens no socket (Start does).
	build func(*config.Config, *Deps) (Tier, error)
}

// tierList is every tier, in start order (shutdown runs it backwards).
// A new tier adds its daemon/<tier>.go with one tierSpec and one line
// here.
var tierList = []tierSpec{sipSpec, scpSpec, b2buaSpec, apiSpec}

// listener is one socket a tier or the admin listener opens.
type listener struct {
	network string // "tcp", "udp" or "sctp": each its own port space
	addr    string // host:port as configured
	field   string // the configuration field, for messages ("sip.udp")
}
