package keys

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Replication: on a platform of several nodes (store.backend etcd) a key
// registered on one node must match a call that reaches another, and a
// single-use key used on one node must stop matching on the others. The
// registry stays the node's own in-memory table (Check never leaves the
// node); a Replicator (keys/keysync, over etcd) carries the changes made
// here to the other nodes and Apply takes theirs in:
//
//   - RegisterWait (REST) returns once the cluster holds the key, so a
//     201 means every node has it or will within the watch's delay;
//   - Register (SIP enrolment) and uses of single-use keys (found by
//     Check on the call path) are queued and sent by one goroutine: the
//     call path never waits for the network. A full queue drops the
//     change and counts it (Stats.ReplicationDropped): the key still
//     matches here, and at worst a used single-use key matches a
//     retransmission on another node until its window ends.

// Change is one change to the key table the other nodes must hear of: a
// key registered here, (Used set) a single-use key used up here, which
// matches through Used (its grace) and no longer, or (Revoked) a key
// revoked here, which matches no more.
type Change struct {
	Key Key
	// Enterprise registered the key (store ID); 0 = not said (a node of
	// an older version): the applying node binds the key to the
	// enterprise that enrols its calling number.
	Enterprise uint32
	Used       time.Time // zero: registered (or revoked)
	Revoked    bool
}

// Replicator carries a registry's changes to the other nodes.
type Replicator interface {
	// Publish makes c known to the cluster; it returns once the cluster
	// holds it (or fails).
	Publish(ctx context.Context, c Change) error
}

// replication is a registry's outgoing side.
type replication struct {
	rep     Replicator
	timeout time.Duration
	q       chan slot
	done    chan struct{}

	sent, errors, dropped atomic.Uint64
}

// Replicate makes r hand its changes to rep: RegisterWait publishes and
// waits, Register and single-use uses are queued (queue changes at most;
// 0 = 65536) and published in the background, each within timeout
// (0 = 5 s). Call it once, before the registry serves calls.
func (r *Registry) Replicate(rep Replicator, queue int, timeout time.Duration) {
	if queue <= 0 {
		queue = 1 << 16
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	p := &replication{rep: rep, timeout: timeout, q: make(chan slot, queue), done: make(chan struct{})}
	r.rep = p
	r.t.onUse = p.queue
	go r.publishLoop(p)
}

// publishLoop sends the queued changes until the registry closes.
func (r *Registry) publishLoop(p *replication) {
	defer close(p.done)
	for {
		select {
		case <-r.stop:
			return
		case s := <-p.q:
			r.publish(context.Background(), changeOf(&s))
		}
	}
}

// publish sends one change within the replication timeout.
func (r *Registry) publish(ctx context.Context, c Change) error {
	p := r.rep
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if err := p.rep.Publish(ctx, c); err != nil {
		p.errors.Add(1)
		r.cfg.Logger.Warn("call keys: a change did not reach the other nodes (it holds on this one)",
			"calling", c.Key.Calling.String(), "called", c.Key.Called.String(), "used", !c.Used.IsZero(), "revoked", c.Revoked, "error", err)
		return fmt.Errorf("keys: replicate: %w", err)
	}
	p.sent.Add(1)
	return nil
}

// queue hands a change to the publishing goroutine without waiting.
func (p *replication) queue(s slot) {
	select {
	case p.q <- s:
	default:
		p.dropped.Add(1)
	}
}

// Apply takes in a change another node made: a key it registered (added
// here as it is, for the enterprise that node says registered it: that
// node checked the enrolment), a single-use key it used (used here too,
// the earliest end winning) or a key it revoked (revoked here too; a
// revocation wins over any use). A change naming no enterprise (a node of
// an older version) is bound to the enterprise enrolling the calling
// number here, and dropped when none does. Applying a change twice
// changes nothing.
func (r *Registry) Apply(c Change) error {
	k := c.Key
	if k.Calling == 0 || k.Called == 0 || !k.NotAfter.After(k.NotBefore) {
		return fmt.Errorf("%w: replicated key %s -> %s %s..%s", ErrInvalid, k.Calling, k.Called,
			k.NotBefore.Format(time.RFC3339), k.NotAfter.Format(time.RFC3339))
	}
	nb, na, now := unixSec(k.NotBefore), unixSec(k.NotAfter), unixSec(r.cfg.Now())
	if na < r.t.past(now) {
		return nil // over, skew included: nothing to match
	}
	ent := c.Enterprise
	if ent == 0 {
		id, ok := r.ents.Enterprise(k.Calling)
		if !ok {
			return nil // nobody's number: the key could match no call
		}
		ent = id
	}
	if _, err := r.t.add(k.Calling, k.Called, ent, nb, na, now); err != nil && !errors.Is(err, ErrRevoked) {
		return fmt.Errorf("%w (keys.max_keys %d)", err, r.cfg.MaxKeys)
	}
	s := slot{calling: k.Calling, called: k.Called, notBefore: nb, notAfter: na, ent: ent}
	switch {
	case c.Revoked:
		s.usedEnd = revokedEnd
	case !c.Used.IsZero():
		s.usedEnd = max(unixSec(c.Used), revokedEnd+1) // a use is never read as a revocation
	default:
		return nil
	}
	r.t.use(&s)
	return nil
}

// changeOf is the Change a queued or revoked slot stands for.
func changeOf(s *slot) Change {
	c := Change{Key: Key{Calling: s.calling, Called: s.called,
		NotBefore: time.Unix(int64(s.notBefore), 0).UTC(), NotAfter: time.Unix(int64(s.notAfter), 0).UTC()},
		Enterprise: s.ent}
	switch {
	case s.usedEnd == revokedEnd:
		c.Revoked = true
	case s.usedEnd != 0:
		c.Used = time.Unix(int64(s.usedEnd), 0).UTC()
	}
	return c
}
