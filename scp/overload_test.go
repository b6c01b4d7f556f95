package scp

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"callgate/policy"
	"callgate/scp/ain"
	"callgate/scp/overload"
	"callgate/sigtran/tcap"
)

// TestOverloadACG offers three times the capacity, half of it to one
// called number and the rest spread over numbers called once each: once the
// controller has measured the load, answers for the busy number carry an
// acg for it (gap scaled to 3x), answers for the idle numbers do not, and
// every query is still answered.
func TestOverloadACG(t *testing.T) {
	cfg := testConfig()
	cfg.Overload = Overload{Capacity: 1000, GapDuration: 4 * time.Second, GapInterval: 500 * time.Millisecond}
	h := newHarness(t, cfg, &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	busy := "3035550100"
	tid := uint32(0x1000)
	send := func(called string) *tcap.Message {
		tid++
		h.s.ovl.Arrive()
		h.feed(t, query(t, tid, tcap.QueryWithPermission, uint16(ain.OpTerminationAttempt), taParams(t, basicTA(t, "7195551212", called)), 248))
		return decodeAnswer(t, h.out.one(t))
	}
	// 300 queries in one 100 ms tick = 3000/s, 3x capacity.
	for i := range 300 {
		called := busy
		if i%2 == 1 {
			called = fmt.Sprintf("212555%04d", i)
		}
		if m := send(called); len(m.Components) != 1 {
			t.Fatalf("ACG before the load was measured: %+v", m.Components)
		}
	}
	h.s.ovl.Tick()
	over, ratio := h.s.ovl.Overloaded()
	if !over || ratio < 2.9 {
		t.Fatalf("overloaded=%v ratio=%v, want 3x", over, ratio)
	}
	m := send(busy)
	if len(m.Components) != 2 || ain.OpCode(m.Components[0].Op.Code) != ain.OpACG {
		t.Fatalf("busy code answered without acg: %+v", m.Components)
	}
	var acg ain.AcgArg
	if err := acg.Unmarshal(m.Components[0].Params); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(acg.GlobalTitleAddress, appendCodeBCD(nil, codeKey(ptr(digits(t, busy, ain.NOANational)), 10))) {
		t.Errorf("acg for %x", acg.GlobalTitleAddress)
	}
	// 3x: 3 * 500 ms = 1.5 s -> the next national interval, 2 s.
	if acg.GapInterval.Value != ain.NationalGap2s || acg.GapInterval.Private || acg.GapDuration != ain.GapDuration4s {
		t.Errorf("gap %v for %v, want national 2 s for 4 s", acg.GapInterval, acg.GapDuration)
	}
	if m.Components[0].HasCorrelationID || ain.OpCode(m.Components[1].Op.Code) != ain.OpAuthorizeTermination ||
		m.Components[1].CorrelationID != 1 || m.Components[1].InvokeID != 3 {
		t.Errorf("components %+v, want unlinked acg 2 then answer 3 linked to 1", m.Components)
	}
	// Within the resend interval the same switch gets no second acg.
	if m := send(busy); len(m.Components) != 1 {
		t.Errorf("second acg within the resend interval")
	}
	for i := range 20 {
		if m := send(fmt.Sprintf("720555%04d", i)); len(m.Components) != 1 {
			t.Fatalf("idle code %d got an acg", i)
		}
	}
	if got := h.s.ovl.Controlled(); len(got) != 1 {
		t.Errorf("controlled codes %x, want only the busy one", got)
	}
}

func TestGapScaling(t *testing.T) {
	c := overload.New(overload.Config{Capacity: 100, GapInterval: time.Second, GapDuration: 3 * time.Second})
	for _, tc := range []struct {
		n    int
		want uint8
	}{{15, ain.NationalGap1s}, {25, ain.NationalGap2s}, {35, ain.NationalGap5s}, {120, ain.NationalGap15s}} {
		c2 := overload.New(overload.Config{Capacity: 100, GapInterval: time.Second, GapDuration: 3 * time.Second})
		for range tc.n {
			c2.Arrive()
			c2.Observe(0, 42)
		}
		c2.Tick()
		g, ok := c2.Control(42, 1, 0)
		if !ok || g.Interval.Value != tc.want || g.Duration != ain.GapDuration4s {
			t.Errorf("%d/tick: gap %v %v ok=%v, want interval %d, 4 s", tc.n, g.Interval, g.Duration, ok, tc.want)
		}
	}
	_ = c
}

// TestNoACGWithoutLoad: automatic code gapping is the SCP's overload
// control. A safe answer for a reason that is not load (the engine
// panicked, gave no usable or no encodable decision, a number of the
// query cannot be read) carries no acg while the SCP is under capacity:
// gapping would make the switches hold back that subscriber's calls for
// nothing. A query shed for load still gets one (TestShedGetsSafeAnswerAndACG).
func TestNoACGWithoutLoad(t *testing.T) {
	cases := map[string]struct {
		d     policy.Decider
		query func(t *testing.T) []byte
	}{
		"panic":            {d: decideFunc(func(context.Context, policy.Call) policy.Decision { panic("boom") })},
		"invalid_decision": {d: decideFunc(func(context.Context, policy.Call) policy.Decision { return policy.Decision{} })},
		// Screen needs a routing number to forward to.
		"unencodable": {d: &recorder{d: policy.Decision{Action: policy.ActionScreen}}},
		// Subscriber 155-1212: an exchange code cannot start with 1.
		"unreadable_number": {d: &recorder{d: policy.Decision{Action: policy.ActionAllow}},
			query: func(t *testing.T) []byte { return taQuery(t, userDN303, bearerSpeech, called7, calling7BadNX) }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Overload.Capacity = 1000
			h := newHarness(t, cfg, c.d)
			q := vectorM3UA(t, "P-02Q")
			if c.query != nil {
				q = c.query(t)
			}
			h.feed(t, q)
			m := decodeAnswer(t, h.out.one(t))
			if n := h.counter(t, "callgate_scp_safe_answers_total", "reason", name); n != 1 {
				t.Fatalf("safe_answers_total{%s} = %v, want 1", name, n)
			}
			if len(m.Components) != 1 || ain.OpCode(m.Components[0].Op.Code) != ain.OpAuthorizeTermination {
				t.Errorf("components %+v, want the safe authorizeTermination alone (no acg)", m.Components)
			}
			if n := h.counter(t, "callgate_scp_acg_sent_total"); n != 0 {
				t.Errorf("acg_sent_total = %v, want 0", n)
			}
		})
	}
}

