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
// one by sharing a sum: odds of about 3 in 10^8 for a window of a million.
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
