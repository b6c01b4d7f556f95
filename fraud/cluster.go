package fraud

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Several nodes, one State: the store on etcd, replicated to every node.
// What the monitor keeps there is then written by every node, and each
// must read back what the others wrote. Config.Node names this node; with
// it:
//
//   - Locks (lock/GROUP) are shared: every node applies what it finds in
//     State within Config.SyncInterval (syncLocks), so a lockdown on one
//     node refuses the group's calls on all of them, and an unlock on one
//     lifts it everywhere. The rate table in force is read back the same
//     way (syncRates).
//   - Spend is kept per node: each node values the calls it decided and
//     the CDRs it was given, and writes its share under its own name (its
//     day records day/GROUP/DATE/NODE; its share of today, calls in
//     progress included, live/GROUP/NODE at every checkpoint). At each
//     recompute every node reads the others' live shares and adds them to
//     its own, so each compares the whole group's spend with the
//     thresholds, late by at most one other node's interval. The history
//     is the sum of every node's day records.
//   - A node that sees another's doubled thresholds or alert for today
//     takes them over, so one crossing raises one alert and one lockdown,
//     not one per node (two nodes crossing within the same interval may
//     both raise it).
//   - Audit records are numbered per node (audit/SEQ/NODE, Event.Node), so
//     two nodes never write the same key.
//
// What the shares do not do: a CDR closes a call in progress only on the
// node that decided the call. A CDR given to another node is rated there
// on arrival while the deciding node goes on valuing the call as in
// progress until max_call_duration: the group's spend counts that call
// twice for up to that long (too much, never too little). Send each
// node the CDRs of the calls it decided (the switch that queried it), or
// keep max_call_duration short. The calls in progress of a node that
// stops count at their last value until it is back.

// shareRecord is one node's share of a group's day as the others read it
// (live/GROUP/NODE).
type shareRecord struct {
	Day       string `json:"day"`
	Spend     Money  `json:"spend"` // completed calls
	Open      Money  `json:"open"`  // calls in progress, valued at the node's last recompute
	Factor    int64  `json:"factor"`
	Alerted   bool   `json:"alerted,omitempty"`
	Lockdowns int    `json:"lockdowns,omitempty"`
}

// nodeDayKey is the key of a node's day record ("" node: a monitor alone,
// day/GROUP/DATE).
func nodeDayKey(g GroupID, d Day, node string) string {
	if node == "" {
		return dayKey(g, d)
	}
	return dayKey(g, d) + "/" + node
}

func liveKey(g GroupID, node string) string { return "live/" + g.Key() + "/" + node }

// flushLive returns the write of this node's share of today when it
// changed since the last one (g.mu held); a group with nothing today has
// its record deleted.
func (g *group) flushLive(node string) []Op {
	rec := shareRecord{Day: g.today.String(), Spend: g.closed, Open: g.open, Factor: g.factor, Alerted: g.alerted, Lockdowns: g.lockdowns}
	if rec == g.live {
		return nil
	}
	empty := shareRecord{Day: rec.Day, Factor: 1}
	g.live = rec
	if rec == empty {
		return []Op{{Key: liveKey(g.id, node), Delete: true}}
	}
	v, _ := json.Marshal(rec)
	return []Op{{Key: liveKey(g.id, node), Value: v}}
}

// remoteShare is the other nodes' share of one group's day.
type remoteShare struct {
	day             string
	closed, open    Money
	factor          int64
	alerted         bool
	lockdowns, seen int
}

// readShares reads the other nodes' live shares, by group. A group's
// shares of different days (a node not yet past midnight) are kept
// apart by taking the latest day only.
func (m *Monitor) readShares() (map[GroupID]*remoteShare, error) {
	out := map[GroupID]*remoteShare{}
	err := m.state.Scan("live/", func(k string, v []byte) error {
		gk, node, ok := strings.Cut(strings.TrimPrefix(k, "live/"), "/")
		if !ok || node == m.cfg.Node {
			return nil
		}
		id, err := parseGroupKey(gk)
		if err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		var rec shareRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		r := out[id]
		switch {
		case r == nil || rec.Day > r.day:
			r = &remoteShare{day: rec.Day, factor: 1}
			out[id] = r
		case rec.Day < r.day:
			return nil
		}
		r.closed += rec.Spend
		r.open += rec.Open
		r.lockdowns += rec.Lockdowns
		r.seen++
		switch {
		case rec.Factor > r.factor:
			r.factor, r.alerted = rec.Factor, rec.Alerted
		case rec.Factor == r.factor:
			r.alerted = r.alerted || rec.Alerted
		}
		return nil
	})
	return out, err
}

// applyShare sets a group's view of the other nodes' share of its day
// (g.mu held) and takes over thresholds they doubled and an alert they
// raised, so one crossing is one event. ending: the group's day is over
// (its midnight has passed): a node already past it has no share of it
// any more, and the one last seen stands.
func (g *group) applyShare(r *remoteShare, ending bool) {
	match := r != nil && r.day == g.today.String()
	if !match {
		if !ending {
			g.rclosed, g.ropen, g.rlockdowns = 0, 0, 0
		}
		return
	}
	g.rclosed, g.ropen, g.rlockdowns = r.closed, r.open, r.lockdowns
	switch {
	case r.factor > g.factor:
		g.factor, g.alerted = r.factor, r.alerted
		g.dirty[g.today] = struct{}{}
	case r.factor == g.factor && r.alerted && !g.alerted:
		g.alerted = true
		g.dirty[g.today] = struct{}{}
	}
}

// parseDayKey reads a day record's key: the group, the date and the node
// that wrote it ("" for a monitor alone).
func parseDayKey(k string) (GroupID, Day, string, error) {
	parts := strings.Split(k, "/")
	if len(parts) != 3 && len(parts) != 4 {
		return 0, 0, "", fmt.Errorf("key %q: want day/GROUP/DATE or day/GROUP/DATE/NODE", k)
	}
	id, err := parseGroupKey(parts[1])
	if err != nil {
		return 0, 0, "", fmt.Errorf("key %q: %w", k, err)
	}
	d, err := parseDay(parts[2])
	if err != nil {
		return 0, 0, "", fmt.Errorf("key %q: %w", k, err)
	}
	node := ""
	if len(parts) == 4 {
		node = parts[3]
	}
	return id, d, node, nil
}
