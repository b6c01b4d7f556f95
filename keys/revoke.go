package keys

import (
	"context"
	"fmt"
	"sync"

	"callgate/e164"
)

// Revocation: an enterprise withdraws keys it registered (a call it will
// not place after all, or keys registered with a token that leaked), and
// the operator withdraws every key of an enterprise (its token leaked: the
// keys a thief registered with it are indistinguishable from the
// enterprise's own). A revoked key matches no call from then on, on every
// node (replication), and across a restart (the log): it is a use that
// ended in 1970 (revokedEnd), so replay, replication and older versions
// handle it as they handle uses. The key stays in the table until its
// window ends, so registering it again (a retried request) does not revive
// it (ErrRevoked); a new window is a new key.

// revokeFanout bounds the revocations published to the cluster at once.
const revokeFanout = 16

// Revoke revokes the keys of calling -> called that enterprise ent
// registered (every window) and that could still match. It returns how
// many it revoked once the revocations are on disk and, when the registry
// replicates, in the cluster; they take effect here at once. Revoking
// again publishes the revoked keys again (a revocation that did not reach
// the cluster is retried so) and counts none.
func (r *Registry) Revoke(ctx context.Context, ent uint32, calling, called e164.Number) (int, error) {
	if calling == 0 || called == 0 {
		return 0, invalid("called", "a key to revoke names both numbers (%s -> %s)", calling, called)
	}
	keys, n := r.t.revokePair(calling, called, ent, unixSec(r.cfg.Now()), nil)
	return r.revoked(ctx, keys, n)
}

// RevokeAll revokes every key of enterprise ent that could still match,
// as Revoke does. It scans the table (a few milliseconds per million keys
// held): an operator's action, not the call path.
func (r *Registry) RevokeAll(ctx context.Context, ent uint32) (int, error) {
	keys, n := r.t.revokeAll(ent, unixSec(r.cfg.Now()), nil)
	return r.revoked(ctx, keys, n)
}

// revoked makes the revocations made in the table durable and known to
// the cluster: keys are the revoked keys, n how many of them were revoked
// now, which it returns once done.
func (r *Registry) revoked(ctx context.Context, keys []slot, n int) (int, error) {
	select {
	case <-r.stop:
		return 0, ErrClosed
	default:
	}
	if n > 0 && r.w != nil {
		if err := r.w.wait(ctx.Done()); err != nil {
			return n, fmt.Errorf("%d keys revoked here, not saved (they would match again after a restart): %w", n, err)
		}
	}
	if r.rep == nil || len(keys) == 0 {
		return n, nil
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		first  error
	)
	sem := make(chan struct{}, revokeFanout)
	for i := range keys {
		sem <- struct{}{}
		wg.Add(1)
		go func(s *slot) {
			defer func() { <-sem; wg.Done() }()
			if err := r.publish(ctx, changeOf(s)); err != nil {
				mu.Lock()
				if failed++; first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(&keys[i])
	}
	wg.Wait()
	if failed > 0 {
		return n, fmt.Errorf("%d of %d revocations did not reach the other nodes (they hold on this one; revoke again to retry): %w", failed, len(keys), first)
	}
	return n, nil
}
