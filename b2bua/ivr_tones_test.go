package b2bua

import (
	"context"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy/decisionlog"
	"callgate/store"
	"callgate/store/storetest"
)

// The IVR's paths on the tone prompts (harness_test.go): each prompt a
// 200 ms tone and DTMF as RFC 4733 events from the caller's diago phone, so
// a whole session takes seconds; the sipsim tests (ivr_test.go) do the
// same with the spoken prompts. The store is storetest's fixture: alice
// (+13035550100 = nSub, PIN 2468) with one VIP and one Blocked entry.

// ivrCall is a caller in the IVR.
type ivrCall struct {
	t *testing.T
	c *callerDialog
}

// newToneIVR starts the B2BUA with the IVR over the fixture store.
func newToneIVR(t *testing.T) (*harness, *store.Store) {
	t.Helper()
	st := storetest.Fixture(t)
	h := newHarness(t, func(c *Config) { c.IVRNumber, c.IVRUser = ivrNumber, "ivr" }, WithIVR(st), WithPINChecker(st))
	return h, st
}

// callIVR calls the IVR (SIP user ivr) from the number given.
func (h *harness) callIVR(t *testing.T, ctx context.Context, from string) *ivrCall {
	t.Helper()
	c := h.dialFrom(ctx, "Caller", e164.MustParse(from), sip.Uri{Scheme: "sip", User: "ivr", Host: "127.0.0.1", Port: h.port()}, false)
	if c.err != nil {
		t.Fatalf("INVITE to the IVR: %v", c.err)
	}
	return &ivrCall{t: t, c: c}
}

// on waits until the caller has begun to hear prompt the nth time (the
// prompt is playing, so the digits barge in), then keys digits.
func (k *ivrCall) on(prompt string, nth int, digits string) {
	k.t.Helper()
	waitFor(k.t, "hearing "+prompt+" time "+string(rune('0'+nth)), func() bool { return k.c.pm.heardTimes(prompt) >= nth })
	for _, d := range digits {
		k.c.pm.key(d)
	}
}

// released waits for the IVR's BYE.
func (k *ivrCall) released(ctx context.Context) {
	k.t.Helper()
	select {
	case <-k.c.d.Context().Done():
	case <-ctx.Done():
		k.t.Fatalf("the IVR did not hang up; heard %v", k.c.pm.heardList())
	}
}

func (k *ivrCall) heardInOrder(want ...string) {
	k.t.Helper()
	if got := k.c.pm.heardList(); !inOrder(got, want...) {
		k.t.Fatalf("heard %v, want in order %v", got, want)
	}
}

// List sizes, a keyed-in number added to VIP, the sizes again, the number
// removed; each change audited as alice via ivr.
func TestIVRCountsAddAndRemove(t *testing.T) {
	t.Parallel()
	h, st := newToneIVR(t)
	ctx := testCtx(t)
	k := h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, "2468#")
	k.on(pIVRMenu, 1, "5")
	k.on(pIVRMenu, 2, "3")
	k.on(pIVREnterNumber, 1, "2125550123#")
	k.on(pIVRChooseList, 1, "2")
	k.on(pIVRMenu, 3, "5")
	k.on(pIVRMenu, 4, "4")
	k.on(pIVREnterNumber, 2, "12125550123#") // with the 1: the same number
	k.on(pIVRConfirm, 1, "1")
	k.on(pIVRMenu, 5, "*")
	k.released(ctx)
	k.heardInOrder(pIVRBlockedCount, "digit_1", pIVRVIPCount, "digit_1",
		pIVRYouEntered, "digit_2", "digit_1", "digit_2", pIVRChooseList, pIVRAdded,
		pIVRBlockedCount, "digit_1", pIVRVIPCount, "digit_2",
		pIVRYouEntered, pIVRConfirm, pIVRRemoved, pIVRGoodbye)
	steps := h.ivrSteps(t, nSub, "goodbye")
	want := "ivr=pin-right ivr=counts ivr=vip-added ivr=counts ivr=removed ivr=goodbye end=completed"
	if got := stepString(h.waitStep("end", "completed")); got != want {
		t.Fatalf("steps %s, want %s", got, want)
	}
	for i, want := range []string{"blocked 1, vip 1", "+12125550123", "blocked 1, vip 2", "+12125550123"} {
		if steps[i+1].Detail != want {
			t.Fatalf("step %d detail %q, want %q", i+1, steps[i+1].Detail, want)
		}
	}
	alice, _ := st.Subscriber(e164.MustParse(storetest.AliceNumber))
	if st.InVIP(alice.ID, e164.MustParse("+12125550123")) {
		t.Fatal("the number is still on alice's VIP list")
	}
	if r := auditVia(t, st, "list.add"); r.Object != "list/subscriber/alice/vip" || !strings.Contains(string(r.After), "+12125550123") {
		t.Errorf("list.add audit record %s %s", r.Object, r.After)
	}
	auditVia(t, st, "list.remove")
}

