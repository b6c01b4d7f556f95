package scp

import (
	"bytes"
	"context"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

var (
	sspPC = sccp.ANSIPointCode(244, 1, 10)
	scpPC = sccp.ANSIPointCode(244, 2, 20)
)

// query builds the M3UA DATA of a TCAP package carrying one invoke from
// the SSP (244-1-10, SSN 249) to the SCP (244-2-20, SSN calledSSN).
func query(t testing.TB, tid uint32, pkg tcap.PackageType, op uint16, params []byte, calledSSN uint8) []byte {
	t.Helper()
	m := tcap.Message{Type: pkg, OrigTID: tcap.NewTID(tid), Components: []tcap.Component{{
		Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: 1, Op: tcap.PrivateOp(op), ParamTag: tcap.ParamSet, Params: params}}}
	return wrapTCAP(t, &m, calledSSN, 1)
}

func wrapTCAP(t testing.TB, m *tcap.Message, calledSSN, sls uint8) []byte {
	t.Helper()
	tc, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return wrapRaw(t, tc, calledSSN, sls)
}

func wrapRaw(t testing.TB, tc []byte, calledSSN, sls uint8) []byte {
	t.Helper()
	u := sccp.Message{Type: sccp.UDT, Class: sccp.Class0Return,
		Called: sccp.NewSSNAddress(scpPC, calledSSN), Calling: sccp.NewSSNAddress(sspPC, 249), Data: tc}
	ub, err := u.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d := m3ua.Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: m3ua.ProtocolData{
		OPC: uint32(sspPC), DPC: uint32(scpPC), SI: m3ua.SISCCP, NI: m3ua.NINational, SLS: sls, Data: ub}}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func digits(t testing.TB, s string, noa ain.NatureOfAddress) ain.Digits {
	t.Helper()
	d, err := ain.ParseDigits(s, noa)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// taParams encodes a terminationAttempt argument.
func taParams(t testing.TB, ta ain.TerminationAttemptArg) []byte {
	t.Helper()
	return ta.Marshal(nil)
}

func basicTA(t testing.TB, calling, called string) ain.TerminationAttemptArg {
	dn, err := ain.ParseDN(called)
	if err != nil {
		t.Fatal(err)
	}
	ta := ain.TerminationAttemptArg{UserID: ain.UserIDFromDN(dn), BearerCapability: ain.BearerSpeech,
		CalledPartyID: ain.Some(digits(t, called, ain.NOANational))}
	if calling != "" {
		c := digits(t, calling, ain.NOANational)
		c.Screening = ain.ScreeningNetwork
		ta.CallingPartyID = ain.Some(c)
	}
	return ta
}

// TestVectorAnswers checks the answers against the reference vectors byte
// for byte, down to the M3UA DATA (the *R messages of testdata/vectors).
func TestVectorAnswers(t *testing.T) {
	cases := []struct {
		name, q, r string
		d          policy.Decision
	}{
		{"block -> disconnect {}", "P-02Q", "P-02R", policy.Decision{Action: policy.ActionBlock}},
		{"block with announcement -> sendToResource", "P-04Q", "P-04R", policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 21}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig(), &recorder{d: tc.d})
			h.feed(t, vectorM3UA(t, tc.q))
			got := wire(t, h.out.one(t))
			if want := vectorM3UA(t, tc.r); !bytes.Equal(got, want) {
				t.Errorf("answer\n got %x\nwant %x", got, want)
			}
			if h.s.tx.Len() != 0 {
				t.Errorf("%d dialogues left open; the Response ends the transaction", h.s.tx.Len())
			}
		})
	}
}

// TestAllowAuthorizeTermination: P-01Q answered with an empty
// authorizeTermination. The vector P-01R also carries aMAslpID and
// genericName, which callgate does not send; everything else (TID echo,
// invoke 2 linked to 1, op 0x6502, SCCP and M3UA framing) must match it, so
// the expected bytes are P-01R with the parameter set emptied.
func TestAllowAuthorizeTermination(t *testing.T) {
	rec := &recorder{d: policy.Decision{Action: policy.ActionAllow}}
	h := newHarness(t, testConfig(), rec)
	h.feed(t, vectorM3UA(t, "P-01Q"))
	got := tcapOf(t, h.out.one(t))
	want := mustHex(t, "e414c70400000101e80ce90acf020201d1026502f200")
	if !bytes.Equal(got, want) {
		t.Errorf("TCAP\n got %x\nwant %x", got, want)
	}
	c := rec.last(t)
	want2 := policy.Call{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100"),
		Presentation: policy.PresentationAllowed, Origin: policy.OriginAIN, Peer: "244-1-10"}
	if c != want2 {
		t.Errorf("call\n got %+v\nwant %+v", c, want2)
	}
	if n := h.counter(t, "callgate_scp_queries_total", "operation", "terminationAttempt", "answer", "authorizeTermination"); n != 1 {
		t.Errorf("queries_total{terminationAttempt,authorizeTermination} = %v", n)
	}
}

