package fraud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// Monitor watches every group's outbound spend and locks groups down. It
// is safe for concurrent use: the decision hook (Wrap) and the CDR feeds
// call it from many goroutines, Run recomputes in the background.
type Monitor struct {
	cfg    Config
	dir    Directory
	state  State
	clock  Clock
	log    *slog.Logger
	notify Notifier

	rates   atomic.Pointer[RateTable]
	ratesMu sync.Mutex // one import at a time

	calls openCalls
	jr    journal // every CDR of the window, and what was done with it (journal.go)

	// ingest: applying a record holds it shared; a checkpoint holds it
	// alone, so the totals and the file offsets it writes are one cut.
	ingest sync.RWMutex

	gmu    sync.RWMutex
	groups map[GroupID]*group

	locked atomic.Pointer[map[GroupID]struct{}] // read on the call path
	lmu    sync.Mutex                           // lock changes
	locks  map[GroupID]Lock
	// storedLocks is lock/ as the last sync read it (syncLocks applies what
	// changed since); syncMu runs one sync at a time.
	storedLocks map[GroupID]Lock
	syncMu      sync.Mutex

	amu sync.Mutex // audit numbering
	seq uint64

	omu     sync.Mutex
	offsets map[string]fileOffset // CDR files read so far
	odirty  bool

	pmu     sync.Mutex
	pending map[string]Op // writes that failed, retried at each checkpoint

	recomputeMu sync.Mutex
	cpMu        sync.Mutex                 // one checkpoint at a time: written in the order they were cut
	top         atomic.Pointer[[]topGroup] // for /metrics
	warns       sync.Map                   // message -> *policy.LogLimiter
	st          counters
}

// Notifier is told about every event (the webhook). Notify must not block.
type Notifier interface {
	Notify(Event)
}

// Option configures a Monitor.
type Option func(*Monitor)

// WithClock sets the clock (default the wall clock).
func WithClock(c Clock) Option { return func(m *Monitor) { m.clock = c } }

// WithLogger sets the log (default none).
func WithLogger(l *slog.Logger) Option { return func(m *Monitor) { m.log = l } }

// WithNotifier sets who hears about events besides the log and the audit
// records (the webhook).
func WithNotifier(n Notifier) Option { return func(m *Monitor) { m.notify = n } }

// New builds a monitor over dir (whose lines are whose) and state (what
// it keeps), and loads the rate table, the locks, the audit numbering and
// every group's recent days from state. It starts nothing: call Run for
// the recompute loop.
func New(cfg Config, dir Directory, state State, opts ...Option) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fraud: %w", err)
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = time.Second
	}
	if cfg.DedupWindow == 0 {
		cfg.DedupWindow = 15 * time.Minute
	}
	if dir == nil || state == nil {
		return nil, errors.New("fraud: a directory and a state are required")
	}
	m := &Monitor{
		cfg: cfg, dir: dir, state: state, clock: SystemClock{},
		log:     slog.New(slog.DiscardHandler),
		groups:  map[GroupID]*group{},
		locks:   map[GroupID]Lock{},
		offsets: map[string]fileOffset{},
		pending: map[string]Op{},
	}
	for _, o := range opts {
		o(m)
	}
	m.calls.init(cfg.MaxOpenCalls)
	m.jr.init(m.clock.Now())
	empty := map[GroupID]struct{}{}
	m.locked.Store(&empty)
	if err := m.load(); err != nil {
		return nil, fmt.Errorf("fraud: load state: %w", err)
	}
	return m, nil
}

// Config returns the monitor's configuration.
func (m *Monitor) Config() Config { return m.cfg }