// A PIN change keyed differently twice changes nothing; keyed the same, it
// is set (audited) and the old PIN no longer works.
func TestIVRChangesPIN(t *testing.T) {
	t.Parallel()
	h, st := newToneIVR(t)
	ctx := testCtx(t)
	k := h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, "2468#")
	k.on(pIVRMenu, 1, "6")
	k.on(pIVRNewPIN, 1, "1357#")
	k.on(pIVRNewPINAgain, 1, "1358#")
	k.on(pIVRMenu, 2, "6")
	k.on(pIVRNewPIN, 2, "1357#")
	k.on(pIVRNewPINAgain, 2, "1357#")
	k.on(pIVRMenu, 3, "*")
	k.released(ctx)
	k.heardInOrder(pIVRPINMismatch, pIVRMenu, pIVRNewPIN, pIVRPINChanged, pIVRMenu, pIVRGoodbye)
	alice, _ := st.Subscriber(e164.MustParse(storetest.AliceNumber))
	if !st.CheckPIN(alice.ID, "1357") || st.CheckPIN(alice.ID, storetest.AlicePIN) {
		t.Fatal("alice's PIN is not 1357")
	}
	auditVia(t, st, "subscriber.pin.set")
	if got := stepString(h.waitStep("end", "completed")); got != "ivr=pin-right ivr=pin-mismatch ivr=pin-changed ivr=goodbye end=completed" {
		t.Fatalf("steps %s", got)
	}
}

