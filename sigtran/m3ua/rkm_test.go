package m3ua

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/sigtran/transport"
)

// rkmSamples holds one populated value of each RKM message (also fuzz
// seeds through sampleMessages).
func rkmSamples() []Message {
	return []Message{
		&RegReq{Keys: []RoutingKey{
			{LocalRKID: 1, RoutingContext: 10, HasRoutingContext: true, TrafficMode: TrafficModeLoadshare, DPC: 0xf40214,
				NetworkAppearance: 7, HasNetworkAppearance: true, ServiceIndicators: []uint8{3, 5}, OPCs: []AffectedPC{{PC: 0xf4010a}, {Mask: 8, PC: 0xf40300}}},
			{LocalRKID: 2, DPC: 0x000817},
		}},
		&RegRsp{Results: []RegResult{{LocalRKID: 1, Status: RegStatusSuccess, RoutingContext: 10}, {LocalRKID: 2, Status: RegStatusInvalidDPC}}},
		&DeregReq{RoutingContexts: []uint32{10, 11}},
		&DeregRsp{Results: []DeregResult{{RoutingContext: 10, Status: DeregStatusSuccess}, {RoutingContext: 11, Status: DeregStatusASPActive}}},
	}
}

// param builds one parameter (padded); msg builds a message around them.
func param(tag Tag, v ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(tag))
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32p(tag Tag, v uint32) []byte { return param(tag, binary.BigEndian.AppendUint32(nil, v)...) }

func msg(c Class, t uint8, ps ...[]byte) []byte {
	body := bytes.Join(ps, nil)
	b := []byte{1, 0, byte(c), t}
	b = binary.BigEndian.AppendUint32(b, uint32(HeaderLen+len(body)))
	return append(b, body...)
}

func rk(ps ...[]byte) []byte { return param(TagRoutingKey, bytes.Join(ps, nil)...) }

// rkmSeeds are hand-built RKM messages, including unpadded and unknown
// parameters, for the fuzzer.
func rkmSeeds() [][]byte {
	return [][]byte{
		msg(ClassRKM, TypeRegReq, rk(u32p(TagLocalRoutingKeyID, 1), u32p(TagDestinationPointCode, 0xf40214), param(TagServiceIndicators, 3))),
		msg(ClassRKM, TypeRegReq, param(0x7777, 1, 2, 3), rk(u32p(TagLocalRoutingKeyID, 9), u32p(TagDestinationPointCode, 1))),
		msg(ClassRKM, TypeRegRsp, param(TagRegistrationResult, bytes.Join([][]byte{u32p(TagLocalRoutingKeyID, 1), u32p(TagRegistrationStatus, 0), u32p(TagRoutingContext, 10), param(0x7777)}, nil)...)),
		msg(ClassRKM, TypeDeregRsp, param(TagDeregistrationResult, bytes.Join([][]byte{u32p(TagRoutingContext, 10), u32p(TagDeregistrationStatus, 4)}, nil)...)),
	}
}

