// Package config is callgate's daemon configuration: one YAML file, read
// strictly (an unknown or misspelt field, or a value of the wrong type, is
// an error naming the field and its line, never silently ignored), layered
// over built-in defaults that serve everything on loopback from ./data.
// Every problem of a file is reported at once (Problems). The daemon maps
// each tier's section onto the tier's own Config (package daemon), and
// `callgate config check` runs those checks too (daemon.Check).
//
// Every field is documented here and, with an example value, in
// callgate.example.yaml at the repository root; `callgate config defaults`
// prints the effective defaults.
package config

import (
	"time"
)

// File names inside the data directory.
const (
	StoreFile       = "callgate.db"  // list and tenant store (bbolt)
	DecisionLogFile = "decisions.db" // decision log (bbolt)
)

// Config is the whole daemon configuration. The YAML keys are the snake_case
// names in the struct tags.
type Config struct {
	// DataDir holds the list store (callgate.db) and the decision log
	// (decisions.db) unless their paths are set explicitly. In a file
	// read by Load, relative data paths are relative to the file's folder
	// (see Load); without a file, and for `--data` (which overrides it),
	// to the working directory.
	DataDir string `yaml:"data_dir"`
	// ShutdownTimeout bounds a graceful shutdown: tiers stop accepting work,
	// in-flight requests finish, the decision log is flushed and the store
	// closed within this time; then the process exits anyway.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// GCPercent is the Go garbage collector's GOGC for the daemon (the
	// GOGC environment variable wins): the heap may grow this many percent
	// over what is live before a collection. Each collection's mark phase
	// runs on every idle CPU for tens of milliseconds, taking them from
	// the query path and from any process beside it; the decision log's
	// commits allocate about 120 bytes per record, so at 200,000 queries/s
	// Go's default (100) collects every 8 to 9 s. 300 collects a third as
	// often for twice the heap headroom (bench/scp/README.md). -1 turns
	// collection off (only for a bounded run).
	GCPercent int `yaml:"gc_percent"`
	// HugePages puts the daemon's heap on 2 MiB pages once it has started
	// (Linux; internal/hugepages): the store's index and the dialogue
	// tables are read at random on every query, and on small pages nearly
	// every such read also misses the TLB. Collapsing costs CPU at start-up
	// in proportion to the memory not yet on huge pages (the store
	// collapses its index when it opens; bench/scp/README.md has the
	// numbers), and a partly used 2 MiB block may later be filled by the
	// kernel's khugepaged: up to 2 MiB of memory each. Heaps under 64 MiB are left alone. The
	// store's index is put on huge pages when it is large whatever this
	// says.
	HugePages bool `yaml:"huge_pages"`

	Log         Log         `yaml:"log"`
	Admin       Admin       `yaml:"admin"`
	Store       Store       `yaml:"store"`
	DecisionLog DecisionLog `yaml:"decision_log"`
	Engine      Engine      `yaml:"engine"`
	SIP         SIP         `yaml:"sip"`
	SCP         SCP         `yaml:"scp"`
	Keys        Keys        `yaml:"keys"`       // signals.go
	Reputation  Reputation  `yaml:"reputation"` // signals.go
	Fraud       Fraud       `yaml:"fraud"`      // fraud.go
	API         API         `yaml:"api"`        // api.go: the management API
	B2BUA       B2BUA       `yaml:"b2bua"`      // b2bua.go
	Cluster     Cluster     `yaml:"cluster"`    // cluster.go
}

// Log configures the process log (log/slog, written to standard error).
type Log struct {
	// Level is the least severe level written: debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text (key=value, for people) or json (one object a line,
	// for log collectors).
	Format string `yaml:"format"`
}