// A wrong PIN PINTries times: pin_wrong twice, pin_failed, released; the
// menu is never reached.
func TestIVRWrongPINReleases(t *testing.T) {
	t.Parallel()
	h, _ := newToneIVR(t)
	ctx := testCtx(t)
	k := h.callIVR(t, ctx, storetest.AliceNumber)
	for try := 1; try <= 3; try++ {
		k.on(pIVRWelcome, try, "1111#")
	}
	k.released(ctx)
	k.heardInOrder(pIVRWelcome, pPINWrong, pIVRWelcome, pPINWrong, pIVRWelcome, pPINFailed)
	if k.c.pm.heardAny(pIVRMenu) {
		t.Fatalf("heard the menu without the PIN: %v", k.c.pm.heardList())
	}
	if got := stepString(h.waitStep("end", "released")); got != "ivr=pin-wrong ivr=pin-wrong ivr=pin-wrong ivr=pin-failed end=released" {
		t.Fatalf("steps %s", got)
	}
	// The call's record is a call from alice to the IVR's number (the
	// management API's decision search needs a called number).
	recs, err := h.dlog.Search(decisionlog.Query{Number: e164.MustParse(ivrNumber), Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Calling != nSub || recs[0].Called != e164.MustParse(ivrNumber) {
		t.Fatalf("IVR call record %+v %v: want %s -> %s", recs, err, nSub, ivrNumber)
	}
}

// No caller to add yet, and a number too short to be one: each is said and
// the menu comes back; nothing changes.
func TestIVRNoLastCallerAndInvalidNumber(t *testing.T) {
	t.Parallel()
	h, st := newToneIVR(t)
	ctx := testCtx(t)
	k := h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, "2468#")
	k.on(pIVRMenu, 1, "1")
	k.on(pIVRMenu, 2, "3")
	k.on(pIVREnterNumber, 1, "555#")
	k.on(pIVRMenu, 3, "*")
	k.released(ctx)
	k.heardInOrder(pIVRNoLastCaller, pIVRMenu, pIVREnterNumber, pIVRInvalidNumber, pIVRMenu, pIVRGoodbye)
	if got := stepString(h.waitStep("end", "completed")); got != "ivr=pin-right ivr=no-last-caller ivr=invalid-number ivr=goodbye end=completed" {
		t.Fatalf("steps %s", got)
	}
	if recs, _ := st.SearchAudit(store.Operator, store.AuditQuery{Object: storetest.Alice}); hasVia(recs, "ivr") {
		t.Fatalf("a change was made: %+v", recs)
	}
}

// A subscriber whose provider lets it change nothing (carol) gets
// ivr_not_allowed for a list change: the store refuses the IVR as it
// refuses that subscriber anywhere, and nothing is audited.
func TestIVRRespectsPermissions(t *testing.T) {
	t.Parallel()
	h, st := newToneIVR(t)
	if err := st.SetPIN(store.Operator, storetest.Carol, "8642"); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	k := h.callIVR(t, ctx, storetest.CarolNumber)
	k.on(pIVRWelcome, 1, "8642#")
	k.on(pIVRMenu, 1, "3")
	k.on(pIVREnterNumber, 1, "2125550123#")
	k.on(pIVRChooseList, 1, "1")
	k.on(pIVRMenu, 2, "*")
	k.released(ctx)
	k.heardInOrder(pIVRChooseList, pIVRNotAllowed, pIVRMenu, pIVRGoodbye)
	steps := h.ivrSteps(t, e164.MustParse(storetest.CarolNumber), "goodbye")
	if got := stepString(steps); !strings.Contains(got, "ivr=pin-right ivr=denied ivr=goodbye") {
		t.Fatalf("steps %s", got)
	}
	carol, _ := st.Subscriber(e164.MustParse(storetest.CarolNumber))
	if st.InBlocked(carol.ID, e164.MustParse("+12125550123")) {
		t.Fatal("carol's Blocked list changed")
	}
	if recs, _ := st.SearchAudit(store.Operator, store.AuditQuery{Object: storetest.Carol}); hasVia(recs, "ivr") {
		t.Fatalf("a refused change was audited: %+v", recs)
	}
}

func hasVia(recs []store.AuditRecord, via string) bool {
	for _, r := range recs {
		if r.Via == via {
			return true
		}
	}
	return false
}

// A subscriber who may change its Blocked list but not its VIP list
// removes a Blocked number: it is removed and the caller hears so, though
// the VIP list (where the number is not) is not the subscriber's to
// change. A number on the VIP list stays there, and the caller hears
// that the change is not allowed.
func TestIVRRemovesFromTheListItMayChange(t *testing.T) {
	t.Parallel()
	h, st := newToneIVR(t)
	if _, err := st.SetPermissions(store.Operator, storetest.Alice, store.PermBlocked|store.PermPIN); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	k := h.callIVR(t, ctx, storetest.AliceNumber)
	k.on(pIVRWelcome, 1, "2468#")
	k.on(pIVRMenu, 1, "4")
	k.on(pIVREnterNumber, 1, strings.TrimPrefix(storetest.BlockedCaller, "+")+"#")
	k.on(pIVRConfirm, 1, "1")
	k.on(pIVRMenu, 2, "4")
	k.on(pIVREnterNumber, 2, strings.TrimPrefix(storetest.VIPCaller, "+")+"#")
	k.on(pIVRConfirm, 2, "1")
	k.on(pIVRMenu, 3, "*")
	k.released(ctx)
	k.heardInOrder(pIVRYouEntered, pIVRConfirm, pIVRRemoved, pIVRMenu,
		pIVRYouEntered, pIVRConfirm, pIVRNotAllowed, pIVRMenu, pIVRGoodbye)
	alice, _ := st.Subscriber(e164.MustParse(storetest.AliceNumber))
	if st.InBlocked(alice.ID, e164.MustParse(storetest.BlockedCaller)) {
		t.Fatal("the number is still on alice's Blocked list")
	}
	if !st.InVIP(alice.ID, e164.MustParse(storetest.VIPCaller)) {
		t.Fatal("the number left alice's VIP list, which she may not change")
	}
	if got := stepString(h.waitStep("end", "completed")); got != "ivr=pin-right ivr=removed ivr=denied ivr=goodbye end=completed" {
		t.Fatalf("steps %s", got)
	}
}
