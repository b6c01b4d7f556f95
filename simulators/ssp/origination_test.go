package ssp_test

import (
	"context"
	"sync"
	"testing"

	"callgate/e164"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// An originating load: infoAnalyzed and infoCollected queries whose line
// (UserID dn and CallingPartyID) walks the calling range and whose dialled
// number walks the called range, each patched per call; the SCP's
// continue and disconnect are counted per operation.
func TestLoadOriginating(t *testing.T) {
	lines, _ := ssp.ParseRange("+14155550000-+14155550099")
	london, _ := ssp.ParseRange("+44207946xxxx")
	denver, _ := ssp.ParseRange("+1303555xxxx")
	var (
		mu                       sync.Mutex
		bad                      []string
		ia, ic                   int
		linesSeen, dialledSeen   = map[e164.Number]bool{}, map[e164.Number]bool{}
		inRange                  = func(r ssp.NumberRange, n e164.Number) bool { return n >= r.First && n <= r.Last }
		check                    func(op ain.OpCode, user ain.UserID, calling, dialled ain.Opt[ain.Digits]) ssptest.Reply
		gotDisconnect, gotCalled = 0, 0
	)
	check = func(op ain.OpCode, user ain.UserID, calling, dialled ain.Opt[ain.Digits]) ssptest.Reply {
		mu.Lock()
		defer mu.Unlock()
		line, err1 := calling.V.E164()
		called, err2 := dialled.V.E164()
		dn, _ := line.National()
		switch {
		case !calling.Set || !dialled.Set || err1 != nil || err2 != nil:
			bad = append(bad, "numbers missing or unreadable")
		case user.Kind != ain.UserIDDN || user.DN.String() != dn:
			bad = append(bad, "UserID "+user.DN.String()+" is not the line "+line.String())
		case !inRange(lines, line):
			bad = append(bad, "line "+line.String()+" outside the calling range")
		case op == ain.OpInfoAnalyzed && !inRange(london, called), op == ain.OpInfoCollected && !inRange(denver, called):
			bad = append(bad, op.String()+" dialled "+called.String())
		}
		linesSeen[line], dialledSeen[called] = true, true
		if inRange(london, called) {
			gotDisconnect++
			return ssptest.Reply{Op: ain.OpDisconnect, Arg: &ain.DisconnectArg{}}
		}
		gotCalled++
		return ssptest.Reply{Op: ain.OpContinue, Arg: &ain.ContinueArg{}}
	}
	scp, err := ssptest.Start(ssptest.Config{Originate: func(o *ssptest.Origination) ssptest.Reply {
		if o.Op == ain.OpInfoAnalyzed {
			mu.Lock()
			ia++
			mu.Unlock()
			return check(o.Op, o.IA.UserID, o.IA.CallingPartyID, o.IA.CalledPartyID)
		}
		mu.Lock()
		ic++
		mu.Unlock()
		return check(o.Op, o.IC.UserID, o.IC.CallingPartyID, o.IC.CollectedAddressInfo)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scp.Close() })
	c := dial(t, scp.Addr(), nil)
	const calls = 400
	sum, err := c.Load(context.Background(), ssp.LoadConfig{Calls: calls, Concurrency: 16, Scenarios: []ssp.Scenario{
		{Name: "international", Trigger: ssp.TriggerInfoAnalyzed, Called: &london, Calling: &lines},
		{Name: "domestic", Trigger: ssp.TriggerInfoCollected, Called: &denver, Calling: &lines},
	}})
	if err != nil {
		t.Fatal(err)
	}
	const wantIntl, wantDomestic = calls / 2, calls / 2
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%d bad queries, the first: %s", len(bad), bad[0])
	}
	if sum.Answered != calls || sum.Errors != 0 || scp.Bad() != 0 || ia != wantIntl || ic != wantDomestic {
		t.Fatalf("answered %d errors %d bad %d, infoAnalyzed %d infoCollected %d: %+v", sum.Answered, sum.Errors, scp.Bad(), ia, ic, sum.Operations)
	}
	if sum.Operations["disconnect"] != int64(gotDisconnect) || sum.Operations["continue"] != int64(gotCalled) || gotDisconnect != wantIntl {
		t.Fatalf("operations %+v, the SCP sent %d disconnect and %d continue", sum.Operations, gotDisconnect, gotCalled)
	}
	// Each scenario walks its own sequence: 200 calls, 100 lines (every
	// one twice), 200 distinct numbers per called range.
	if len(linesSeen) != 100 || len(dialledSeen) != calls {
		t.Fatalf("%d lines and %d dialled numbers seen", len(linesSeen), len(dialledSeen))
	}
}

// An originating trigger needs a NANP line for its UserID (or UserDN).
func TestOriginatingNeedsALine(t *testing.T) {
	scp := startSCP(t, nil)
	c := dial(t, scp.Addr(), nil)
	london, _ := ssp.ParseRange("+44207946xxxx")
	_, err := c.Load(context.Background(), ssp.LoadConfig{Calls: 1, Scenarios: []ssp.Scenario{
		{Trigger: ssp.TriggerInfoAnalyzed, Called: &london, TA: ssp.TA{Calling: e164.MustParse("+442079460001")}}}})
	if err == nil {
		t.Fatal("an infoAnalyzed from a non-NANP line without UserDN was sent")
	}
	for _, s := range []string{"termination", "info-analyzed", "info-collected"} {
		if tr, err := ssp.ParseTrigger(s); err != nil || tr.String() != s {
			t.Errorf("ParseTrigger(%q) = %v, %v", s, tr, err)
		}
	}
	if _, err := ssp.ParseTrigger("origination"); err == nil {
		t.Error("ParseTrigger accepted origination")
	}
}