// Admin is the HTTP listener for operations: /metrics (Prometheus text
// format), /healthz (the process is alive) and /readyz (every tier is
// started and the store is open; 503 while starting or shutting down).
type Admin struct {
	// Listen is the host:port to listen on; "" disables the listener.
	// Keep it on loopback or a management network: it is unauthenticated.
	Listen string `yaml:"listen"`
	// Debug serves GET /debug/capture (`callgate capture`, clients on
	// this host only). (The CLI's operator commands reach a running
	// daemon on the management API's socket, api.socket, whatever this
	// says.)
	Debug bool `yaml:"debug"`
	// Pprof serves Go's profiler under /debug/pprof/. Off unless set:
	// a profile shows call data in memory and costs CPU while it runs.
	Pprof bool `yaml:"pprof"`
}

// Store is the list and tenant store.
type Store struct {
	// Backend is bbolt (one file, one node) or etcd (shared by many
	// nodes; see StoreEtcd in store.go).
	Backend string `yaml:"backend"`
	// Path of the bbolt file; "" means DATA_DIR/callgate.db.
	Path string `yaml:"path"`
	// LockTimeout is how long to wait for the file lock at start-up (another
	// process, such as an operator command, may hold it briefly).
	LockTimeout time.Duration `yaml:"lock_timeout"`
	// Etcd configures backend etcd.
	Etcd StoreEtcd `yaml:"etcd"`
}

// DecisionLog bounds the decision log, which keeps every decision with its
// trace off the hot path (queued in memory, written in batches).
type DecisionLog struct {
	// Enabled turns the log on. Off, decisions are still counted in metrics.
	Enabled bool `yaml:"enabled"`
	// Path of the bbolt file; "" means DATA_DIR/decisions.db.
	Path string `yaml:"path"`
	// MaxRecords is the most records kept (oldest pruned first); -1 = no
	// count bound (MaxAge must then be set).
	MaxRecords int `yaml:"max_records"`
	// MaxAge is the longest a record is kept; a negative duration ("-1s")
	// means no age bound (MaxRecords must then be positive).
	MaxAge time.Duration `yaml:"max_age"`
	// QueueSize is how many decisions may wait for the writer; beyond it new
	// decisions are dropped from the log (and counted) rather than slowing
	// calls down.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most records written in one transaction (one fsync);
	// below BatchSize records per flush_interval, flush_interval decides.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is the longest a decision waits in memory before it is
	// written (and visible to `callgate log search`).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// NoSync skips the fsync per batch (tmpfs, tests). A power loss may then
	// lose recent batches or tear the file, which the next start sets aside
	// (decisions.db.damaged-<time>) for a new one.
	NoSync bool `yaml:"no_sync"`
	// WriterNice runs the writer on an OS thread of its own at this nice
	// value (1-19; 0 = like any goroutine): a commit's CPU then yields to
	// the query path instead of preempting it, while it still gets the
	// CPU a busy machine has spare.
	WriterNice int `yaml:"writer_nice"`
	// WriterIdle, with writer_nice, runs the writer under SCHED_IDLE while
	// it keeps up and the CPUs have room: a commit then takes only CPU
	// time the query path does not want, and a CPU busy with it still
	// takes a waking query thread at once. It runs at writer_nice while it
	// is behind (a quarter of queue_size waiting, or decisions waiting
	// while it got no CPU for two flush_intervals) and while other work
	// crowds the CPUs (the kernel's CPU pressure, /proc/pressure/cpu, at
	// half or more; idle again after 5 s below): an idle thread starved
	// there would hold every garbage collection, and the whole process
	// with it. Needs PSI, and CAP_SYS_NICE (root) or LimitNICE=+writer_nice
	// to leave SCHED_IDLE; without them the writer stays at writer_nice
	// (logged at start). Off by default: its gain on the tail is within
	// the noise of the hosts measured (bench/scp/README.md).
	WriterIdle bool `yaml:"writer_idle"`
	// WriterSlice is the longest the writer works at once while it keeps
	// up; then it pauses 100 µs, so that its CPU goes idle and the kernel
	// moves threads queued on the others (the query path's) onto it.
	// Without the pauses a commit holds a CPU for some 3 ms, which on a
	// machine with two CPUs set the SCP's latency tail. 0 = no pauses.
	WriterSlice time.Duration `yaml:"writer_slice"`
}

