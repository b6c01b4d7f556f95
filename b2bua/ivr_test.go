package b2bua

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/simulators/sip"
	"callgate/store"
	"callgate/store/storetest"
)

// The IVR's end-to-end tests: sipsim phones that recognise the built-in
// (espeak-ng) prompts and key DTMF on cue, against the store's demo data
// (storetest.Fixture: alice at +13035550100, PIN 2468, one VIP and one
// Blocked entry). They take real time (the menu alone is 12 s), so the
// IVR's other paths are driven on the tone prompts (ivr_tones_test.go).

var _ IVRStore = (*store.Store)(nil)

const ivrNumber = "+13035550123"

type ivrHarness struct {
	*harness
	st      *store.Store
	alice   store.SubscriberView
	prompts *sip.Prompts
}

func newIVRHarness(t *testing.T, mods ...func(*Config)) *ivrHarness {
	t.Helper()
	st := storetest.Fixture(t)
	h := newHarness(t, func(c *Config) {
		c.PromptDir = "" // the built-in prompts, which sipsim recognises
		c.IVRNumber, c.IVRUser = ivrNumber, "ivr"
		// sipsim keys a cue's digits once it has heard the prompt to
		// its end (about 150 ms later, more on a loaded machine); the
		// waits are long so that no test depends on how loaded it is.
		c.DecisionTimeout = 30 * time.Second
		c.PINFirstDigit, c.DigitTimeout = 30*time.Second, 5*time.Second
		for _, m := range mods {
			m(c)
		}
	}, WithIVR(st), WithPINChecker(st))
	prompts, err := sip.LoadPrompts(builtinDir)
	if err != nil {
		t.Fatal(err)
	}
	alice, ok := st.Subscriber(e164.MustParse(storetest.AliceNumber))
	if !ok {
		t.Fatal("no alice in the fixture")
	}
	return &ivrHarness{harness: h, st: st, alice: alice, prompts: prompts}
}

