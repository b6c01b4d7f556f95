package fraud

import (
	"encoding/json"
	"sync"
	"time"
)

// group is one group's spend: today's completed calls, the daily totals
// of the days before (the history), and where today stands against the
// thresholds. Everything but the identity is under mu.
type group struct {
	id   GroupID
	info groupInfo
	loc  *time.Location

	mu       sync.Mutex
	today    Day   // the group's local date; 0 until the first roll
	dayStart int64 // today's local midnight, unix ns
	dayEnd   int64 // tomorrow's local midnight, unix ns
	closed   Money // completed calls that ended today (this node's)
	// settling is the part of closed another node may still be valuing
	// as a call in progress: CDRs taken here, with no call here, whose
	// call no node is known to have closed yet (a cluster: cluster.go). It
	// is left out of the evaluation and of the share the others read
	// until settled.
	settling Money
	days     map[Day]pastDay
	// The other nodes' share of today (a cluster: cluster.go): rbase is
	// fixed at load (day records not written by a node of the cluster),
	// rclosed and ropen are the others' completed calls and calls in
	// progress as of their last checkpoints, read at each recompute;
	// rlockdowns their lockdowns today.
	rbase, rclosed, ropen Money
	rlockdowns            int
	baseline              Money // the highest daily spend of the HistoryDays before today without a lockdown
	// factor is today's threshold multiplier: 1, doubled at each lockdown
	// (and again while the spend already stands above the doubled
	// lockdown threshold); alerted says today's alert at this factor has
	// been raised.
	factor    int64
	alerted   bool
	lockdowns int

	dirty   map[Day]struct{} // days whose record must be written
	drop    []Day            // days to delete from State (past the history)
	resumed *resumeDay       // today's record found at load
	live    shareRecord      // this node's share as last written (a cluster)

	// the last recompute
	open      Money // calls in progress, valued up to then
	spend     Money // closed + open
	th        Thresholds
	evaluated time.Time
}

// resumeDay is a day record read at load, applied when the group rolls to
// that day (a restart in the middle of the day keeps its doubling).
type resumeDay struct {
	day Day
	rec dayRecord
}

// pastDay is a day before today: its completed calls' spend and whether
// the group was locked down that day. On a node of a cluster, spend and
// lockdowns are this node's (what it writes back), remote the rest.
type pastDay struct {
	spend     Money
	lockdowns int
	remote    Money
	rlock     int
}

// total is the day's spend, every node's.
func (p pastDay) total() Money { return p.spend + p.remote }

// locked says whether the group was locked down that day on any node.
func (p pastDay) locked() bool { return p.lockdowns+p.rlock > 0 }

// dayRecord is one group's day as stored (day/GROUP/DATE).
type dayRecord struct {
	Spend     Money `json:"spend"`
	Factor    int64 `json:"factor,omitempty"`
	Alerted   bool  `json:"alerted,omitempty"`
	Lockdowns int   `json:"lockdowns,omitempty"`
}

func newGroup(id GroupID, info groupInfo, loc *time.Location) *group {
	return &group{id: id, info: info, loc: loc, days: map[Day]pastDay{}, dirty: map[Day]struct{}{}, factor: 1}
}

func dayKey(g GroupID, d Day) string { return "day/" + g.Key() + "/" + d.String() }

// keptDays is how many days before today a group keeps (the history, and
// a week more for `fraud history`).
func keptDays(c *Config) Day { return Day(c.HistoryDays + 7) }

// rollTo moves the group's day forward to t's local date: today's total
// joins the history, the baseline is recomputed from the HistoryDays
// before the new day, the doubling and the alert are reset, and days past
// the history are dropped. It never moves back.
func (g *group) rollTo(t time.Time, c *Config) {
	d := dayOf(t, g.loc)
	if g.today != 0 && d <= g.today {
		return
	}
	if g.today != 0 {
		// The other nodes' completed calls as last seen join the history
		// with ours (a call counts on the day it ends: their calls in
		// progress, like ours, count when their CDRs come; their CDRs for
		// the day arriving after our midnight count from the next
		// restart, which reads their day records).
		g.days[g.today] = pastDay{spend: g.closed, lockdowns: g.lockdowns,
			remote: g.rbase + g.rclosed, rlock: g.rlockdowns}
		g.dirty[g.today] = struct{}{}
	}
	g.today = d
	g.closed, g.rbase = g.days[d].spend, g.days[d].remote
	g.settling = 0 // yesterday's CDRs settling count whole in its history
	g.rclosed, g.ropen, g.rlockdowns = 0, 0, 0
	delete(g.days, d)
	g.factor, g.alerted, g.lockdowns = 1, false, 0
	if r := g.resumed; r != nil && r.day == d {
		g.factor, g.alerted, g.lockdowns = max(1, r.rec.Factor), r.rec.Alerted, r.rec.Lockdowns
	}
	g.resumed = nil
	g.dayStart = d.start(g.loc).UnixNano()
	g.dayEnd = (d + 1).start(g.loc).UnixNano()
	// The baseline leaves out days with a lockdown: a day of fraud must
	// not teach the group that such spend is normal.
	g.baseline = 0
	for past := d - Day(c.HistoryDays); past < d; past++ {
		if p := g.days[past]; !p.locked() {
			g.baseline = max(g.baseline, p.total())
		}
	}
	for past := range g.days {
		if past < d-keptDays(c) {
			delete(g.days, past)
			delete(g.dirty, past)
			g.drop = append(g.drop, past)
		}
	}
	g.dirty[d] = struct{}{}
}