// load reads everything the monitor keeps in state.
func (m *Monitor) load() error {
	if err := m.loadRates(); err != nil {
		return err
	}
	if v, ok, err := m.state.Get(m.auditSeqKey()); err != nil {
		return err
	} else if ok {
		if err := json.Unmarshal(v, &m.seq); err != nil {
			return fmt.Errorf("%s: %w", m.auditSeqKey(), err)
		}
	}
	// Records written concurrently may store the counter out of order:
	// step past any record above it.
	for {
		_, ok, err := m.state.Get(m.auditKey(m.seq + 1))
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		m.seq++
	}
	if err := m.loadLocks(); err != nil {
		return err
	}
	now := m.clock.Now()
	err := m.state.Scan("day/", func(k string, v []byte) error {
		id, d, node, err := parseDayKey(k)
		if err != nil {
			return err
		}
		var rec dayRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		g := m.group(id)
		g.mu.Lock()
		defer g.mu.Unlock()
		today := d == dayOf(now, g.loc)
		p := g.days[d]
		switch {
		case node == m.cfg.Node: // ours: written back as it changes
			p.spend, p.lockdowns = p.spend+rec.Spend, p.lockdowns+rec.Lockdowns
			if today {
				g.resumed = &resumeDay{day: d, rec: rec}
			}
		case today && node != "" && m.cfg.Node != "":
			return nil // another node's share of today: its live record is newer
		default: // another node's, or written before this node joined a cluster
			p.remote, p.rlock = p.remote+rec.Spend, p.rlock+rec.Lockdowns
		}
		g.days[d] = p
		return nil
	})
	if err != nil {
		return err
	}
	m.gmu.RLock()
	defer m.gmu.RUnlock()
	for _, g := range m.groups {
		g.mu.Lock()
		g.rollTo(now, &m.cfg)
		clear(g.dirty)
		g.mu.Unlock()
	}
	if err := m.loadJournal(); err != nil {
		return err
	}
	return m.loadOffsets()
}

// group returns the state of group id, creating it (names looked up in the
// directory: off the call path) when it is new.
func (m *Monitor) group(id GroupID) *group {
	m.gmu.RLock()
	g := m.groups[id]
	m.gmu.RUnlock()
	if g != nil {
		return g
	}
	info := describe(m.dir, id)
	m.gmu.Lock()
	defer m.gmu.Unlock()
	if g = m.groups[id]; g == nil {
		g = newGroup(id, info, m.cfg.zoneOf(info))
		m.groups[id] = g
	}
	return g
}

// GroupOf returns the group a calling line belongs to.
func (m *Monitor) GroupOf(line e164.Number) (GroupID, bool) { return groupOf(m.dir, line) }

// ResolveGroup reads an operator's name for a group: subscriber:NAME,
// enterprise:NAME, a subscriber or enterprise name, or a line's number.
func (m *Monitor) ResolveGroup(ref string) (GroupID, error) { return resolveGroup(m.dir, ref) }

// Started opens a call in progress: line placed a call to dialled that the
// engine let through, now. The decision hook calls it; it does not
// allocate in steady state.
func (m *Monitor) Started(g GroupID, line, dialled e164.Number) {
	price := m.cfg.UnratedPerMinute
	if r := m.rates.Load().Lookup(dialled); r != nil {
		price = r.PerMinute
	} else {
		m.unrated(dialled)
	}
	if m.calls.open(callKey{line, dialled}, g, m.clock.Now().UnixNano(), price) {
		m.st.started.Add(1)
	} else {
		m.st.untracked.Add(1)
		m.warnf("fraud: too many calls in progress: a call is not valued until its CDR", "max_open_calls", m.cfg.MaxOpenCalls)
	}
}

// unrated counts and warns about a destination no rate table row matches.
func (m *Monitor) unrated(n e164.Number) {
	m.st.unrated.Add(1)
	m.warnf("fraud: no rate table row matches a destination; the call is priced at unrated_price_per_minute (import a table with a row for it: callgate fraud rates import)",
		"called", n.String(), "unrated_price_per_minute", m.cfg.UnratedPerMinute.String(), "rates_version", m.rates.Load().version())
}

// futureSkew is how far past our clock a CDR's end may lie (a switch
// clock ahead of ours).
const futureSkew = time.Hour

// Record applies one CDR: a call that ended. It closes the matching call
// in progress (priced when it started) or, with none, rates the CDR at
// the rate table in force, and adds the cost to its group's spend on the
// local day the call ended. A CDR from a line in no group is counted and
// dropped; a bad CDR is an error naming what is wrong, and nothing of it
// is applied.
func (m *Monitor) Record(c CDR) error {
	if err := m.check(c); err != nil {
		m.st.invalid.Add(1)
		return err
	}
	m.ingest.RLock()
	defer m.ingest.RUnlock()
	m.apply(&c)
	return nil
}

