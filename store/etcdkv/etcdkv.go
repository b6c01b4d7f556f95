// Package etcdkv is the etcd backend of store/kv: etcd is the shared system
// of record, and each node keeps a local bbolt replica (store/boltkv) that
// serves every read, so the hot path never waits on the network.
//
// # Writes
//
// Txn sends one etcd transaction: the comparisons become ModRevision
// compares, the operations puts and (range) deletes under Config.Prefix;
// ephemeral puts are bound to this node's session lease. etcd's own
// request limits apply (Limits, default kv.EtcdDefaults).
//
// # Reads and the change feed
//
// A sync loop keeps the replica in step: it watches the prefix from the
// replica's revision + 1 (so a restart or a disconnect resumes where it
// stopped), applies each revision's changes to the replica in one bbolt
// transaction and then hands them to the subscribers (the store's index).
// When etcd has compacted past that revision, the replica belongs to
// another cluster or prefix, or etcd's revision went back below the
// replica's (restored from an older snapshot, or re-created with the same
// members and so the same cluster ID; the probe notices it while
// running), it resynchronises in full: every key at one
// revision, written over the replica in one transaction, followed by a
// Reset event, so nothing is lost and nothing half-applied is ever seen.
//
// # When etcd is unreachable
//
// Reads go on from the replica. Writes fail with kv.ErrUnavailable; once
// no quorum has answered for StaleAfter (a known outage, not a member
// dying under one request) a write waits a probe's timeout, not
// RequestTimeout, its error says how long etcd has been gone, and the
// store does not retry it (outage.go). Health
// reports the node stale (no contact with a quorum for Config.StaleAfter),
// for /readyz and /metrics; once etcd answers again the watch catches up
// (or resynchronises) and the node is fresh again when its replica has
// every change etcd had made by then: the node writes a marker key
// (<prefix>_caughtup, no kv key) and waits for the watch to bring its
// revision (sync.go, catchUpLoop). The client tries to reconnect at least
// every second however long etcd was gone (outage.go), so that happens
// within about a second of etcd's return.
package etcdkv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"callgate/store/boltkv"
	"callgate/store/kv"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Config says where etcd is and where the replica lives.
type Config struct {
	// Endpoints of the etcd members ("https://10.0.0.1:2379", ...).
	Endpoints []string
	// Prefix under which the store keeps its keys (default "callgate/").
	// Several callgate platforms can share one etcd with different prefixes.
	Prefix string
	// ReplicaPath is the local bbolt replica file.
	ReplicaPath string
	// CAFile, CertFile, KeyFile: TLS to etcd (CA to verify the members;
	// certificate and key for client authentication). Empty: no TLS.
	CAFile, CertFile, KeyFile string
	// Username and Password for etcd authentication (optional).
	Username, Password string
	// DialTimeout bounds connecting (default 5s); RequestTimeout one
	// request (default 5s).
	DialTimeout, RequestTimeout time.Duration
	// ProbeInterval is how often the node checks it can reach a quorum
	// (default 1s); StaleAfter how long without one makes it stale
	// (default 3s).
	ProbeInterval, StaleAfter time.Duration
	// LeaseTTL bounds how long ephemeral keys outlive a dead node
	// (default 30s).
	LeaseTTL time.Duration
	// Limits bound one transaction (default kv.EtcdDefaults; raise them
	// only together with the members' --max-txn-ops and
	// --max-request-bytes).
	Limits kv.Limits
	// StartTimeout bounds how long Open waits to catch up with etcd
	// (default 10s). A replica that has data then starts stale; an empty
	// one goes on waiting while etcd answers (it is being filled), and
	// fails once etcd does not.
	StartTimeout time.Duration
	// NoSync skips fsync on the replica (tests only: the replica is
	// rebuilt from etcd anyway, but a crash could leave it unreadable).
	NoSync bool
	// OnError, if set, hears about problems the sync loop handles itself
	// (a lost watch, a resync, an unreadable event).
	OnError func(error)
}