// TestForwardCall: Screen/Challenge/Voicemail -> forwardCall to the route's
// routing number, carrying the calling party as received, the dialled
// number as redirectingPartyID and redirectionInformation "call diverted,
// unconditional, counter 1" (9f2c 02 33 31). The envelope matches P-03R;
// its parameter set adds those three to P-03R's calledPartyID.
func TestForwardCall(t *testing.T) {
	for _, a := range []policy.Action{policy.ActionScreen, policy.ActionChallenge, policy.ActionVoicemail} {
		t.Run(a.String(), func(t *testing.T) {
			d := policy.Decision{Action: a}
			d.Route.RoutingNumber = e164.MustParse("+17205550123")
			h := newHarness(t, testConfig(), &recorder{d: d})
			h.feed(t, vectorM3UA(t, "P-03Q"))
			got := tcapOf(t, h.out.one(t))
			params := "920703131455551088" + "8f0703102750551032" + "9f2b0703100353551000" + "9f2c023331"
			want := mustHex(t, "e435c70400000103e82de92bcf020201d1026a01f221"+params)
			if !bytes.Equal(got, want) {
				t.Errorf("TCAP\n got %x\nwant %x", got, want)
			}
			var fc ain.ForwardCallArg
			m := new(tcap.Message)
			if err := m.Decode(got); err != nil {
				t.Fatal(err)
			}
			if err := fc.Unmarshal(m.Components[0].Params); err != nil {
				t.Fatal(err)
			}
			if n, _ := fc.CalledPartyID.V.E164(); n != e164.MustParse("+17205550123") {
				t.Errorf("calledPartyID %v", n)
			}
			if n, _ := fc.RedirectingPartyID.V.E164(); n != e164.MustParse("+13035550100") {
				t.Errorf("redirectingPartyID %v", n)
			}
		})
	}
}

// TestNextRedirection: a forward counts as one more diversion on top of
// what the query says happened before.
func TestNextRedirection(t *testing.T) {
	for _, tc := range []struct {
		prev []byte
		want [2]byte
	}{
		{nil, [2]byte{0x33, 0x31}},                // first redirection
		{[]byte{0x00, 0x00}, [2]byte{0x33, 0x31}}, // "no redirection"
		{[]byte{0x33}, [2]byte{0x33, 0x31}},       // malformed: ignored
		{[]byte{0x13, 0x11}, [2]byte{0x13, 0x32}}, // forwarded on busy once: keep the original reason
		{[]byte{0x23, 0x24}, [2]byte{0x23, 0x35}}, // fourth -> fifth
		{[]byte{0x23, 0x25}, [2]byte{0x23, 0x35}}, // the counter stops at five
		{[]byte{0x24, 0x20}, [2]byte{0x23, 0x32}}, // counter 0 in a redirected call counts as one
	} {
		if got := nextRedirection(tc.prev); got != tc.want {
			t.Errorf("nextRedirection(%x) = %x, want %x", tc.prev, got, tc.want)
		}
	}
}

// TestUnknownOperation: P-07Q (op 0x64FF) -> P-07R, Reject 2/2.
func TestUnknownOperation(t *testing.T) {
	rec := &recorder{d: policy.Decision{Action: policy.ActionAllow}}
	h := newHarness(t, testConfig(), rec)
	h.feed(t, vectorM3UA(t, "P-07Q"))
	got := wire(t, h.out.one(t))
	if want := vectorM3UA(t, "P-07R"); !bytes.Equal(got, want) {
		t.Errorf("answer\n got %x\nwant %x", got, want)
	}
	if len(rec.calls) != 0 {
		t.Error("the engine was asked about an unknown operation")
	}
	if n := h.counter(t, "callgate_scp_rejects_total", "problem", tcap.InvokeUnrecognisedOperation.String()); n != 1 {
		t.Errorf("rejects_total = %v", n)
	}
}