// TestRegReqWireFormat checks the encoding octet by octet against the
// layout of RFC 4666 §3.6.1 (parameters in the RFC's order).
func TestRegReqWireFormat(t *testing.T) {
	m := &RegReq{Keys: []RoutingKey{{LocalRKID: 1, RoutingContext: 10, HasRoutingContext: true, TrafficMode: TrafficModeLoadshare,
		DPC: 0xf40214, NetworkAppearance: 7, HasNetworkAppearance: true, ServiceIndicators: []uint8{3}, OPCs: []AffectedPC{{PC: 0xf4010a}}}}}
	want := []byte{
		1, 0, 9, 1, 0, 0, 0, 68,
		0x02, 0x07, 0, 60,
		0x02, 0x0a, 0, 8, 0, 0, 0, 1,
		0x00, 0x06, 0, 8, 0, 0, 0, 10,
		0x00, 0x0b, 0, 8, 0, 0, 0, 2,
		0x02, 0x0b, 0, 8, 0, 0xf4, 0x02, 0x14,
		0x02, 0x00, 0, 8, 0, 0, 0, 7,
		0x02, 0x0c, 0, 5, 3, 0, 0, 0,
		0x02, 0x0e, 0, 8, 0, 0xf4, 0x01, 0x0a,
	}
	got, err := m.MarshalBinary()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("encoded %x (%v)\nwant    %x", got, err, want)
	}
	rsp, _ := (&RegRsp{Results: []RegResult{{LocalRKID: 1, Status: RegStatusNotProvisioned}}}).MarshalBinary()
	wantRsp := []byte{1, 0, 9, 2, 0, 0, 0, 36, 0x02, 0x08, 0, 28,
		0x02, 0x0a, 0, 8, 0, 0, 0, 1, 0x02, 0x12, 0, 8, 0, 0, 0, 7, 0x00, 0x06, 0, 8, 0, 0, 0, 0}
	if !bytes.Equal(rsp, wantRsp) {
		t.Fatalf("REG RSP %x\nwant    %x", rsp, wantRsp)
	}
	drsp, _ := (&DeregRsp{Results: []DeregResult{{RoutingContext: 10, Status: DeregStatusNotRegistered}}}).MarshalBinary()
	wantD := []byte{1, 0, 9, 4, 0, 0, 0, 28, 0x02, 0x09, 0, 20,
		0x00, 0x06, 0, 8, 0, 0, 0, 10, 0x02, 0x13, 0, 8, 0, 0, 0, 4}
	if !bytes.Equal(drsp, wantD) {
		t.Fatalf("DEREG RSP %x\nwant      %x", drsp, wantD)
	}
}

func TestRKMDecodeTolerance(t *testing.T) {
	// Unknown top-level parameters are skipped and counted; the last
	// parameter of a Routing Key may lack its padding.
	in := msg(ClassRKM, TypeRegReq, param(0x7777, 1, 2, 3),
		param(TagRoutingKey, append(bytes.Join([][]byte{u32p(TagLocalRoutingKeyID, 4), u32p(TagDestinationPointCode, 0x123456)}, nil), 0x02, 0x0c, 0, 6, 3, 5)...))
	m, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &RegReq{Keys: []RoutingKey{{LocalRKID: 4, DPC: 0x123456, ServiceIndicators: []uint8{3, 5}}}, Unknown: 1}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v", m)
	}
	// Unknown parameters inside a result are skipped too (a result is an
	// answer, not a filter).
	r, err := Decode(rkmSeeds()[2])
	if err != nil || r.(*RegRsp).Unknown != 1 || r.(*RegRsp).Results[0].RoutingContext != 10 {
		t.Fatalf("%+v %v", r, err)
	}
	// Decoded keys do not alias the input.
	k := m.(*RegReq).Keys[0]
	for i := range in {
		in[i] = 0xee
	}
	if k.ServiceIndicators[0] != 3 {
		t.Fatal("Service Indicators alias the input")
	}
}