func (c *Config) defaults() {
	if c.Prefix == "" {
		c.Prefix = "callgate/"
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = time.Second
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 3 * c.ProbeInterval
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.Limits.MaxOps == 0 {
		c.Limits = kv.EtcdDefaults
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 10 * time.Second
	}
}

// Backend is an etcd-backed kv.Backend with a local replica.
type Backend struct {
	cfg     Config
	prefix  []byte
	cli     *clientv3.Client
	replica *boltkv.DB

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	hmu    sync.Mutex
	health Health
	// catchUpTo: while health.CatchingUp, the etcd revision the replica
	// must reach (or a progress notification confirm) to be fresh.
	catchUpTo int64
	// catchUpEpisode counts the times the node started catching up.
	catchUpEpisode uint64
	synced         chan struct{} // closed once the replica has caught up after Open
	// wentBack: the probe saw etcd below the replica's revision; the
	// watch gives up for a resync (errWentBack).
	wentBack chan struct{}
	// watchSince is when the sync loop's current watch was established
	// (zero: none yet); the loop's own.
	watchSince time.Time

	lmu   sync.Mutex
	lease clientv3.LeaseID

	opened time.Time // when Open began: the outage's start while etcd never answered
}

var _ kv.Backend = (*Backend)(nil)

// Open connects to etcd, opens the replica and starts the sync loop. It
// returns once the replica has caught up with etcd, or (etcd unreachable)
// at once with a stale replica that has data.
func Open(cfg Config) (*Backend, error) {
	cfg.defaults()
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("etcd: no endpoints configured (store.etcd.endpoints)")
	}
	if cfg.ReplicaPath == "" {
		return nil, fmt.Errorf("etcd: no replica path configured (store.etcd.replica)")
	}
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	replica, err := boltkv.Open(cfg.ReplicaPath, boltkv.Options{NoSync: cfg.NoSync, Replica: true})
	if err != nil {
		return nil, fmt.Errorf("etcd replica: %w", err)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		DialKeepAliveTime:    cfg.ProbeInterval,
		DialKeepAliveTimeout: cfg.StaleAfter,
		TLS:                  tlsCfg,
		Username:             cfg.Username,
		Password:             cfg.Password,
		Logger:               zap.NewNop(),
		MaxCallSendMsgSize:   2 * max(cfg.Limits.MaxBytes, 1<<20),
		DialOptions:          reconnectOptions(cfg),
	})
	if err != nil {
		replica.Close()
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	b := &Backend{cfg: cfg, prefix: []byte(cfg.Prefix), cli: cli, replica: replica, synced: make(chan struct{}), wentBack: make(chan struct{}, 1), opened: time.Now()}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.health.ReplicaRev = replica.Rev()
	b.wg.Add(2)
	go b.syncLoop()
	go b.probeLoop()
	select {
	case <-b.synced:
		return b, nil
	case <-time.After(cfg.StartTimeout):
	}
	if replica.Rev() > 0 {
		b.report(fmt.Errorf("etcd %s: the replica has not caught up within %v (%s): serving it at revision %d, stale",
			strings.Join(cfg.Endpoints, ","), cfg.StartTimeout, b.whyNotSynced(), replica.Rev()))
		return b, nil
	}
	// An empty replica has nothing to serve, but one that etcd is
	// filling (a first start, or a replica deleted to be rebuilt, on a
	// store of millions of rows) needs longer than any fixed bound: wait
	// as long as etcd keeps answering.
	for b.answering() {
		select {
		case <-b.synced:
			return b, nil
		case <-time.After(b.cfg.ProbeInterval):
		}
	}
	select {
	case <-b.synced:
		return b, nil
	default:
	}
	why := b.whyNotSynced()
	b.Close()
	return nil, fmt.Errorf("etcd %s: %s within %v and the replica %s is empty, so there is nothing to serve: %w",
		strings.Join(cfg.Endpoints, ","), why, cfg.StartTimeout, cfg.ReplicaPath, kv.ErrUnavailable)
}

// answering reports whether a quorum of etcd answered within StaleAfter.
func (b *Backend) answering() bool {
	b.hmu.Lock()
	defer b.hmu.Unlock()
	return !b.health.LastContact.IsZero() && time.Since(b.health.LastContact) <= b.cfg.StaleAfter
}

// whyNotSynced says why the replica has not caught up yet, for Open.
func (b *Backend) whyNotSynced() string {
	h := b.Health()
	if h.LastContact.IsZero() {
		return fmt.Sprintf("not reached (last error: %s)", h.LastError)
	}
	return fmt.Sprintf("last answered %s ago (last error: %s)", time.Since(h.LastContact).Round(time.Millisecond), h.LastError)
}

// CheckFiles reads cfg's TLS files as Open does, without dialling etcd
// (`callgate config check`): a CA, certificate or key that is missing or
// does not parse is reported before the daemon is started.
func CheckFiles(cfg Config) error {
	_, err := tlsConfig(cfg)
	return err
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.CAFile == "" && cfg.CertFile == "" && cfg.KeyFile == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcd TLS CA (store.etcd.ca_file): %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd TLS CA %s: no PEM certificate in it", cfg.CAFile)
		}
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, fmt.Errorf("etcd TLS: cert_file and key_file go together (have %q and %q)", cfg.CertFile, cfg.KeyFile)
	}
	if cfg.CertFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd TLS client certificate (store.etcd.cert_file %s, key_file %s): %w", cfg.CertFile, cfg.KeyFile, err)
		}
		t.Certificates = []tls.Certificate{c}
	}
	return t, nil
}

// Replica returns the local replica (for its path and size).
func (b *Backend) Replica() *boltkv.DB { return b.replica }

// Path returns the replica's path.
func (b *Backend) Path() string { return b.replica.Path() }

// Size returns the replica file's size.
func (b *Backend) Size() (int64, error) { return b.replica.Size() }

