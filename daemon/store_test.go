package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"callgate/internal/config"
	"callgate/store"
	"callgate/store/etcdkv/etcdtest"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// With store.backend etcd the daemon keeps its lists in etcd, serves from
// the replica, and shows a stale replica in /readyz (still ready: calls
// are answered) and in /metrics.
func TestEtcdBackend(t *testing.T) {
	c := etcdtest.Start(t, 1)
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	cfg := etcdConfig(t, c)
	d := New(cfg, Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	if d.Store().Path() != cfg.ReplicaPath() {
		t.Errorf("store path %q, want the replica %q", d.Store().Path(), cfg.ReplicaPath())
	}
	if _, err := d.Store().CreateProvider(store.Operator, store.ProviderSpec{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Client().Get(ctx, "callgate/providers/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("providers in etcd: %v %v", resp, err)
	}
	if code, body := get(t, "http://"+d.AdminAddr()+"/readyz"); code != 200 || !strings.Contains(body, "store: ok") {
		t.Fatalf("/readyz with etcd up: %d %q", code, body)
	}
	_, body := get(t, "http://"+d.AdminAddr()+"/metrics")
	if !strings.Contains(body, "callgate_store_stale 0") {
		t.Fatalf("/metrics lacks callgate_store_stale 0")
	}
	// Resyncs have more causes than compaction (the first load counts one).
	if !strings.Contains(body, "callgate_store_resyncs 1") || !strings.Contains(body, "first load") || !strings.Contains(body, "went back") {
		t.Fatalf("/metrics store_resyncs: want 1 with its causes in the help text:\n%s", grepLines(body, "store_resyncs"))
	}
	c.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, "http://"+d.AdminAddr()+"/readyz")
		if code == 200 && strings.Contains(body, "store: stale") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with etcd down: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, body := get(t, "http://"+d.AdminAddr()+"/metrics"); !strings.Contains(body, "callgate_store_stale 1") {
		t.Fatalf("/metrics lacks callgate_store_stale 1")
	}
	if _, err := d.Store().GetProvider(store.Operator, "acme"); err != nil {
		t.Fatalf("replica does not answer with etcd down: %v", err)
	}
}

// Shutdown closes the etcd backend too, so the replica file is released:
// a daemon started again on it in the same process opens it (before, its
// lock was held by a sync loop still running).
func TestEtcdShutdownReleasesTheReplica(t *testing.T) {
	c := etcdtest.Start(t, 1)
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	cfg := testConfig(t)
	cfg.Store.Backend = config.BackendEtcd
	cfg.Store.Etcd.Endpoints = c.Endpoints()
	cfg.Store.Etcd.RequestTimeout = time.Second
	d := New(cfg, Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Store().CreateProvider(store.Operator, store.ProviderSpec{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	again := New(cfg, Options{Logger: quietLogger()})
	if err := again.Start(context.Background()); err != nil {
		t.Fatalf("daemon started again on the same replica: %v", err)
	}
	defer again.Shutdown()
	if _, err := again.Store().GetProvider(store.Operator, "acme"); err != nil {
		t.Fatal(err)
	}
}

// A node started while etcd is out of reach serves its replica and says
// so: /readyz says etcd was not reached since the start, and how long ago
// that was, not the zero time's "2562047h47m16s ago"; the replica's age
// in /metrics counts from the start likewise.
func TestEtcdStartWithEtcdDownSaysSinceWhen(t *testing.T) {
	c := etcdtest.Start(t, 1)
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	cfg := etcdConfig(t, c)
	d := New(cfg, Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Store().CreateProvider(store.Operator, store.ProviderSpec{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	again := New(cfg, Options{Logger: quietLogger()})
	if err := again.Start(context.Background()); err != nil {
		t.Fatalf("daemon started with etcd down on a replica with data: %v", err)
	}
	defer again.Shutdown()
	_, body := get(t, "http://"+again.AdminAddr()+"/readyz")
	line := grepLines(body, "store:")
	if !strings.Contains(line, "etcd not reached since this node started") || strings.Contains(line, "2562047h") {
		t.Fatalf("/readyz of a node started with etcd down: %q, want it to say etcd was not reached since the start", line)
	}
	_, body = get(t, "http://"+again.AdminAddr()+"/metrics")
	var m string
	for l := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(l, "callgate_store_replica_age_seconds ") {
			m = l
		}
	}
	var age float64
	if _, err := fmt.Sscanf(m, "callgate_store_replica_age_seconds %g", &age); err != nil || age <= 0 || age > 600 {
		t.Fatalf("/metrics %q: want the seconds since the start (the start waits 10s for etcd)", m)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
