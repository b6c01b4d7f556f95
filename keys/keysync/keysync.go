// Package keysync replicates call keys across the nodes of a platform
// through etcd (store.backend etcd, keys.replicate): every node keeps its
// own in-memory key table (package keys: Check never leaves the node) and
// this package carries each node's changes to the others.
//
// Layout. Each key is one etcd key under the keys prefix, which lies
// outside the store's prefix (the store's replica, a bbolt file on each
// node, must not hold a record per call key):
//
//	<prefix><calling>/<called>/<not_before>-<not_after>  ->  {"ent": ID, "used": unix seconds, optional}
//
// The numbers are E.164 digits, the window unix seconds: a key's etcd key
// names it, so registering it again from any node is the same key. "ent"
// is the store ID of the enterprise that registered it (a key matches
// only while that enterprise enrols the calling number); a value without
// it, written by an older version, is bound by each node to the
// enterprise enrolling the number. "used": 1 (the first second of 1970)
// is a revoked key: an older version reads it as used up, which is what
// it means.
//
// Leases. A key lives in etcd only for its window (and Linger after, for
// the grace of a used key and clocks that differ): keys whose windows end
// in the same Slot share one lease, granted by the first key of the slot
// on this node, with its TTL running to the slot's end plus Linger. etcd
// deletes them when it expires; no node sweeps etcd. With 60 s windows
// and 10 s slots a node holds about 7 leases at a time.
//
// Publishing (keys.Replicator). A registration is a transaction that
// creates the key only if it is absent (a retried registration never
// revives a key already used or revoked), or that replaces another
// enterprise's (a number moved; the old enterprise's key matches nothing
// any more); a use of a single-use key overwrites its value with the end
// of its grace unless it was revoked; a revocation overwrites the value
// of the enterprise's key (not another's) with "used": 1.
//
// Hearing. Start loads every key under the prefix (paginated, at one
// revision), then watches the prefix from the next revision and applies
// every put (keys.Registry.Apply; deletes are leases expiring, which the
// table does on its own clock). A watch that falls behind a compaction
// loads again. The node's own writes come back through the watch and
// change nothing (Apply is idempotent).
//
// What replication does not promise. A key reaches the other nodes within
// the watch's delay (milliseconds on a LAN): a call placed before that, to
// another node, is taken for a spoof. A single-use key used on one node
// can still match, on another node, a call that arrives before the use
// has travelled: the window between is the same delay. Registration is
// bounded by etcd's write rate (each key is one Raft write), and etcd's
// size quota bounds the keys held cluster-wide (about 130 bytes each in
// etcd's database, BenchmarkReplicatedRegister); see the keys package doc.
package keysync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"callgate/e164"
	"callgate/keys"
)