// String implements kv.Backend.
func (b *Backend) String() string {
	return fmt.Sprintf("etcd %s prefix %q (replica %s)", strings.Join(b.cfg.Endpoints, ","), b.cfg.Prefix, b.replica.Path())
}

// Limits implements kv.Backend.
func (b *Backend) Limits() kv.Limits { return b.cfg.Limits }

// ReadOnly implements kv.Backend.
func (b *Backend) ReadOnly() bool { return false }

// View implements kv.Backend: the replica's snapshot.
func (b *Backend) View(fn func(kv.Reader) error) error { return b.replica.View(fn) }

// Subscribe implements kv.Backend: events after the replica applied them.
func (b *Backend) Subscribe(fn func(kv.Event)) func() { return b.replica.Subscribe(fn) }

// Client returns the etcd client (tests and operator tools).
func (b *Backend) Client() *clientv3.Client { return b.cli }

// Close stops the sync loop, gives up the session lease and closes the
// replica and the client.
func (b *Backend) Close() error {
	b.cancel()
	b.wg.Wait()
	// The loop returns without its usual clean-up: nothing watches now,
	// and Health must not say otherwise to whoever still asks.
	b.setWatching(false)
	b.lmu.Lock()
	if b.lease != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = b.cli.Revoke(ctx, b.lease)
		cancel()
		b.lease = 0
	}
	b.lmu.Unlock()
	err := b.cli.Close()
	if rerr := b.replica.Close(); rerr != nil {
		err = rerr
	}
	return err
}

func (b *Backend) key(k []byte) string { return string(b.prefix) + string(k) }

// Txn implements kv.Backend.
func (b *Backend) Txn(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if err := kv.CheckTxn(cmps, ops, b.cfg.Limits); err != nil {
		return 0, err
	}
	ecmps := make([]clientv3.Cmp, len(cmps))
	for i, c := range cmps {
		ecmps[i] = clientv3.Compare(clientv3.ModRevision(b.key(c.Key)), "=", c.ModRev)
	}
	eops := make([]clientv3.Op, len(ops))
	for i, o := range ops {
		switch {
		case o.IsPut():
			var opts []clientv3.OpOption
			if o.Ephemeral {
				id, err := b.sessionLease(ctx)
				if err != nil {
					return 0, err
				}
				opts = append(opts, clientv3.WithLease(id))
			}
			eops[i] = clientv3.OpPut(b.key(o.Key), string(o.Value), opts...)
		case o.IsDelete():
			eops[i] = clientv3.OpDelete(b.key(o.Key))
		case o.IsDeleteRange():
			eops[i] = clientv3.OpDelete(b.key(o.Key), clientv3.WithRange(b.key(o.End)))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.txnTimeout())
	defer cancel()
	resp, err := b.cli.Txn(ctx).If(ecmps...).Then(eops...).Commit()
	if err != nil {
		return 0, b.mapErr(err)
	}
	b.contact(resp.Header.Revision)
	if !resp.Succeeded {
		return resp.Header.Revision, kv.ErrConflict
	}
	return resp.Header.Revision, nil
}

// mapErr names etcd's errors in kv's terms.
func (b *Backend) mapErr(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("%w: %v", kv.ErrTooLarge, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrTimeout),
		errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail), errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost),
		strings.Contains(err.Error(), "Unavailable"):
		return b.unavailable(err)
	}
	return fmt.Errorf("etcd: %w", err)
}

// sessionLease returns this node's lease for ephemeral keys, granting it
// (and keeping it alive) on first use or after it was lost.
func (b *Backend) sessionLease(ctx context.Context) (clientv3.LeaseID, error) {
	b.lmu.Lock()
	defer b.lmu.Unlock()
	if b.lease != 0 {
		return b.lease, nil
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
	defer cancel()
	g, err := b.cli.Grant(ctx, int64(b.cfg.LeaseTTL/time.Second))
	if err != nil {
		return 0, b.mapErr(err)
	}
	ch, err := b.cli.KeepAlive(b.ctx, g.ID)
	if err != nil {
		return 0, b.mapErr(err)
	}
	b.lease = g.ID
	go func() {
		for range ch {
		}
		// The lease expired or the backend closes: the next ephemeral put
		// gets a new one; keys bound to this one are gone.
		b.lmu.Lock()
		if b.lease == g.ID {
			b.lease = 0
		}
		b.lmu.Unlock()
		if b.ctx.Err() == nil {
			b.report(fmt.Errorf("etcd session lease %x lost: ephemeral keys (import staging records) expired", g.ID))
		}
	}()
	return g.ID, nil
}

// stripPrefix returns k without the backend's prefix, or nil if k is
// not under it.
func (b *Backend) stripPrefix(k []byte) []byte {
	if !bytes.HasPrefix(k, b.prefix) {
		return nil
	}
	return k[len(b.prefix):]
}

func (b *Backend) report(err error) {
	b.hmu.Lock()
	b.health.LastError = err.Error()
	b.hmu.Unlock()
	if b.cfg.OnError != nil {
		b.cfg.OnError(err)
	}
}