// Engine configures the decision engine.
type Engine struct {
	// DefaultAnnouncement is the platform announcement ID played to blocked
	// callers of subscribers with Reject with Media on (and for the
	// announce-then-voicemail treatment) who have no announcement of their
	// own. 0 = none: such calls are plainly blocked.
	DefaultAnnouncement uint32 `yaml:"default_announcement"`
	// NoRouteFallback is the answer for a call whose treatment needs the
	// B2BUA (screen, challenge, voicemail) when the asking tier has no way
	// to it: no egress route with a routing number (AIN) or a SIP URI (SIP),
	// and for SIP no screening_uri. "allow" rings the call unscreened,
	// "block" refuses it. Either way the decision log's trace says
	// route=missing fallback=apply, the tier counts it in /metrics and
	// warns, and serve warns at start-up and when routes change.
	NoRouteFallback string `yaml:"no_route_fallback"`
}

// SIP is the SIP redirect server (package redirect): INVITEs are answered
// with 302 (continue, or to the B2BUA for screening) or 603/608 (blocked).
type SIP struct {
	// Enabled starts the SIP tier.
	Enabled bool `yaml:"enabled"`
	// UDP, TCP and TLS are listen addresses (host:port); "" opens no
	// listener of that kind. At least one must be set when enabled.
	UDP string `yaml:"udp"`
	TCP string `yaml:"tcp"`
	TLS string `yaml:"tls"`
	// TLSCertFile and TLSKeyFile are the PEM certificate chain and key for
	// the TLS listener.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSClientCAFile (PEM), when set, requires every TLS client to
	// present a certificate from one of these authorities (mutual TLS).
	TLSClientCAFile string `yaml:"tls_client_ca_file"`
	// Stateful serves UDP through sipgo's transaction layer (a server
	// transaction per INVITE: 100 Trying for slow decisions, the final
	// response retransmitted until the ACK, 487 for a CANCEL of a pending
	// INVITE). The default, false, is the stateless UDP path (RFC 3261
	// §8.2.7, what Kamailio's sl module does): no per-call state, a
	// retransmitted INVITE gets the identical answer again, ACKs are
	// absorbed, CANCEL gets 481 (no transaction for it to match, RFC 3261
	// §9.2). TCP and TLS are always stateful.
	Stateful bool `yaml:"stateful"`
	// UDPReaders is the number of goroutines reading the UDP socket on the
	// stateless path (0 = GOMAXPROCS, at least 4).
	UDPReaders int `yaml:"udp_readers"`
	// ContinueRoute is the Contact template of the 302 that lets an allowed
	// call continue, e.g. "sip:{called}@gw.carrier.example;user=phone".
	// Placeholders: {called}, {calling}, {original}.
	ContinueRoute string `yaml:"continue_route"`
	// RouteOverrides replaces ContinueRoute for calls whose subscriber's
	// provider uses the named egress route: route name -> template.
	RouteOverrides map[string]string `yaml:"route_overrides"`
	// ScreeningURI is the B2BUA screening URI template, used when the egress
	// route in the store carries no SIP URI. A signed token is appended.
	// "" = none: such calls get engine.no_route_fallback.
	ScreeningURI string `yaml:"screening_uri"`
	// SecureContinueRoute and SecureScreeningURI (sips: templates) replace
	// ContinueRoute and ScreeningURI for INVITEs to a sips: Request-URI,
	// which are redirected only to sips: targets (RFC 5630): "" = the plain
	// one when it is sips:, else such INVITEs get 480 + Warning 380.
	SecureContinueRoute string `yaml:"secure_continue_route"`
	SecureScreeningURI  string `yaml:"secure_screening_uri"`
	// Reject608 answers blocked calls with 608 Rejected (RFC 8688) instead
	// of 603 Decline; RejectInfoURL (https) is then sent in Call-Info.
	Reject608     bool   `yaml:"reject_608"`
	RejectInfoURL string `yaml:"reject_info_url"`
	// TokenKeys are the screening-token secrets shared with the B2BUA;
	// TokenKeyID names the one that signs. With no keys, a random key is
	// made at start-up (fine while the B2BUA runs in the same process; set
	// keys when it does not).
	TokenKeys  []TokenKey `yaml:"token_keys"`
	TokenKeyID uint8      `yaml:"token_key_id"`
	// TokenLifetime is how long a screening token stays valid (at least 1s).
	TokenLifetime time.Duration `yaml:"token_lifetime"`
	// MaxInFlight bounds INVITEs being decided at once; MaxRate bounds
	// accepted INVITEs per second (0 = unlimited) with bursts of RateBurst
	// (0 = MaxRate/10). Refused calls get 503 with Retry-After: RetryAfter.
	MaxInFlight int           `yaml:"max_in_flight"`
	MaxRate     float64       `yaml:"max_rate"`
	RateBurst   int           `yaml:"rate_burst"`
	RetryAfter  time.Duration `yaml:"retry_after"`
	// DecideTimeout is the time budget of one decision: a decision made
	// later is not used, the INVITE gets 503 + Retry-After (0 = no budget).
	DecideTimeout time.Duration `yaml:"decide_timeout"`
	// ServerName is the Server header value; "-" sends none.
	ServerName string `yaml:"server_name"`
	// Stir is the STIR/SHAKEN verification and authentication service.
	Stir SIPStir `yaml:"stir"`
}

