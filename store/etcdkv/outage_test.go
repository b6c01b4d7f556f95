package etcdkv_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/kv"
	"callgate/store/storetest"
)

// A long outage of all of etcd, as an operator meets it: a write while the
// node already knows etcd is gone is refused at once and says why, and
// once etcd is back the node is fresh again within a few seconds, however
// long it was away (the client's reconnection back-off must not grow to
// gRPC's default of two minutes).
func TestLongOutageWritesFailFastAndNodeReturnsPromptly(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, _ := twoNodes(t, c)
	c.Stop()
	if !until(10*time.Second, func() bool { return a.kv.Health().Stale }) {
		t.Fatalf("node not stale with etcd down: %+v", a.kv.Health())
	}
	began := time.Now()
	_, err := a.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025557777"}, "")
	took := time.Since(began)
	if !errors.Is(err, kv.ErrUnavailable) {
		t.Fatalf("write with etcd down: %v, want kv.ErrUnavailable", err)
	}
	// RequestTimeout is 2s: three tries of it (the retry meant for a
	// member dying under one request) took over 6s.
	if took > 1500*time.Millisecond {
		t.Errorf("write with etcd known down took %v to fail, want under 1.5s", took)
	}
	if !strings.Contains(err.Error(), "no quorum") {
		t.Errorf("write with etcd down: %q does not say that etcd has no quorum", err)
	}
	// Long enough for gRPC's default reconnection back-off (1s x 1.6 per
	// try, up to 120s) to wait over 10s between tries.
	time.Sleep(25 * time.Second)
	back := time.Now()
	for _, m := range c.Members {
		c.Restart(m)
	}
	c.WaitHealthy(30 * time.Second)
	healthy := time.Since(back)
	if !until(time.Second+2*time.Second, func() bool { return !a.kv.Health().Stale }) {
		t.Fatalf("node still stale %v after etcd was restarted (healthy after %v): %+v",
			time.Since(back).Round(time.Millisecond), healthy.Round(time.Millisecond), a.kv.Health())
	}
	t.Logf("etcd healthy %v after its restart, the node fresh after %v", healthy.Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
	if _, err := a.st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025557777"}, ""); err != nil {
		t.Fatal(err)
	}
}