// add counts a completed call's cost on the local day it ended.
func (g *group) add(end time.Time, cost Money, c *Config) {
	e := end.UnixNano()
	switch {
	case e >= g.dayStart && e < g.dayEnd:
		g.closed += cost
		g.dirty[g.today] = struct{}{}
	case e < g.dayStart:
		d := dayOf(end, g.loc)
		if d < g.today-keptDays(c) {
			return // older than anything kept (Record refuses these)
		}
		p := g.days[d]
		p.spend += cost
		g.days[d] = p
		g.dirty[d] = struct{}{}
	default:
		// The call ended after our midnight: the switch's clock has turned
		// the day before ours (Record refuses ends far in the future).
		g.rollTo(end, c)
		g.closed += cost
		g.dirty[g.today] = struct{}{}
	}
}

// evaluate compares today's spend (completed calls plus open, the calls in
// progress valued up to now, plus the other nodes' share) with the
// thresholds and returns the events it raises: an alert once per factor;
// at the lockdown threshold a lockdown, after which the factor doubles
// (until the lockdown threshold stands above the spend again, so the next
// warning means new spending).
func (g *group) evaluate(now time.Time, open Money, c *Config, locked bool) []Event {
	spend := g.closed - g.settling + open + g.rbase + g.rclosed + g.ropen
	base := c.thresholds(g.baseline)
	th := base.times(g.factor)
	g.open, g.spend, g.th, g.evaluated = open, spend, th, now
	var evs []Event
	ev := func(kind EventKind) Event {
		return Event{Time: now, Kind: kind, Group: g.id.Key(), Name: g.info.Name, Day: g.today.String(),
			Spend: spend, Baseline: g.baseline, Thresholds: th, Factor: g.factor}
	}
	if spend >= th.Alert && !g.alerted {
		g.alerted = true
		evs = append(evs, ev(EventAlert))
	}
	if spend >= th.Lockdown {
		e := ev(EventLockdown)
		e.AlreadyLocked = locked
		evs = append(evs, e)
		g.lockdowns++
		for i := 0; i < 62 && base.times(g.factor).Lockdown <= spend; i++ {
			g.factor *= 2
		}
		g.th = base.times(g.factor)
		g.alerted = spend >= g.th.Alert
	}
	if len(evs) > 0 {
		g.dirty[g.today] = struct{}{}
	}
	return evs
}

// flush returns the State writes for the days that changed since the
// last flush: this node's share of them, under its name on a node of a
// cluster (node ""), and there its share of today as the other nodes read
// it (live/).
func (g *group) flush(node string) []Op {
	var ops []Op
	for d := range g.dirty {
		rec := dayRecord{Spend: g.days[d].spend, Lockdowns: g.days[d].lockdowns}
		if d == g.today {
			rec = dayRecord{Spend: g.closed, Factor: g.factor, Alerted: g.alerted, Lockdowns: g.lockdowns}
		}
		v, _ := json.Marshal(rec)
		ops = append(ops, Op{Key: nodeDayKey(g.id, d, node), Value: v})
	}
	clear(g.dirty)
	for _, d := range g.drop {
		ops = append(ops, Op{Key: nodeDayKey(g.id, d, node), Delete: true})
		if node != "" {
			ops = append(ops, Op{Key: dayKey(g.id, d), Delete: true}) // one written before the cluster
		}
	}
	g.drop = g.drop[:0]
	if node != "" {
		ops = append(ops, g.flushLive(node)...)
	}
	return ops
}

// openValue is what a call in progress that started at start (unix ns),
// at price a minute, counted for in open at the last recompute (0 for one
// opened since), so a call closed or reopened between recomputes moves
// open by exactly that.
func (g *group) openValue(start int64, price Money) Money {
	if g.evaluated.IsZero() {
		return 0
	}
	age := g.evaluated.UnixNano() - start
	if age <= 0 {
		return 0
	}
	return price.PerMinute(ceilSeconds(age))
}
