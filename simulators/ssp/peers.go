package ssp

import (
	"sync"
	"sync/atomic"

	"callgate/sigtran/m3ua"
)

// PeerStats are a Client's counts for one SCP it sends to (one remote
// address, over every association to it in the Client's life). A switch
// load-sharing over a mated pair sees here what each SCP answered and,
// when one went down, how many queries went with it.
type PeerStats struct {
	// Address is the SCP's address as the association reports it.
	Address string `json:"address"`
	// Associations counts the associations to it that carried queries;
	// AssociationsEnded those that have since gone (lost or closed).
	Associations      int64 `json:"associations"`
	AssociationsEnded int64 `json:"associationsEnded"`
	Sent              int64 `json:"sent"`
	Answered          int64 `json:"answered"`
	// Timeouts are queries unanswered on an association that stayed up.
	Timeouts int64 `json:"timeouts"`
	// LostInFlight are queries that never got an answer because their
	// association went down first (the SCP died, the network broke):
	// what the SCP had received and not answered, and what was on the
	// way to it. Counted when their time-out expires.
	LostInFlight int64 `json:"lostInFlight"`
	// InFlightAtLoss is how many queries were waiting for an answer on
	// its associations at the moments they went down.
	InFlightAtLoss int64 `json:"inFlightAtLoss"`
}

// peerTable keeps the per-SCP accounts: one assocAcct per association,
// found by the association pointer on the send and receive paths.
type peerTable struct {
	mu     sync.Mutex
	byAddr map[string]*peerAcct
	order  []*peerAcct
	assocs sync.Map // *m3ua.Association -> *assocAcct
}

type peerAcct struct {
	addr                                   string
	associations, ended                    atomic.Int64
	sent, answered, timeouts, lost, atLoss atomic.Int64
}

// assocAcct is one association's share: its queries in flight are
// sent - answered - timedOut, and down is set once it has gone.
type assocAcct struct {
	p                        *peerAcct
	sent, answered, timedOut atomic.Int64
	down                     atomic.Bool
}

func newPeerTable() *peerTable { return &peerTable{byAddr: map[string]*peerAcct{}} }

// of returns the account of association as, opening one (and watching
// for the association's end) the first time it is seen.
func (t *peerTable) of(as *m3ua.Association) *assocAcct {
	if v, ok := t.assocs.Load(as); ok {
		return v.(*assocAcct)
	}
	addr := "?"
	if ra := as.RemoteAddr(); ra != nil {
		addr = ra.String()
	}
	t.mu.Lock()
	p := t.byAddr[addr]
	if p == nil {
		p = &peerAcct{addr: addr}
		t.byAddr[addr] = p
		t.order = append(t.order, p)
	}
	t.mu.Unlock()
	a := &assocAcct{p: p}
	v, loaded := t.assocs.LoadOrStore(as, a)
	if loaded {
		return v.(*assocAcct)
	}
	p.associations.Add(1)
	go func() {
		<-as.Done()
		// What is still waiting now will not be answered: the SCP
		// answers on the association a query came in on.
		a.down.Store(true)
		p.atLoss.Add(max(a.sent.Load()-a.answered.Load()-a.timedOut.Load(), 0))
		p.ended.Add(1)
		t.assocs.Delete(as)
	}()
	return a
}

func (a *assocAcct) onSent() {
	a.sent.Add(1)
	a.p.sent.Add(1)
}

func (a *assocAcct) onAnswered() {
	a.answered.Add(1)
	a.p.answered.Add(1)
}

// onTimeout counts a query that got no answer in time: lost in flight if
// its association has gone meanwhile, a plain time-out otherwise.
func (a *assocAcct) onTimeout() {
	a.timedOut.Add(1)
	if a.down.Load() {
		a.p.lost.Add(1)
	} else {
		a.p.timeouts.Add(1)
	}
}

// snapshot returns every peer's counts, in the order first seen.
func (t *peerTable) snapshot() []PeerStats {
	t.mu.Lock()
	order := append([]*peerAcct(nil), t.order...)
	t.mu.Unlock()
	out := make([]PeerStats, len(order))
	for i, p := range order {
		out[i] = PeerStats{Address: p.addr, Associations: p.associations.Load(), AssociationsEnded: p.ended.Load(),
			Sent: p.sent.Load(), Answered: p.answered.Load(), Timeouts: p.timeouts.Load(),
			LostInFlight: p.lost.Load(), InFlightAtLoss: p.atLoss.Load()}
	}
	return out
}

// peerDelta returns what happened between two snapshots, by address
// (Associations stays the total so far).
func peerDelta(before, after []PeerStats) []PeerStats {
	prev := make(map[string]PeerStats, len(before))
	for _, p := range before {
		prev[p.Address] = p
	}
	out := make([]PeerStats, 0, len(after))
	for _, p := range after {
		b := prev[p.Address]
		out = append(out, PeerStats{Address: p.Address, Associations: p.Associations,
			AssociationsEnded: p.AssociationsEnded - b.AssociationsEnded, Sent: p.Sent - b.Sent,
			Answered: p.Answered - b.Answered, Timeouts: p.Timeouts - b.Timeouts,
			LostInFlight: p.LostInFlight - b.LostInFlight, InFlightAtLoss: p.InFlightAtLoss - b.InFlightAtLoss})
	}
	return out
}
