package etcdkv_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/kv"
)

// A node whose watch comes back after changes were made without it stays
// stale until its replica has them all: a node that has reconnected but
// not yet caught up is not fresh (for /readyz and cluster status), however
// quickly etcd answers it.
func TestStaleUntilCaughtUpAfterReconnect(t *testing.T) {
	c := etcdtest.Start(t, 3)
	p := fmt.Sprintf("catchup%d/", prefixes.Add(1))
	dir := t.TempDir()
	a := openNode(t, c, p, filepath.Join(dir, "a.db"))
	// B reaches etcd through one member only, so that member's death cuts
	// it off while A goes on writing through the other two.
	m := c.Members[2]
	cfg := nodeConfig(c, p, filepath.Join(dir, "b.db"))
	cfg.Endpoints = []string{m.Client}
	b, err := etcdkv.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	put := func(i int) int64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rev, err := a.Txn(ctx, nil, []kv.Op{kv.Put(fmt.Appendf(nil, "entries/%04d", i), []byte("v"))})
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	put(0)
	if !until(10*time.Second, func() bool { return !b.Health().Stale }) {
		t.Fatalf("node B not fresh: %+v", b.Health())
	}
	// B's feed holds every change from the first one after the outage on,
	// as a slow subscriber would (the replica applies the next change only
	// once the feed has taken this one).
	var hold atomic.Bool
	release := make(chan struct{})
	b.Subscribe(func(kv.Event) {
		if hold.Load() {
			<-release
		}
	})
	defer func() {
		if hold.Swap(false) {
			close(release)
		}
	}()
	m.Kill()
	if !until(10*time.Second, func() bool { return b.Health().Stale }) {
		t.Fatalf("node B not stale with its member down: %+v", b.Health())
	}
	var last int64
	for i := 1; i <= 20; i++ {
		last = put(i)
	}
	// etcd's last change is outside the prefix: the replica never reaches
	// etcd's revision, and is caught up nonetheless once it has the above.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = c.Client().Put(ctx, "elsewhere", "x")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	hold.Store(true)
	c.Restart(m)
	c.WaitHealthy(20 * time.Second)
	// B is watching again and etcd answers it, but its replica has the
	// first missed change at most.
	if !until(10*time.Second, func() bool {
		h := b.Health()
		return h.Watching && time.Since(h.LastContact) < 200*time.Millisecond && h.ClusterRev >= last
	}) {
		t.Fatalf("node B not watching again: %+v", b.Health())
	}
	time.Sleep(300 * time.Millisecond) // a progress notification would have come by now
	if h := b.Health(); h.ReplicaRev >= last || !h.Stale || !h.CatchingUp {
		t.Fatalf("node B with its replica at revision %d of %d: %+v, want stale (catching up)", h.ReplicaRev, last, h)
	}
	hold.Store(false)
	close(release)
	if !until(10*time.Second, func() bool { return !b.Health().Stale }) {
		t.Fatalf("node B not fresh after catching up: %+v", b.Health())
	}
	if h := b.Health(); h.ReplicaRev < last {
		t.Fatalf("node B fresh with its replica at revision %d, below %d: %+v", h.ReplicaRev, last, h)
	}
}
