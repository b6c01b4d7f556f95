package fraud

import (
	"fmt"
	"time"

	"callgate/e164"
)

// What a node does with CDRs and with the other nodes' journal entries
// (the CDR journal: journal.go; the design: cluster.go).

// priceOf is a destination's price a minute and whether a rate table row
// gave it.
func (m *Monitor) priceOf(n e164.Number) (Money, bool) {
	if r := m.rates.Load().Lookup(n); r != nil {
		return r.PerMinute, true
	}
	return m.cfg.UnratedPerMinute, false
}

// taken is what countHere did with a CDR.
type taken struct {
	price    Money    // a minute, as counted
	call     openCall // the call in progress it closed (matched)
	matched  bool
	rated    bool // the price is a rate table row's (or the call's)
	dup      bool // a duplicate: nothing done
	settling bool // no call here or closed anywhere: another node may be valuing it (startSettling)
}

// countHere takes a CDR given to this node (ingest held shared): a copy
// of one counted on any node within the window is a duplicate; otherwise
// it closes this node's matching call in progress (unless a node has
// already closed one for it) or is rated, and is marked and journalled as
// counted here. g is its group.
func (m *Monitor) countHere(id cdrID, g GroupID) (t taken) {
	s := m.jr.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := s.get(id)
	if mk.flags&mCountedAny != 0 {
		t.dup = true
		return t
	}
	if mk.flags&mClosure == 0 {
		t.call, t.matched = m.calls.close(id.key(), id.end())
	}
	switch {
	case t.matched:
		t.price, t.rated = t.call.price, true
		mk.closeFor(t.call)
		s.closes = appendEntry(s.closes, eClosed, id, t.call.price)
	default:
		t.price, t.rated = m.priceOf(id.called)
		t.settling = mk.flags&mClosure == 0 && m.cfg.Node != "" && t.price.PerMinute(id.seconds) > 0
	}
	mk.flags |= mCounted | mCountedAny
	mk.counted, mk.group = t.price, g
	s.put(id, mk)
	s.counts = appendEntry(s.counts, eCounted, id, t.price)
	return t
}

// takeRemote applies one entry of another node's journal (ingest held
// shared, or at load) and says whether this node's spend or calls in
// progress changed. The rules, the same on every node, so every node ends
// with the same answer: of the nodes that counted a CDR, the one whose
// name sorts first keeps its count and the others take theirs back; of
// the nodes that closed a call in progress for it, the one whose name
// sorts first keeps it closed and the others reopen theirs; a CDR counted
// with no call closed for it anywhere closes this node's matching call,
// if it has one (retried for closeGrace); a CDR counted here is settled
// once a call is closed for it. At load there are no calls.
func (m *Monitor) takeRemote(node string, e entry, loading bool) bool {
	lower := node < m.cfg.Node
	id := e.id
	s := m.jr.shard(id)
	s.mu.Lock()
	mk := s.get(id)
	mk.flags |= mCountedAny
	var retract, reopen, settle, closed, pending bool
	if e.flags == eCounted && lower && mk.flags&mCounted != 0 {
		mk.flags &^= mCounted
		retract = true
		s.back = appendEntry(s.back, eUncounted, id, mk.counted)
	}
	if e.flags == eClosed {
		mk.flags |= mClosure
		if lower && mk.flags&mClosed != 0 {
			mk.flags &^= mClosed
			reopen = true
		}
	}
	var call openCall
	if e.flags == eCounted && mk.flags&mClosure == 0 && !loading {
		if call, closed = m.calls.close(id.key(), id.end()); closed {
			mk.closeFor(call)
			s.closes = appendEntry(s.closes, eClosed, id, call.price)
		} else if mk.flags&mPending == 0 {
			mk.flags |= mPending
			pending = true
		}
	}
	if mk.flags&mSettling != 0 && (retract || mk.flags&mClosure != 0) {
		mk.flags &^= mSettling
		settle = true
	}
	s.put(id, mk)
	s.mu.Unlock()
	if pending {
		m.jr.pending = append(m.jr.pending, pendingClose{id, m.clock.Now().UnixNano()})
	}
	cost, settled := mk.counted.PerMinute(id.seconds), Money(0)
	if settle {
		settled = cost
	}
	switch {
	case retract:
		m.st.uncounted.Add(1)
		m.count(mk.group, id.end(), -cost, settled)
	case settle:
		m.count(mk.group, id.end(), 0, settled)
	}
	if reopen {
		m.st.reopened.Add(1)
		c := openCall{key: id.key(), group: mk.group, start: mk.callStart, price: mk.callPrice}
		if m.calls.reopen(c) {
			m.revalue(c, 1)
		} else {
			m.st.untracked.Add(1)
		}
	}
	if closed {
		m.st.closedRemote.Add(1)
		m.revalue(call, -1)
	}
	return retract || settle || reopen || closed
}

