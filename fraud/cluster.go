package fraud

import (
	"encoding/json"
	"errors"
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
//   - CDRs count once, whichever node the carrier's mediation system
//     sends them to, however often: the CDR journal below.
//
// The calls in progress of a node that stops count at their last value
// (in its share) until it is back.
//
// # The CDR journal
//
// The problem: a call is decided on one node (the one the switch asked),
// which values it as in progress until its CDR closes it; the CDR goes
// to whatever node the load balancer picks, perhaps another, and perhaps
// more than once (a mediation system sending a batch again). Counted on
// arrival there while the deciding node goes on valuing the call, the
// call would count twice until max_call_duration (4h), enough for a false
// lockdown; a copy of a CDR would count again.
//
// Alternatives weighed. (1) Each node publishing its calls in progress
// so that the node taking a CDR finds the one that decided it: a store
// write per decision, or per sync for every call decided, and a CDR
// arriving before that is visible matches nothing. (2) A call key any
// node can compute from the CDR alone: the CDR's start is the switch's
// answer time, not the decision's, so no key made from it is exact, and
// a copy of a CDR on another node would still count twice. (3) What is
// done: each node publishes what it did with every CDR, and every node
// applies the others' at its next sync. The decision path writes nothing
// (fraud.Wrap's Started is in memory, as before); the deciding node holds
// the call from before any CDR of it can exist.
//
// Every node keeps a mark for each CDR of the last Config.DedupWindow
// (15m; memory, journal.go), identified by all four of its fields (the
// CDR form has no record number), and publishes entries in chunks under
// cdr/SEQ/NODE at each checkpoint: 'J' a CDR it counted, 'C' a call in
// progress it closed for one, 'R' a count it took back. A node that has
// entries to publish, or whose share changed, checkpoints at its sync
// (Config.SyncInterval, 1s) as well as at each recompute and CDR batch.
//
//   - A CDR a node is given: a copy of one marked as counted, here or on
//     any node, is a duplicate and changes nothing. Otherwise the node
//     closes its own matching call in progress (unless a node has already
//     closed one for it) or rates the CDR, counts its cost, and journals it.
//   - Another node's 'J' read at a sync: the node that decided the call
//     closes it (the oldest matching call, as on one node), takes its
//     value at the last recompute out of its share, and journals the
//     closure. One read before the call is in its table is retried at
//     every sync for a minute (a call reopened, below; a switch clock
//     ahead of the node's).
//   - Conflicts are settled by one rule every node applies alike, with no
//     clock and no round trip: of the nodes that counted a CDR (one copy
//     each, sent before either read the other's journal) the one whose
//     name sorts first keeps the count and the others take theirs back;
//     of the nodes that closed a call for it (two nodes holding a call of
//     the same line and number: a PBX pumping one premium number through
//     both) the first keeps it closed and the others reopen theirs.
//   - Settling: a CDR a node took with no call of its own and none known
//     closed is, until a closure for it is read (about two sync
//     intervals) or a minute passes (no node held the call: decided
//     before a restart, or never tracked), left out of that node's
//     evaluation and of the share the others read, while the deciding
//     node still values the call. So the group's spend never counts the
//     call twice, on any node: for a moment it counts the call at its last
//     value in progress, or not at all, then at its CDR's cost.
//
// Order makes that hold between nodes reading each other's writes half
// way (a checkpoint split over several transactions, checkpointRank):
// counts before the share that includes them, closures after the share
// that no longer values the call, retractions before the totals they are
// taken out of, so that a checkpoint that stops half way leaves a CDR
// counted, never lost; and a recompute reads the journal before the
// shares.
//
// Restarts: a node reads the journal back at start (its own chunks: what
// it counted, so a copy is still a duplicate; the others': their marks,
// and a conflict settled while it was down). What a node applied and did
// not store before a crash is lost with its calls in progress: a CDR it
// counted without storing its entry may count twice (the deciding node
// values the call until max_call_duration), never less than once.
//
// Clocks: no node compares its clock with another's. Each expires its
// own marks and chunks by its own clock (Config.DedupWindow; a node's
// chunks are deleted by itself after the window, or by any node after
// twice the window if it is gone for good); matching a CDR to a call
// compares the deciding node's clock with the switch's, as on one node.
//
// Bounds: marks for one to two windows of every node's CDRs (about 100
// bytes each), one window of chunks in the State (37 bytes a CDR
// counted, 37 more for the call closed for it). A CDR sent again after the window counts
// again; a node cut off from etcd for longer than the window misses the
// entries in between (its calls then wait for max_call_duration).

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
	rec := shareRecord{Day: g.today.String(), Spend: g.closed - g.settling, Open: g.open, Factor: g.factor, Alerted: g.alerted, Lockdowns: g.lockdowns}
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
//
// A record it cannot read (another version's, or damaged) is skipped and
// warned about, the rest counted: one bad record must not make every node
// count its own spend alone.
func (m *Monitor) readShares() (map[GroupID]*remoteShare, error) {
	out := map[GroupID]*remoteShare{}
	var bad []error
	err := m.state.Scan("live/", func(k string, v []byte) error {
		gk, node, ok := strings.Cut(strings.TrimPrefix(k, "live/"), "/")
		if !ok || node == m.cfg.Node {
			return nil
		}
		id, err := parseGroupKey(gk)
		if err != nil {
			bad = append(bad, fmt.Errorf("key %q: %w", k, err))
			return nil
		}
		var rec shareRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			bad = append(bad, fmt.Errorf("key %q: %w", k, err))
			return nil
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
	m.unreadable(&m.st.badShares, "fraud: unreadable spend records of other nodes skipped (written by another version, or damaged): their spend is not counted here", bad)
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

// Sync reads back what others sharing the State changed (the nodes of a
// cluster over the store on etcd): their locks and unlocks, a rate table
// one of them imported, and the CDRs they took (the CDR journal). On a
// node of a cluster it then stores a checkpoint if this node has journal
// entries to publish or its share changed (a call closed for another
// node's CDR), so the others read them at their next sync. Run calls it
// every Config.SyncInterval.
func (m *Monitor) Sync() error {
	err := errors.Join(m.syncLocks(), m.syncRates())
	if m.cfg.Node == "" {
		return err
	}
	changed, jerr := m.readJournal()
	if jerr != nil {
		jerr = fmt.Errorf("CDR journal: %w", jerr)
	}
	var cerr error
	if changed || m.jr.unpublished() {
		cerr = m.checkpoint()
	}
	return errors.Join(err, jerr, cerr)
}
