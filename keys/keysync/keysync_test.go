package keysync

import (
	"context"
	"errors"
	"fmt"
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
	if c.Enterprise != 0 || c.Revoked {
		t.Errorf("an older version's value: %+v, want no enterprise, not revoked", c)
	}
	c, err = s.parse([]byte("p/15125550100/13035550100/100-160"), []byte(`{"ent":9,"used":1}`))
	if err != nil || c.Enterprise != 9 || !c.Revoked || !c.Used.IsZero() {
		t.Errorf("a revoked key: %+v %v", c, err)
	}
	if s.etcdKey(c.Key) != "p/15125550100/13035550100/100-160" {
		t.Errorf("etcdKey %q", s.etcdKey(c.Key))
	}
}

// TestEnterpriseAndRevocationReplicate: a key carries its enterprise
// through etcd; a revocation on one node reaches the others and a node
// started later, and a later use does not undo it in etcd; records of an
// older version ({} and {"used":...}, no enterprise) are still applied,
// bound to the enterprise enrolling the number; after the number moves,
// the new enterprise's registration of the same key replaces the old
// one's in etcd, and the old one's revocation leaves it alone.
func TestEnterpriseAndRevocationReplicate(t *testing.T) {
	cl := etcdtest.Start(t, 1)
	cl.WaitHealthy(30 * time.Second)
	st := storetest.Fixture(t)
	en, err := st.GetEnterprise(store.Operator, storetest.Enterprise)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cli := cl.Client()
	calling := e164.MustParse(storetest.EnterpriseNumber)
	alice, bob := e164.MustParse(storetest.AliceNumber), e164.MustParse(storetest.BobNumber)
	a, b := startNode(t, cl, st), startNode(t, cl, st)
	peek := func(n *node, called e164.Number) (policy.KeyMatch, uint32) {
		return n.reg.Peek(calling, called, time.Now())
	}
	value := func(k keys.Key) string {
		t.Helper()
		r, err := cli.Get(ctx, a.sync.etcdKey(k))
		if err != nil || len(r.Kvs) != 1 {
			t.Fatalf("etcd %s: %v %v", a.sync.etcdKey(k), r, err)
		}
		return string(r.Kvs[0].Value)
	}

	ka, err := a.reg.RegisterWait(ctx, en.ID, keys.Key{Calling: calling, Called: alice})
	if err != nil {
		t.Fatal(err)
	}
	kb, err := a.reg.RegisterWait(ctx, en.ID, keys.Key{Calling: calling, Called: bob})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := value(ka), fmt.Sprintf(`{"ent":%d}`, en.ID); got != want {
		t.Errorf("etcd value %s, want %s", got, want)
	}
	eventually(t, "both keys on b", func() bool {
		m1, id := peek(b, alice)
		m2, _ := peek(b, bob)
		return m1 == policy.KeyMatched && m2 == policy.KeyMatched && id == en.ID
	})

	// Revoke one pair on a: b hears of it; etcd says revoked; a use
	// published late (a node that had not heard yet) leaves it revoked.
	if n, err := a.reg.Revoke(ctx, en.ID, calling, alice); n != 1 || err != nil {
		t.Fatalf("Revoke: %d %v", n, err)
	}
	revoked := fmt.Sprintf(`{"ent":%d,"used":1}`, en.ID)
	if got := value(ka); got != revoked {
		t.Errorf("etcd after the revocation: %s, want %s", got, revoked)
	}
	eventually(t, "the revocation on b", func() bool { m, _ := peek(b, alice); return m == policy.KeyMissing })
	if err := b.sync.Publish(ctx, keys.Change{Key: ka, Enterprise: en.ID, Used: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := value(ka); got != revoked {
		t.Errorf("etcd after a late use: %s, want it still revoked", got)
	}
	if _, err := b.reg.RegisterWait(ctx, en.ID, ka); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("registering the revoked key again on b: %v, want ErrRevoked", err)
	}

	// The operator revokes all of the enterprise's keys on b.
	if n, err := b.reg.RevokeAll(ctx, en.ID); n != 1 || err != nil {
		t.Fatalf("RevokeAll: %d %v, want the one live key", n, err)
	}
	eventually(t, "RevokeAll on a", func() bool { m, _ := peek(a, bob); return m == policy.KeyMissing })
	c := startNode(t, cl, st)
	for _, k := range []keys.Key{ka, kb} {
		if m, _ := peek(c, k.Called); m != policy.KeyMissing {
			t.Errorf("a node started later: revoked key to %s %v, want KeyMissing", k.Called, m)
		}
	}

	// Records of the older version: no enterprise.
	now := time.Now().Unix()
	carol := e164.MustParse(storetest.AliceNumber2)
	old := func(called e164.Number, val string) keys.Key {
		k := keys.Key{Calling: calling, Called: called, NotBefore: time.Unix(now, 0).UTC(), NotAfter: time.Unix(now+60, 0).UTC()}
		if _, err := cli.Put(ctx, a.sync.etcdKey(k), val); err != nil {
			t.Fatal(err)
		}
		return k
	}
	oldKey := old(carol, `{}`)
	old(carol+1, fmt.Sprintf(`{"used":%d}`, now-1))
	eventually(t, "an older version's key on a", func() bool { m, id := peek(a, carol); return m == policy.KeyMatched && id == en.ID })
	d := startNode(t, cl, st)
	if m, id := peek(d, carol); m != policy.KeyMatched || id != en.ID {
		t.Errorf("a node loading an older version's key: %v (enterprise %d)", m, id)
	}
	if m, _ := peek(d, carol+1); m != policy.KeyMissing {
		t.Errorf("a node loading an older version's used key: %v, want KeyMissing", m)
	}

	// The number moves to globex, which registers the same window.
	if err := st.DeleteEnterprise(store.Operator, storetest.Enterprise); err != nil {
		t.Fatal(err)
	}
	globex, err := st.CreateEnterprise(store.Operator, store.EnterpriseSpec{Name: "globex", Numbers: []string{storetest.EnterpriseNumber}})
	if err != nil {
		t.Fatal(err)
	}
	dave := carol + 2
	if _, err := a.reg.RegisterWait(ctx, en.ID, keys.Key{Calling: calling, Called: dave}); !errors.Is(err, keys.ErrNotEnrolled) {
		t.Fatalf("the old enterprise registered after the move: %v, want ErrNotEnrolled", err)
	}
	// initech's key of that window as registered before the move; globex
	// registers the same window.
	kd := keys.Key{Calling: calling, Called: dave, NotBefore: time.Unix(now, 0).UTC(), NotAfter: time.Unix(now+60, 0).UTC()}
	if _, err := cli.Put(ctx, a.sync.etcdKey(kd), fmt.Sprintf(`{"ent":%d}`, en.ID)); err != nil {
		t.Fatal(err)
	}
	if m, _ := peek(a, oldKey.Called); m != policy.KeyMissing {
		t.Errorf("after the move, the old enterprise's key: %v, want KeyMissing", m)
	}
	if _, err := b.reg.RegisterWait(ctx, globex.ID, kd); err != nil {
		t.Fatal(err)
	}
	if got, want := value(kd), fmt.Sprintf(`{"ent":%d}`, globex.ID); got != want {
		t.Errorf("etcd after globex registered initech's window: %s, want %s", got, want)
	}
	eventually(t, "globex's key on a", func() bool { m, id := peek(a, dave); return m == policy.KeyMatched && id == globex.ID })
	if _, err := a.reg.RevokeAll(ctx, en.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := value(kd), fmt.Sprintf(`{"ent":%d}`, globex.ID); got != want {
		t.Errorf("etcd after initech revoked its keys: %s, want globex's key untouched %s", got, want)
	}
	if m, _ := peek(a, dave); m != policy.KeyMatched {
		t.Errorf("globex's key after initech revoked its keys: %v", m)
	}
	for _, n := range []*node{a, b, c, d} {
		if s := n.sync.Stats(); s.ApplyErrors != 0 {
			t.Errorf("apply errors %+v", s)
		}
	}
}
