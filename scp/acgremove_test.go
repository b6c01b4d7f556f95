package scp

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"callgate/policy"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// queryFrom is a terminationAttempt for called from the switch at pc.
func queryFrom(t testing.TB, pc sccp.PointCode, tid uint32, called string) []byte {
	t.Helper()
	m := tcap.Message{Type: tcap.QueryWithPermission, OrigTID: tcap.NewTID(tid), Components: []tcap.Component{{
		Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: 1, Op: tcap.PrivateOp(uint16(ain.OpTerminationAttempt)),
		ParamTag: tcap.ParamSet, Params: taParams(t, basicTA(t, "7195551212", called))}}}
	tc, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	u := sccp.Message{Type: sccp.UDT, Class: sccp.Class0Return,
		Called: sccp.NewSSNAddress(scpPC, 248), Calling: sccp.NewSSNAddress(pc, 249), Data: tc}
	ub, err := u.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d := m3ua.Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: m3ua.ProtocolData{
		OPC: uint32(pc), DPC: uint32(scpPC), SI: m3ua.SISCCP, NI: m3ua.NINational, SLS: 1, Data: ub}}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestACGRemovedAfterOverload: three switches get a gap for the busy code
// while the SCP is 3x over capacity. Once the load has stayed below 90 %
// of capacity for remove_after (and not before), the next answer to each
// switch for that code carries an acg with national gap interval 0
// ("remove gap control", GR-1299) for it, once; a switch whose gap has
// run out gets none, nor does a code that was not gapped.
func TestACGRemovedAfterOverload(t *testing.T) {
	cfg := testConfig()
	cfg.Overload = Overload{Capacity: 1000, GapDuration: time.Second, GapInterval: 500 * time.Millisecond,
		RemoveAfter: 300 * time.Millisecond}
	h := newHarness(t, cfg, &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	const busy = "3035550100"
	switches := []sccp.PointCode{sccp.ANSIPointCode(244, 1, 10), sccp.ANSIPointCode(244, 1, 11), sccp.ANSIPointCode(244, 1, 12)}
	tid := uint32(0x3000)
	ask := func(pc sccp.PointCode, called string) *tcap.Message {
		t.Helper()
		tid++
		h.s.ovl.Arrive()
		h.feed(t, queryFrom(t, pc, tid, called))
		return decodeAnswer(t, h.out.one(t))
	}
	acgOf := func(m *tcap.Message) *ain.AcgArg {
		t.Helper()
		if len(m.Components) != 2 {
			return nil
		}
		if ain.OpCode(m.Components[0].Op.Code) != ain.OpACG || ain.OpCode(m.Components[1].Op.Code) != ain.OpAuthorizeTermination {
			t.Fatalf("components %+v, want acg then authorizeTermination", m.Components)
		}
		var a ain.AcgArg
		if err := a.Unmarshal(m.Components[0].Params); err != nil {
			t.Fatal(err)
		}
		return &a
	}
	for range 300 { // 3,000/s in one 100 ms tick
		ask(switches[0], busy)
	}
	h.s.ovl.Tick()
	for i, pc := range switches {
		if a := acgOf(ask(pc, busy)); a == nil || a.GapInterval.Value == ain.NationalGapRemove {
			t.Fatalf("switch %d got no gap for the busy code", i)
		}
	}
	gapped := time.Now()

	// The load falls. Until it has stayed under 90 % for 300 ms (3 ticks)
	// nothing is removed.
	ticks := 0
	for over := true; over; over, _ = h.s.ovl.Overloaded() {
		h.s.ovl.Tick()
		if ticks++; ticks > 20 {
			t.Fatal("the overload does not end")
		}
	}
	h.s.ovl.Tick() // 2 quiet ticks
	if a := acgOf(ask(switches[0], busy)); a != nil {
		t.Fatalf("acg %+v before the quiet period", a)
	}
	h.s.ovl.Tick() // 3 quiet ticks: 300 ms
	if a := acgOf(ask(switches[0], "7205550100")); a != nil {
		t.Errorf("acg %+v for a code never gapped", a)
	}
	wantGTA := appendCodeBCD(nil, codeKey(ptr(digits(t, busy, ain.NOANational)), 10))
	for i, pc := range switches[:2] {
		a := acgOf(ask(pc, busy))
		if a == nil || a.GapInterval.Private || a.GapInterval.Value != ain.NationalGapRemove {
			t.Fatalf("switch %d: acg %+v, want the removal (national gap interval 0)", i, a)
		}
		if !bytes.Equal(a.GlobalTitleAddress, wantGTA) || a.ControlCauseIndicator != 1 {
			t.Errorf("switch %d: removal for %x cause %d, want the busy code %x cause 1", i, a.GlobalTitleAddress, a.ControlCauseIndicator, wantGTA)
		}
		if a := acgOf(ask(pc, busy)); a != nil {
			t.Errorf("switch %d: second acg %+v after the removal", i, a)
		}
	}
	// Switch 3's 1 s gap runs out at the switch: nothing to remove.
	time.Sleep(time.Until(gapped.Add(1100 * time.Millisecond)))
	if a := acgOf(ask(switches[2], busy)); a != nil {
		t.Errorf("acg %+v for a gap that ran out", a)
	}
	if n := h.counter(t, "callgate_scp_acg_removed_total"); n != 2 {
		t.Errorf("acg_removed_total = %v, want 2", n)
	}
	if n := h.counter(t, "callgate_scp_acg_sent_total"); n != 3 {
		t.Errorf("acg_sent_total = %v, want the 3 gaps", n)
	}
}

// An answer that carries the removal of a gap is built without
// allocating, like every answer (TestAnswersDoNotAllocate).
func TestACGRemovalDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	cfg := testConfig()
	cfg.Overload = Overload{Capacity: 1000, RemoveAfter: 100 * time.Millisecond}
	h := newHarness(t, cfg, &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	// 250 codes each gapped at the switch by a shed query (full backlog).
	const n = 250
	qs := make([]m3ua.Data, n)
	for i := range qs {
		called := fmt.Sprintf("303555%04d", i)
		if err := qs[i].UnmarshalBinary(queryFrom(t, sspPC, uint32(0x5000+i), called)); err != nil {
			t.Fatal(err)
		}
		pd := qs[i].ProtocolData
		h.s.handle(h.w, h.out, &pd, time.Now(), safeBacklog)
		h.out.one(t)
	}
	h.s.ovl.Tick() // the shed queries: not quiet
	h.s.ovl.Tick() // 100 ms quiet
	// Each query again (its dialogue ended with the answer): each answer
	// removes its code's gap.
	sink := &encodeSink{buf: make([]byte, 0, 512)}
	next := 0
	serve := func() {
		pd := qs[next%n].ProtocolData
		next++
		h.s.handle(h.w, sink, &pd, time.Now(), safeNone)
	}
	if allocs := testing.AllocsPerRun(200, serve); allocs != 0 {
		t.Errorf("%v allocations per answer with a removal, want 0", allocs)
	}
	if got := h.counter(t, "callgate_scp_acg_removed_total"); got != float64(next) {
		t.Errorf("acg_removed_total = %v for %d answers, want one removal in each", got, next)
	}
}