// SIPStir is STIR/SHAKEN on the SIP tier (package stir; see redirect's
// stir.go for what the 302 carries).
type SIPStir struct {
	// Verify turns the verification service on: INVITEs with Identity are
	// verified before the engine decides. TrustAnchors (required then) is
	// the PEM file of the STI-CA certificates to trust (the STI-PA's list;
	// the system roots are never used); Intermediates a PEM file of extra
	// CA certificates; CRLFile a PEM file of CRLs used instead of fetching
	// the certificates' distribution points.
	Verify        bool   `yaml:"verify"`
	TrustAnchors  string `yaml:"trust_anchors"`
	Intermediates string `yaml:"intermediates"`
	CRLFile       string `yaml:"crl_file"`
	// Freshness is how old a PASSporT's iat may be; Skew how far ahead.
	Freshness time.Duration `yaml:"freshness"`
	Skew      time.Duration `yaml:"skew"`
	// MissWait is how long an INVITE may wait for a certificate (or CRL)
	// not in the cache yet: 0 answers at once with No-TN-Validation while
	// it is fetched in the background; more holds the call that long.
	MissWait time.Duration `yaml:"miss_wait"`
	// RequireCRL fails certificates whose CRL cannot be had, or is past
	// its nextUpdate (437);
	// otherwise they pass, logged and counted.
	RequireCRL bool `yaml:"require_crl"`
	// AllowHTTPX5U is a lab setting: certificates over plain http and
	// from loopback or private addresses.
	AllowHTTPX5U bool `yaml:"allow_http_x5u"`
	// SignKeyFile (PEM, ECDSA P-256) and SignX5U (where its certificate is
	// published) turn the authentication service on for Originators.
	SignKeyFile string          `yaml:"sign_key_file"`
	SignX5U     string          `yaml:"sign_x5u"`
	Originators []SIPOriginator `yaml:"originators,omitempty"`
}

// SIPOriginator is a peer whose INVITEs are signed.
type SIPOriginator struct {
	// Name is for logs and metrics; Sources its addresses or prefixes
	// ("192.0.2.10", "198.51.100.0/24").
	Name    string   `yaml:"name"`
	Sources []string `yaml:"sources"`
	// Customer is the enterprise (in the store) whose numbers get
	// attestation A, others' B; "" is a gateway (C).
	Customer string `yaml:"customer"`
	// OrigID is the origid of its PASSporTs ("" = a new UUID per run).
	OrigID string `yaml:"origid"`
}

// TokenKey is one screening-token secret. Give the secret inline (base64,
// at least 32 bytes once decoded) or in a file (raw bytes, or base64 text).
type TokenKey struct {
	ID         uint8  `yaml:"id"`
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
}