func TestRKMDecodeErrors(t *testing.T) {
	lrk, dpc := u32p(TagLocalRoutingKeyID, 1), u32p(TagDestinationPointCode, 0xf40214)
	res := func(ps ...[]byte) []byte { return param(TagRegistrationResult, bytes.Join(ps, nil)...) }
	dres := func(ps ...[]byte) []byte { return param(TagDeregistrationResult, bytes.Join(ps, nil)...) }
	cases := []struct {
		name string
		in   []byte
		code ErrorCode
		off  int
		what string
	}{
		{"REG REQ without a key", msg(ClassRKM, TypeRegReq), CodeMissingParameter, 0, "Routing Key"},
		{"key without Local RK Identifier", msg(ClassRKM, TypeRegReq, rk(dpc)), CodeMissingParameter, 8, "Local Routing Key Identifier"},
		{"key without DPC", msg(ClassRKM, TypeRegReq, rk(lrk)), CodeMissingParameter, 8, "Destination Point Code"},
		{"second key without DPC", msg(ClassRKM, TypeRegReq, rk(lrk, dpc), rk(lrk)), CodeMissingParameter, 28, "Destination Point Code"},
		{"Local RK Identifier of 2 octets", msg(ClassRKM, TypeRegReq, rk(param(TagLocalRoutingKeyID, 0, 1), dpc)), CodeParameterFieldError, 14, "want 4"},
		{"DPC of 3 octets", msg(ClassRKM, TypeRegReq, rk(lrk, param(TagDestinationPointCode, 0xf4, 2, 0x14))), CodeParameterFieldError, 22, "want 4"},
		{"wildcarded DPC", msg(ClassRKM, TypeRegReq, rk(lrk, u32p(TagDestinationPointCode, 0x08f40200))), CodeInvalidParameterValue, 24, "mask 8"},
		{"unknown parameter in a key", msg(ClassRKM, TypeRegReq, rk(lrk, dpc, param(0x020f, 0, 0, 0, 1))), CodeUnexpectedParameter, 28, "unknown parameter inside a Routing Key"},
		{"foreign parameter in a key", msg(ClassRKM, TypeRegReq, rk(lrk, param(TagHeartbeatData, 1), dpc)), CodeUnexpectedParameter, 20, "not allowed inside a Routing Key"},
		{"key inside a key", msg(ClassRKM, TypeRegReq, rk(lrk, dpc, rk(lrk, dpc))), CodeUnexpectedParameter, 28, "not allowed inside"},
		{"repeated Local RK Identifier", msg(ClassRKM, TypeRegReq, rk(lrk, dpc, lrk)), CodeUnexpectedParameter, 28, "repeated"},
		{"two RCs in a key", msg(ClassRKM, TypeRegReq, rk(lrk, param(TagRoutingContext, 0, 0, 0, 1, 0, 0, 0, 2), dpc)), CodeInvalidParameterValue, 20, "at most one"},
		{"RC of 3 octets in a key", msg(ClassRKM, TypeRegReq, rk(lrk, param(TagRoutingContext, 0, 0, 1), dpc)), CodeParameterFieldError, 22, "multiple of 4"},
		{"no service indicator", msg(ClassRKM, TypeRegReq, rk(lrk, dpc, param(TagServiceIndicators))), CodeParameterFieldError, 30, "no service indicator"},
		{"OPC list of 6 octets", msg(ClassRKM, TypeRegReq, rk(lrk, dpc, param(TagOriginatingPCList, 0, 0xf4, 1, 0xa, 0, 1))), CodeParameterFieldError, 30, "multiple of 4"},
		{"traffic mode 0 in a key", msg(ClassRKM, TypeRegReq, rk(lrk, u32p(TagTrafficModeType, 0), dpc)), CodeUnsupportedTrafficMode, 8, "traffic mode 0"},
		{"key overruns the message", msg(ClassRKM, TypeRegReq, []byte{0x02, 0x07, 0, 40}, lrk, dpc), CodeParameterFieldError, 10, "exceeds"},
		{"inner parameter overruns its key", msg(ClassRKM, TypeRegReq, rk(lrk, []byte{0x02, 0x0b, 0, 12, 0, 0xf4, 2, 0x14})), CodeParameterFieldError, 22, "exceeds"},
		{"Routing Key in REG RSP", msg(ClassRKM, TypeRegRsp, rk(lrk, dpc)), CodeUnexpectedParameter, 8, "not allowed"},
		{"REG RSP without a result", msg(ClassRKM, TypeRegRsp), CodeMissingParameter, 0, "Registration Result"},
		{"result without status", msg(ClassRKM, TypeRegRsp, res(lrk, u32p(TagRoutingContext, 10))), CodeMissingParameter, 8, "Registration Status"},
		{"result without RC", msg(ClassRKM, TypeRegRsp, res(lrk, u32p(TagRegistrationStatus, 0))), CodeMissingParameter, 8, "Routing Context"},
		{"result with two RCs", msg(ClassRKM, TypeRegRsp, res(lrk, u32p(TagRegistrationStatus, 0), param(TagRoutingContext, 0, 0, 0, 1, 0, 0, 0, 2))), CodeInvalidParameterValue, 28, "exactly one"},
		{"status of 2 octets", msg(ClassRKM, TypeRegRsp, res(lrk, param(TagRegistrationStatus, 0, 0), u32p(TagRoutingContext, 1))), CodeParameterFieldError, 22, "want 4"},
		{"DEREG REQ without RC", msg(ClassRKM, TypeDeregReq), CodeMissingParameter, 0, "Routing Context"},
		{"DEREG REQ with a result", msg(ClassRKM, TypeDeregReq, dres(u32p(TagRoutingContext, 1), u32p(TagDeregistrationStatus, 0))), CodeUnexpectedParameter, 8, "not allowed"},
		{"DEREG RSP without a result", msg(ClassRKM, TypeDeregRsp), CodeMissingParameter, 0, "Deregistration Result"},
		{"dereg result without status", msg(ClassRKM, TypeDeregRsp, dres(u32p(TagRoutingContext, 1))), CodeMissingParameter, 8, "Deregistration Status"},
		{"dereg result with a registration status", msg(ClassRKM, TypeDeregRsp, dres(u32p(TagRoutingContext, 1), u32p(TagRegistrationStatus, 0))), CodeUnexpectedParameter, 20, "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("decode %x: error %v, want *Error", c.in, err)
			}
			if e.Code != c.code || e.Offset != c.off || !strings.Contains(err.Error(), c.what) {
				t.Fatalf("got %v (code %v offset %d), want code %v offset %d containing %q", err, e.Code, e.Offset, c.code, c.off, c.what)
			}
		})
	}
}

