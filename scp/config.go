package scp

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"callgate/e164"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
)

// SafeAnswer is what a query gets when it cannot be decided in time or at
// all (time budget spent, engine failure, overload shedding).
type SafeAnswer uint8

// Safe answers.
const (
	// SafeAuthorize answers authorizeTermination: the call rings as if
	// callgate were not there (the default: a screening failure must not
	// lose calls).
	SafeAuthorize SafeAnswer = iota
	// SafeForward answers forwardCall to Config.SafeForwardNumber (the SIP
	// tier's routing number), which screens the call there; without a
	// number it falls back to SafeAuthorize.
	SafeForward
)

func (a SafeAnswer) String() string {
	if a == SafeForward {
		return "forward"
	}
	return "authorize"
}

// Overload configures overload control (see package scp/overload).
type Overload struct {
	// Capacity is the query rate (per second) above which the SCP sends
	// ACG for the busiest called codes; 0 disables ACG (the bounded
	// backlog still sheds).
	Capacity int
	// GapDuration and GapInterval are the ACG settings at 1x-2x capacity
	// (defaults 4 s and 500 ms); the interval grows with the overload.
	GapDuration, GapInterval time.Duration
	// CodeDigits is how many leading digits of the called number form the
	// controlled code: 10 (the called number itself, the default) or 6
	// (NPA-NXX, the code switches usually gap).
	CodeDigits int
	// TranslationType goes into the acg's translationType (default 0, as
	// the switches' ACG tables are keyed by it; match their translations).
	TranslationType uint8
	// ControlCause is the acg's controlCauseIndicator octet (default 1,
	// SCP overload — the value our vectors and common SSPs use).
	ControlCause uint8
	// Backlog bounds the queries waiting for a worker (default: what the
	// configured capacity serves within the time budget, at least 1024).
	// Queries beyond it, and queries that waited longer than the time
	// budget, get the safe answer (with an ACG) at once, without Decide.
	Backlog int
	// RemoveAfter is how long the load must stay below 90 % of Capacity,
	// with no query shed, before the gaps still running at the switches
	// are removed: the next answer to a switch for a gapped code carries
	// an acg with gap interval 0 ("remove gap control"), once. Default
	// 2 s; it doubles, up to the gap duration, when the overload comes
	// back right after removals. Negative: gaps run their duration.
	RemoveAfter time.Duration
}