// SCP is the AIN service control point over SIGTRAN (M3UA).
type SCP struct {
	// Enabled starts the SCP tier.
	Enabled bool `yaml:"enabled"`
	// Transport under M3UA: sctp (kernel SCTP, RFC 4666) or tcp (M3UA over
	// TCP, as many lab switches and simulators speak).
	Transport string `yaml:"transport"`
	// Role in M3UA: sg (signalling gateway: switches connect to us), asp
	// (we connect to an SG/STP as an application server process) or ipsp
	// (IP server process, peer to peer).
	Role string `yaml:"role"`
	// Listen addresses (host:port) for sg and ipsp; several addresses (same
	// port) make an SCTP multi-homed endpoint; TCP takes one.
	Listen []string `yaml:"listen"`
	// Connect addresses (host:port) of the SG/STP or peer for asp and ipsp.
	Connect []string `yaml:"connect"`
	// PointCode is the SCP's own point code: "network-cluster-member" for
	// ANSI ("244-2-20"), "zone-area-sp" for ITU, or a decimal integer.
	PointCode string `yaml:"point_code"`
	// SSN is the subsystem number the SCP answers on (there is no standard
	// AIN SSN; it is whatever the switches' translations point at).
	SSN uint8 `yaml:"ssn"`
	// Variant of SCCP addressing: ansi (T1.112) or itu (Q.713).
	Variant string `yaml:"variant"`
	// RoutingContexts identify the application server(s) in M3UA.
	RoutingContexts []uint32 `yaml:"routing_contexts"`
	// NetworkAppearance, when set, is sent in and expected on M3UA DATA.
	NetworkAppearance *uint32 `yaml:"network_appearance"`
	// TrafficMode of the AS: loadshare or override (broadcast would make
	// every ASP answer each query, so it is refused).
	TrafficMode string `yaml:"traffic_mode"`
	// Register (role asp, or ipsp with connect) registers the SCP's routing
	// key with the SG by M3UA RKM (REG REQ) before ASP Active: SCCP traffic
	// to point_code, asking for the first routing context (the SG picks
	// one when routing_contexts is empty). For SGs that expect dynamic
	// registration instead of a provisioned routing context.
	Register bool `yaml:"register"`
	// TimeBudget bounds the time from a query's arrival to its answer; a
	// query not decided within it gets SafeAnswer.
	TimeBudget time.Duration `yaml:"time_budget"`
	// SafeAnswer is sent when a query cannot be decided in time or at all:
	// authorize (Authorize_Termination: let the call ring) or forward
	// (Forward_Call to the SIP tier's routing number).
	SafeAnswer string `yaml:"safe_answer"`
	// ACG configures overload control by automatic code gapping.
	ACG ACG `yaml:"acg"`
	// Workers: each query is decided on its association's reader goroutine
	// while decisions are fast (no hand-off, one write per batch of
	// answers); when they get slow (over 1 ms on average) queries go for a
	// while to a pool of workers, 0 = one per CPU (GOMAXPROCS), behind a
	// bounded backlog whose queries are answered with the safe answer when
	// they wait longer than time_budget; -1 = always decide on the reader
	// (the socket buffer is then the only queue).
	Workers int `yaml:"workers"`
	// InlineLimit is the average handling time above which the reader
	// stops deciding queries itself and hands them to the workers for a
	// while (0 = 1 ms, at most a tenth of time_budget). Negative (-1ms)
	// never decides on the reader: every query goes to a worker, handed on
	// a read batch at a time, so an association's queries are decided on
	// several cores while its reader only reads and writes.
	InlineLimit time.Duration `yaml:"inline_limit"`
	// HeartbeatInterval is the M3UA BEAT period on every association (0
	// turns BEAT off); HeartbeatTimeout is how long a BEAT may go
	// unanswered before the association is declared lost and, on the
	// dialling side, redialled.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	HeartbeatTimeout  time.Duration `yaml:"heartbeat_timeout"`
	// HomeArea is where the area code that completes 7-digit (NXX-XXXX)
	// calling and called numbers comes from, as a switch completes them:
	// line (the UserID directory number of the query), called (the called
	// number when sent in full, else the line) or fixed (HomeNPA).
	// HomeNPA ("303") is the fixed one and the fallback of the others; a
	// 7-digit number with no area gets the safe answer.
	HomeArea string `yaml:"home_area"`
	HomeNPA  string `yaml:"home_npa"`
}

