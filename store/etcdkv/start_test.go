package etcdkv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/kv"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A node with an empty replica whose first load takes longer than
// StartTimeout (a store of millions of rows) waits for it while etcd
// answers, and starts caught up, without saying etcd was not reached.
func TestOpenWaitsForALongFirstLoad(t *testing.T) {
	c := etcdtest.Start(t, 1)
	cli := c.Client()
	p := fmt.Sprintf("long%d/", prefixes.Add(1))
	const keys = 12000
	val := strings.Repeat("x", 2048) // a list chunk's size
	for i := 0; i < keys; i += 128 {
		var ops []clientv3.Op
		for j := i; j < min(i+128, keys); j++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("%sentries/%08d", p, j), val))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := cli.Txn(ctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := nodeConfig(c, p, filepath.Join(t.TempDir(), "replica.db"))
	cfg.StartTimeout = 100 * time.Millisecond // shorter than the load
	var mu sync.Mutex
	var reports []string
	cfg.OnError = func(err error) { mu.Lock(); reports = append(reports, err.Error()); mu.Unlock() }
	start := time.Now()
	b, err := etcdkv.Open(cfg)
	if err != nil {
		t.Fatalf("open with an empty replica while etcd answers: %v", err)
	}
	defer b.Close()
	if d := time.Since(start); d < cfg.StartTimeout {
		t.Fatalf("test setup: the load took %v, not longer than StartTimeout %v", d, cfg.StartTimeout)
	}
	if h := b.Health(); !h.Synced || h.Resyncs != 1 {
		t.Fatalf("open returned before the replica was loaded: %+v", h)
	}
	n := 0
	if err := b.View(func(r kv.Reader) error {
		return r.Range([]byte("entries/"), kv.PrefixEnd([]byte("entries/")), func(_, _ []byte, _ int64) error { n++; return nil })
	}); err != nil || n != keys {
		t.Fatalf("replica holds %d keys (%v), want %d", n, err, keys)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range reports {
		if strings.Contains(r, "not reached") {
			t.Errorf("reported %q while etcd answered", r)
		}
	}
}

// With etcd out of reach an empty replica still fails to open, saying so.
func TestOpenEmptyReplicaEtcdDown(t *testing.T) {
	c := etcdtest.Start(t, 1)
	cfg := nodeConfig(c, "down/", filepath.Join(t.TempDir(), "replica.db"))
	c.Stop()
	cfg.StartTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := etcdkv.Open(cfg)
	if !errors.Is(err, kv.ErrUnavailable) || !strings.Contains(err.Error(), "not reached") || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("open with etcd down and an empty replica: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("open took %v to fail", d)
	}
}

// Resyncs counts full reloads since Open: one for the first start on an
// empty etcd (the empty replica is loaded from it, however little there
// is), none for a restart with the replica kept (the watch resumes from
// its revision), one again once the replica is deleted to be rebuilt.
// README's RESYNCS column says the same.
func TestResyncsFirstStartRestartRebuild(t *testing.T) {
	c := etcdtest.Start(t, 1)
	n := startNode(t, c, fmt.Sprintf("resyncs%d/", prefixes.Add(1)), filepath.Join(t.TempDir(), "replica.db"))
	if h := n.kv.Health(); h.Resyncs != 1 || !h.Synced {
		t.Fatalf("first start on an empty etcd: %d resyncs, want 1 (%+v)", h.Resyncs, h)
	}
	n.stop()
	n.open()
	if h := n.kv.Health(); h.Resyncs != 0 || !h.Synced || h.ReplicaRev == 0 {
		t.Fatalf("restart with the replica kept: %d resyncs, want 0 (%+v)", h.Resyncs, h)
	}
	n.stop()
	if err := os.Remove(n.cfg.ReplicaPath); err != nil {
		t.Fatal(err)
	}
	n.open()
	if h := n.kv.Health(); h.Resyncs != 1 || !h.Synced {
		t.Fatalf("restart with the replica deleted: %d resyncs, want 1 (%+v)", h.Resyncs, h)
	}
}