// Config sets up a Sync. Zero fields take their defaults.
type Config struct {
	Client *clientv3.Client
	// Prefix is the etcd prefix of the call keys; it ends in '/' and must
	// not lie under the store's prefix (default "callgate.keys/").
	Prefix string
	// Slot groups keys under one lease by the end of their window
	// (default 10 s); Linger is how long a key outlives its window in
	// etcd (default 60 s: the grace of single-use keys, clock skew).
	Slot, Linger time.Duration
	// Timeout bounds one request (default 5 s).
	Timeout time.Duration
	// Queue bounds the changes waiting to be published (default 65536).
	Queue int
	// PageSize is how many keys one request of the initial load reads
	// (default 10000).
	PageSize int64
	// Logger hears of watch problems (nil: discarded).
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Prefix == "" {
		c.Prefix = "callgate.keys/"
	}
	if c.Slot <= 0 {
		c.Slot = 10 * time.Second
	}
	if c.Linger <= 0 {
		c.Linger = time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.PageSize <= 0 {
		c.PageSize = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Sync replicates one registry's keys. It implements keys.Replicator.
type Sync struct {
	cfg Config
	reg *keys.Registry

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	leases map[int64]clientv3.LeaseID // slot end (unix s) -> lease

	loaded, applied, applyErrors, reloads atomic.Uint64
}

var _ keys.Replicator = (*Sync)(nil)

// Start loads the keys the cluster holds into reg, starts watching for the
// other nodes' changes and makes reg publish its own (reg.Replicate). It
// fails when etcd cannot be read: a node that cannot load the cluster's
// keys would block the calls they cover.
func Start(ctx context.Context, cfg Config, reg *keys.Registry) (*Sync, error) {
	cfg.defaults()
	if cfg.Client == nil {
		return nil, errors.New("keysync: no etcd client")
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("keysync: prefix %q must end in '/'", cfg.Prefix)
	}
	s := &Sync{cfg: cfg, reg: reg, leases: map[int64]clientv3.LeaseID{}}
	rev, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	reg.Replicate(s, cfg.Queue, cfg.Timeout)
	s.wg.Add(1)
	go s.watch(rev + 1)
	return s, nil
}

// Close stops watching. The keys stay in etcd until their leases expire
// (the other nodes still need them).
func (s *Sync) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Stats are the sync's counters.
type Stats struct {
	Loaded, Applied, ApplyErrors, Reloads uint64
	Leases                                int
}

// Stats returns the counters.
func (s *Sync) Stats() Stats {
	s.mu.Lock()
	n := len(s.leases)
	s.mu.Unlock()
	return Stats{Loaded: s.loaded.Load(), Applied: s.applied.Load(), ApplyErrors: s.applyErrors.Load(), Reloads: s.reloads.Load(), Leases: n}
}

// etcdKey names a key: <prefix><calling>/<called>/<nb>-<na>.
func (s *Sync) etcdKey(k keys.Key) string {
	return s.cfg.Prefix + k.Calling.String()[1:] + "/" + k.Called.String()[1:] + "/" +
		strconv.FormatInt(k.NotBefore.Unix(), 10) + "-" + strconv.FormatInt(k.NotAfter.Unix(), 10)
}

// value is what a key's etcd value holds.
type value struct {
	Ent  uint32 `json:"ent,omitempty"`  // the registering enterprise; 0: written by an older version
	Used int64  `json:"used,omitempty"` // unix s: used up, matching through then; revokedUsed: revoked
}

// revokedUsed is "used" of a revoked key (keys: a use ending in 1970).
const revokedUsed = 1

func (v value) encode() string {
	b, _ := json.Marshal(v)
	return string(b)
}

// parse reads an etcd key and value back into a change.
func (s *Sync) parse(key, val []byte) (keys.Change, error) {
	var c keys.Change
	rest, ok := strings.CutPrefix(string(key), s.cfg.Prefix)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 {
		return c, fmt.Errorf("keysync: %q is not a call key", key)
	}
	nb, na, ok := strings.Cut(parts[2], "-")
	from, err1 := strconv.ParseInt(nb, 10, 64)
	to, err2 := strconv.ParseInt(na, 10, 64)
	calling, err3 := e164.Parse("+" + parts[0])
	called, err4 := e164.Parse("+" + parts[1])
	if err := errors.Join(err1, err2, err3, err4); err != nil || !ok {
		return c, fmt.Errorf("keysync: %q is not a call key: %v", key, err)
	}
	c.Key = keys.Key{Calling: calling, Called: called, NotBefore: time.Unix(from, 0).UTC(), NotAfter: time.Unix(to, 0).UTC()}
	v, err := decodeValue(val)
	if err != nil {
		return c, fmt.Errorf("keysync: value of %q: %w", key, err)
	}
	c.Enterprise = v.Ent
	switch {
	case v.Used == revokedUsed:
		c.Revoked = true
	case v.Used != 0:
		c.Used = time.Unix(v.Used, 0).UTC()
	}
	return c, nil
}

// decodeValue reads a key's etcd value; empty is {}.
func decodeValue(val []byte) (value, error) {
	var v value
	if len(val) > 0 {
		if err := json.Unmarshal(val, &v); err != nil {
			return v, err
		}
	}
	return v, nil
}

// Publish writes one change (keys.Replicator): a registration creates the
// key if it is absent (or held by another enterprise); a use overwrites
// it with the end of its grace unless it was revoked; a revocation
// overwrites the enterprise's key.
func (s *Sync) Publish(ctx context.Context, c keys.Change) error {
	if c.Enterprise == 0 {
		return fmt.Errorf("keysync: change of key %s -> %s names no enterprise", c.Key.Calling, c.Key.Called)
	}
	lease, err := s.lease(ctx, c.Key.NotAfter)
	if err != nil {
		return err
	}
	k := s.etcdKey(c.Key)
	switch {
	case c.Revoked:
		return s.revoke(ctx, k, c.Enterprise, lease)
	case !c.Used.IsZero():
		_, err = s.cfg.Client.Txn(ctx).
			If(clientv3.Compare(clientv3.Value(k), "!=", value{Ent: c.Enterprise, Used: revokedUsed}.encode())).
			Then(clientv3.OpPut(k, value{Ent: c.Enterprise, Used: c.Used.Unix()}.encode(), clientv3.WithLease(lease))).
			Commit()
		return err
	}
	put := clientv3.OpPut(k, value{Ent: c.Enterprise}.encode(), clientv3.WithLease(lease))
	resp, err := s.cfg.Client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(put).Else(clientv3.OpGet(k)).Commit()
	if err != nil || resp.Succeeded {
		return err
	}
	// The key is there: the same enterprise's (a retry: leave it, used or
	// revoked as it may be), or another's, registered before the number
	// moved to this one: replace it, unless it changed meanwhile.
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		if v, err := decodeValue(kv.Value); err == nil && (v.Ent == 0 || v.Ent == c.Enterprise) {
			return nil
		}
		_, err = s.cfg.Client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", kv.ModRevision)).
			Then(put).Commit()
		return err
	}
	return nil
}

// revoke marks key k of enterprise ent revoked, unless etcd holds no such
// key (its lease ran out: it is over) or holds another enterprise's (the
// number moved and the new enterprise registered the same window: its
// key is not this enterprise's to revoke).
func (s *Sync) revoke(ctx context.Context, k string, ent uint32, lease clientv3.LeaseID) error {
	for {
		resp, err := s.cfg.Client.Get(ctx, k)
		if err != nil || len(resp.Kvs) == 0 {
			return err
		}
		kv := resp.Kvs[0]
		v, err := decodeValue(kv.Value)
		if err == nil && v.Ent != 0 && v.Ent != ent {
			return nil
		}
		put, err := s.cfg.Client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", kv.ModRevision)).
			Then(clientv3.OpPut(k, value{Ent: ent, Used: revokedUsed}.encode(), clientv3.WithLease(lease))).
			Commit()
		if err != nil || put.Succeeded {
			return err
		}
		// Changed between the read and the write (a use on another
		// node): read it again.
	}
}

// lease returns the lease of the slot a window ending at end falls in,
// granting it on first use.
func (s *Sync) lease(ctx context.Context, end time.Time) (clientv3.LeaseID, error) {
	slot := s.cfg.Slot
	slotEnd := end.Add(slot - 1).Truncate(slot).Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.leases[slotEnd]; ok {
		return id, nil
	}
	now := time.Now()
	for e := range s.leases {
		if time.Unix(e, 0).Add(s.cfg.Linger).Before(now) {
			delete(s.leases, e)
		}
	}
	ttl := time.Unix(slotEnd, 0).Add(s.cfg.Linger).Sub(now)
	g, err := s.cfg.Client.Grant(ctx, max(int64((ttl+time.Second-1)/time.Second), 5))
	if err != nil {
		return 0, fmt.Errorf("keysync: lease for keys ending by %s: %w", time.Unix(slotEnd, 0).UTC().Format(time.RFC3339), err)
	}
	s.leases[slotEnd] = g.ID
	return g.ID, nil
}

// load applies every key under the prefix, read at one revision, and
// returns that revision.
func (s *Sync) load(ctx context.Context) (int64, error) {
	end := clientv3.GetPrefixRangeEnd(s.cfg.Prefix)
	from := s.cfg.Prefix
	var rev int64
	for {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(s.cfg.PageSize)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cfg.Client.Get(rctx, from, opts...)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("keysync: load the cluster's call keys: %w", err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			s.apply(kv.Key, kv.Value)
			s.loaded.Add(1)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// apply hands one etcd key to the registry.
func (s *Sync) apply(key, val []byte) {
	c, err := s.parse(key, val)
	if err == nil {
		err = s.reg.Apply(c)
	}
	if err != nil {
		s.applyErrors.Add(1)
		s.cfg.Logger.Warn("call keys: a replicated key was not applied", "key", string(key), "error", err)
		return
	}
	s.applied.Add(1)
}

// watch applies the other nodes' changes from revision rev until Close;
// after a compaction it loads again.
func (s *Sync) watch(rev int64) {
	defer s.wg.Done()
	backoff := 50 * time.Millisecond
	for s.ctx.Err() == nil {
		wctx, stop := context.WithCancel(clientv3.WithRequireLeader(s.ctx))
		wch := s.cfg.Client.Watch(wctx, s.cfg.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
		for resp := range wch {
			if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
				s.reloads.Add(1)
				r, err := s.load(s.ctx)
				if err != nil {
					s.cfg.Logger.Warn("call keys: reload after a compaction failed", "error", err)
					break
				}
				rev = r + 1
				break
			}
			if err := resp.Err(); err != nil {
				s.cfg.Logger.Warn("call keys: watch", "error", err)
				break
			}
			for _, ev := range resp.Events {
				if ev.Type == mvccpb.PUT {
					s.apply(ev.Kv.Key, ev.Kv.Value)
				}
				rev = ev.Kv.ModRevision + 1
			}
			backoff = 50 * time.Millisecond
		}
		stop() // a watch left by break (compaction, error) ends here
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}
