package etcdkv

import (
	"fmt"
	"strings"
	"time"

	"callgate/store/kv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// maxReconnectWait caps the client's wait between attempts to reconnect
// to a member that went away. gRPC's default grows to two minutes, so a
// node whose etcd was gone for a minute stayed stale (and refused writes)
// for up to that long after etcd was back; a second costs one refused TCP
// connect per endpoint per second while etcd is down.
const maxReconnectWait = time.Second

// reconnectOptions are the dial options that bound reconnection.
func reconnectOptions(cfg Config) []grpc.DialOption {
	return []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: backoff.Config{
			BaseDelay:  100 * time.Millisecond,
			Multiplier: 1.6,
			Jitter:     0.2,
			MaxDelay:   maxReconnectWait,
		},
		MinConnectTimeout: cfg.DialTimeout,
	})}
}

// Outage reports how long no quorum of etcd has answered this node, and
// whether that is longer than StaleAfter: a known outage, not a member
// dying under one request. The store does not retry a write then.
func (b *Backend) Outage() (time.Duration, bool) {
	b.hmu.Lock()
	last := b.health.LastContact
	b.hmu.Unlock()
	if last.IsZero() {
		last = b.opened
	}
	d := time.Since(last)
	return d, d > b.cfg.StaleAfter
}

// txnTimeout bounds one write. During a known outage it is a probe's
// timeout, not RequestTimeout: etcd back answers within it, etcd still
// gone refuses the operator at once instead of after RequestTimeout.
func (b *Backend) txnTimeout() time.Duration {
	if _, out := b.Outage(); out {
		return min(b.cfg.RequestTimeout, max(b.cfg.ProbeInterval, 500*time.Millisecond))
	}
	return b.cfg.RequestTimeout
}

// unavailable is kv.ErrUnavailable naming the endpoints and, during a
// known outage, what it means for the operator.
func (b *Backend) unavailable(err error) error {
	eps := strings.Join(b.cfg.Endpoints, ",")
	if d, out := b.Outage(); out {
		return fmt.Errorf("etcd %s: %w: no quorum has answered this node for %s, so changes are refused until etcd is back (calls are still answered from this node's replica at revision %d): %v",
			eps, kv.ErrUnavailable, d.Round(100*time.Millisecond), b.replica.Rev(), err)
	}
	return fmt.Errorf("etcd %s: %w: %v", eps, kv.ErrUnavailable, err)
}