func TestRKMEncodeErrors(t *testing.T) {
	for _, m := range []Message{
		&RegReq{},
		&RegReq{Keys: []RoutingKey{{LocalRKID: 1, DPC: 1 << 24}}},
		&RegReq{Keys: []RoutingKey{{LocalRKID: 1, DPC: 1, OPCs: []AffectedPC{{PC: 1 << 24}}}}},
		&RegReq{Keys: []RoutingKey{{LocalRKID: 1, DPC: 1, ServiceIndicators: make([]uint8, 70000)}}},
		&RegRsp{},
		&DeregReq{},
		&DeregReq{RoutingContexts: make([]uint32, 20000)},
		&DeregRsp{},
	} {
		if _, err := m.MarshalBinary(); !errors.Is(err, ErrEncode) {
			t.Errorf("%T %+v: error %v, want ErrEncode", m, m, err)
		}
	}
}

func TestRKMStatusStrings(t *testing.T) {
	if s := RegStatusAlreadyRegistered.String(); s != "Error - Routing Key Already Registered" {
		t.Error(s)
	}
	if s := RegStatusNotProvisioned.String(); !strings.Contains(s, "not Currently Provisioned") {
		t.Error(s)
	}
	if s := DeregStatusASPActive.String(); s != "Error - ASP Currently Active for Routing Context" {
		t.Error(s)
	}
	if RegStatus(13).String() != "registration status 13" || DeregStatus(6).String() != "deregistration status 6" {
		t.Error("unassigned statuses")
	}
	seen := map[string]bool{}
	for s := RegStatusSuccess; s <= RegStatusAlreadyRegistered; s++ {
		seen[s.String()] = true
	}
	for s := DeregStatusSuccess; s <= DeregStatusASPActive; s++ {
		seen[s.String()] = true
	}
	if len(seen) != 13+6-2 { // "Error - Unknown" and "Error - Permission Denied" are shared
		t.Errorf("%d distinct status names", len(seen))
	}
}

// expectRKM returns the next message, which must be of type T.
func expectRKM[T Message](t *testing.T, p *rawPeer) T {
	t.Helper()
	m := p.expect()
	v, ok := m.(T)
	if !ok {
		t.Fatalf("got %T %+v, want %T", m, m, v)
	}
	return v
}