// check validates a CDR against the clock. It takes the CDR by value so
// that its callers' copy stays on the stack (the error path formats it).
func (m *Monitor) check(c CDR) error {
	if err := c.validate(); err != nil {
		return err
	}
	now := m.clock.Now()
	end := c.End()
	if end.After(now.Add(futureSkew)) {
		return fmt.Errorf("CDR %s: ends at %s, more than %s after this server's clock (%s): check the switch's clock", c.String(), end.UTC().Format(time.RFC3339), futureSkew, now.UTC().Format(time.RFC3339))
	}
	if oldest := now.Add(-time.Duration(keptDays(&m.cfg)+1) * 24 * time.Hour); end.Before(oldest) {
		return fmt.Errorf("CDR %s: ended %s, before the %d days of history kept", c.String(), end.UTC().Format(time.RFC3339), keptDays(&m.cfg))
	}
	return nil
}

// apply adds a checked CDR (ingest held shared): a duplicate of one
// counted within the window, here or on another node, changes nothing.
func (m *Monitor) apply(c *CDR) {
	id, ok := groupOf(m.dir, c.Calling)
	if !ok {
		m.st.unattributed.Add(1)
		return
	}
	cid := idOf(c)
	t := m.countHere(cid, id)
	switch {
	case t.dup:
		m.st.duplicates.Add(1)
		return
	case t.matched:
		m.st.matched.Add(1)
	default:
		m.st.unmatched.Add(1)
		if !t.rated {
			m.unrated(c.Called)
		}
	}
	cost := t.price.PerMinute(c.Seconds)
	end := c.End()
	g := m.group(id)
	g.mu.Lock()
	if g.today == 0 {
		g.rollTo(m.clock.Now(), &m.cfg)
	}
	g.add(end, cost, &m.cfg)
	settling := t.settling && dayOf(end, g.loc) == g.today
	if settling {
		g.settling += cost
	}
	if t.matched && t.call.group == id {
		g.open = max(0, g.open-g.openValue(t.call.start, t.call.price))
	}
	g.mu.Unlock()
	if t.matched && t.call.group != id {
		m.revalue(t.call, -1)
	}
	if settling && !m.startSettling(cid) {
		m.count(id, cid.end(), 0, cost)
	}
}

// Recompute values the calls in progress, rolls every group whose local
// midnight has passed, compares each group's spend with its thresholds,
// acts on what it finds (alerts, lockdowns) and writes a checkpoint of
// the day totals. Run calls it every Config.Interval; tests call it after
// moving their clock.
func (m *Monitor) Recompute() error {
	m.recomputeMu.Lock()
	defer m.recomputeMu.Unlock()
	start := time.Now()
	var shares map[GroupID]*remoteShare
	if m.cfg.Node != "" {
		if err := m.syncLocks(); err != nil {
			m.warnf("fraud: cannot read the locks other nodes set; retried at the next sync", "error", err)
		}
		var err error
		// The journal before the shares: a node's share reflects a call it
		// closed before its closure is stored (checkpointRank).
		if _, err := m.readJournal(); err != nil {
			m.warnf("fraud: cannot read the CDRs other nodes took; retried at the next sync", "error", err)
		}
		if shares, err = m.readShares(); err != nil {
			m.warnf("fraud: cannot read the other nodes' spend; this recompute counts this node's alone", "error", err)
		}
		for id := range shares {
			m.group(id) // spent on other nodes only
		}
	}
	now := m.clock.Now()
	open := map[GroupID]Money{}
	nOpen, expired := m.calls.value(now.UnixNano(), int64(m.cfg.MaxCallDuration), func(g GroupID, v Money) { open[g] += v })
	m.st.expired.Add(uint64(expired))
	m.st.open.Store(int64(nOpen))
	if expired > 0 {
		m.warnf("fraud: calls in progress dropped without a CDR after max_call_duration (does the CDR feed report unanswered attempts, with duration 0?)",
			"dropped", expired, "max_call_duration", m.cfg.MaxCallDuration.String())
	}
	for id := range open {
		m.group(id)
	}
	m.gmu.RLock()
	groups := make([]*group, 0, len(m.groups))
	for _, g := range m.groups {
		groups = append(groups, g)
	}
	m.gmu.RUnlock()
	sort.Slice(groups, func(i, j int) bool { return groups[i].id < groups[j].id })
	var events []Event
	for _, g := range groups {
		locked := m.IsLocked(g.id)
		g.mu.Lock()
		// Past the group's midnight, the other nodes' last share of the
		// day ending joins its history (rollTo); then their share of the
		// day the group is in.
		switch {
		case g.today == 0: // known from the other nodes' shares only
			g.rollTo(now, &m.cfg)
		case dayOf(now, g.loc) > g.today:
			g.applyShare(shares[g.id], true)
			g.rollTo(now, &m.cfg)
		}
		g.applyShare(shares[g.id], false)
		events = append(events, g.evaluate(now, open[g.id], &m.cfg, locked)...)
		g.mu.Unlock()
	}
	for i := range events {
		m.act(&events[i])
	}
	m.publishTop(groups)
	err := m.checkpoint()
	m.st.recomputes.Add(1)
	m.st.lastRecompute.Store(time.Since(start).Nanoseconds())
	return err
}