// closeFor marks the call in progress this node closed for a CDR.
func (mk *mark) closeFor(c openCall) {
	mk.flags |= mClosed | mClosure
	mk.flags &^= mPending
	mk.callStart, mk.callPrice, mk.group = c.start, c.price, c.group
}

// retryPending tries again the CDRs counted elsewhere with no call closed
// for them yet (readMu and ingest held) and says whether a call closed.
func (m *Monitor) retryPending(now int64) bool {
	j := &m.jr
	keep := j.pending[:0]
	changed := false
	for _, p := range j.pending {
		s := j.shard(p.id)
		s.mu.Lock()
		mk := s.get(p.id)
		if mk.flags&mPending == 0 { // closed since, or the mark expired
			s.mu.Unlock()
			continue
		}
		var call openCall
		closed := false
		if mk.flags&mClosure == 0 {
			call, closed = m.calls.close(p.id.key(), p.id.end())
		}
		switch {
		case closed:
			mk.closeFor(call)
			s.closes = appendEntry(s.closes, eClosed, p.id, call.price)
		case mk.flags&mClosure != 0 || now-p.since > m.closeGrace():
			mk.flags &^= mPending
		default:
			keep = append(keep, p)
		}
		s.put(p.id, mk)
		s.mu.Unlock()
		if closed {
			m.st.closedRemote.Add(1)
			m.revalue(call, -1)
			changed = true
		}
	}
	clear(j.pending[len(keep):])
	j.pending = keep
	return changed
}

// retrySettling tries the CDRs taken here and still settling against
// this node's calls once more (a call reopened here since), and settles
// those no node closed a call for within closeGrace (none held it:
// decided before a node restarted, or not tracked). It says whether one
// was settled.
func (m *Monitor) retrySettling(now int64) bool {
	type done struct {
		id     cdrID
		mk     mark
		call   openCall
		closed bool
	}
	changed := false
	for i := range m.jr.shards {
		s := &m.jr.shards[i]
		s.mu.Lock()
		keep := s.settling[:0]
		var settled []done
		for _, p := range s.settling {
			mk := s.get(p.id)
			if mk.flags&mSettling == 0 { // settled, or the mark expired
				continue
			}
			d := done{id: p.id}
			if mk.flags&mClosure == 0 {
				d.call, d.closed = m.calls.close(p.id.key(), p.id.end())
			}
			switch {
			case d.closed:
				mk.closeFor(d.call)
				s.closes = appendEntry(s.closes, eClosed, p.id, d.call.price)
			case now-p.since > m.closeGrace():
				m.st.unclosed.Add(1)
			default:
				keep = append(keep, p)
				continue
			}
			mk.flags &^= mSettling
			s.put(p.id, mk)
			d.mk = mk
			settled = append(settled, d)
		}
		clear(s.settling[len(keep):])
		s.settling = keep
		s.mu.Unlock()
		for _, d := range settled {
			m.count(d.mk.group, d.id.end(), 0, d.mk.counted.PerMinute(d.id.seconds))
			if d.closed {
				m.revalue(d.call, -1)
			}
			changed = true
		}
	}
	return changed
}

// startSettling marks a CDR just counted here (apply: its cost already
// in its group's settling) as settling until a call is closed for it, and
// says whether it is: not when a closure or a retraction came first (the
// caller settles it at once).
func (m *Monitor) startSettling(id cdrID) bool {
	s := m.jr.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := s.get(id)
	if mk.flags&mClosure != 0 || mk.flags&mCounted == 0 {
		return false
	}
	mk.flags |= mSettling
	s.put(id, mk)
	s.settling = append(s.settling, pendingClose{id, m.clock.Now().UnixNano()})
	return true
}

// count adds delta (negative: takes it out) to a group's spend on the
// local day end falls on, and takes settled out of its settling (a CDR
// settled, if it still counts today).
func (m *Monitor) count(id GroupID, end int64, delta, settled Money) {
	g := m.group(id)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.today == 0 {
		g.rollTo(m.clock.Now(), &m.cfg)
	}
	t := time.Unix(0, end)
	if settled != 0 && dayOf(t, g.loc) == g.today {
		g.settling = max(0, g.settling-settled)
	}
	if delta != 0 {
		g.add(t, delta, &m.cfg)
	}
}

// revalue takes a call closed since the last recompute out of its
// group's calls in progress as valued then (sign -1), or puts a reopened
// one back (+1), so the share the other nodes read is right before the
// next recompute.
func (m *Monitor) revalue(c openCall, sign Money) {
	g := m.group(c.group)
	g.mu.Lock()
	g.open = max(0, g.open+sign*g.openValue(c.start, c.price))
	g.mu.Unlock()
}

