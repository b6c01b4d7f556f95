package m3ua

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/sigtran/transport"
)

// rawServer accepts associations for a client endpoint under test and
// hands each one over as a rawPeer.
type rawServer struct {
	t     *testing.T
	ln    transport.Listener
	peers chan *rawPeer
}

func listenRaw(t *testing.T) *rawServer {
	t.Helper()
	ln, err := transport.Listen(transport.Config{Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{t: t, ln: ln, peers: make(chan *rawPeer, 8)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			p := newRawPeer(t, conn)
			s.peers <- p
		}
	}()
	return s
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

func (s *rawServer) accept() *rawPeer {
	s.t.Helper()
	select {
	case p := <-s.peers:
		return p
	case <-time.After(3 * time.Second):
		s.t.Fatal("the client did not dial")
	}
	return nil
}

// expectClosed waits for the endpoint to drop the association, skipping
// anything it still sends.
func (p *rawPeer) expectClosed() {
	p.t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case _, ok := <-p.in:
			if !ok {
				return
			}
		case <-deadline:
			p.t.Fatal("association not closed")
		}
	}
}

// sgKeys is a Registrar granting RC 77 to keys for scpPC carrying SCCP
// (and 78 to a second such key), refusing any other DPC; it records what
// it was asked.
type sgKeys struct {
	mu    sync.Mutex
	asked []RoutingKey
}

func (s *sgKeys) registrar(_ *Association, k RoutingKey) (uint32, RegStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, k)
	if k.DPC != scpPC {
		return 0, RegStatusInvalidDPC
	}
	if k.HasRoutingContext {
		return k.RoutingContext, RegStatusSuccess
	}
	return 77, RegStatusSuccess
}

func (s *sgKeys) keys() []RoutingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RoutingKey(nil), s.asked...)
}

// A client with Register registers after ASP Up Ack, goes active for the
// granted RCs, and DATA flows both ways on them; after the association is
// lost it registers again on the next one.
func TestClientRegistration(t *testing.T) {
	var reg sgKeys
	sgData := make(chan received, 16)
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Registrar: reg.registrar,
		Handler: func(a *Association, d *Data) {
			collector(sgData)(a, d)
			rsp := d.ProtocolData
			rsp.OPC, rsp.DPC = rsp.DPC, rsp.OPC
			rsp.Data = []byte("answer")
			if err := a.SendData(rsp); err != nil {
				t.Error(err)
			}
		}}))
	var (
		tapMu    sync.Mutex
		actives  []*ASPActive
		regOrder []string
	)
	aspData := make(chan received, 16)
	keys := []RoutingKey{
		{DPC: scpPC, ServiceIndicators: []uint8{3}},
		{LocalRKID: 1, DPC: scpPC, RoutingContext: 78, HasRoutingContext: true},
	}
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, Register: keys, Handler: collector(aspData),
		Tap: func(_ *Association, out bool, _ uint16, b []byte) {
			if !out {
				return
			}
			m, err := Decode(b)
			if err != nil {
				return
			}
			tapMu.Lock()
			defer tapMu.Unlock()
			switch m := m.(type) {
			case *ASPUp:
				regOrder = append(regOrder, "ASP Up")
			case *RegReq:
				regOrder = append(regOrder, "REG REQ")
			case *ASPActive:
				regOrder = append(regOrder, "ASP Active")
				actives = append(actives, m)
			}
		}}))
	if keys[0].LocalRKID != 0 {
		t.Fatal("NewEndpoint changed the caller's keys")
	}
	waitActive(t, asp, 1)
	waitActive(t, sg, 1)

	asked := reg.keys()
	if len(asked) != 2 || asked[0].LocalRKID != 2 || asked[1].LocalRKID != 1 || !reflect.DeepEqual(asked[0].ServiceIndicators, []uint8{3}) {
		t.Fatalf("Registrar saw %+v; want local RKs 2 (assigned) and 1", asked)
	}
	tapMu.Lock()
	firstActive := actives[0]
	order := append([]string(nil), regOrder...)
	tapMu.Unlock()
	if !reflect.DeepEqual(firstActive.RoutingContexts, []uint32{77, 78}) {
		t.Fatalf("ASP Active sent %+v, want RCs [77 78]", firstActive)
	}
	if len(order) < 3 || order[0] != "ASP Up" || order[1] != "REG REQ" || order[2] != "ASP Active" {
		t.Fatalf("message order %v", order)
	}

	if err := asp.Send(ProtocolData{OPC: sspPC, DPC: scpPC, SI: 3, Data: []byte("query")}); err != nil {
		t.Fatal(err)
	}
	if r := recvData(t, sgData); r.rc != 77 || string(r.pd.Data) != "query" {
		t.Fatalf("SG got %+v, want RC 77", r)
	}
	if r := recvData(t, aspData); r.rc != 77 || string(r.pd.Data) != "answer" {
		t.Fatalf("ASP got %+v, want RC 77", r)
	}
	var clientAssoc *Association
	asp.mu.Lock()
	for _, a := range asp.assocs {
		clientAssoc = a
	}
	asp.mu.Unlock()
	if rcs := clientAssoc.RegisteredRCs(); !reflect.DeepEqual(rcs, []uint32{77, 78}) {
		t.Fatalf("client RegisteredRCs %v", rcs)
	}

	// Losing the association loses the registration: the next one
	// registers again before going active.
	sg.mu.Lock()
	for _, a := range sg.assocs {
		a.conn.Close()
	}
	sg.mu.Unlock()
	waitFor(t, "a second registration", 3*time.Second, func() bool { return len(reg.keys()) == 4 })
	waitActive(t, asp, 1)
	if err := asp.Send(ProtocolData{OPC: sspPC, DPC: scpPC, SI: 3, Data: []byte("again")}); err != nil {
		t.Fatal(err)
	}
	if r := recvData(t, sgData); r.rc != 77 || string(r.pd.Data) != "again" {
		t.Fatalf("SG got %+v after re-registration", r)
	}
}

