package etcdkv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"callgate/store/kv"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Health is the replica's state, for /readyz and /metrics.
type Health struct {
	// Stale: the replica may be behind etcd (no quorum reached within
	// StaleAfter, no watch, or catching up). Reads still answer from it.
	Stale bool
	// Watching: the watch on the prefix is established.
	Watching bool
	// CatchingUp: the node has just (re)established its watch or regained
	// contact after StaleAfter without, and the watch has not yet
	// delivered every change etcd had made by then (the ones made while
	// the node was away): the replica is behind by more than the watch's
	// latency.
	CatchingUp bool
	// Synced: the replica has caught up with etcd at least once since Open.
	Synced bool
	// ReplicaRev is the etcd revision the replica has applied;
	// ClusterRev the latest etcd revision heard of (it counts changes
	// outside the prefix too, so it may be ahead while nothing is missing).
	ReplicaRev, ClusterRev int64
	// LastContact is when a quorum last answered.
	LastContact time.Time
	// Resyncs counts full resynchronisations since Open (the first load
	// of an empty replica or one of another cluster or prefix, compaction,
	// etcd gone back in revisions): 1 after a first start, 0 after a
	// restart that resumed the watch from the replica's revision.
	Resyncs int
	// LastError is the last problem the sync loop or a probe hit.
	LastError string
}

// Health returns the replica's state.
func (b *Backend) Health() Health {
	b.hmu.Lock()
	h := b.health
	b.hmu.Unlock()
	h.ReplicaRev = b.replica.Rev()
	h.Stale = !h.Synced || !h.Watching || h.CatchingUp || time.Since(h.LastContact) > b.cfg.StaleAfter
	return h
}

// contact records that etcd answered at revision rev. After StaleAfter
// without an answer, the node has been reported stale, and the changes
// made meanwhile may not have reached the replica (the client resumes a
// broken watch by itself, and delivers them afterwards): it catches up to
// rev before it is fresh again.
func (b *Backend) contact(rev int64) {
	b.hmu.Lock()
	now := time.Now()
	if now.Sub(b.health.LastContact) > b.cfg.StaleAfter && b.replica.Rev() < rev {
		b.catchUpLocked(rev)
	}
	b.health.LastContact = now
	b.health.ClusterRev = max(b.health.ClusterRev, rev)
	b.hmu.Unlock()
}

// catchUpLocked makes the node catching up until the replica has every
// change up to rev. Caller holds hmu.
func (b *Backend) catchUpLocked(rev int64) {
	if !b.health.CatchingUp {
		b.catchUpTo = 0
		b.catchUpEpisode++
	}
	b.catchUpTo = max(b.catchUpTo, rev)
	b.health.CatchingUp = true
}

func (b *Backend) setWatching(on bool) {
	b.hmu.Lock()
	b.health.Watching = on
	b.hmu.Unlock()
}

// watching records that the watch is established at etcd's revision
// target: the node is fresh once the replica has every change up to it.
func (b *Backend) watching(target int64) {
	b.hmu.Lock()
	b.health.Watching = true
	b.health.CatchingUp = false // a new episode, to target only: etcd may have gone back
	b.catchUpLocked(target)
	b.hmu.Unlock()
	b.reached(b.replica.Rev())
}

// reached records that the replica has every change up to etcd revision
// rev (it applied rev), which ends catching up if rev is far enough.
func (b *Backend) reached(rev int64) {
	b.hmu.Lock()
	if !b.health.CatchingUp || rev < b.catchUpTo {
		b.hmu.Unlock()
		return
	}
	b.health.CatchingUp = false
	first := !b.health.Synced
	b.health.Synced = true
	b.hmu.Unlock()
	if first {
		close(b.synced)
	}
}

// markerKey is the key (under the prefix) catchUpLoop writes to learn
// when the watch has caught up. Its leading '_' makes it no kv key: the
// replica does not keep it, and only its revision counts.
const markerKey = "_caughtup"