// readJournal reads the chunks other nodes stored since the last read
// and applies them, retries the pending closes and the CDRs settling,
// and queues the deletion of chunks a node gone for good left past twice
// the window. It says whether this node's spend or calls changed.
func (m *Monitor) readJournal() (bool, error) {
	j := &m.jr
	j.readMu.Lock()
	defer j.readMu.Unlock()
	type fresh struct {
		node    string
		entries []entry
	}
	var got []fresh
	var bad []error
	now := m.clock.Now().UnixNano()
	present := make(map[string]struct{}, len(j.read))
	err := m.state.Scan(journalPrefix, func(k string, v []byte) error {
		_, node, err := parseJournalKey(k)
		if err != nil {
			bad = append(bad, err)
			return nil
		}
		if node == m.cfg.Node {
			return nil
		}
		present[k] = struct{}{}
		if _, done := j.read[k]; done {
			return nil
		}
		_, written, es, err := decodeChunk(v)
		if err != nil {
			bad = append(bad, fmt.Errorf("key %q: %w", k, err))
			written = now
		}
		j.read[k] = written
		got = append(got, fresh{node, es})
		return nil
	})
	var gone []Op
	for k, w := range j.read {
		switch {
		case err != nil:
		case !hasKey(present, k):
			delete(j.read, k)
		case now-w > 2*int64(m.cfg.DedupWindow):
			gone = append(gone, Op{Key: k, Delete: true})
		}
	}
	if len(gone) > 0 {
		m.pmu.Lock()
		for _, op := range gone {
			m.pending[op.Key] = op
		}
		m.pmu.Unlock()
	}
	m.ingest.RLock()
	changed := false
	for _, f := range got {
		for _, e := range f.entries {
			changed = m.takeRemote(f.node, e, false) || changed
		}
	}
	changed = m.retryPending(now) || changed
	changed = m.retrySettling(now) || changed
	m.ingest.RUnlock()
	m.unreadable(&m.st.badJournal, "fraud: unreadable CDR journal chunks in the store skipped (written by another version, or damaged): their CDRs may count twice until they expire", bad)
	return changed, err
}

func hasKey(m map[string]struct{}, k string) bool {
	_, ok := m[k]
	return ok
}

// loadJournal reads the journal at start: this node's own chunks give
// back its marks (a CDR it counted before the restart is still a
// duplicate) and its chunk numbering, the others' their marks; a CDR
// counted here and by a node whose name sorts first, not taken back
// before the restart, is taken back now. Nothing is settling after a
// restart: the day records hold every CDR counted.
func (m *Monitor) loadJournal() error {
	j := &m.jr
	type chunk struct {
		node    string
		kind    byte
		entries []entry
	}
	var own, others []chunk
	now := m.clock.Now().UnixNano()
	err := m.state.Scan(journalPrefix, func(k string, v []byte) error {
		seq, node, err := parseJournalKey(k)
		if err != nil {
			m.log.Warn("fraud: a key that is not a CDR journal chunk under cdr/ in the store; ignored", "error", err)
			return nil
		}
		kind, written, es, err := decodeChunk(v)
		if err != nil {
			m.log.Warn("fraud: unreadable CDR journal chunk skipped; its CDRs may count twice if sent again", "key", k, "error", err)
			written = now
		}
		if node == m.cfg.Node {
			j.own[k] = written
			j.seq = max(j.seq, seq)
			own = append(own, chunk{node, kind, es})
		} else {
			j.read[k] = written
			others = append(others, chunk{node, kind, es})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// This node's entries as sets: a CDR it counted, less those it took
	// back (a retraction may be stored in an earlier chunk than its count:
	// retractions go first in a checkpoint).
	back := map[cdrID]struct{}{}
	for _, c := range own {
		if c.kind == chunkRetract {
			for _, e := range c.entries {
				back[e.id] = struct{}{}
			}
		}
	}
	for _, c := range own {
		for _, e := range c.entries {
			s := j.shard(e.id)
			mk := s.get(e.id)
			mk.flags |= mCountedAny
			switch c.kind {
			case chunkClosed:
				mk.flags |= mClosure
			case chunkJournal:
				if _, taken := back[e.id]; !taken {
					if g, ok := groupOf(m.dir, e.id.calling); ok {
						mk.flags |= mCounted
						mk.counted, mk.group = e.price, g
					}
				}
			}
			s.put(e.id, mk)
		}
	}
	for _, c := range others {
		if c.kind == chunkRetract {
			continue
		}
		for _, e := range c.entries {
			m.takeRemote(c.node, e, true)
		}
	}
	return nil
}
