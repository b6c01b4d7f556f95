package b2bua

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"callgate/e164"
	"callgate/store"
	"callgate/store/kv"
	"callgate/store/storetest"
)

// With etcd unreachable, each change the IVR's caller confirms (a number
// added, a number removed, a new PIN) is refused within ivrWriteWait of
// the confirming key: ivr_not_allowed and the menu, the step ivr=denied
// counted and logged; not after the store's three 5 s tries and the
// pauses between them, some 16 s of silence each. Nothing changes.
func TestIVRStoreDownBoundsEachChange(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	h := newLockHarnessOver(t, 5, 3, func(b kv.Backend) kv.Backend { return &switchKV{Backend: b, down: &down} })
	down.Store(true)
	ctx := testCtx(t)
	k := h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, "2468#") // a right PIN with nothing counted writes nothing
	refused := 0
	bounded := func(what string) {
		t.Helper()
		keyed := time.Now()
		refused++
		waitFor(t, "ivr_not_allowed after "+what, func() bool { return k.c.pm.heardTimes(pIVRNotAllowed) >= refused })
		if waited := time.Since(keyed); waited > ivrWriteWait+2*time.Second {
			t.Errorf("%s: the caller waited %v for ivr_not_allowed; want about ivrWriteWait (%v)", what, waited, ivrWriteWait)
		}
	}
	k.on(pIVRMenu, 1, "3")
	k.on(pIVREnterNumber, 1, "2125550123#")
	k.on(pIVRChooseList, 1, "2")
	bounded("an add")
	k.on(pIVRMenu, 2, "4")
	k.on(pIVREnterNumber, 2, strings.TrimPrefix(storetest.BlockedCaller, "+")+"#")
	k.on(pIVRConfirm, 1, "1")
	bounded("a removal")
	k.on(pIVRMenu, 3, "6")
	k.on(pIVRNewPIN, 1, "1357#")
	k.on(pIVRNewPINAgain, 1, "1357#")
	bounded("a PIN change")
	k.on(pIVRMenu, 4, "*")
	k.released(ctx)
	if k.c.pm.heardAny(pIVRAdded) || k.c.pm.heardAny(pIVRRemoved) || k.c.pm.heardAny(pIVRPINChanged) {
		t.Fatalf("heard a change made: %v", k.c.pm.heardList())
	}
	want := "ivr=pin-right ivr=denied ivr=denied ivr=denied ivr=goodbye end=completed"
	if got := stepString(h.waitStep("end", "completed")); got != want {
		t.Fatalf("steps %s, want %s", got, want)
	}
	if n := testutil.ToFloat64(h.s.m.steps.WithLabelValues("ivr", "denied")); n != 3 {
		t.Fatalf("callgate_b2bua_steps_total{ivr,denied} = %v, want 3", n)
	}
	down.Store(false)
	if h.st.InVIP(h.alice, e164.MustParse("+12125550123")) || !h.st.InBlocked(h.alice, e164.MustParse(storetest.BlockedCaller)) {
		t.Fatal("a list changed though the IVR said it did not")
	}
	if !h.st.CheckPIN(h.alice, storetest.AlicePIN) || h.st.CheckPIN(h.alice, "1357") {
		t.Fatal("the PIN changed though the IVR said it did not")
	}
}

// A number on both lists, removed as the store stops answering after the
// Blocked list's removal landed: the caller hears ivr_removed, then
// ivr_not_allowed for the VIP list, as the store has it; not only that
// the change was not allowed.
func TestIVRRemovalCutShortSaysWhatWasRemoved(t *testing.T) {
	t.Parallel()
	b := &downAfterKV{}
	h := newLockHarnessOver(t, 5, 3, func(db kv.Backend) kv.Backend { b.Backend = db; return b })
	both := e164.MustParse(storetest.BlockedCaller)
	if _, err := h.st.AddToList(store.Operator, storetest.Alice, store.ListVIP, []string{both.String()}, ""); err != nil {
		t.Fatal(err)
	}
	b.left.Store(1) // the Blocked list's removal lands, then etcd is gone
	b.armed.Store(true)
	ctx := testCtx(t)
	k := h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, "2468#")
	k.on(pIVRMenu, 1, "4")
	k.on(pIVREnterNumber, 1, strings.TrimPrefix(storetest.BlockedCaller, "+")+"#")
	k.on(pIVRConfirm, 1, "1")
	k.on(pIVRMenu, 2, "*")
	k.released(ctx)
	k.heardInOrder(pIVRConfirm, pIVRRemoved, pIVRNotAllowed, pIVRMenu, pIVRGoodbye)
	if got := stepString(h.waitStep("end", "completed")); got != "ivr=pin-right ivr=removed ivr=denied ivr=goodbye end=completed" {
		t.Fatalf("steps %s", got)
	}
	if h.st.InBlocked(h.alice, both) || !h.st.InVIP(h.alice, both) {
		t.Fatal("want the number off the Blocked list and still on the VIP list")
	}
}

// downAfterKV, once armed, lets left more transactions through, then
// stalls each like etcdDownKV.
type downAfterKV struct {
	kv.Backend
	armed atomic.Bool
	left  atomic.Int64
}

func (d *downAfterKV) Txn(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if d.armed.Load() && d.left.Add(-1) < 0 {
		return etcdDownKV{}.Txn(ctx, cmps, ops)
	}
	return d.Backend.Txn(ctx, cmps, ops)
}
