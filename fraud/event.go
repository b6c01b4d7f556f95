package fraud

import (
	"callgate/store"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// EventKind is what an audit record and a webhook report.
type EventKind string

// Event kinds.
const (
	// EventAlert: a group's spend reached its alert threshold.
	EventAlert EventKind = "alert"
	// EventLockdown: a group's spend reached its lockdown threshold; the
	// group is locked (or, already locked, stays so) and its thresholds
	// for the rest of the day are doubled.
	EventLockdown EventKind = "lockdown"
	// EventUnlock: an operator restored normal service, with a reason.
	EventUnlock EventKind = "unlock"
	// EventRates: an operator imported a new rate table version.
	EventRates EventKind = "rates"
)

// Event is one audit record: what happened to a group (or the rate table),
// when, why, and who did it. Events are numbered (Seq) in the order they
// were recorded.
type Event struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     EventKind `json:"kind"`
	Group    string    `json:"group,omitempty"` // GroupID.Key
	Name     string    `json:"name,omitempty"`  // "subscriber dave"
	Day      string    `json:"day,omitempty"`   // the group's local date
	Currency string    `json:"currency,omitempty"`
	// Spend is today's spend when the threshold was reached (completed
	// calls plus calls in progress valued up to then); for an unlock, the
	// spend at the last recompute.
	Spend      Money      `json:"spend"`
	Baseline   Money      `json:"baseline"`
	Thresholds Thresholds `json:"thresholds"` // in force when the event happened
	Factor     int64      `json:"factor,omitempty"`
	// AlreadyLocked: a lockdown threshold reached again after a doubling,
	// while the group was still locked (a further warning).
	AlreadyLocked bool   `json:"already_locked,omitempty"`
	Actor         string `json:"actor,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Detail        string `json:"detail,omitempty"`
	// Node is the node that recorded the event (a cluster: Seq counts
	// that node's records).
	Node string `json:"node,omitempty"`

	// by is who did it, for the platform's audit log (Audited): the
	// operator's or provider's actor, or the monitor itself.
	by store.Actor
	// provider is the group's service provider ("" for the platform's).
	provider string
}

// monitorActor is who does what the monitor does by itself (alerts and
// lockdowns) in the platform's audit log.
var monitorActor = store.Operator.By("fraud monitor", "fraud")

// actorText is how an actor is named in the fraud audit log and its
// events: "token 3fa2 (noc) as provider acme via api".
func actorText(a store.Actor) string {
	p := strings.TrimSpace(a.Principal)
	if p == "" {
		p = "unnamed"
	}
	if a.Via == "" {
		return fmt.Sprintf("%s as %s", p, a)
	}
	return fmt.Sprintf("%s as %s via %s", p, a, a.Via)
}

// String is the event in one line, for the CLI and logs.
func (e *Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d", e.Seq)
	if e.Node != "" {
		fmt.Fprintf(&b, "@%s", e.Node)
	}
	fmt.Fprintf(&b, " %s %s", e.Time.UTC().Format(time.RFC3339), e.Kind)
	if e.Name != "" {
		fmt.Fprintf(&b, " %s", e.Name)
	}
	switch e.Kind {
	case EventAlert, EventLockdown:
		fmt.Fprintf(&b, ": spend %s %s reached the %s threshold %s (alert %s, lockdown %s, x%d)", e.Spend, e.Currency, e.Kind, e.threshold(), e.Thresholds.Alert, e.Thresholds.Lockdown, e.Factor)
		if e.AlreadyLocked {
			b.WriteString(", already locked")
		}
	case EventUnlock:
		fmt.Fprintf(&b, " by %s: %q", e.Actor, e.Reason)
	case EventRates:
		fmt.Fprintf(&b, " by %s: %s", e.Actor, e.Detail)
	}
	return b.String()
}

func (e *Event) threshold() Money {
	if e.Kind == EventLockdown {
		return e.Thresholds.Lockdown
	}
	return e.Thresholds.Alert
}

// auditKey is the State key of audit record seq: audit/SEQ, on a node of
// a cluster audit/SEQ/NODE (each node numbers its own).
func (m *Monitor) auditKey(seq uint64) string {
	if m.cfg.Node != "" {
		return fmt.Sprintf("audit/%016d/%s", seq, m.cfg.Node)
	}
	return fmt.Sprintf("audit/%016d", seq)
}

// auditSeqKey is where the last number given is kept.
func (m *Monitor) auditSeqKey() string {
	if m.cfg.Node != "" {
		return "meta/audit_seq/" + m.cfg.Node
	}
	return "meta/audit_seq"
}

// record numbers e and returns the State writes that store it.
func (m *Monitor) record(e *Event) []Op {
	m.amu.Lock()
	m.seq++
	e.Seq = m.seq
	m.amu.Unlock()
	e.Node = m.cfg.Node
	if e.Currency == "" && e.Group != "" {
		e.Currency = m.cfg.Currency
	}
	v, _ := json.Marshal(e)
	seq, _ := json.Marshal(e.Seq)
	return []Op{{Key: m.auditKey(e.Seq), Value: v}, {Key: m.auditSeqKey(), Value: seq}}
}

// Audit returns the audit records, oldest first, that match: a group key
// ("" for all) and kinds (none for all). limit > 0 keeps the newest limit.
func (m *Monitor) Audit(group string, limit int, kinds ...EventKind) ([]Event, error) {
	var out []Event
	err := m.state.Scan("audit/", func(_ string, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("audit record: %w", err)
		}
		if group != "" && e.Group != group {
			return nil
		}
		if len(kinds) > 0 && !containsKind(kinds, e.Kind) {
			return nil
		}
		out = append(out, e)
		return nil
	})
	// Nodes of a cluster number their records apart: put them in the
	// order they happened (a node alone: the order of the keys already).
	if slices.ContainsFunc(out, func(e Event) bool { return e.Node != "" }) {
		slices.SortStableFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, err
}

func containsKind(ks []EventKind, k EventKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
