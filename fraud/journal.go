package fraud

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"callgate/e164"
)

// The CDR journal: what makes a CDR count once, whichever node it lands
// on and however many times it is sent (cluster.go has the design). Each
// node remembers every CDR of the last Config.DedupWindow (its marks) and
// publishes what it did with each (its entries) in State, where the other
// nodes read them at their next sync.

// cdrID is a CDR's identity: all four of its fields (the CDR form has no
// record number of its own).
type cdrID struct {
	calling, called e164.Number
	start           int64 // unix ns
	seconds         int64
}

func idOf(c *CDR) cdrID { return cdrID{c.Calling, c.Called, c.Start.UnixNano(), c.Seconds} }

// sum is the key of id's mark: its four fields mixed into 64 bits with
// the monitor's random seed (a small key: the marks are many, and looking
// one up is most of what a new CDR costs). Two CDRs of a window taken for
// one by sharing a sum: odds of about one in 10^13 for a million CDRs.
func (id cdrID) sum(seed uint64) uint64 {
	h := fmix64(seed ^ uint64(id.calling))
	h = fmix64(h ^ uint64(id.called))
	h = fmix64(h ^ uint64(id.start))
	return fmix64(h ^ uint64(id.seconds))
}

// fmix64 is MurmurHash3's finalizer: every input bit moves every output
// bit.
func fmix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return x ^ x>>33
}

func (id cdrID) key() callKey { return callKey{id.calling, id.called} }

// end is when the call ended, unix ns.
func (id cdrID) end() int64 { return id.start + id.seconds*int64(time.Second) }

// markFlags say what is known of one CDR.
type markFlags uint8

const (
	mCounted    markFlags = 1 << iota // this node counted its cost (and has not taken it back)
	mClosed                           // this node closed a call in progress for it (and has not reopened it)
	mCountedAny                       // some node counted it: a copy arriving now is a duplicate
	mClosure                          // some node closed a call in progress for it: no other node closes one
	mPending                          // counted elsewhere, no closure known: retried at each sync (pending)
	mSettling                         // counted here with no call here, no closure known: out of the evaluation (settling)
)

// mark is what this node knows of one CDR of the window.
type mark struct {
	counted   Money   // a minute: the price this node counted it at
	callStart int64   // the call in progress this node closed for it
	callPrice Money   // (to reopen it)
	group     GroupID // whose spend or call it was
	epoch     uint32  // the generation it was first seen in
	flags     markFlags
}

const markShards = 16

// markShard holds the marks of the CDRs whose (calling, called) falls on
// it, of this generation and the one before (each Config.DedupWindow
// long, so a mark lives one to two windows: one map, so that a new CDR
// costs one look-up), and the entries this node has yet to publish.
type markShard struct {
	mu       sync.Mutex
	marks    map[uint64]mark // by cdrID.sum
	seed     uint64
	epoch    uint32
	counts   []byte // entries to publish: CDRs counted here ('J')
	closes   []byte // calls closed here ('C')
	back     []byte // counts taken back ('R')
	settling []pendingClose
	_        [40]byte
}

// get returns id's mark (a new one of this generation if it has none).
func (s *markShard) get(id cdrID) mark {
	if mk, ok := s.marks[id.sum(s.seed)]; ok {
		return mk
	}
	return mark{epoch: s.epoch}
}

func (s *markShard) put(id cdrID, mk mark) { s.marks[id.sum(s.seed)] = mk }

// rotate starts a new generation, forgetting the marks of the one before
// the last but those still pending or settling (a minute or so: they go
// at a later rotation).
func (s *markShard) rotate() {
	s.epoch++
	for id, mk := range s.marks {
		if s.epoch-mk.epoch >= 2 && mk.flags&(mPending|mSettling) == 0 {
			delete(s.marks, id)
		}
	}
}

// journal is a monitor's marks and its side of the journal in State.
type journal struct {
	shards [markShards]markShard

	// Publishing (checkpoints, under ingest held alone): the generation's
	// start, this node's last chunk number and its chunks in State
	// (key -> when written, unix ns).
	pubMu   sync.Mutex
	rotated int64
	seq     uint64
	own     map[string]int64

	// Reading (syncs): the other nodes' chunks read (key -> when
	// written), and the CDRs counted elsewhere whose call in progress
	// was found on no node yet.
	readMu  sync.Mutex
	read    map[string]int64
	pending []pendingClose
}

type pendingClose struct {
	id    cdrID
	since int64 // when first tried, unix ns (this node's clock)
}

// closeGrace is how long a CDR with no call in progress closed for it
// anywhere waits for one: a CDR counted on another node is retried
// against this node's calls (a call reopened here, a switch clock ahead
// of this node's), one counted here is settling. A minute, or four sync
// intervals if longer: the time for the deciding node to read the CDR
// and for its closure to come back.
func (m *Monitor) closeGrace() int64 {
	return int64(max(time.Minute, 4*m.cfg.SyncInterval))
}