// Config configures a Service. The daemon maps its scp: configuration
// section onto it (daemon/scp.go); New checks it.
type Config struct {
	// Role is the M3UA role: RoleSG or RoleIPSP accept switches (Listen),
	// RoleASP dials an SG/STP (Connect), RoleIPSP may also dial.
	Role m3ua.Role
	// Network is "tcp" or "sctp".
	Network string
	// Listen is the local address (SG, IPSP server); several addresses of
	// one multi-homed SCTP host are written "ip1/ip2:port".
	Listen string
	// Connect lists the SGs/STPs or peers to dial (ASP, IPSP client).
	Connect []string

	// PointCode is the SCP's own point code. DATA addressed to another
	// DPC is discarded (0 accepts any).
	PointCode sccp.PointCode
	// SSN is the subsystem the SCP answers on; queries for another SSN
	// are returned with UDTS "unequipped user" when they ask for return.
	// SSN 0 ("not known", ANSI T1.112) routed on global title is ours.
	SSN uint8
	// Variant is the SCCP address format (ANSI default).
	Variant sccp.Variant
	// RoutingContexts, NetworkAppearance and TrafficMode are the M3UA
	// application-server settings (see m3ua.Config).
	RoutingContexts   []uint32
	NetworkAppearance *uint32
	TrafficMode       m3ua.TrafficMode
	// Register (RoleASP, or RoleIPSP dialling out) registers the SCP's
	// routing key with the SG by M3UA RKM before ASP Active (see
	// routingKey); RoutingContexts then holds at most the one RC asked for.
	Register bool

	// TimeBudget bounds a query from arrival to answer (default 50 ms).
	TimeBudget time.Duration
	// SafeAnswer and SafeForwardNumber: see SafeAnswer.
	SafeAnswer        SafeAnswer
	SafeForwardNumber e164.Number

	Overload Overload

	// HomeArea is where the home area code that completes 7-digit numbers
	// comes from; HomeNPA is the configured one, used by HomeAreaFixed and
	// as the fallback of the others (0: none). See HomeArea.
	HomeArea HomeArea
	HomeNPA  ain.NPA

	// Workers is the number of goroutines the queries are handed to when
	// they are not decided on the reader (default GOMAXPROCS; see
	// InlineLimit).
	Workers int
	// InlineLimit decides where queries are decided. By default each
	// query is decided on the reader goroutine of the association it came
	// on, in the order read, and answered with the rest of the batch the
	// reader read (one read, one write per batch; no goroutine hop, which
	// costs more CPU than a fast engine's decision). A query whose
	// handling there takes longer than InlineLimit (default 1 ms, at most
	// a tenth of TimeBudget) sends the queries that follow to the Workers
	// for a second (inlineHoldoff), so that a slow engine or signal holds
	// up no association: they wait in a bounded backlog per worker, are
	// answered with the safe answer when they wait longer than
	// TimeBudget, and are rescued from behind a Decide that does not
	// return. The reader decides inline again once that second is over and
	// no query waits for a worker. Negative: always hand queries to the
	// Workers.
	InlineLimit time.Duration
	// Inline decides every query on the reader goroutine of its
	// association, however long decisions take (several associations
	// still run in parallel). The trade-off: no per-worker backlog (the
	// socket buffer and TCP/SCTP flow control bound what waits, and its
	// age cannot be measured, so nothing is shed as stale); a decision
	// stuck past its time budget still loses nothing: the service's ticker
	// has another goroutine take over reading the association
	// (m3ua.Association.ReleaseReader). The time budget, safe answers, ACG
	// and overload shedding of controlled codes work the same in every
	// mode. BenchmarkLoopbackTCP compares the modes.
	Inline bool
	// DialogueTimeout expires dialogues the switch leaves open (default
	// 30 s); MaxDialogues bounds them (default 1<<20; further queries get
	// Abort resourceUnavailable).
	DialogueTimeout time.Duration
	MaxDialogues    int

	// HeartbeatInterval is the M3UA BEAT period (default 10 s, negative
	// disables); HeartbeatTimeout how long a BEAT may go unanswered before
	// the association is dropped (default: the interval). See m3ua.Config.
	HeartbeatInterval, HeartbeatTimeout time.Duration

	Logger *slog.Logger
}

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("scp: "+format, args...)) }
	switch c.Network {
	case "tcp", "sctp":
	default:
		bad("network %q is not tcp or sctp", c.Network)
	}
	switch c.Role {
	case m3ua.RoleSG:
		if c.Listen == "" {
			bad("role sg needs a listen address")
		}
	case m3ua.RoleASP:
		if len(c.Connect) == 0 {
			bad("role asp needs a connect address (the SG or STP)")
		}
	case m3ua.RoleIPSP:
		if (c.Listen == "") == (len(c.Connect) == 0) {
			bad("role ipsp needs either a listen or connect addresses")
		}
	default:
		bad("unknown M3UA role %v", c.Role)
	}
	if c.SSN == 0 || c.SSN == 255 {
		bad("ssn %d is reserved; use 1-254", c.SSN)
	}
	if c.Register && (c.Role == m3ua.RoleSG || c.Role == m3ua.RoleIPSP && len(c.Connect) == 0) {
		bad("register is for an SCP that dials its SG (role asp, or ipsp with connect addresses)")
	}
	if c.Register && len(c.RoutingContexts) > 1 {
		bad("register asks for one routing context; %d configured", len(c.RoutingContexts))
	}
	if !c.PointCode.Valid(c.Variant) {
		bad("point code %d does not fit %v", c.PointCode, c.Variant)
	}
	if c.TimeBudget < 0 {
		bad("negative time budget")
	}
	if c.Overload.Capacity < 0 {
		bad("negative overload capacity")
	}
	switch c.Overload.CodeDigits {
	case 0, 6, 10:
	default:
		bad("overload code digits %d: want 6 or 10", c.Overload.CodeDigits)
	}
	if c.SafeAnswer > SafeForward {
		bad("unknown safe answer %d", c.SafeAnswer)
	}
	if c.Workers < 0 {
		bad("negative worker count")
	}
	if c.HeartbeatTimeout < 0 {
		bad("negative heartbeat timeout")
	}
	if c.HomeArea > HomeAreaFixed {
		bad("unknown home area %d", c.HomeArea)
	}
	if c.HomeNPA != 0 && !c.HomeNPA.Valid() {
		bad("home NPA %d is not an area code (200-999)", c.HomeNPA)
	}
	if c.HomeArea == HomeAreaFixed && c.HomeNPA == 0 {
		bad("home area fixed needs a home NPA (scp.home_npa, e.g. 303)")
	}
	return errors.Join(errs...)
}

func (c *Config) defaults() {
	if c.TimeBudget == 0 {
		c.TimeBudget = 50 * time.Millisecond
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.InlineLimit == 0 {
		c.InlineLimit = time.Millisecond
		if c.TimeBudget > 0 {
			c.InlineLimit = min(c.InlineLimit, c.TimeBudget/10)
		}
	}
	if c.Overload.CodeDigits == 0 {
		c.Overload.CodeDigits = 10
	}
	if c.Overload.ControlCause == 0 {
		c.Overload.ControlCause = 1
	}
	if c.Overload.Backlog <= 0 {
		c.Overload.Backlog = max(1024, int(float64(c.Overload.Capacity)*c.TimeBudget.Seconds()))
	}
	if c.DialogueTimeout <= 0 {
		c.DialogueTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