// ACG is the SCP's overload control: above Capacity queries a second it
// sends AIN ACG to the querying switches for the busiest called numbers.
type ACG struct {
	// Capacity is the query rate (per second) the SCP accepts before gapping;
	// 0 disables ACG.
	Capacity int `yaml:"capacity"`
	// GapDuration is how long a switch applies the gap (AIN rounds it to
	// 1s, 2s, 4s ... 2048s).
	GapDuration time.Duration `yaml:"gap_duration"`
	// GapInterval is the minimum time between calls to a gapped number
	// (AIN national gap intervals: 0.1s ... 600s).
	GapInterval time.Duration `yaml:"gap_interval"`
	// RemoveAfter is how long the load must stay under 90 % of capacity
	// before the gaps still running at the switches are removed (AIN acg
	// with gap interval 0, on the next answer to each switch for the
	// code); 0 leaves them to run their duration.
	RemoveAfter time.Duration `yaml:"remove_after"`
}

// Default returns the built-in configuration: everything on loopback, data
// in ./data, the SIP redirect server on 127.0.0.1:5060 (UDP and TCP), the
// SCP on 127.0.0.1:2905 (M3UA over TCP, as an SG), the admin listener on
// 127.0.0.1:9464.
func Default() Config {
	return Config{
		DataDir:         "data",
		ShutdownTimeout: 10 * time.Second,
		GCPercent:       300,
		HugePages:       true,
		Log:             Log{Level: "info", Format: "text"},
		Admin:           Admin{Listen: "127.0.0.1:9464", Debug: true},
		Store:           DefaultStore(),
		DecisionLog: DecisionLog{
			Enabled:       true,
			MaxRecords:    1_000_000,
			MaxAge:        30 * 24 * time.Hour,
			QueueSize:     65536,
			BatchSize:     8192,
			FlushInterval: 200 * time.Millisecond,
			WriterNice:    10,
			WriterSlice:   150 * time.Microsecond,
		},
		Engine:     Engine{NoRouteFallback: "allow"},
		Keys:       defaultKeys(),
		Reputation: defaultReputation(),
		SIP: SIP{
			Enabled:       true,
			UDP:           "127.0.0.1:5060",
			TCP:           "127.0.0.1:5060",
			ContinueRoute: "sip:{called}@127.0.0.1:5080;user=phone",
			ScreeningURI:  "sip:screen@127.0.0.1:5070",
			TokenKeyID:    1,
			TokenLifetime: 60 * time.Second,
			MaxInFlight:   10000,
			RetryAfter:    5 * time.Second,
			ServerName:    "callgate",
			Stir:          SIPStir{Freshness: 60 * time.Second, Skew: 5 * time.Second},
		},
		Fraud:   defaultFraud(),
		API:     defaultAPI(),
		Cluster: DefaultCluster(),
		SCP: SCP{
			Enabled:           true,
			Transport:         "tcp",
			Role:              "sg",
			Listen:            []string{"127.0.0.1:2905"},
			PointCode:         "244-2-20",
			SSN:               248,
			Variant:           "ansi",
			RoutingContexts:   []uint32{10},
			TrafficMode:       "loadshare",
			TimeBudget:        50 * time.Millisecond,
			SafeAnswer:        "authorize",
			HeartbeatInterval: 10 * time.Second,
			HeartbeatTimeout:  10 * time.Second,
			HomeArea:          "line",
			ACG: ACG{
				Capacity:    50000,
				GapDuration: 4 * time.Second,
				GapInterval: 500 * time.Millisecond,
				RemoveAfter: 2 * time.Second,
			},
		},
		B2BUA: DefaultB2BUA(),
	}
}