// A refused key keeps the client from going active; the association
// fails with the status, which LastError and WaitActive report.
func TestClientRegistrationRefused(t *testing.T) {
	var reg sgKeys
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Registrar: reg.registrar}))
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()},
		Register: []RoutingKey{{DPC: scpPC}, {DPC: 0x010101, ServiceIndicators: []uint8{3}}}}))
	waitFor(t, "the association to fail", 3*time.Second, func() bool { return asp.LastError() != nil })
	var re *RegistrationError
	if err := asp.LastError(); !errors.As(err, &re) || re.Status != RegStatusInvalidDPC || re.Key.LocalRKID != 2 || re.Key.DPC != 0x010101 {
		t.Fatalf("LastError %v (%+v)", err, re)
	}
	if got, want := asp.LastError().Error(), "REG REQ refused: local RK 2: Error - Invalid DPC"; got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := asp.WaitActive(ctx, 1)
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "Invalid DPC") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitActive: %v", err)
	}
	if asp.ActiveCount() != 0 || sg.ActiveCount() != 0 {
		t.Fatal("an association went active with a refused key")
	}
	// The client redials (with back-off) and asks again.
	waitFor(t, "a second REG REQ", 3*time.Second, func() bool { return len(reg.keys()) >= 4 })
}

// With a raw SG: the REG REQ is repeated per AckRetries when REG RSP does
// not come, then the association fails; late answers to repeated
// requests are ignored; on a later association an answer
// missing a key, or granting RC 0, fails too; a granted registration
// limits incoming DATA to the granted RC, and a REG RSP nobody waits for
// is answered with ERR Unexpected Message.
func TestClientRegistrationRawSG(t *testing.T) {
	srv := listenRaw(t)
	cfg := fast(Config{Role: RoleASP, Connect: []string{srv.addr()}, AckRetries: 2, HeartbeatInterval: -1,
		Register: []RoutingKey{{LocalRKID: 5, DPC: scpPC, ServiceIndicators: []uint8{3}}}})
	cfg.AckTimeout = 100 * time.Millisecond
	got := make(chan received, 4)
	cfg.Handler = collector(got)
	asp := start(t, cfg)

	p := srv.accept()
	expectRKM[*ASPUp](t, p)
	// A REG RSP before any REG REQ is unexpected.
	p.send(&RegRsp{Results: []RegResult{{LocalRKID: 5, RoutingContext: 9}}})
	p.expectErr(CodeUnexpectedMessage)
	p.send(&ASPUpAck{})
	for i := 0; i < 3; i++ {
		req := expectRKM[*RegReq](t, p)
		if len(req.Keys) != 1 || req.Keys[0].LocalRKID != 5 || req.Keys[0].DPC != scpPC {
			t.Fatalf("REG REQ %d: %+v", i, req)
		}
	}
	p.expectClosed()
	if err := asp.LastError(); err == nil || err.Error() != "no REG RSP after 3 tries" {
		t.Fatalf("LastError %v", err)
	}

	for _, bad := range []struct {
		rsp  *RegRsp
		want string
	}{
		{&RegRsp{Results: []RegResult{{LocalRKID: 6, RoutingContext: 9}}}, "no Registration Result for local RK 5"},
		{&RegRsp{Results: []RegResult{{LocalRKID: 5}}}, "granted local RK 5 routing context 0"},
	} {
		p = srv.accept()
		expectRKM[*ASPUp](t, p)
		p.send(&ASPUpAck{})
		expectRKM[*RegReq](t, p)
		p.send(bad.rsp)
		p.expectClosed()
		if err := asp.LastError(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("LastError %v, want %q", err, bad.want)
		}
	}

	// The REG REQ is repeated once before the SG answers both: the
	// second answer is a duplicate, not an unexpected message.
	p = srv.accept()
	expectRKM[*ASPUp](t, p)
	p.send(&ASPUpAck{})
	expectRKM[*RegReq](t, p)
	expectRKM[*RegReq](t, p)
	p.send(&RegRsp{Results: []RegResult{{LocalRKID: 5, RoutingContext: 9}}})
	p.send(&RegRsp{Results: []RegResult{{LocalRKID: 5, RoutingContext: 9}}})
	act := expectRKM[*ASPActive](t, p)
	if !reflect.DeepEqual(act.RoutingContexts, []uint32{9}) {
		t.Fatalf("ASP Active %+v", act)
	}
	p.send(&ASPActiveAck{RoutingContexts: []uint32{9}})
	waitActive(t, asp, 1)
	// Once answered, a further REG RSP is unexpected.
	p.send(&RegRsp{Results: []RegResult{{LocalRKID: 5, RoutingContext: 9}}})
	p.expectErr(CodeUnexpectedMessage)
	// DEREG RSP too: this end never deregisters.
	p.send(&DeregRsp{Results: []DeregResult{{RoutingContext: 9}}})
	p.expectErr(CodeUnexpectedMessage)
	// DATA on another RC is refused; on the granted one it is delivered.
	p.send(&Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: ProtocolData{SI: 3, Data: []byte("x")}})
	if e := p.expectErr(CodeInvalidRoutingContext); !reflect.DeepEqual(e.RoutingContexts, []uint32{10}) {
		t.Fatalf("ERR %+v", e)
	}
	p.send(&Data{RoutingContext: 9, HasRoutingContext: true, ProtocolData: ProtocolData{SI: 3, Data: []byte("y")}})
	if r := recvData(t, got); r.rc != 9 || string(r.pd.Data) != "y" {
		t.Fatalf("%+v", r)
	}
	if err := asp.Send(ProtocolData{SI: 3, Data: []byte("z")}); err != nil {
		t.Fatal(err)
	}
	if d := expectRKM[*Data](t, p); !d.HasRoutingContext || d.RoutingContext != 9 {
		t.Fatalf("DATA out %+v", d)
	}
	// The client still refuses REG REQ: it is not the registrar.
	p.send(&RegReq{Keys: []RoutingKey{{LocalRKID: 1, DPC: scpPC}}})
	p.expectErr(CodeUnexpectedMessage)
}