// act carries out an event: a lockdown locks the group; every event is
// recorded in the audit log, logged, counted and notified.
func (m *Monitor) act(e *Event) {
	ops := m.record(e)
	id, _ := parseGroupKey(e.Group)
	if e.Kind == EventLockdown && !e.AlreadyLocked {
		ops = append(ops, m.lock(id, e)...)
	}
	e.by, e.provider = monitorActor, describe(m.dir, id).Provider
	if err := m.writeEvent(ops, e); err != nil {
		// Kept and retried with the next checkpoint like the rest of
		// the state; the event is in the monitor's own audit then, not
		// in the platform's.
		m.log.Warn("fraud: event not stored with the platform's audit record; retried without it", "group", e.Name, "kind", e.Kind, "error", err)
		m.write(ops)
	} else {
		m.noteStored(ops)
	}
	m.announce(e)
}

// writeEvent stores ops with e's record in the platform's audit log when
// the state keeps one (Audited), in one write.
func (m *Monitor) writeEvent(ops []Op, e *Event) error {
	if a, ok := m.state.(Audited); ok {
		return a.WriteEvent(ops, e)
	}
	return m.state.Write(ops)
}

// announce logs, counts and notifies an event that has been recorded.
func (m *Monitor) announce(e *Event) {
	m.st.event(e.Kind)
	attrs := []any{"group", e.Name, "key", e.Group, "day", e.Day, "spend", e.Spend.String(),
		"alert", e.Thresholds.Alert.String(), "lockdown", e.Thresholds.Lockdown.String(),
		"baseline", e.Baseline.String(), "factor", e.Factor, "currency", m.cfg.Currency, "audit", e.Seq}
	switch e.Kind {
	case EventAlert:
		m.log.Warn("fraud alert: a group's outbound spend reached its alert threshold", attrs...)
	case EventLockdown:
		if e.AlreadyLocked {
			m.log.Error("fraud lockdown threshold reached again: the group stays locked, thresholds doubled", attrs...)
		} else {
			m.log.Error("fraud lockdown: international and premium calls of the group are refused until an operator unlocks it", attrs...)
		}
	case EventUnlock:
		m.log.Warn("fraud unlock: an operator restored the group's outgoing calls", "group", e.Name, "key", e.Group,
			"by", e.Actor, "reason", e.Reason, "audit", e.Seq)
	case EventRates:
		m.log.Info("fraud rate table imported", "by", e.Actor, "detail", e.Detail, "audit", e.Seq)
	}
	if m.notify != nil {
		m.notify.Notify(*e)
	}
}

// write stores ops now or, if the state refuses, keeps them for the next
// checkpoint (a lock is in force in memory either way: a failing store
// never lifts one).
func (m *Monitor) write(ops []Op) {
	if len(ops) == 0 {
		return
	}
	if err := m.state.Write(ops); err != nil {
		m.st.writeErrors.Add(1)
		m.log.Error("fraud: cannot store the state; kept in memory and retried at the next recompute", "error", err, "keys", len(ops))
		m.pmu.Lock()
		for _, op := range ops {
			m.pending[op.Key] = op
		}
		m.pmu.Unlock()
		return
	}
	m.noteStored(ops)
}