func (j *journal) init(now time.Time) {
	seed := rand.Uint64()
	for i := range j.shards {
		s := &j.shards[i]
		s.marks, s.seed = make(map[uint64]mark, 256), seed
	}
	j.rotated = now.UnixNano()
	j.own, j.read = map[string]int64{}, map[string]int64{}
}

func (j *journal) shard(id cdrID) *markShard { return &j.shards[id.key().shard()] }

// unpublished says whether entries wait for a checkpoint.
func (j *journal) unpublished() bool {
	for i := range j.shards {
		s := &j.shards[i]
		s.mu.Lock()
		n := len(s.counts) + len(s.closes) + len(s.back)
		s.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// The journal in State: chunks under cdr/SEQ (a monitor alone) or
// cdr/SEQ/NODE, SEQ 16 digits counting each node's chunks. A chunk is
//
//	kind      1 byte: 'J' CDRs counted (stored after the totals and
//	          before the share they are counted in), 'C' calls closed
//	          (after the share they are taken out of), 'R' counts taken
//	          back (before the totals they are taken out of)
//	written   8 bytes: when, unix ns of the writer's clock
//	entries   37 bytes each: flags (1: the kind's), calling (8), called
//	          (8), start (unix ns, 8), duration in seconds (4), price a
//	          minute (8)
//
// every integer big-endian.
const (
	journalPrefix   = "cdr/"
	chunkJournal    = 'J'
	chunkClosed     = 'C'
	chunkRetract    = 'R'
	chunkHeader     = 9
	entrySize       = 37
	entriesPerChunk = 1024 // 37 kB: far inside a transaction's limit
)

// entryFlags say what the writing node did with a CDR.
type entryFlags uint8

const (
	eCounted   entryFlags = 1 << iota // it counted the CDR's cost in its share ('J')
	eClosed                           // it closed a call in progress for it ('C')
	eUncounted                        // it took its count back ('R')
)

// chunkKinds maps each kind of chunk to the flag of its entries.
var chunkKinds = map[byte]entryFlags{chunkJournal: eCounted, chunkClosed: eClosed, chunkRetract: eUncounted}

type entry struct {
	flags entryFlags
	id    cdrID
	price Money
}

func appendEntry(b []byte, f entryFlags, id cdrID, price Money) []byte {
	b = append(b, byte(f))
	b = binary.BigEndian.AppendUint64(b, uint64(id.calling))
	b = binary.BigEndian.AppendUint64(b, uint64(id.called))
	b = binary.BigEndian.AppendUint64(b, uint64(id.start))
	b = binary.BigEndian.AppendUint32(b, uint32(id.seconds))
	return binary.BigEndian.AppendUint64(b, uint64(price))
}

func journalKey(seq uint64, node string) string {
	k := fmt.Sprintf("%s%016d", journalPrefix, seq)
	if node != "" {
		k += "/" + node
	}
	return k
}

// parseJournalKey reads cdr/SEQ or cdr/SEQ/NODE.
func parseJournalKey(k string) (uint64, string, error) {
	rest, ok := strings.CutPrefix(k, journalPrefix)
	if !ok {
		return 0, "", fmt.Errorf("key %q: not a CDR journal chunk", k)
	}
	s, node, _ := strings.Cut(rest, "/")
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || len(s) != 16 || (node == "" && strings.HasSuffix(rest, "/")) || strings.Contains(node, "/") {
		return 0, "", fmt.Errorf("key %q: want cdr/SEQ or cdr/SEQ/NODE (SEQ 16 digits)", k)
	}
	return seq, node, nil
}

// decodeChunk reads a chunk's value.
func decodeChunk(v []byte) (kind byte, written int64, es []entry, err error) {
	if len(v) < chunkHeader || chunkKinds[v[0]] == 0 {
		return 0, 0, nil, errors.New("CDR journal chunk: no header (want 'J', 'C' or 'R' and the time written)")
	}
	if (len(v)-chunkHeader)%entrySize != 0 {
		return 0, 0, nil, fmt.Errorf("CDR journal chunk: %d bytes of entries, not a whole number of %d-byte entries", len(v)-chunkHeader, entrySize)
	}
	kind, written = v[0], int64(binary.BigEndian.Uint64(v[1:9]))
	want := chunkKinds[kind]
	es = make([]entry, 0, (len(v)-chunkHeader)/entrySize)
	for b := v[chunkHeader:]; len(b) > 0; b = b[entrySize:] {
		e := entry{flags: entryFlags(b[0]),
			id: cdrID{e164.Number(binary.BigEndian.Uint64(b[1:])), e164.Number(binary.BigEndian.Uint64(b[9:])),
				int64(binary.BigEndian.Uint64(b[17:])), int64(binary.BigEndian.Uint32(b[25:]))},
			price: Money(binary.BigEndian.Uint64(b[29:]))}
		switch {
		case e.flags != want:
			return 0, 0, nil, fmt.Errorf("CDR journal chunk: entry %d: flags %#x in a %q chunk", len(es)+1, e.flags, kind)
		case e.id.calling == 0 || e.id.called == 0 || e.id.seconds > maxCallSeconds || e.price < 0:
			return 0, 0, nil, fmt.Errorf("CDR journal chunk: entry %d: not a CDR (%s -> %s, %ds, %s a minute)", len(es)+1, e.id.calling, e.id.called, e.id.seconds, e.price)
		}
		es = append(es, e)
	}
	return kind, written, es, nil
}

// chunker cuts the entries of one kind into chunks, numbered on from
// j.seq (pubMu held), copying each entry once.
type chunker struct {
	j    *journal
	kind byte
	now  int64
	node string
	left int // bytes of entries still to come
	cur  []byte
	ops  []Op
}

func (c *chunker) add(b []byte) {
	for len(b) > 0 {
		if c.cur == nil {
			n := min(c.left, entriesPerChunk*entrySize)
			c.cur = make([]byte, chunkHeader, chunkHeader+n)
			c.cur[0] = c.kind
			binary.BigEndian.PutUint64(c.cur[1:], uint64(c.now))
		}
		n := min(len(b), cap(c.cur)-len(c.cur))
		c.cur = append(c.cur, b[:n]...)
		b, c.left = b[n:], c.left-n
		if len(c.cur) == cap(c.cur) {
			c.j.seq++
			k := journalKey(c.j.seq, c.node)
			c.j.own[k] = c.now
			c.ops = append(c.ops, Op{Key: k, Value: c.cur})
			c.cur = nil
		}
	}
}

// journalBuffers are a shard's entries to publish, by kind of chunk, in
// the order a checkpoint writes them.
var journalBuffers = []struct {
	kind byte
	buf  func(*markShard) *[]byte
}{
	{chunkRetract, func(s *markShard) *[]byte { return &s.back }},
	{chunkJournal, func(s *markShard) *[]byte { return &s.counts }},
	{chunkClosed, func(s *markShard) *[]byte { return &s.closes }},
}

// journalOps returns the checkpoint's journal writes (ingest held alone,
// so they are one cut with the totals, and no CDR is being applied): the
// entries made since the last one, and the deletion of this node's chunks
// past the window. It starts a new generation of marks every window.
func (m *Monitor) journalOps(now time.Time) []Op {
	j := &m.jr
	j.pubMu.Lock()
	defer j.pubMu.Unlock()
	t := now.UnixNano()
	window := int64(m.cfg.DedupWindow)
	var ops []Op
	for _, k := range journalBuffers {
		c := chunker{j: j, kind: k.kind, now: t, node: m.cfg.Node}
		for i := range j.shards {
			s := &j.shards[i]
			s.mu.Lock()
			c.left += len(*k.buf(s))
			s.mu.Unlock()
		}
		for i := range j.shards {
			s := &j.shards[i]
			s.mu.Lock()
			b := k.buf(s)
			c.add(*b)
			*b = trimmed(*b)
			s.mu.Unlock()
		}
		ops = append(ops, c.ops...)
	}
	if t-j.rotated >= window {
		j.rotated = t
		for i := range j.shards {
			s := &j.shards[i]
			s.mu.Lock()
			s.rotate()
			s.mu.Unlock()
		}
	}
	for k, w := range j.own {
		if t-w > window {
			ops = append(ops, Op{Key: k, Delete: true})
			delete(j.own, k)
		}
	}
	return ops
}

// trimmed empties a buffer for reuse, letting go of one a burst made
// large.
func trimmed(b []byte) []byte {
	if cap(b) > 64*entriesPerChunk*entrySize {
		return nil
	}
	return b[:0]
}

// checkpointRank orders a checkpoint's writes, so that one that stops
// half way (split over several transactions), or is read half way by
// another node, errs on the side the design allows:
//
//	0 counts taken back: a crash leaves a CDR counted, never taken out twice
//	1 the totals (day records) and the rest
//	2 CDRs counted: never remembered as counted without their cost stored;
//	  a node reading this node's share with a CDR has its entry too
//	3 the shares (live/)
//	4 calls closed: a node that reads one reads the closer's share
//	  without the call (it then counts the CDR it took: cluster.go)
//	5 the CDR files' offsets: a file is read again from where the
//	  totals stored stop
func checkpointRank(op Op) int {
	switch {
	case strings.HasPrefix(op.Key, offsetPrefix):
		return 5
	case strings.HasPrefix(op.Key, "live/"):
		return 3
	case !strings.HasPrefix(op.Key, journalPrefix) || op.Delete || len(op.Value) == 0:
		return 1
	}
	switch op.Value[0] {
	case chunkRetract:
		return 0
	case chunkClosed:
		return 4
	}
	return 2
}

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
	if len(bad) > 0 {
		m.warnf("fraud: unreadable CDR journal chunks in the store skipped (written by another version, or damaged): their CDRs may count twice until they expire", "error", errors.Join(bad...))
	}
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
