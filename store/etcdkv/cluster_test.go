package etcdkv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/store"
	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/kv"
	"callgate/store/storetest"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/crypto/bcrypt"
)

// Store-level tests on a real three-member etcd cluster on loopback: two
// callgate nodes, each a store over its own etcdkv backend and replica.

type node struct {
	t       *testing.T
	kv      *etcdkv.Backend
	st      *store.Store
	cfg     etcdkv.Config
	stopped bool
}

func startNode(t *testing.T, c *etcdtest.Cluster, prefix, replica string) *node {
	t.Helper()
	n := &node{t: t, cfg: nodeConfig(c, prefix, replica)}
	n.open()
	t.Cleanup(n.stop)
	return n
}

func (n *node) open() {
	n.t.Helper()
	b, err := etcdkv.Open(n.cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	st, err := store.New(b, store.Options{PINCost: bcrypt.MinCost, GCInterval: -1, ApplyTimeout: 5 * time.Second})
	if err != nil {
		b.Close()
		n.t.Fatal(err)
	}
	n.kv, n.st, n.stopped = b, st, false
}

func (n *node) stop() {
	if n.stopped {
		return
	}
	n.stopped = true
	n.st.Close()
	n.kv.Close()
}

func num(s string) e164.Number { return e164.MustParse(s) }

func export(t *testing.T, s *store.Store) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Export(&buf, store.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func twoNodes(t *testing.T, c *etcdtest.Cluster) (a, b *node) {
	t.Helper()
	p := fmt.Sprintf("two%d/", prefixes.Add(1))
	dir := t.TempDir()
	a = startNode(t, c, p, filepath.Join(dir, "a.db"))
	if err := storetest.Populate(a.st); err != nil {
		t.Fatal(err)
	}
	b = startNode(t, c, p, filepath.Join(dir, "b.db"))
	return a, b
}

// until polls cond (every millisecond) for up to d.
func until(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// A change made on node A is used by node B; the propagation time is
// measured (and reported, not asserted: the machine is shared).
func TestChangeOnOneNodeSeenOnTheOther(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, b := twoNodes(t, c)
	alice, ok := b.st.Subscriber(num(storetest.AliceNumber))
	if !ok || !b.st.InVIP(alice.ID, num(storetest.VIPCaller)) {
		t.Fatal("node B does not have the data node A wrote before B started")
	}
	// Measured from the moment A is asked to the moment B answers with
	// the change: A's etcd transaction plus B's watch and apply.
	const changes = 200
	lat := make([]time.Duration, 0, changes)
	for i := range changes {
		caller := fmt.Sprintf("+1202555%04d", i)
		start := time.Now()
		if _, err := a.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{caller}, ""); err != nil {
			t.Fatal(err)
		}
		if !until(10*time.Second, func() bool { return b.st.InBlocked(alice.ID, num(caller)) }) {
			t.Fatalf("change %d not seen on node B within 10s", i)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("change on A used by B, over %d changes: p50 %v, p99 %v, max %v", changes, lat[changes/2], lat[changes*99/100], lat[changes-1])
	if ea, eb := export(t, a.st), export(t, b.st); ea != eb {
		t.Fatal("exports of A and B differ")
	}
	if h := b.kv.Health(); h.Stale || !h.Synced {
		t.Fatalf("node B health %+v", h)
	}
}

// Killing one member (the leader) fails no read, and writes go on.
func TestOneMemberDown(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, b := twoNodes(t, c)
	alice, _ := b.st.Subscriber(num(storetest.AliceNumber))
	leader := leaderOf(t, c)
	leader.Kill()
	t.Logf("killed the leader %s", leader.Name)
	for i := range 30 {
		if !b.st.InVIP(alice.ID, num(storetest.VIPCaller)) {
			t.Fatal("read failed with one member down")
		}
		caller := fmt.Sprintf("+1202556%04d", i)
		if _, err := a.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{caller}, ""); err != nil {
			t.Fatalf("write %d with one member down: %v", i, err)
		}
		if !until(10*time.Second, func() bool { return b.st.InBlocked(alice.ID, num(caller)) }) {
			t.Fatalf("write %d not seen on B with one member down", i)
		}
	}
	c.Restart(leader)
	c.WaitHealthy(20 * time.Second)
	if !until(10*time.Second, func() bool { return !a.kv.Health().Stale && !b.kv.Health().Stale }) {
		t.Fatalf("stale after the member came back: A %+v B %+v", a.kv.Health(), b.kv.Health())
	}
}

func leaderOf(t *testing.T, c *etcdtest.Cluster) *etcdtest.Member {
	t.Helper()
	cli := c.Client()
	for _, m := range c.Members {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := cli.Status(ctx, m.Client)
		cancel()
		if err == nil && st.Header.MemberId == st.Leader {
			return m
		}
	}
	t.Fatal("no leader")
	return nil
}

// All of etcd down: both nodes answer from their replicas and say they
// are stale; writes fail with kv.ErrUnavailable; once etcd is back they
// catch up and are fresh.
func TestAllMembersDown(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, b := twoNodes(t, c)
	alice, _ := b.st.Subscriber(num(storetest.AliceNumber))
	c.Stop()
	for _, n := range []*node{a, b} {
		if !until(10*time.Second, func() bool { return n.kv.Health().Stale }) {
			t.Fatalf("node not stale with etcd down: %+v", n.kv.Health())
		}
		if !n.st.InVIP(alice.ID, num(storetest.VIPCaller)) || !n.st.InBlocked(alice.ID, num(storetest.BlockedCaller)) {
			t.Fatal("replica does not answer with etcd down")
		}
	}
	_, err := a.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025557777"}, "")
	if !errors.Is(err, kv.ErrUnavailable) {
		t.Fatalf("write with etcd down: %v, want kv.ErrUnavailable", err)
	}
	for _, m := range c.Members {
		c.Restart(m)
	}
	c.WaitHealthy(30 * time.Second)
	for _, n := range []*node{a, b} {
		if !until(20*time.Second, func() bool { return !n.kv.Health().Stale }) {
			t.Fatalf("node still stale after etcd came back: %+v", n.kv.Health())
		}
	}
	if _, err := a.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025557777"}, ""); err != nil {
		t.Fatal(err)
	}
	if !until(10*time.Second, func() bool { return b.st.InBlocked(alice.ID, num("+12025557777")) }) {
		t.Fatal("write after the outage not seen on B")
	}
}

// A node that was away while etcd compacted past its revision resyncs in
// full on return, and loses nothing (deletions included).
func TestCompactionForcesFullResync(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, b := twoNodes(t, c)
	b.stop()
	// Changes B misses: rows added, a subscriber deleted, a large import.
	if _, err := a.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025558888"}, "while B was away"); err != nil {
		t.Fatal(err)
	}
	if err := a.st.DeleteSubscriber(store.Operator, storetest.Bob); err != nil {
		t.Fatal(err)
	}
	cli := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reports []string
	b.cfg.OnError = func(err error) { mu.Lock(); reports = append(reports, err.Error()); mu.Unlock() }
	b.open()
	h := b.kv.Health()
	if h.Resyncs != 1 {
		t.Fatalf("node B after compaction: %d resyncs, want 1 (%+v)", h.Resyncs, h)
	}
	// The warning says what follows and what it costs, not only that
	// etcd compacted.
	mu.Lock()
	logged := strings.Join(reports, "\n")
	mu.Unlock()
	for _, want := range []string{"compacted past the replica's revision", "a full resync follows", "read again from etcd (about ",
		"the replica's size", "goes on answering from its replica at revision", "reported stale"} {
		if !strings.Contains(logged, want) {
			t.Errorf("the compaction warning does not say %q:\n%s", want, logged)
		}
	}
	if ea, eb := export(t, a.st), export(t, b.st); ea != eb {
		t.Fatalf("after resync B differs from A:\n%s\nvs\n%s", eb, ea)
	}
	if _, ok := b.st.Subscriber(num(storetest.BobNumber)); ok {
		t.Fatal("subscriber deleted while B was away is still on B")
	}
	if ca, cb := a.st.Counts(), b.st.Counts(); ca != cb {
		t.Fatalf("counts differ: A %+v B %+v", ca, cb)
	}
}

// The replica opened as a plain store file (an operator command while no
// daemon runs) answers reads but refuses writes, which would diverge from
// etcd.
func TestReplicaOpenedAsAFileIsReadOnly(t *testing.T) {
	c := etcdtest.Start(t, 1)
	dir := t.TempDir()
	n := startNode(t, c, fmt.Sprintf("ro%d/", prefixes.Add(1)), filepath.Join(dir, "replica.db"))
	if err := storetest.Populate(n.st); err != nil {
		t.Fatal(err)
	}
	n.stop()
	s, err := store.Open(filepath.Join(dir, "replica.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.Subscriber(num(storetest.AliceNumber)); !ok {
		t.Fatal("replica opened as a file does not answer reads")
	}
	_, err = s.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025559999"}, "")
	if !errors.Is(err, store.ErrReadOnly) || !strings.Contains(err.Error(), "replica of an etcd store") {
		t.Fatalf("write to the replica file: %v", err)
	}
}