// catchUpLoop writes the marker key while the node is catching up, once
// per episode, and then catches up to the marker's revision. The watch
// delivers changes in revision order, so once the replica has that
// revision it has everything etcd had before. Without the marker the
// replica reaches the target only if etcd's last change was under the
// prefix (changes outside it count too), and etcd's progress
// notifications do not say it reliably: before 3.4.24 and 3.5.8 a
// requested one could overtake events still to be sent (etcd issue
// 15220).
func (b *Backend) catchUpLoop(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	done := uint64(0) // the episode whose marker was written
	var next time.Time
	fails := 0
	for {
		b.hmu.Lock()
		ep, on := b.catchUpEpisode, b.health.CatchingUp
		b.hmu.Unlock()
		if on && ep != done && time.Now().After(next) {
			pctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
			resp, err := b.cli.Put(pctx, b.cfg.Prefix+markerKey, "")
			cancel()
			if err == nil {
				done, fails = ep, 0
				b.hmu.Lock()
				if b.health.CatchingUp && b.catchUpEpisode == ep {
					b.catchUpTo = max(b.catchUpTo, resp.Header.Revision)
				}
				b.hmu.Unlock()
			} else if ctx.Err() == nil {
				// etcd may refuse writes and still answer reads (its
				// space quota alarm): try again, less and less often.
				fails++
				next = time.Now().Add(min(time.Duration(fails)*time.Second, 10*time.Second))
				b.report(fmt.Errorf("etcd: write the catch-up marker %s%s (the node stays stale until it has caught up): %w", b.cfg.Prefix, markerKey, b.mapErr(err)))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// errCompacted: the watch cannot resume; a full resync follows.
var errCompacted = errors.New("etcd compacted past the replica's revision")

// errWentBack: etcd's revision is below the replica's, which no history of
// one cluster allows: it was restored from an older snapshot or re-created
// with the same members (so the same cluster ID). The replica's revisions
// mean nothing there, and a watch from them would wait for revisions etcd
// has not reached while changes below them went by unseen: a full resync
// follows.
var errWentBack = errors.New("etcd's revision went back below the replica's (restored from a snapshot or re-created?)")

// signalWentBack tells the watch that etcd went back (see errWentBack).
func (b *Backend) signalWentBack(etcdRev, replicaRev int64) {
	b.report(fmt.Errorf("etcd answered at revision %d, below the replica's %d: %w; resynchronising", etcdRev, replicaRev, errWentBack))
	select {
	case b.wentBack <- struct{}{}:
	default:
	}
}

// The sync loop's wait before it tries again after a failure: retryFirst,
// doubling with each failure in a row up to retryMax. A watch that stayed
// up for retryMax was healthy, and what ended it (a leader change, a
// member restarted) is a new incident: the wait starts again from
// retryFirst, so that a node does not report stale for retryMax after
// every such incident once it has seen a few in its life. A watch that
// keeps failing sooner still backs off, and at worst the loop tries once
// per retryMax.
const (
	retryFirst = 50 * time.Millisecond
	retryMax   = 2 * time.Second
)

// syncLoop keeps the replica in step with etcd until Close.
func (b *Backend) syncLoop() {
	defer b.wg.Done()
	backoff := retryFirst
	resync := false
	for b.ctx.Err() == nil {
		b.watchSince = time.Time{}
		err := b.syncOnce(resync)
		if b.ctx.Err() != nil {
			return
		}
		b.setWatching(false)
		resync = errors.Is(err, errCompacted) || errors.Is(err, errWentBack)
		if resync {
			err = fmt.Errorf("%w; %s", err, b.resyncNotice())
		}
		if err != nil {
			b.report(fmt.Errorf("etcd sync: %w", err))
		}
		if !b.watchSince.IsZero() && time.Since(b.watchSince) >= retryMax {
			backoff = retryFirst
		}
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, retryMax)
	}
}

// resyncNotice says, for the log line of a compaction or of etcd gone
// back, what follows: the operator sees the cost (the whole prefix read
// again, as at a first start) and that calls are still answered.
func (b *Backend) resyncNotice() string {
	size := "its whole content"
	if n, err := b.replica.Size(); err == nil {
		size = fmt.Sprintf("about %s, the replica's size", byteSize(n))
	}
	return fmt.Sprintf("a full resync follows: every key under %q is read again from etcd (%s, in pages of %d keys, as at a first start) "+
		"and written over the replica in one transaction, then the store's index is rebuilt; until it ends the node goes on answering "+
		"from its replica at revision %d, reported stale (/readyz store: stale, callgate_store_stale 1), and sees no other node's changes",
		b.cfg.Prefix, size, resyncPage, b.replica.Rev())
}

// byteSize is n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// syncOnce checks the replica's origin, resynchronises if it must, then
// watches until the watch fails.
func (b *Backend) syncOnce(force bool) error {
	// Reading at the replica's revision fails if etcd has compacted it
	// away: then the watch could not resume either.
	var opts []clientv3.OpOption
	if r := b.replica.Rev(); r > 0 && !force {
		opts = append(opts, clientv3.WithRev(r))
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
	resp, err := b.cli.Get(ctx, b.cfg.Prefix+"meta/schema", opts...)
	cancel()
	if errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("replica at revision %d: %w", b.replica.Rev(), errCompacted)
	}
	if errors.Is(err, rpctypes.ErrFutureRev) {
		return fmt.Errorf("replica at revision %d: %w", b.replica.Rev(), errWentBack)
	}
	if err != nil {
		return b.mapErr(err)
	}
	b.contact(resp.Header.Revision)
	// Every change up to here must be in the replica before the node
	// calls itself fresh again.
	target := resp.Header.Revision
	origin := fmt.Sprintf("cluster %x prefix %q", resp.Header.ClusterId, b.cfg.Prefix)
	have, err := b.replica.Local("origin")
	if err != nil {
		return err
	}
	if force || string(have) != origin || b.replica.Rev() == 0 {
		// A went-back signal from before this resync is answered by it.
		select {
		case <-b.wentBack:
		default:
		}
		rev, err := b.resync()
		if err != nil {
			return fmt.Errorf("resync: %w", err)
		}
		if err := b.replica.SetLocal("origin", []byte(origin)); err != nil {
			return err
		}
		// The resync read at rev, which may be below the revision read
		// above if etcd went back meanwhile.
		target = rev
	}
	return b.watch(b.replica.Rev()+1, target)
}

const resyncPage = 1000

// resync replaces the replica with every key under the prefix at one
// revision, in one replica transaction, and delivers a Reset.
// It returns the revision it read at.
func (b *Backend) resync() (int64, error) {
	end := clientv3.GetPrefixRangeEnd(b.cfg.Prefix)
	get := func(from string, rev int64) (*clientv3.GetResponse, error) {
		ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
		defer cancel()
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(resyncPage)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := b.cli.Get(ctx, from, opts...)
		if err != nil {
			return nil, b.mapErr(err)
		}
		return resp, nil
	}
	resp, err := get(b.cfg.Prefix, 0)
	if err != nil {
		return 0, err
	}
	rev := resp.Header.Revision
	skipped := 0
	err = b.replica.Replace(rev, func(put func(key, value []byte, modRev int64) error) error {
		for {
			for _, e := range resp.Kvs {
				k := b.stripPrefix(e.Key)
				if !wellFormed(k) {
					if string(k) != markerKey {
						skipped++
					}
					continue
				}
				if err := put(k, e.Value, e.ModRevision); err != nil {
					return err
				}
			}
			if !resp.More || len(resp.Kvs) == 0 {
				return nil
			}
			var err error
			if resp, err = get(string(resp.Kvs[len(resp.Kvs)-1].Key)+"\x00", rev); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return 0, err
	}
	b.hmu.Lock()
	b.health.Resyncs++
	b.health.ClusterRev = rev // not the max: etcd may have gone back
	b.health.LastContact = time.Now()
	b.hmu.Unlock()
	if skipped > 0 {
		b.report(fmt.Errorf("etcd resync at revision %d: %d keys under %q are not bucket/rest keys; ignored", rev, skipped, b.cfg.Prefix))
	}
	return rev, nil
}

// wellFormed says whether k is a kv key ("bucket/rest", rest not empty).
func wellFormed(k []byte) bool {
	bkt, ok := kv.Bucket(k)
	return ok && len(k) > len(bkt)+1
}

// watch applies the prefix's changes from revision from on, until the
// watch fails or the backend closes. The node is caught up (fresh) once
// the replica has every change up to target, etcd's revision when the
// watch was established.
func (b *Backend) watch(from, target int64) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(b.ctx))
	defer cancel()
	wch := b.cli.Watch(ctx, b.cfg.Prefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(b.cfg.Prefix)),
		clientv3.WithRev(from), clientv3.WithProgressNotify())
	b.watching(target)
	b.watchSince = time.Now()
	go b.catchUpLoop(ctx)
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case <-b.wentBack:
			return fmt.Errorf("watch from revision %d: %w", from, errWentBack)
		case resp, ok = <-wch:
		}
		if !ok {
			return fmt.Errorf("watch closed")
		}
		if resp.CompactRevision != 0 {
			return fmt.Errorf("watch from revision %d: %w (compacted at %d)", from, errCompacted, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		b.contact(resp.Header.Revision)
		if resp.IsProgressNotify() {
			continue
		}
		if err := b.applyEvents(resp.Events); err != nil {
			return err
		}
		b.reached(b.replica.Rev())
	}
}

// applyEvents applies a watch response's events, one replica transaction
// (and one kv.Event) per etcd revision.
func (b *Backend) applyEvents(evs []*clientv3.Event) error {
	for i := 0; i < len(evs); {
		rev := evs[i].Kv.ModRevision
		ev := kv.Event{Rev: rev}
		for ; i < len(evs) && evs[i].Kv.ModRevision == rev; i++ {
			e := evs[i]
			k := b.stripPrefix(e.Kv.Key)
			if !wellFormed(k) {
				if string(k) == markerKey {
					continue // its revision is what counts
				}
				b.report(fmt.Errorf("etcd revision %d: key %q under %q is not a bucket/rest key; ignored", rev, e.Kv.Key, b.cfg.Prefix))
				continue
			}
			c := kv.Change{Key: k, ModRev: rev}
			if e.Type == clientv3.EventTypeDelete {
				c.Deleted = true
			} else {
				c.Value = e.Kv.Value
			}
			ev.Changes = append(ev.Changes, c)
		}
		if rev <= b.replica.Rev() {
			continue // already applied (a resumed watch may repeat)
		}
		if err := b.replica.Apply(ev); err != nil {
			return fmt.Errorf("apply revision %d to the replica: %w", rev, err)
		}
	}
	return nil
}

// probeLoop checks every ProbeInterval that a quorum answers (a
// linearizable read), which is what keeps the node fresh.
func (b *Backend) probeLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		// The replica's revision before the read: a linearizable read
		// answers at a revision at least as high, unless etcd went back.
		had := b.replica.Rev()
		ctx, cancel := context.WithTimeout(b.ctx, max(b.cfg.ProbeInterval, 500*time.Millisecond))
		resp, err := b.cli.Get(ctx, b.cfg.Prefix+"meta/schema", clientv3.WithCountOnly())
		cancel()
		if err != nil {
			if b.ctx.Err() == nil {
				b.hmu.Lock()
				b.health.LastError = fmt.Sprintf("probe: %v", err)
				b.hmu.Unlock()
			}
			continue
		}
		b.contact(resp.Header.Revision)
		if resp.Header.Revision < had {
			b.signalWentBack(resp.Header.Revision, had)
		}
	}
}