// checkpoint writes every group's changed days, the CDR journal's new
// entries, the CDR files' offsets and any writes that failed before, in
// one transaction when the store takes it.
func (m *Monitor) checkpoint() error {
	m.cpMu.Lock()
	defer m.cpMu.Unlock()
	m.ingest.Lock()
	m.pmu.Lock()
	ops := m.pending
	m.pending = map[string]Op{}
	m.pmu.Unlock()
	m.gmu.RLock()
	for _, g := range m.groups {
		g.mu.Lock()
		for _, op := range g.flush(m.cfg.Node) {
			ops[op.Key] = op
		}
		g.mu.Unlock()
	}
	m.gmu.RUnlock()
	for _, op := range m.journalOps(m.clock.Now()) {
		ops[op.Key] = op
	}
	for _, op := range m.offsetOps() {
		ops[op.Key] = op
	}
	m.ingest.Unlock()
	if len(ops) == 0 {
		return nil
	}
	list := make([]Op, 0, len(ops))
	for _, op := range ops {
		list = append(list, op)
	}
	// In the order checkpointRank gives: a checkpoint split over several
	// writes (a store that takes only so much at once) that stops half way
	// counts a CDR twice rather than never (the CDR files' offsets last:
	// the files are read again from where the totals stored stop).
	sort.Slice(list, func(i, j int) bool {
		ri, rj := checkpointRank(list[i]), checkpointRank(list[j])
		if ri != rj {
			return ri < rj
		}
		return list[i].Key < list[j].Key
	})
	for done, batch := range m.batches(list) {
		err := m.state.Write(batch)
		if err == nil {
			m.noteStored(batch)
		} else {
			m.st.writeErrors.Add(1)
			m.pmu.Lock()
			for _, op := range list[done:] {
				if _, newer := m.pending[op.Key]; !newer {
					m.pending[op.Key] = op
				}
			}
			m.pmu.Unlock()
			m.log.Error("fraud: checkpoint not stored; retried at the next recompute", "error", err, "keys", len(list)-done)
			return fmt.Errorf("fraud: checkpoint: %w", err)
		}
	}
	return nil
}

// noteStored notes the locks and unlocks among ops, just written, as what
// the State holds (syncLocks then sees what others changed since, not
// ours).
func (m *Monitor) noteStored(ops []Op) {
	// Under syncMu: a sync that read lock/ before these ops were stored
	// applies what it read before they are noted.
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	for _, op := range ops {
		k, ok := strings.CutPrefix(op.Key, lockPrefix)
		if !ok {
			continue
		}
		id, err := parseGroupKey(k)
		if err != nil {
			continue
		}
		var l Lock
		if !op.Delete && json.Unmarshal(op.Value, &l) != nil {
			continue
		}
		m.lmu.Lock()
		if op.Delete {
			delete(m.storedLocks, id)
		} else {
			m.storedLocks[id] = l
		}
		m.lmu.Unlock()
	}
}

// batches splits ops into writes the State takes (all of them in one when
// it has no limits), each yielded with the index of its first op.
func (m *Monitor) batches(ops []Op) iter.Seq2[int, []Op] {
	return func(yield func(int, []Op) bool) {
		l, ok := m.state.(Limited)
		if !ok {
			yield(0, ops)
			return
		}
		maxOps, maxBytes := l.WriteLimits()
		start, size := 0, 0
		for i, op := range ops {
			n := len(op.Key) + len(op.Value) + 16
			if i > start && (i-start >= maxOps || size+n > maxBytes) {
				if !yield(start, ops[start:i]) {
					return
				}
				start, size = i, 0
			}
			size += n
		}
		if start < len(ops) {
			yield(start, ops[start:])
		}
	}
}

// Run recomputes every Config.Interval and reads back what other nodes
// changed (Sync) every Config.SyncInterval until ctx ends, then writes a
// last checkpoint.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	sync := time.NewTicker(m.cfg.SyncInterval)
	defer sync.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = m.checkpoint()
			return
		case <-t.C:
			_ = m.Recompute()
		case <-sync.C:
			if err := m.Sync(); err != nil {
				m.warnf("fraud: cannot read back the shared state (locks, rate table); retried at the next sync", "error", err)
			}
		}
	}
}

// Flush writes a checkpoint now (after a CDR batch, so an acknowledged
// batch survives a crash).
func (m *Monitor) Flush() error { return m.checkpoint() }

// warnf logs a warning at most once a minute per message.
func (m *Monitor) warnf(msg string, attrs ...any) {
	l, ok := m.warns.Load(msg)
	if !ok {
		l, _ = m.warns.LoadOrStore(msg, new(policy.LogLimiter))
	}
	if ok, n := l.(*policy.LogLimiter).Allow(time.Now(), time.Minute); ok {
		m.log.Warn(msg, append(attrs, "suppressed_since_last", n)...)
	}
}