// dialIVR calls the IVR at user ("ivr" or the number) from from, keying
// on the cues given.
func (h *ivrHarness) dialIVR(t *testing.T, user, from string, cues ...string) *sip.Result {
	t.Helper()
	var script sip.Script
	for _, s := range cues {
		c, err := sip.ParseCue(s)
		if err != nil {
			t.Fatal(err)
		}
		script.Cues = append(script.Cues, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := sip.Call(ctx, sip.CallConfig{
		Target:      "sip:" + user + "@127.0.0.1:" + strconv.Itoa(h.port()),
		From:        from,
		MaxDuration: 4 * time.Minute,
		Behaviour:   sip.Behaviour{Prompts: h.prompts, Script: script},
		Phone:       sip.PhoneConfig{Listen: "127.0.0.1:0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != sip.OutcomeAnswered {
		t.Fatalf("outcome %s %d %s, want answered\n%s", res.Outcome, res.Status, res.Reason, res)
	}
	return res
}

// ivrSteps waits for the IVR call's record (from the caller's number, the
// newest with it) to have step ivr=outcome.
func (h *harness) ivrSteps(t *testing.T, from e164.Number, outcome string) []decisionlog.Step {
	t.Helper()
	var steps []decisionlog.Step
	waitFor(t, "step ivr "+outcome, func() bool {
		_ = h.dlog.Flush()
		recs, err := h.dlog.Search(decisionlog.Query{Number: from, Limit: 1})
		if err != nil || len(recs) == 0 {
			return false
		}
		steps, _ = h.dlog.Steps(decisionlog.RefOf(&recs[0]))
		for _, s := range steps {
			if s.Name == "ivr" && s.Outcome == outcome {
				return true
			}
		}
		return false
	})
	return steps
}

// heardInOrder checks that want appear in res.Prompts in that order.
func heardInOrder(t *testing.T, res *sip.Result, want ...string) {
	t.Helper()
	i := 0
	for _, p := range res.Prompts {
		if i < len(want) && p == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Fatalf("heard %v; want in order %v (missing from %s)\n%s", res.Prompts, want, want[i], res)
	}
}

// auditVia returns alice's audit record op made through the IVR, and
// checks it names her as the caller, in the subscriber role.
func auditVia(t *testing.T, st *store.Store, op string) store.AuditRecord {
	t.Helper()
	recs, err := st.SearchAudit(store.Operator, store.AuditQuery{Object: storetest.Alice})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Op == op && r.Via == "ivr" {
			if r.Principal != "ivr "+storetest.AliceNumber || r.Role != "subscriber" {
				t.Fatalf("audit record %+v: want principal %q, role subscriber", r, "ivr "+storetest.AliceNumber)
			}
			return r
		}
	}
	t.Fatalf("no audit record %s via ivr in %+v", op, recs)
	return store.AuditRecord{}
}

func TestIVRBlocksLastCaller(t *testing.T) {
	t.Parallel()
	h := newIVRHarness(t)
	last := e164.MustParse(storetest.UnknownCaller)
	// The last call to alice, as the deciding tier logged it, and an older one.
	for i, from := range []e164.Number{e164.MustParse("+16175550199"), last} {
		h.dlog.Record(decisionlog.NewRecord(time.Now().Add(time.Duration(i-10)*time.Minute),
			&policy.Call{Calling: from, Called: nSub, Origin: policy.OriginSIP},
			&policy.Decision{Action: policy.ActionAllow, Subscriber: h.alice.ID}, 0))
	}
	if err := h.dlog.Flush(); err != nil {
		t.Fatal(err)
	}
	res := h.dialIVR(t, "ivr", storetest.AliceNumber,
		"ivr_welcome=2468#", "ivr_menu=1", "ivr_confirm=1", "ivr_menu=*")
	heardInOrder(t, res, "ivr_welcome", "ivr_menu", "ivr_last_caller")
	heardInOrder(t, res, "ivr_confirm", "ivr_added", "ivr_menu", "ivr_goodbye")
	if !h.st.InBlocked(h.alice.ID, last) {
		t.Fatalf("%s is not on alice's Blocked list", last)
	}
	auditVia(t, h.st, "list.add")
	steps := h.ivrSteps(t, nSub, "goodbye")
	if got := stepString(steps); !strings.Contains(got, "ivr=pin-right ivr=blocked-added ivr=goodbye") {
		t.Fatalf("steps %s", got)
	}
	if n := testutil.ToFloat64(h.s.m.invites.WithLabelValues("ivr")); n != 1 {
		t.Fatalf("callgate_b2bua_invites_total{ivr} = %v, want 1", n)
	}
	if n := testutil.ToFloat64(h.s.m.steps.WithLabelValues("ivr", "blocked-added")); n != 1 {
		t.Fatalf("callgate_b2bua_steps_total{ivr,blocked-added} = %v, want 1", n)
	}
}

func TestIVRRefusesNonSubscriber(t *testing.T) {
	t.Parallel()
	h := newIVRHarness(t)
	res := h.dialIVR(t, ivrNumber, storetest.UnknownCaller, "ivr_welcome=2468#") // by the number
	heardInOrder(t, res, "ivr_not_subscriber")
	if res.Heard("ivr_welcome") || res.EndedBy != "remote" {
		t.Fatalf("heard %v, ended by %s: want refused with ivr_not_subscriber", res.Prompts, res.EndedBy)
	}
	h.ivrSteps(t, e164.MustParse(storetest.UnknownCaller), "refused")
	if d := h.s.Describe(); !strings.HasSuffix(d, "subscribers' IVR at Request-URI user ivr or "+ivrNumber) {
		t.Errorf("Describe %q does not name the IVR's addresses", d)
	}
}

// A caller who fakes alice's number keys wrong PINs over several calls
// (sipsim, one try a call): the second wrong PIN locks her PIN across
// calls, and a third call keying the right PIN hears pin_locked and is
// released without the menu. The lock is audited and counted.
func TestIVRPINLockoutOverCalls(t *testing.T) {
	t.Parallel()
	h := newIVRHarness(t, func(c *Config) { c.PINTries, c.PINLockFailures = 1, 2 })
	res := h.dialIVR(t, "ivr", storetest.AliceNumber, "ivr_welcome=1111#")
	heardInOrder(t, res, "ivr_welcome", "pin_failed")
	h.ivrSteps(t, nSub, "pin-failed")

	res = h.dialIVR(t, "ivr", storetest.AliceNumber, "ivr_welcome=1357#")
	heardInOrder(t, res, "ivr_welcome", "pin_locked")
	if res.Heard("pin_failed") || res.EndedBy != "remote" {
		t.Fatalf("second call: heard %v, ended by %s; want pin_locked only, released", res.Prompts, res.EndedBy)
	}
	steps := h.ivrSteps(t, nSub, "pin-lockout")
	if got := stepString(steps); !strings.HasPrefix(got, "ivr=pin-wrong ivr=pin-lockout") {
		t.Fatalf("second call: steps %s", got)
	}

	res = h.dialIVR(t, "ivr", storetest.AliceNumber, "ivr_welcome="+storetest.AlicePIN+"#")
	heardInOrder(t, res, "ivr_welcome", "pin_locked")
	if res.Heard("ivr_menu") || res.EndedBy != "remote" {
		t.Fatalf("third call (right PIN while locked): heard %v, ended by %s; want pin_locked, released", res.Prompts, res.EndedBy)
	}
	h.ivrSteps(t, nSub, "pin-locked")

	l, err := h.st.PINLockState(h.alice.ID)
	if err != nil || !l.Locked || l.Lockouts != 1 {
		t.Fatalf("alice's lockout %+v, %v", l, err)
	}
	recs, err := h.st.SearchAudit(store.Operator, store.AuditQuery{Object: "subscriber/alice/pin", Actor: "ivr " + storetest.AliceNumber})
	if err != nil || len(recs) != 1 || recs[0].Op != "subscriber.pin.lockout" {
		t.Fatalf("audit records %+v, %v; want the lockout", recs, err)
	}
	if n := testutil.ToFloat64(h.s.m.pinLockouts.WithLabelValues("ivr")); n != 1 {
		t.Fatalf("callgate_b2bua_pin_lockouts_total{ivr} = %v, want 1", n)
	}
}
