package etcdkv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"
)

// wipe restarts every member of c on an empty data directory with the same
// names, URLs and cluster token: etcd comes back with the same cluster ID
// but its revision starts again from 1, as after a restore from an older
// snapshot (etcdctl snapshot restore without --bump-revision) or an
// operator re-creating a lost single-member cluster.
func wipe(t *testing.T, c *etcdtest.Cluster) {
	t.Helper()
	c.Stop()
	for _, m := range c.Members {
		if err := os.RemoveAll(m.Dir); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range c.Members {
		c.Restart(m)
	}
	c.WaitHealthy(30 * time.Second)
}

// After etcd went back in revisions, a node that was running through it
// resynchronises and converges on what etcd now holds, instead of
// watching for revisions etcd has not reached and reporting itself fresh.
func TestRevisionWentBackWhileRunning(t *testing.T) {
	c := etcdtest.Start(t, 1)
	p := fmt.Sprintf("back%d/", prefixes.Add(1))
	dir := t.TempDir()
	a := startNode(t, c, p, filepath.Join(dir, "a.db"))
	populateLong(t, a)
	before := a.kv.Health().ReplicaRev
	wipe(t, c)
	// The restored state, written by a node with a fresh replica: far
	// fewer revisions than A's replica has.
	r := startNode(t, c, p, filepath.Join(dir, "r.db"))
	if err := storetest.Populate(r.st); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550199"}, "after the restore"); err != nil {
		t.Fatal(err)
	}
	if rr := r.kv.Health().ReplicaRev; rr >= before {
		t.Fatalf("test setup: restored etcd at revision %d, not below A's %d", rr, before)
	}
	alice, _ := a.st.Subscriber(num(storetest.AliceNumber))
	if !until(20*time.Second, func() bool { return a.st.InBlocked(alice.ID, num("+12025550199")) }) {
		t.Fatalf("node A never saw the write made after etcd went back from revision %d to %d: health %+v",
			before, r.kv.Health().ReplicaRev, a.kv.Health())
	}
	if ea, er := export(t, a.st), export(t, r.st); ea != er {
		t.Fatal("A differs from etcd's state after the restore")
	}
	if h := a.kv.Health(); h.Resyncs < 2 || h.ReplicaRev >= before {
		t.Fatalf("node A: %+v, want a resync counted and the replica at etcd's revision", h)
	}
}

// The same for a node that was stopped during the restore and starts on
// its old replica.
func TestRevisionWentBackWhileStopped(t *testing.T) {
	c := etcdtest.Start(t, 1)
	p := fmt.Sprintf("back%d/", prefixes.Add(1))
	dir := t.TempDir()
	a := startNode(t, c, p, filepath.Join(dir, "a.db"))
	populateLong(t, a)
	a.stop()
	wipe(t, c)
	r := startNode(t, c, p, filepath.Join(dir, "r.db"))
	if err := storetest.Populate(r.st); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550199"}, "after the restore"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a.open()
	alice, _ := a.st.Subscriber(num(storetest.AliceNumber))
	if !until(20*time.Second, func() bool { return a.st.InBlocked(alice.ID, num("+12025550199")) }) {
		t.Fatalf("node A, started on a replica ahead of etcd, never saw etcd's state: health %+v", a.kv.Health())
	}
	if ea, er := export(t, a.st), export(t, r.st); ea != er {
		t.Fatal("A differs from etcd's state after the restore")
	}
	if !until(5*time.Second, func() bool { return !a.kv.Health().Stale }) {
		t.Fatalf("node A stale: %+v", a.kv.Health())
	}
	if h := a.kv.Health(); h.Resyncs != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("node A after %v: %d resyncs, want 1 at once (%+v)", time.Since(start), h.Resyncs, h)
	}
}

// populateLong writes the storetest data and then many more revisions,
// more than the restored cluster will reach.
func populateLong(t *testing.T, n *node) {
	t.Helper()
	if err := storetest.Populate(n.st); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := n.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{fmt.Sprintf("+1202555%04d", 7000+i)}, "before the restore"); err != nil {
			t.Fatal(err)
		}
	}
}