// A client without Register (and no Registrar) still answers RKM with
// ERR Unsupported Message Class.
func TestClientWithoutRegisterRejectsRegRsp(t *testing.T) {
	srv := listenRaw(t)
	start(t, fast(Config{Role: RoleASP, Connect: []string{srv.addr()}, HeartbeatInterval: -1}))
	p := srv.accept()
	expectRKM[*ASPUp](t, p)
	p.send(&ASPUpAck{})
	expectRKM[*ASPActive](t, p)
	p.send(&ASPActiveAck{})
	p.send(&RegRsp{Results: []RegResult{{LocalRKID: 1, RoutingContext: 9}}})
	p.expectErr(CodeUnsupportedMessageClass)
}

func TestRegisterValidation(t *testing.T) {
	key := []RoutingKey{{DPC: scpPC}}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"SG", Config{Role: RoleSG, Listen: "127.0.0.1:0", Register: key}, "dialling side"},
		{"IPSP server", Config{Role: RoleIPSP, Listen: "127.0.0.1:0", Register: key}, "dialling side"},
		{"with RCs", Config{Role: RoleASP, Connect: []string{"127.0.0.1:1"}, RoutingContexts: []uint32{1}, Register: key}, "routing_contexts and register are exclusive"},
		{"duplicate local RK", Config{Role: RoleASP, Connect: []string{"127.0.0.1:1"}, Register: []RoutingKey{{LocalRKID: 3, DPC: 1}, {DPC: 2}, {LocalRKID: 3, DPC: 3}}}, "keys 1 and 3 both use local RK 3"},
		{"DPC over 24 bits", Config{Role: RoleASP, Connect: []string{"127.0.0.1:1"}, Register: []RoutingKey{{DPC: 1 << 24}}}, "register:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewEndpoint(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	// Zero local RK identifiers are numbered around the ones given; an
	// IPSP client may register.
	e, err := NewEndpoint(Config{Role: RoleIPSP, Connect: []string{"127.0.0.1:1"},
		Register: []RoutingKey{{DPC: 1}, {LocalRKID: 2, DPC: 2}, {DPC: 3}, {LocalRKID: 1, DPC: 4}, {DPC: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint32
	for _, k := range e.cfg.Register {
		ids = append(ids, k.LocalRKID)
	}
	if !reflect.DeepEqual(ids, []uint32{3, 2, 4, 1, 5}) {
		t.Fatalf("local RK identifiers %v", ids)
	}
}