// TestACGOverflowReport: a switch's acgOverflow (its table of acg controls
// is full) is the switch's report on our own overload control, not an
// operation to reject as unrecognised: it is counted and the transaction
// ended (an empty Response to a query; nothing to a Unidirectional); a
// malformed one gets Reject 2/3.
func TestACGOverflowReport(t *testing.T) {
	rec := &recorder{d: policy.Decision{Action: policy.ActionAllow}}
	h := newHarness(t, testConfig(), rec)
	gta, err := ain.AppendGlobalTitleAddress(nil, "303555")
	if err != nil {
		t.Fatal(err)
	}
	ovf := (&ain.AcgOverflowArg{ControlCauseIndicator: 1, GlobalTitleAddress: gta}).Marshal(nil)

	h.feed(t, query(t, 0x901, tcap.QueryWithPermission, uint16(ain.OpACGOverflow), ovf, 248))
	m := decodeAnswer(t, h.out.one(t))
	if m.Type != tcap.Response || len(m.Components) != 0 {
		t.Errorf("answer %v with %+v, want an empty Response", m.Type, m.Components)
	}
	uni := tcap.Message{Type: tcap.Unidirectional, Components: []tcap.Component{{
		Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: 1, Op: tcap.PrivateOp(uint16(ain.OpACGOverflow)),
		ParamTag: tcap.ParamSet, Params: ovf}}}
	h.feed(t, wrapTCAP(t, &uni, 248, 1))
	h.out.none(t)
	if n := h.counter(t, "callgate_scp_acg_overflow_total"); n != 2 {
		t.Errorf("acg_overflow_total = %v, want 2", n)
	}
	if n := h.counter(t, "callgate_scp_rejects_total", "problem", tcap.InvokeUnrecognisedOperation.String()); n != 0 {
		t.Errorf("acgOverflow rejected as unrecognised %v times", n)
	}

	// Without its mandatory globalTitleAddress.
	bad := (&ain.AcgOverflowArg{ControlCauseIndicator: 1}).Marshal(nil)
	bad = bad[:len(bad)-3] // drop the empty 9F 45 00
	h.feed(t, query(t, 0x902, tcap.QueryWithPermission, uint16(ain.OpACGOverflow), bad, 248))
	if m := decodeAnswer(t, h.out.one(t)); len(m.Components) != 1 || m.Components[0].Type != tcap.Reject ||
		m.Components[0].Problem != tcap.InvokeIncorrectParameter {
		t.Errorf("malformed acgOverflow answered %+v, want Reject 2/3", m.Components)
	}
	if len(rec.calls) != 0 {
		t.Error("the engine was asked about an acgOverflow")
	}
}
