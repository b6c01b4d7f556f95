package ssp

import (
	"sync"
	"sync/atomic"
	"time"

	"callgate/sigtran/tcap"
)

// call is one outstanding query. Exactly one of ch (a synchronous
// TerminationAttempt waiting) or run (a load run's slot) is set.
type call struct {
	id   tcap.DialogueID
	sent time.Time
	ch   chan reply
	run  *loadRun
	slot int32
	// acct is the association the query went out on, once sent (for the
	// per-SCP accounts; set after the send, so read atomically).
	acct atomic.Pointer[assocAcct]
}

// reply is what the reader hands a synchronous caller: a private copy of
// the TCAP package, or the reason there is none.
type reply struct {
	at       time.Time
	tcap     []byte
	verdict  tcap.Verdict
	returned bool // the SCCP network returned our query (UDTS/XUDTS)
	cause    string
}

// pendingTable maps our dialogue IDs to outstanding calls. Whoever takes a
// call out of the table first (the reply, the caller's timeout, a sweep)
// owns its completion, which settles every race between them.
type pendingTable struct {
	shards [pendingShards]pendingShard
}

const pendingShards = 64

type pendingShard struct {
	mu sync.Mutex
	m  map[tcap.DialogueID]*call
	_  [40]byte // keep shards on separate cache lines
}

func newPendingTable() *pendingTable {
	p := &pendingTable{}
	for i := range p.shards {
		p.shards[i].m = make(map[tcap.DialogueID]*call)
	}
	return p
}

func (p *pendingTable) shard(id tcap.DialogueID) *pendingShard {
	// Transactions puts its own shard index in the low bits of our TIDs;
	// mix the bits so that our shards are evenly used whatever it does.
	h := uint32(id) * 0x9E3779B1
	return &p.shards[h>>(32-6)]
}

func (p *pendingTable) put(c *call) {
	s := p.shard(c.id)
	s.mu.Lock()
	s.m[c.id] = c
	s.mu.Unlock()
}

func (p *pendingTable) take(id tcap.DialogueID) *call {
	s := p.shard(id)
	s.mu.Lock()
	c, ok := s.m[id]
	if ok {
		delete(s.m, id)
	}
	s.mu.Unlock()
	return c
}

func (p *pendingTable) len() int {
	n := 0
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