func TestSGRegistration(t *testing.T) {
	got := make(chan received, 4)
	var (
		mu    sync.Mutex
		asked []RoutingKey
	)
	reg := func(a *Association, k RoutingKey) (uint32, RegStatus) {
		mu.Lock()
		asked = append(asked, k)
		mu.Unlock()
		switch {
		case k.DPC != scpPC:
			return 99, RegStatusInvalidDPC // the RC must not leak into the answer
		case k.LocalRKID == 3:
			return 0, RegStatusSuccess // RC 0 is no RC: refused
		}
		return 77, RegStatusSuccess
	}
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}, Handler: collector(got), Registrar: reg}))
	p := dialRaw(t, sg.Addr())
	p.send(&ASPUp{})
	expectRKM[*ASPUpAck](t, p)

	// RC 77 is neither configured nor registered yet.
	p.send(&ASPActive{RoutingContexts: []uint32{77}})
	p.expectErr(CodeInvalidRoutingContext)

	p.send(&RegReq{Keys: []RoutingKey{
		{LocalRKID: 1, DPC: scpPC, ServiceIndicators: []uint8{3}},
		{LocalRKID: 2, DPC: 0x010101},
		{LocalRKID: 3, DPC: scpPC},
	}})
	rsp := expectRKM[*RegRsp](t, p)
	want := []RegResult{{1, RegStatusSuccess, 77}, {2, RegStatusInvalidDPC, 0}, {3, RegStatusUnknown, 0}}
	if !reflect.DeepEqual(rsp.Results, want) {
		t.Fatalf("REG RSP %+v", rsp.Results)
	}
	mu.Lock()
	if len(asked) != 3 || asked[0].ServiceIndicators[0] != 3 {
		t.Fatalf("Registrar saw %+v", asked)
	}
	mu.Unlock()

	// A second association does not inherit the registration.
	p2 := dialRaw(t, sg.Addr())
	p2.send(&ASPUp{})
	expectRKM[*ASPUpAck](t, p2)
	p2.send(&ASPActive{RoutingContexts: []uint32{77}})
	p2.expectErr(CodeInvalidRoutingContext)

	p.send(&ASPActive{RoutingContexts: []uint32{77}})
	if ack := expectRKM[*ASPActiveAck](t, p); len(ack.RoutingContexts) != 1 || ack.RoutingContexts[0] != 77 {
		t.Fatalf("ASP Active Ack %+v", ack)
	}
	p.send(&Data{RoutingContext: 77, HasRoutingContext: true, ProtocolData: ProtocolData{SI: 3, Data: []byte("q")}})
	if r := recvData(t, got); r.rc != 77 || string(r.pd.Data) != "q" {
		t.Fatalf("%+v", r)
	}
	// Answers from the SG carry the registered RC.
	var assoc *Association
	sg.mu.Lock()
	for _, a := range sg.assocs {
		if a.State() == ASPStateActive {
			assoc = a
		}
	}
	sg.mu.Unlock()
	if rcs := assoc.RegisteredRCs(); len(rcs) != 1 || rcs[0] != 77 {
		t.Fatalf("RegisteredRCs %v", rcs)
	}
	if err := assoc.SendData(ProtocolData{SI: 3, Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if d := expectRKM[*Data](t, p); d.RoutingContext != 77 || !d.HasRoutingContext {
		t.Fatalf("DATA out %+v", d)
	}

	// Deregistration: active for it, invalid, unknown; then after ASP
	// Inactive, success (and the RC is no longer accepted).
	p.send(&DeregReq{RoutingContexts: []uint32{77, 0, 12345}})
	drsp := expectRKM[*DeregRsp](t, p)
	wantD := []DeregResult{{77, DeregStatusASPActive}, {0, DeregStatusInvalidRC}, {12345, DeregStatusNotRegistered}}
	if !reflect.DeepEqual(drsp.Results, wantD) {
		t.Fatalf("DEREG RSP %+v", drsp.Results)
	}
	p.send(&ASPInactive{RoutingContexts: []uint32{77}})
	expectRKM[*ASPInactiveAck](t, p)
	p.send(&DeregReq{RoutingContexts: []uint32{77}})
	if r := expectRKM[*DeregRsp](t, p).Results; len(r) != 1 || r[0] != (DeregResult{77, DeregStatusSuccess}) {
		t.Fatalf("DEREG RSP %+v", r)
	}
	p.send(&DeregReq{RoutingContexts: []uint32{77}})
	if r := expectRKM[*DeregRsp](t, p).Results; r[0].Status != DeregStatusNotRegistered {
		t.Fatalf("second DEREG %+v", r)
	}
	p.send(&ASPActive{RoutingContexts: []uint32{77}})
	p.expectErr(CodeInvalidRoutingContext)
	// A configured RC is not this association's registration.
	p.send(&DeregReq{RoutingContexts: []uint32{10}})
	if r := expectRKM[*DeregRsp](t, p).Results; r[0].Status != DeregStatusNotRegistered {
		t.Fatalf("DEREG of a configured RC %+v", r)
	}
	// The SG never sends requests: responses are unexpected.
	p.send(&RegRsp{Results: []RegResult{{LocalRKID: 1}}})
	p.expectErr(CodeUnexpectedMessage)
	p.send(&DeregRsp{Results: []DeregResult{{RoutingContext: 1}}})
	p.expectErr(CodeUnexpectedMessage)
	// A bad REG REQ is answered with ERR.
	p.sendRaw(msg(ClassRKM, TypeRegReq, rk(u32p(TagLocalRoutingKeyID, 1))))
	p.expectErr(CodeMissingParameter)
}

// A registration made while ASP Active named no RC is covered by that
// activation: deregistering it is refused while active.
func TestSGRegistrationActiveForAll(t *testing.T) {
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0",
		Registrar: func(*Association, RoutingKey) (uint32, RegStatus) { return 5, RegStatusSuccess }}))
	p := dialRaw(t, sg.Addr())
	p.send(&ASPUp{})
	expectRKM[*ASPUpAck](t, p)
	p.send(&RegReq{Keys: []RoutingKey{{LocalRKID: 1, DPC: scpPC}}})
	expectRKM[*RegRsp](t, p)
	p.send(&ASPActive{})
	expectRKM[*ASPActiveAck](t, p)
	p.send(&DeregReq{RoutingContexts: []uint32{5}})
	if r := expectRKM[*DeregRsp](t, p).Results; r[0].Status != DeregStatusASPActive {
		t.Fatalf("%+v", r)
	}
}