// TestACGVector: an overloaded SCP with 6-digit codes, 16 s duration and a
// 1 s gap answers P-05Q exactly as P-05R: acg (invoke 2, unlinked) first,
// then authorizeTermination (invoke 3 linked to 1).
func TestACGVector(t *testing.T) {
	cfg := testConfig()
	cfg.Overload = Overload{Capacity: 100, GapDuration: 16 * time.Second, GapInterval: time.Second, CodeDigits: 6}
	h := newHarness(t, cfg, &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	code := codeKey(ptr(digits(t, "3035550100", ain.NOANational)), 6)
	for range 15 { // 15 in one 100 ms tick = 150/s: 1.5x capacity
		h.s.ovl.Arrive()
		h.s.ovl.Observe(0, code)
	}
	h.s.ovl.Tick()
	if over, _ := h.s.ovl.Overloaded(); !over {
		t.Fatal("controller not overloaded")
	}
	h.feed(t, vectorM3UA(t, "P-05Q"))
	got := wire(t, h.out.one(t))
	if want := vectorM3UA(t, "P-05R"); !bytes.Equal(got, want) {
		t.Errorf("answer\n got %x\nwant %x", got, want)
	}
	if n := h.counter(t, "callgate_scp_acg_sent_total"); n != 1 {
		t.Errorf("acg_sent_total = %v", n)
	}
}

func ptr[T any](v T) *T { return &v }

func TestMalformedParameters(t *testing.T) {
	rec := &recorder{d: policy.Decision{Action: policy.ActionAllow}}
	h := newHarness(t, testConfig(), rec)
	// userID without the mandatory bearerCapability.
	h.feed(t, query(t, 0x201, tcap.QueryWithPermission, uint16(ain.OpTerminationAttempt), mustHex(t, "bf350781050353551000"), 248))
	got := tcapOf(t, h.out.one(t))
	want := mustHex(t, "e413c70400000201e80bec09cf0101d5020203f200")
	if !bytes.Equal(got, want) {
		t.Errorf("TCAP\n got %x\nwant %x (Reject 2/3)", got, want)
	}
	// Broken TLV framing inside the parameter set.
	h.feed(t, query(t, 0x202, tcap.QueryWithPermission, uint16(ain.OpTerminationAttempt), mustHex(t, "bf3507810503"), 248))
	if m := decodeAnswer(t, h.out.one(t)); m.Components[0].Type != tcap.Reject || m.Components[0].Problem != tcap.InvokeIncorrectParameter {
		t.Errorf("answer %+v, want Reject 2/3", m.Components)
	}
	if len(rec.calls) != 0 {
		t.Error("the engine was asked about a malformed query")
	}
}

func TestMalformedTCAP(t *testing.T) {
	h := newHarness(t, testConfig(), &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	// A Query whose package length runs past the data: the transaction
	// portion is badly structured but the TID is readable, so the
	// transaction layer answers with an Abort.
	h.feed(t, wrapRaw(t, mustHex(t, "e220c70400000301"), 248, 1))
	m := decodeAnswer(t, h.out.one(t))
	if m.Type != tcap.Abort || m.RespTID != tcap.NewTID(0x301) || m.AbortCause != tcap.BadlyStructuredTransactionPortion {
		t.Errorf("answer %v to %v cause %v, want an Abort to 00000301, badly structured", m.Type, m.RespTID, m.AbortCause)
	}
	// A Query whose component is cut short inside a sound package: a
	// component problem, answered with a Reject in a Response.
	h.feed(t, wrapRaw(t, mustHex(t, "e20cc70400000302e804e905cf01"), 248, 1))
	m = decodeAnswer(t, h.out.one(t))
	if m.Type != tcap.Response || len(m.Components) != 1 || m.Components[0].Type != tcap.Reject {
		t.Errorf("answer %v %+v, want a Response with a Reject", m.Type, m.Components)
	}
	// Not TCAP at all and no TID to address: dropped.
	h.feed(t, wrapRaw(t, []byte{0x01, 0x02}, 248, 1))
	h.out.none(t)
}

func TestUnknownSSN(t *testing.T) {
	h := newHarness(t, testConfig(), &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	q := query(t, 0x401, tcap.QueryWithPermission, uint16(ain.OpTerminationAttempt), taParams(t, basicTA(t, "7195551212", "3035550100")), 247)
	h.feed(t, q)
	pd := h.out.one(t)
	var u sccp.Message
	if err := u.Decode(pd.Data, sccp.ANSI); err != nil {
		t.Fatal(err)
	}
	if u.Type != sccp.UDTS || u.Cause != sccp.CauseUnequippedUser {
		t.Fatalf("got %v, want UDTS unequipped user", &u)
	}
	if u.Called.SSN != 249 || u.Calling.SSN != 247 || pd.DPC != uint32(sspPC) {
		t.Errorf("UDTS not addressed back to the sender: %v, DPC %d", &u, pd.DPC)
	}
	var in m3ua.Data
	_ = in.UnmarshalBinary(q)
	var orig sccp.Message
	_ = orig.Decode(in.ProtocolData.Data, sccp.ANSI)
	if !bytes.Equal(u.Data, orig.Data) {
		t.Error("UDTS does not return the original data")
	}
	// Without "return on error" the message is discarded.
	tc, _ := (&tcap.Message{Type: tcap.QueryWithPermission, OrigTID: tcap.NewTID(0x402)}).MarshalBinary()
	u2 := sccp.Message{Type: sccp.UDT, Class: sccp.Class0, Called: sccp.NewSSNAddress(scpPC, 247), Calling: sccp.NewSSNAddress(sspPC, 249), Data: tc}
	ub, _ := u2.MarshalBinary()
	d := m3ua.Data{ProtocolData: m3ua.ProtocolData{OPC: uint32(sspPC), DPC: uint32(scpPC), SI: 3, NI: 2, Data: ub}}
	db, _ := d.MarshalBinary()
	h.feed(t, db)
	h.out.none(t)
}

// A called party address routed on global title with SSN 0 ("SSN not
// known/not used", ANSI T1.112.3) reaching our point code after the STP's
// final translation is for the AIN service here: answered, not returned.
// Routed on SSN, SSN 0 names no subsystem and is returned as before.
func TestCalledSSNZero(t *testing.T) {
	h := newHarness(t, testConfig(), &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	gt := sccp.GlobalTitle{Indicator: sccp.ANSIGTITT, TT: 8, Digits: []byte{0x30, 0x53, 0x55, 0x00, 0x01}}
	tc, err := (&tcap.Message{Type: tcap.QueryWithPermission, OrigTID: tcap.NewTID(0x501), Components: []tcap.Component{{
		Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: 1, Op: tcap.PrivateOp(uint16(ain.OpTerminationAttempt)),
		ParamTag: tcap.ParamSet, Params: taParams(t, basicTA(t, "7195551212", "3035550100"))}}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	send := func(called sccp.Address) (*sccp.Message, m3ua.ProtocolData) {
		t.Helper()
		u := sccp.Message{Type: sccp.UDT, Class: sccp.Class0Return, Called: called, Calling: sccp.NewSSNAddress(sspPC, 249), Data: tc}
		ub, err := u.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		d := m3ua.Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: m3ua.ProtocolData{
			OPC: uint32(sspPC), DPC: uint32(scpPC), SI: m3ua.SISCCP, NI: m3ua.NINational, SLS: 1, Data: ub}}
		db, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		h.feed(t, db)
		pd := h.out.one(t)
		var got sccp.Message
		if err := got.Decode(pd.Data, sccp.ANSI); err != nil {
			t.Fatal(err)
		}
		return &got, pd
	}
	onGT := sccp.Address{National: true, Routing: sccp.RouteOnGT, HasPC: true, PC: scpPC, HasSSN: true, SSN: 0, GT: gt}
	u, pd := send(onGT)
	if u.Type != sccp.UDT {
		t.Fatalf("route on GT, SSN 0: got %v, want the query answered", u)
	}
	if m := decodeAnswer(t, pd); m.Type != tcap.Response || m.Components[0].Op != tcap.PrivateOp(uint16(ain.OpAuthorizeTermination)) {
		t.Fatalf("route on GT, SSN 0: answer %v %+v", m.Type, m.Components)
	}
	for _, called := range []sccp.Address{
		sccp.NewSSNAddress(scpPC, 0),
		{National: true, Routing: sccp.RouteOnGT, HasPC: true, PC: scpPC, HasSSN: true, SSN: 247, GT: gt},
	} {
		if u, _ := send(called); u.Type != sccp.UDTS || u.Cause != sccp.CauseUnequippedUser {
			t.Errorf("called %v: got %v, want UDTS unequipped user", &called, u)
		}
	}
}

func TestTimeBudget(t *testing.T) {
	slow := decideFunc(func(ctx context.Context, c policy.Call) policy.Decision {
		time.Sleep(30 * time.Millisecond)
		return policy.Decision{Action: policy.ActionBlock}
	})
	live := e164.MustParse("+13035558888")
	cases := []struct {
		name   string
		safe   SafeAnswer
		fwd    e164.Number
		route  func() e164.Number // WithSafeForwardRoute
		wantOp ain.OpCode
		wantTo e164.Number
	}{
		{"authorize", SafeAuthorize, 0, nil, ain.OpAuthorizeTermination, 0},
		{"forward", SafeForward, e164.MustParse("+13035559999"), nil, ain.OpForwardCall, e164.MustParse("+13035559999")},
		{"forward without number falls back", SafeForward, 0, nil, ain.OpAuthorizeTermination, 0},
		{"forward to the live route", SafeForward, e164.MustParse("+13035559999"), func() e164.Number { return live }, ain.OpForwardCall, live},
		{"live route unset: the configured number", SafeForward, e164.MustParse("+13035559999"), func() e164.Number { return 0 }, ain.OpForwardCall, e164.MustParse("+13035559999")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TimeBudget = 5 * time.Millisecond
			cfg.SafeAnswer, cfg.SafeForwardNumber = tc.safe, tc.fwd
			var opts []Option
			if tc.route != nil {
				opts = append(opts, WithSafeForwardRoute(tc.route))
			}
			h := newHarness(t, cfg, slow, opts...)
			h.feed(t, vectorM3UA(t, "P-02Q"))
			m := decodeAnswer(t, h.out.one(t))
			if m.Type != tcap.Response || ain.OpCode(m.Components[0].Op.Code) != tc.wantOp {
				t.Fatalf("answer %v %v, want Response %v", m.Type, m.Components[0].Op, tc.wantOp)
			}
			if tc.wantOp == ain.OpForwardCall {
				var fc ain.ForwardCallArg
				if err := fc.Unmarshal(m.Components[0].Params); err != nil {
					t.Fatal(err)
				}
				if n, _ := fc.CalledPartyID.V.E164(); n != tc.wantTo {
					t.Errorf("forwarded to %v, want %v", n, tc.wantTo)
				}
			}
			if n := h.counter(t, "callgate_scp_safe_answers_total", "reason", "timeout"); n != 1 {
				t.Errorf("safe_answers_total{timeout} = %v", n)
			}
		})
	}
}

// TestDecideFailures: a panicking engine and one returning no action still
// get the call answered.
func TestDecideFailures(t *testing.T) {
	for name, d := range map[string]policy.Decider{
		"panic":            decideFunc(func(context.Context, policy.Call) policy.Decision { panic("boom") }),
		"invalid_decision": decideFunc(func(context.Context, policy.Call) policy.Decision { return policy.Decision{} }),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, testConfig(), d)
			h.feed(t, vectorM3UA(t, "P-02Q"))
			m := decodeAnswer(t, h.out.one(t))
			if ain.OpCode(m.Components[0].Op.Code) != ain.OpAuthorizeTermination {
				t.Errorf("answer %v, want the safe authorizeTermination", m.Components[0].Op)
			}
			if n := h.counter(t, "callgate_scp_safe_answers_total", "reason", name); n != 1 {
				t.Errorf("safe_answers_total{%s} = %v", name, n)
			}
		})
	}
}

// TestDeadlineContext: the engine sees the query's deadline, and Done
// fires at it.
func TestDeadlineContext(t *testing.T) {
	var dl time.Time
	var fired bool
	d := decideFunc(func(ctx context.Context, c policy.Call) policy.Decision {
		dl, _ = ctx.Deadline()
		select {
		case <-ctx.Done():
			fired = ctx.Err() == context.DeadlineExceeded
		case <-time.After(time.Second):
		}
		return policy.Decision{Action: policy.ActionAllow}
	})
	cfg := testConfig()
	cfg.TimeBudget = 10 * time.Millisecond
	h := newHarness(t, cfg, d)
	start := time.Now()
	h.feed(t, vectorM3UA(t, "P-01Q"))
	end := time.Now()
	h.out.one(t)
	// The query arrived between start and end; its deadline is arrival
	// plus the budget.
	if dl.Before(start.Add(cfg.TimeBudget)) || dl.After(end.Add(cfg.TimeBudget)) {
		t.Errorf("deadline %v not within [%v, %v] + 10ms", dl, start, end)
	}
	if !fired {
		t.Error("ctx.Done did not fire with DeadlineExceeded at the deadline")
	}
}

func TestShedGetsSafeAnswerAndACG(t *testing.T) {
	cfg := testConfig()
	cfg.Overload.Capacity = 1000
	rec := &recorder{d: policy.Decision{Action: policy.ActionBlock}}
	dir := t.TempDir()
	dl, err := decisionlog.Open(dir+"/d.db", decisionlog.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	h := newHarness(t, cfg, rec, WithDecisionLog(dl))
	h.feedShed(t, vectorM3UA(t, "P-02Q"), safeBacklog)
	m := decodeAnswer(t, h.out.one(t))
	if len(rec.calls) != 0 {
		t.Error("a shed query went to the engine")
	}
	if len(m.Components) != 2 || ain.OpCode(m.Components[0].Op.Code) != ain.OpACG ||
		ain.OpCode(m.Components[1].Op.Code) != ain.OpAuthorizeTermination {
		t.Fatalf("components %+v, want acg + authorizeTermination", m.Components)
	}
	var acg ain.AcgArg
	if err := acg.Unmarshal(m.Components[0].Params); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(acg.GlobalTitleAddress, mustHex(t, "0353551000")) {
		t.Errorf("acg code %x, want the called number 3035550100", acg.GlobalTitleAddress)
	}
	if err := dl.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, err := dl.Search(decisionlog.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Action != policy.ActionAllow || !recs[0].Trace.Has(policy.RuleCancelled, policy.OutcomeYes) {
		t.Errorf("decision log %v, want one safe allow", recs)
	}
}

func TestCallTranslation(t *testing.T) {
	restricted := digits(t, "7195551212", ain.NOANational)
	restricted.Presentation = ain.PresentationRestricted
	unavail := digits(t, "7195551212", ain.NOANational)
	unavail.Presentation = ain.PresentationUnavailable
	dn, _ := ain.ParseDN("3035550100")
	cases := []struct {
		name string
		ta   ain.TerminationAttemptArg
		want policy.Call
	}{
		{"restricted", ain.TerminationAttemptArg{UserID: ain.UserIDFromDN(dn), CallingPartyID: ain.Some(restricted)},
			policy.Call{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100"), Presentation: policy.PresentationRestricted}},
		{"unavailable", ain.TerminationAttemptArg{UserID: ain.UserIDFromDN(dn), CallingPartyID: ain.Some(unavail)},
			policy.Call{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100"), Presentation: policy.PresentationUnavailable}},
		{"no calling party", ain.TerminationAttemptArg{UserID: ain.UserIDFromDN(dn)},
			policy.Call{Called: e164.MustParse("+13035550100"), Presentation: policy.PresentationUnavailable}},
		{"called from CalledPartyID, original called", ain.TerminationAttemptArg{UserID: ain.UserIDFromDN(dn),
			CalledPartyID:         ain.Some(digits(t, "3035550199", ain.NOANational)),
			OriginalCalledPartyID: ain.Some(digits(t, "2125550100", ain.NOANational)),
			RedirectingPartyID:    ain.Some(digits(t, "4155550100", ain.NOANational))},
			policy.Call{Called: e164.MustParse("+13035550199"), OriginalCalled: e164.MustParse("+12125550100"), Presentation: policy.PresentationUnavailable}},
		{"original called from redirecting", ain.TerminationAttemptArg{UserID: ain.UserIDFromDN(dn),
			RedirectingPartyID: ain.Some(digits(t, "4155550100", ain.NOANational))},
			policy.Call{Called: e164.MustParse("+13035550100"), OriginalCalled: e164.MustParse("+14155550100"), Presentation: policy.PresentationUnavailable}},
		{"international caller", ain.TerminationAttemptArg{UserID: ain.UserIDFromDN(dn),
			CallingPartyID: ain.Some(digits(t, "442079460000", ain.NOAInternational))},
			policy.Call{Calling: e164.MustParse("+442079460000"), Called: e164.MustParse("+13035550100")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Origin = policy.OriginAIN
			cfg := testConfig()
			var got policy.Call
			if err := callFromTA(&got, &tc.ta, &cfg); got != tc.want || err != nil {
				t.Errorf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// lockLine is a stand-in for the fraud signal: it locks line down, then
// asks the engine.
func lockLine(line e164.Number, next policy.Decider) policy.Decider {
	return decideFunc(func(ctx context.Context, c policy.Call) policy.Decision {
		c.FraudLocked = c.Calling == line
		return next.Decide(ctx, c)
	})
}

// TestOriginationTriggers: the originating triggers are translated into
// originating Calls, decided by the engine's originating chain, and its
// answer goes back as continue or disconnect.
func TestOriginationTriggers(t *testing.T) {
	dn, _ := ain.ParseDN("3035550100")
	line := e164.MustParse("+13035550100")
	intl := ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CalledPartyID: ain.Some(digits(t, "442079460000", ain.NOAInternational))}
	premium := ain.InfoCollectedArg{UserID: ain.UserIDFromDN(dn), CollectedAddressInfo: ain.Some(digits(t, "9005550100", ain.NOANational))}
	local := ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CollectedAddressInfo: ain.Some(digits(t, "7205550123", ain.NOANational))}
	// Abroad as the line dialled it, prefixes and all: operator-assisted
	// (01 + CC) and through a carrier access code (101XXXX + 011 + CC).
	dialledOperator := ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CollectedAddressInfo: ain.Some(digits(t, "01442079460000", ain.NOAUnknown))}
	dialledAround := ain.InfoCollectedArg{UserID: ain.UserIDFromDN(dn), CollectedAddressInfo: ain.Some(digits(t, "1010288011442079460000", ain.NOAUnknown))}
	emergency := ain.InfoCollectedArg{UserID: ain.UserIDFromDN(dn), CollectedAddressInfo: ain.Some(digits(t, "911", ain.NOAUnknown))}
	opOf := func(t *testing.T, h *harness) ain.OpCode {
		t.Helper()
		m := decodeAnswer(t, h.out.one(t))
		if m.Components[0].CorrelationID != 1 {
			t.Errorf("answer not linked to invoke 1: %+v", m.Components[0])
		}
		return ain.OpCode(m.Components[0].Op.Code)
	}

	t.Run("translation", func(t *testing.T) {
		rec := &recorder{d: policy.Decision{Action: policy.ActionAllow}}
		h := newHarness(t, testConfig(), rec)
		h.feed(t, query(t, 0x501, tcap.QueryWithPermission, uint16(ain.OpInfoAnalyzed), intl.Marshal(nil), 248))
		if op := opOf(t, h); op != ain.OpContinue {
			t.Errorf("Allow answered %v, want continue", op)
		}
		want := policy.Call{Calling: line, Called: e164.MustParse("+442079460000"), Origin: policy.OriginAIN,
			Direction: policy.DirectionOriginating, Peer: rec.last(t).Peer}
		if got := rec.last(t); got != want || got.Peer == "" {
			t.Errorf("engine asked %+v\nwant %+v", got, want)
		}
		h.feed(t, query(t, 0x502, tcap.QueryWithPermission, uint16(ain.OpInfoCollected), premium.Marshal(nil), 248))
		opOf(t, h)
		if got := rec.last(t); got.Called != e164.MustParse("+19005550100") || got.Direction != policy.DirectionOriginating {
			t.Errorf("infoCollected asked %+v", got)
		}
	})
	t.Run("engine: not locked, every call continues", func(t *testing.T) {
		h := newHarness(t, testConfig(), policy.New(nil))
		h.feed(t, query(t, 0x503, tcap.QueryWithPermission, uint16(ain.OpInfoAnalyzed), intl.Marshal(nil), 248))
		if op := opOf(t, h); op != ain.OpContinue {
			t.Errorf("answer %v, want continue", op)
		}
	})
	t.Run("engine: locked line", func(t *testing.T) {
		h := newHarness(t, testConfig(), lockLine(line, policy.New(nil)))
		for _, tc := range []struct {
			op   ain.OpCode
			arg  []byte
			want ain.OpCode
		}{
			{ain.OpInfoAnalyzed, intl.Marshal(nil), ain.OpDisconnect},
			{ain.OpInfoCollected, premium.Marshal(nil), ain.OpDisconnect},
			{ain.OpInfoAnalyzed, local.Marshal(nil), ain.OpContinue},
			{ain.OpInfoAnalyzed, dialledOperator.Marshal(nil), ain.OpDisconnect},
			{ain.OpInfoCollected, dialledAround.Marshal(nil), ain.OpDisconnect},
			{ain.OpInfoCollected, emergency.Marshal(nil), ain.OpContinue},
		} {
			h.feed(t, query(t, 0x504, tcap.QueryWithPermission, uint16(tc.op), tc.arg, 248))
			if op := opOf(t, h); op != tc.want {
				t.Errorf("%v: answer %v, want %v", tc.op, op, tc.want)
			}
		}
		if n := h.counter(t, "callgate_scp_queries_total", "operation", "infoAnalyzed", "answer", "disconnect"); n != 2 {
			t.Errorf("queries_total{infoAnalyzed,disconnect} = %v", n)
		}
	})
	t.Run("engine: locked line, 7-digit numbers read in the line's area", func(t *testing.T) {
		// The switch names the line by its 7 digits (subscriber) and the
		// line dials a local premium number (NXX 976) as 7 digits: both
		// are completed with the line's area (303), as a terminationAttempt's.
		h := newHarness(t, testConfig(), lockLine(line, policy.New(nil)))
		own := ain.Some(digits(t, "5550100", ain.NOASubscriber))
		intl7 := intl
		intl7.CallingPartyID = own
		premium7 := ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CallingPartyID: own,
			CollectedAddressInfo: ain.Some(digits(t, "9765555", ain.NOAUnknown))}
		noNumber := intl
		noNumber.CallingPartyID = ain.Some(digits(t, "", ain.NOANoNumberOpReq))
		for _, tc := range []struct {
			name string
			arg  ain.InfoAnalyzedArg
		}{
			{"7-digit line, international", intl7},
			{"7-digit line, 7-digit 976", premium7},
			{"unreadable callingPartyID: the UserID line", noNumber},
		} {
			h.feed(t, query(t, 0x507, tcap.QueryWithPermission, uint16(ain.OpInfoAnalyzed), tc.arg.Marshal(nil), 248))
			if op := opOf(t, h); op != ain.OpDisconnect {
				t.Errorf("%s: answer %v, want disconnect (the line is locked)", tc.name, op)
			}
		}
	})
	t.Run("a conversation cannot be put on an originating trigger", func(t *testing.T) {
		h := newHarness(t, testConfig(), &recorder{d: policy.Decision{Action: policy.ActionScreen}})
		h.feed(t, query(t, 0x505, tcap.QueryWithPermission, uint16(ain.OpInfoAnalyzed), intl.Marshal(nil), 248))
		if op := opOf(t, h); op != ain.OpContinue {
			t.Errorf("answer %v, want the safe continue", op)
		}
		if n := h.counter(t, "callgate_scp_safe_answers_total", "reason", "unencodable"); n != 1 {
			t.Errorf("safe_answers_total{unencodable} = %v", n)
		}
	})
	t.Run("a panicking engine gets continue", func(t *testing.T) {
		h := newHarness(t, testConfig(), decideFunc(func(context.Context, policy.Call) policy.Decision { panic("fraud signal exploded") }))
		h.feed(t, query(t, 0x506, tcap.QueryWithPermission, uint16(ain.OpInfoAnalyzed), intl.Marshal(nil), 248))
		if op := opOf(t, h); op != ain.OpContinue {
			t.Errorf("answer %v, want the safe continue", op)
		}
		if n := h.counter(t, "callgate_scp_safe_answers_total", "reason", "panic"); n != 1 {
			t.Errorf("safe_answers_total{panic} = %v", n)
		}
	})
}

// TestQueryWithoutPermission: the switch forbids us to end the
// transaction, so the answer goes in a Conversation With Permission and the
// dialogue stays until the switch closes it.
func TestQueryWithoutPermission(t *testing.T) {
	h := newHarness(t, testConfig(), &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	h.feed(t, query(t, 0x601, tcap.QueryWithoutPermission, uint16(ain.OpTerminationAttempt), taParams(t, basicTA(t, "7195551212", "3035550100")), 248))
	m := decodeAnswer(t, h.out.one(t))
	if m.Type != tcap.ConversationWithPerm || m.RespTID != tcap.NewTID(0x601) {
		t.Fatalf("answer %v resp %v", m.Type, m.RespTID)
	}
	if h.s.tx.Len() != 1 {
		t.Fatalf("%d dialogues open, want 1", h.s.tx.Len())
	}
	// The switch closes it with a Response carrying close.
	cl := ain.CloseArg{CloseCause: ain.Some(ain.CloseCallTerminated)}
	r := tcap.Message{Type: tcap.Response, RespTID: m.OrigTID, Components: []tcap.Component{{Type: tcap.InvokeLast,
		HasInvokeID: true, InvokeID: 3, Op: tcap.PrivateOp(uint16(ain.OpClose)), ParamTag: tcap.ParamSet, Params: cl.Marshal(nil)}}}
	h.feed(t, wrapTCAP(t, &r, 248, 1))
	h.out.none(t)
	if h.s.tx.Len() != 0 {
		t.Errorf("%d dialogues open after close", h.s.tx.Len())
	}
}

func TestForeignDPCAndNonSCCP(t *testing.T) {
	h := newHarness(t, testConfig(), &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	var d m3ua.Data
	_ = d.UnmarshalBinary(vectorM3UA(t, "P-01Q"))
	pd := d.ProtocolData
	pd.DPC = uint32(sccp.ANSIPointCode(1, 2, 3))
	h.s.handle(h.w, h.out, &pd, time.Now(), safeNone)
	pd = d.ProtocolData
	pd.SI = m3ua.SIISUP
	h.s.handle(h.w, h.out, &pd, time.Now(), safeNone)
	h.out.none(t)
}

// TestDialogueTableFull: when the dialogue table is full a query gets the
// transaction layer's Abort resourceUnavailable, byte for byte P-06R.
func TestDialogueTableFull(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDialogues = 16 // one per shard
	h := newHarness(t, cfg, &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	// Queries without permission keep their dialogues open.
	for tid := uint32(1); tid <= 400; tid++ {
		h.feed(t, query(t, tid, tcap.QueryWithoutPermission, uint16(ain.OpTerminationAttempt), taParams(t, basicTA(t, "7195551212", "3035550100")), 248))
		h.out.one(t)
	}
	if h.s.tx.Len() != 16 {
		t.Fatalf("%d dialogues open, want the 16 the table holds", h.s.tx.Len())
	}
	h.feed(t, vectorM3UA(t, "P-06Q"))
	got := wire(t, h.out.one(t))
	if want := vectorM3UA(t, "P-06R"); !bytes.Equal(got, want) {
		t.Errorf("answer\n got %x\nwant %x", got, want)
	}
}

// TestITUVariant: the SCP also serves ITU-format SCCP (14-bit point codes).
func TestITUVariant(t *testing.T) {
	cfg := testConfig()
	cfg.Variant = sccp.ITU
	cfg.PointCode = sccp.ITUPointCode(1, 2, 3)
	h := newHarness(t, cfg, &recorder{d: policy.Decision{Action: policy.ActionBlock}})
	ssp := sccp.ITUPointCode(1, 2, 4)
	tc, _ := (&tcap.Message{Type: tcap.QueryWithPermission, OrigTID: tcap.NewTID(0x701), Components: []tcap.Component{{
		Type: tcap.InvokeLast, HasInvokeID: true, InvokeID: 1, Op: tcap.PrivateOp(uint16(ain.OpTerminationAttempt)),
		ParamTag: tcap.ParamSet, Params: taParams(t, basicTA(t, "7195551212", "3035550100"))}}}).MarshalBinary()
	u := sccp.Message{Variant: sccp.ITU, Type: sccp.UDT, Class: sccp.Class1Return,
		Called:  sccp.Address{Routing: sccp.RouteOnSSN, HasPC: true, PC: cfg.PointCode, HasSSN: true, SSN: 248},
		Calling: sccp.Address{Routing: sccp.RouteOnSSN, HasPC: true, PC: ssp, HasSSN: true, SSN: 249}, Data: tc}
	ub, err := u.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	pd := m3ua.ProtocolData{OPC: uint32(ssp), DPC: uint32(cfg.PointCode), SI: 3, NI: m3ua.NIInternational, SLS: 7, Data: ub}
	h.s.handle(h.w, h.out, &pd, time.Now(), safeNone)
	out := h.out.one(t)
	var a sccp.Message
	if err := a.Decode(out.Data, sccp.ITU); err != nil {
		t.Fatal(err)
	}
	if a.Class != sccp.Class1Return || a.Called.PC != ssp || a.Calling.PC != cfg.PointCode || out.SLS != 7 || out.NI != m3ua.NIInternational {
		t.Errorf("answer %v SLS %d NI %d", &a, out.SLS, out.NI)
	}
	var m tcap.Message
	if err := m.Decode(a.Data); err != nil || ain.OpCode(m.Components[0].Op.Code) != ain.OpDisconnect {
		t.Errorf("answer %v %v", m.Components, err)
	}
}

// TestRescueBehindStuckDecide: queries queued behind a Decide that does not
// return are answered with the safe answer by the ticker's rescue, without
// waiting for it; the stuck one is answered when Decide returns.
func TestRescueBehindStuckDecide(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	d := decideFunc(func(context.Context, policy.Call) policy.Decision {
		entered <- struct{}{}
		<-release
		return policy.Decision{Action: policy.ActionBlock}
	})
	h := newHarness(t, testConfig(), d)
	s := h.s
	done := make(chan struct{})
	go func() {
		s.runWorker(s.workers[0], s.queues[0], &s.busy[0])
		close(done)
	}()
	enqueue := func(tid uint32) {
		var m m3ua.Data
		if err := m.UnmarshalBinary(query(t, tid, tcap.QueryWithPermission, uint16(ain.OpTerminationAttempt),
			taParams(t, basicTA(t, "7195551212", "3035550100")), 248)); err != nil {
			t.Fatal(err)
		}
		j := &job{snd: h.out, at: time.Now(), buf: append([]byte(nil), m.ProtocolData.Data...)}
		j.pd = m.ProtocolData
		j.pd.Data = j.buf
		s.pending.Add(1)
		s.queues[0] <- j
	}
	enqueue(0x801)
	<-entered // the worker is stuck in Decide
	enqueue(0x802)
	enqueue(0x803)
	s.rescue(time.Now().Add(2 * s.cfg.TimeBudget))
	h.out.mu.Lock()
	got := append([]m3ua.ProtocolData(nil), h.out.sent...)
	h.out.sent = nil
	h.out.mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("rescue answered %d queries, want the 2 queued", len(got))
	}
	for _, pd := range got {
		if m := decodeAnswer(t, pd); ain.OpCode(m.Components[0].Op.Code) != ain.OpAuthorizeTermination {
			t.Errorf("rescued query answered %v, want the safe authorizeTermination", m.Components[0].Op)
		}
	}
	close(release)
	close(s.queues[0])
	<-done
	if m := decodeAnswer(t, h.out.one(t)); ain.OpCode(m.Components[0].Op.Code) != ain.OpDisconnect {
		t.Errorf("stuck query answered %v, want its decision", m.Components[0].Op)
	}
	if n := s.pending.Load(); n != 0 {
		t.Errorf("pending %d after all answered", n)
	}
}

// TestStartFailure: a busy port fails Start with the reason, and a later
// Shutdown is harmless.
func TestStartFailure(t *testing.T) {
	h1 := newHarness(t, testConfig(), &recorder{})
	ctx := context.Background()
	if err := h1.s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer h1.s.Shutdown(ctx)
	cfg := testConfig()
	cfg.Listen = h1.s.Addr()
	h2 := newHarness(t, cfg, &recorder{})
	if err := h2.s.Start(ctx); err == nil {
		t.Fatal("second SCP on the same port started")
	}
	if err := h2.s.Shutdown(ctx); err != nil {
		t.Errorf("shutdown after a failed start: %v", err)
	}
}
