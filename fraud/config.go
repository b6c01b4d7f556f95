package fraud

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the monitor's configuration (the fraud: section; see the
// package documentation for what each part does).
type Config struct {
	// Interval is how often every group's spend is recomputed and
	// compared with its thresholds (5m).
	Interval time.Duration
	// HistoryDays is how many days before today the baseline looks at
	// (30): the baseline is the highest daily spend among them.
	HistoryDays int
	// DefaultAlert and DefaultLockdown are a new group's thresholds
	// (10.00, 11.00) and the floor under every group's.
	DefaultAlert, DefaultLockdown Money
	// Scale turns a baseline into thresholds (DefaultScale).
	Scale Scale
	// TimeZone is where a group's day starts and ends unless Zones says
	// otherwise (UTC).
	TimeZone *time.Location
	// Zones sets time zones by tenant: "provider:NAME" (every group of the
	// provider's), "subscriber:NAME", "enterprise:NAME" (the group's own,
	// which wins over its provider's).
	Zones map[string]*time.Location
	// MaxCallDuration is how long a call with no CDR is valued as in
	// progress before it is dropped (4h).
	MaxCallDuration time.Duration
	// MaxOpenCalls bounds the calls in progress tracked at once
	// (1,000,000); starts beyond it are not valued (counted).
	MaxOpenCalls int
	// UnratedPerMinute is the price of a call no rate table row matches
	// (0: such calls cost nothing, and are counted and warned about).
	UnratedPerMinute Money
	// Currency is the account currency's code, for people and webhooks
	// ("USD"). Amounts are in its units.
	Currency string
	// TopGroups bounds the per-group series in /metrics (20): the groups
	// nearest their lockdown threshold.
	TopGroups int
	// Node is this node's name when several nodes share one State (the
	// store on etcd): each keeps its own share of every group's spend and
	// its own audit numbering under its name, and adds the other nodes'
	// shares to its own (cluster.go). "" is a monitor alone on its State.
	Node string
	// SyncInterval is how often the monitor reads back what others
	// changed in its State: locks and unlocks, the rate table in force,
	// the CDRs they took (1s; 0 is 1s). A lockdown on one node refuses
	// calls on the others within it; a CDR taken on one node closes its
	// call on the node that decided it within about two.
	SyncInterval time.Duration
	// DedupWindow is how long a CDR is remembered (15m): a copy of it
	// (a mediation system sending a batch again) arriving on any node
	// within the window changes nothing. Each node keeps every CDR of the
	// window in memory (about 100 bytes each) and its own in State (37
	// bytes each, in the CDR journal: cluster.go).
	DedupWindow time.Duration
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	return Config{
		Interval:        5 * time.Minute,
		HistoryDays:     30,
		DefaultAlert:    10 * Unit,
		DefaultLockdown: 11 * Unit,
		Scale:           DefaultScale,
		TimeZone:        time.UTC,
		MaxCallDuration: 4 * time.Hour,
		MaxOpenCalls:    1_000_000,
		Currency:        "USD",
		TopGroups:       20,
		SyncInterval:    time.Second,
		DedupWindow:     15 * time.Minute,
	}
}

// Validate checks c; every problem is reported.
func (c *Config) Validate() error {
	var errs []error
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("interval %s: want at least 1s (5m is the usual)", c.Interval))
	}
	if c.HistoryDays < 1 || c.HistoryDays > 366 {
		errs = append(errs, fmt.Errorf("history_days %d: want 1 to 366 (30 is the usual)", c.HistoryDays))
	}
	if c.DefaultAlert <= 0 {
		errs = append(errs, fmt.Errorf("default_alert %s: want an amount above 0", c.DefaultAlert))
	}
	if c.DefaultLockdown < c.DefaultAlert {
		errs = append(errs, fmt.Errorf("default_lockdown %s is below default_alert %s (the alert must come first)", c.DefaultLockdown, c.DefaultAlert))
	}
	if err := c.Scale.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.TimeZone == nil {
		errs = append(errs, errors.New("time_zone: not set"))
	}
	for k, loc := range c.Zones {
		kind, name, ok := strings.Cut(k, ":")
		if !ok || name == "" || (kind != "provider" && kind != "subscriber" && kind != "enterprise") {
			errs = append(errs, fmt.Errorf("zones %q: want provider:NAME, subscriber:NAME or enterprise:NAME", k))
		}
		if loc == nil {
			errs = append(errs, fmt.Errorf("zones %q: no time zone", k))
		}
	}
	if c.MaxCallDuration < time.Minute {
		errs = append(errs, fmt.Errorf("max_call_duration %s: want at least 1m", c.MaxCallDuration))
	}
	if c.MaxOpenCalls < 1 {
		errs = append(errs, fmt.Errorf("max_open_calls %d: want at least 1", c.MaxOpenCalls))
	}
	if c.SyncInterval != 0 && c.SyncInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("sync_interval %s: want at least 10ms (1s is the usual)", c.SyncInterval))
	}
	if c.DedupWindow != 0 && (c.DedupWindow < time.Minute || c.DedupWindow > 24*time.Hour) {
		errs = append(errs, fmt.Errorf("cdr_dedup_window %s: want 1m to 24h (15m is the usual)", c.DedupWindow))
	}
	if c.Node != "" && (len(c.Node) > 64 || strings.ContainsFunc(c.Node, func(r rune) bool { return r <= ' ' || r == '/' || r >= 0x7f })) {
		errs = append(errs, fmt.Errorf("node %q: want a name of up to 64 printable characters without '/' or spaces (cluster.name, else the host name)", c.Node))
	}
	if c.TopGroups < 0 || c.TopGroups > 1000 {
		errs = append(errs, fmt.Errorf("top_groups %d: want 0 to 1000 (each is a few series in /metrics)", c.TopGroups))
	}
	return errors.Join(errs...)
}

// zoneOf is the time zone of a group described by info.
func (c *Config) zoneOf(info groupInfo) *time.Location {
	if loc := c.Zones[info.Ref]; loc != nil {
		return loc
	}
	if info.Provider != "" {
		if loc := c.Zones["provider:"+info.Provider]; loc != nil {
			return loc
		}
	}
	return c.TimeZone
}