// An ASP never receives REG REQ: with a Registrar it answers ERR
// Unexpected Message, without one ERR Unsupported Message Class.
func TestASPRejectsRKM(t *testing.T) {
	for _, c := range []struct {
		reg  Registrar
		code ErrorCode
	}{
		{func(*Association, RoutingKey) (uint32, RegStatus) { return 1, RegStatusSuccess }, CodeUnexpectedMessage},
		{nil, CodeUnsupportedMessageClass},
	} {
		ln, err := transport.Listen(transport.Config{Network: "tcp", Address: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		conns := make(chan transport.Conn, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				conns <- c
			}
		}()
		start(t, fast(Config{Role: RoleASP, Connect: []string{ln.Addr().String()}, Registrar: c.reg}))
		var conn transport.Conn
		select {
		case conn = <-conns:
		case <-time.After(3 * time.Second):
			t.Fatal("ASP did not dial")
		}
		ln.Close()
		p := newRawPeer(t, conn)
		// Bring the ASP to ASP-ACTIVE so that it stops repeating requests.
		expectRKM[*ASPUp](t, p)
		p.send(&ASPUpAck{})
		expectRKM[*ASPActive](t, p)
		p.send(&ASPActiveAck{})
		p.send(&RegReq{Keys: []RoutingKey{{LocalRKID: 1, DPC: scpPC}}})
		p.expectErr(c.code)
		p.send(&DeregReq{RoutingContexts: []uint32{1}})
		p.expectErr(c.code)
	}
}
