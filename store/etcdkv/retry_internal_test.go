package etcdkv

import (
	"path/filepath"
	"testing"
	"time"

	"callgate/store/etcdkv/etcdtest"
)

// After a healthy watch, a failure is retried after the first, short
// wait, however many failures the node has seen before: the back-off
// belongs to one incident, not to the node's life.
func TestRetryWaitStartsAgainAfterAHealthyWatch(t *testing.T) {
	c := etcdtest.Start(t, 1)
	b, err := Open(Config{Endpoints: c.Endpoints(), Prefix: "retry/", ReplicaPath: filepath.Join(t.TempDir(), "replica.db"), NoSync: true,
		ProbeInterval: 200 * time.Millisecond, StaleAfter: time.Second, RequestTimeout: 2 * time.Second, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// fail ends the current watch (as a went-back signal does: the loop
	// resynchronises, which Resyncs counts) and returns how long the node
	// went without a watch.
	fail := func() time.Duration {
		t.Helper()
		if !until(10*time.Second, func() bool { return b.Health().Watching }) {
			t.Fatalf("not watching: %+v", b.Health())
		}
		want := b.Health().Resyncs + 1
		start := time.Now()
		b.wentBack <- struct{}{}
		if !until(10*time.Second, func() bool { h := b.Health(); return h.Resyncs == want && h.Watching }) {
			t.Fatalf("no new watch after a failure: %+v", b.Health())
		}
		return time.Since(start)
	}
	// Failures in quick succession (an outage): the wait grows to retryMax.
	for range 6 {
		fail()
	}
	if d := fail(); d < retryMax {
		t.Fatalf("test setup: a failure in a row was retried after %v, want the back-off at %v", d, retryMax)
	}
	// A watch that stays up longer than retryMax, then one failure.
	time.Sleep(retryMax + 500*time.Millisecond)
	if d := fail(); d > retryMax/2 {
		t.Fatalf("after a healthy watch a failure left the node without a watch for %v (back-off not started again from %v)", d, retryFirst)
	}
}

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
