package keysync

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"callgate/e164"
	"callgate/keys"
	"callgate/policy"
	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"
)

// node is one callgate node's key registry, replicated through etcd.
type node struct {
	reg  *keys.Registry
	sync *Sync
}

func startNode(t *testing.T, cl *etcdtest.Cluster, st *store.Store) *node {
	t.Helper()
	reg, err := keys.Open(keys.Config{SingleUse: true, Grace: -1}, st)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Config{Client: cl.Client(), Prefix: "test.keys/", Slot: time.Second, Linger: time.Second}, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); reg.Close() })
	return &node{reg, s}
}

// eventually waits until cond holds; the limit only guards against a hang
// (replication is asynchronous: no timing is asserted).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 30s", what)
		}
	}
}

// TestKeysReplicate: a key registered on one node matches calls on
// another; a single-use key used on one node stops matching on the
// others; a node started later loads what the cluster holds (uses
// included); registering a used key again does not revive it; etcd drops
// a key when its window and linger have passed.
func TestKeysReplicate(t *testing.T) {
	cl := etcdtest.Start(t, 1)
	cl.WaitHealthy(30 * time.Second)
	st := storetest.Fixture(t)
	en, err := st.GetEnterprise(store.Operator, storetest.Enterprise)
	if err != nil {
		t.Fatal(err)
	}
	calling := e164.MustParse(storetest.EnterpriseNumber)
	alice, bob := e164.MustParse(storetest.AliceNumber), e164.MustParse(storetest.BobNumber)
	a, b := startNode(t, cl, st), startNode(t, cl, st)
	peek := func(n *node, called e164.Number) policy.KeyMatch {
		m, _ := n.reg.Peek(calling, called, time.Now())
		return m
	}

	// REST registration on a: once it returns, the cluster holds it.
	k, err := a.reg.RegisterWait(context.Background(), en.ID, keys.Key{Calling: calling, Called: alice})
	if err != nil {
		t.Fatal(err)
	}
	cli := cl.Client()
	got, err := cli.Get(context.Background(), "test.keys/", clientv3.WithPrefix())
	if err != nil || len(got.Kvs) != 1 || got.Kvs[0].Lease == 0 {
		t.Fatalf("etcd after the registration: %v %v", got, err)
	}
	if want := "test.keys/" + calling.String()[1:] + "/" + alice.String()[1:] + "/"; string(got.Kvs[0].Key[:len(want)]) != want {
		t.Errorf("etcd key %q, want it under %q", got.Kvs[0].Key, want)
	}
	eventually(t, "the key on node b", func() bool { return peek(b, alice) == policy.KeyMatched })

	// The call reaches b and uses the single-use key up; a hears of it.
	if m, _ := b.reg.Check(calling, alice, time.Now()); m != policy.KeyMatched {
		t.Fatalf("the call on b: %v", m)
	}
	eventually(t, "the use on node a", func() bool { return peek(a, alice) == policy.KeyMissing })

	// SIP enrolment on b (published in the background) reaches a.
	if _, err := b.reg.Register(en.ID, keys.Key{Calling: calling, Called: bob}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b's enrolment on node a", func() bool { return peek(a, bob) == policy.KeyMatched })

	// A retried registration of the used key does not revive it.
	if _, err := a.reg.RegisterWait(context.Background(), en.ID, k); err != nil {
		t.Fatal(err)
	}
	c := startNode(t, cl, st)
	if m := peek(c, alice); m != policy.KeyMissing {
		t.Errorf("a node started later: the used key %v, want KeyMissing", m)
	}
	if m := peek(c, bob); m != policy.KeyMatched {
		t.Errorf("a node started later: the unused key %v, want KeyMatched", m)
	}
	if s := c.sync.Stats(); s.Loaded != 2 || s.ApplyErrors != 0 {
		t.Errorf("node c loaded %+v", s)
	}
	for _, n := range []*node{a, b} {
		if s := n.reg.Stats(); s.ReplicationErrors != 0 || s.ReplicationDropped != 0 || s.Replicated == 0 {
			t.Errorf("replication stats %+v", s)
		}
	}

	// A short window: etcd drops the key once its lease runs out.
	short := e164.MustParse(storetest.AliceNumber2)
	now := time.Now()
	if _, err := a.reg.RegisterWait(context.Background(), en.ID, keys.Key{Calling: calling, Called: short, NotBefore: now, NotAfter: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	prefix := "test.keys/" + calling.String()[1:] + "/" + short.String()[1:] + "/"
	eventually(t, "etcd dropping the expired key", func() bool {
		r, err := cli.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && r.Count == 0
	})
}

// TestParseRefusesForeignKeys: a key under the prefix that is not a call
// key is reported, not applied.
func TestParseRefusesForeignKeys(t *testing.T) {
	s := &Sync{cfg: Config{Prefix: "p/"}}
	for _, k := range []string{"p/x", "p/15125550100/13035550100/12", "p/15125550100/abc/1-2", "q/15125550100/13035550100/1-2"} {
		if _, err := s.parse([]byte(k), nil); err == nil {
			t.Errorf("%q parsed", k)
		}
	}
	c, err := s.parse([]byte("p/15125550100/13035550100/100-160"), []byte(`{"used":130}`))
	if err != nil || c.Key.Calling != e164.MustParse("+15125550100") || c.Key.NotAfter.Unix() != 160 || c.Used.Unix() != 130 {
		t.Errorf("%+v %v", c, err)
	}
	if s.etcdKey(c.Key) != "p/15125550100/13035550100/100-160" {
		t.Errorf("etcdKey %q", s.etcdKey(c.Key))
	}
}
