package m3ua

import (
	"context"
	"testing"
	"time"

	"callgate/sigtran/transport"
)

// next returns the next message from the endpoint, whatever it is.
func (p *rawPeer) next() Message {
	p.t.Helper()
	select {
	case b, ok := <-p.in:
		if !ok {
			p.t.Fatal("association closed")
		}
		m, err := Decode(b)
		if err != nil {
			p.t.Fatalf("undecodable message from the endpoint %x: %v", b, err)
		}
		return m
	case <-time.After(3 * time.Second):
		p.t.Fatal("nothing from the endpoint")
	}
	return nil
}

func noBeat(c Config) Config {
	c = fast(c)
	c.HeartbeatInterval = -1 // only fence BEATs on the wire
	return c
}

// drainAsync runs e.Drain and returns its result channel.
func drainAsync(e *Endpoint) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- e.Drain(ctx)
	}()
	return done
}

// TestSGDrain: the SG side announces the AS inactive (NTFY) to its
// active ASP, which stays ASP-ACTIVE for the answers still due; it waits
// for the BEAT fence, delivers and answers DATA the ASP sent before it
// read the NTFY, and refuses a new ASP Active.
func TestSGDrain(t *testing.T) {
	got := make(chan received, 4)
	var sg *Endpoint
	sg = start(t, noBeat(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10},
		Handler: func(a *Association, d *Data) {
			collector(got)(a, d)
			rsp := d.ProtocolData
			rsp.Data = []byte("answer")
			if err := a.SendData(rsp); err != nil {
				t.Errorf("answer while draining: %v", err)
			}
		}}))
	p := dialRaw(t, sg.Addr())
	p.send(&ASPUp{})
	p.expect() // ASP Up Ack
	p.send(&ASPActive{RoutingContexts: []uint32{10}})
	if _, ok := p.expect().(*ASPActiveAck); !ok {
		t.Fatal("no ASP Active Ack")
	}
	waitActive(t, sg, 1)
	for { // the NTFY AS-ACTIVE follows the Ack
		if n, ok := p.next().(*Notify); ok && n.Status.Info == StatusASActive {
			break
		}
	}

	done := drainAsync(sg)
	if m, ok := p.next().(*Notify); !ok || m.Status != (Status{StatusTypeASStateChange, StatusASInactive}) || len(m.RoutingContexts) != 1 {
		t.Fatalf("first drain message %T %+v, want NTFY AS-INACTIVE for RC 10", m, m)
	}
	fence, ok := p.next().(*Beat)
	if !ok {
		t.Fatalf("no fence BEAT")
	}
	// A query the ASP sent before it read the deactivation.
	p.send(&Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: ProtocolData{SI: SISCCP, Data: []byte("late query")}})
	if r := recvData(t, got); string(r.pd.Data) != "late query" {
		t.Fatalf("delivered %q", r.pd.Data)
	}
	if m, ok := p.next().(*Data); !ok || string(m.ProtocolData.Data) != "answer" {
		t.Fatalf("answer %T %+v", m, m)
	}
	select {
	case err := <-done:
		t.Fatalf("Drain returned before the fence was acknowledged: %v", err)
	default:
	}
	p.send((*BeatAck)(fence))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sg.ActiveCount() != 1 || !sg.Draining() || sg.ASState() != ASStateInactive {
		t.Fatalf("after Drain: %d ASPs active (want the one, still owed answers), AS %v", sg.ActiveCount(), sg.ASState())
	}
	p.send(&ASPActive{RoutingContexts: []uint32{10}})
	if e := p.expectErr(CodeRefusedManagementBlocked); len(e.RoutingContexts) != 1 {
		t.Fatalf("ERR %+v", e)
	}
	// Flush: a round trip behind what was sent.
	fdone := make(chan error, 1)
	go func() { fdone <- sg.Flush(context.Background()) }()
	b, ok := p.next().(*Beat)
	if !ok {
		t.Fatal("Flush sent no BEAT")
	}
	p.send((*BeatAck)(b))
	if err := <-fdone; err != nil {
		t.Fatal(err)
	}
}

// TestASPDrain: the dialling side sends ASP Inactive, waits for the Ack
// and the fence, delivers DATA the SG sent meanwhile, answers it while
// ASP-INACTIVE, and does not redial while draining.
func TestASPDrain(t *testing.T) {
	ln, err := transport.Listen(transport.Config{Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan transport.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	got := make(chan received, 4)
	asp := start(t, noBeat(Config{Role: RoleASP, Connect: []string{ln.Addr().String()}, RoutingContexts: []uint32{10},
		Handler: func(a *Association, d *Data) {
			collector(got)(a, d)
			if err := a.SendData(ProtocolData{SI: SISCCP, Data: []byte("answer")}); err != nil {
				t.Errorf("answer while draining: %v", err)
			}
		}}))
	p := newRawPeer(t, <-conns)
	if _, ok := p.expect().(*ASPUp); !ok {
		t.Fatal("no ASP Up")
	}
	p.send(&ASPUpAck{})
	p.expect() // ASP Active
	p.send(&ASPActiveAck{RoutingContexts: []uint32{10}})
	waitActive(t, asp, 1)

	done := drainAsync(asp)
	if m, ok := p.next().(*ASPInactive); !ok || len(m.RoutingContexts) != 1 || m.RoutingContexts[0] != 10 {
		t.Fatalf("%T %+v, want ASP Inactive for RC 10", m, m)
	}
	// The SG routed a query here before it read the ASP Inactive.
	p.send(&Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: ProtocolData{SI: SISCCP, Data: []byte("in flight")}})
	p.send(&ASPInactiveAck{RoutingContexts: []uint32{10}})
	if r := recvData(t, got); string(r.pd.Data) != "in flight" {
		t.Fatalf("delivered %q", r.pd.Data)
	}
	if m, ok := p.next().(*Data); !ok || string(m.ProtocolData.Data) != "answer" {
		t.Fatalf("answer %T %+v", m, m)
	}
	fence, ok := p.next().(*Beat)
	if !ok {
		t.Fatal("no fence BEAT")
	}
	p.send((*BeatAck)(fence))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if asp.ActiveCount() != 0 {
		t.Fatal("still active")
	}
	// Answers still go out on the inactive association while draining.
	if err := asp.Associations(); len(err) != 1 || err[0].State != ASPStateInactive {
		t.Fatalf("associations %+v", err)
	}
	// Lost while draining: not redialled.
	p.conn.Close()
	waitFor(t, "the association to go", 2*time.Second, func() bool { return len(asp.Associations()) == 0 })
	select {
	case <-conns:
		t.Fatal("redialled while draining")
	case <-time.After(100 * time.Millisecond):
	}
}

// TestDrainBetweenEndpoints: an SG draining makes the ASP route around it
// (Send finds no SG serving the AS) while the association stays up for
// the answers; an ASP draining is seen inactive by its SG.
func TestDrainBetweenEndpoints(t *testing.T) {
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}}))
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10}}))
	waitActive(t, asp, 1)
	waitActive(t, sg, 1)
	waitFor(t, "AS-ACTIVE at the ASP", 2*time.Second, func() bool { return asp.ASState() == ASStateActive })
	if err := <-drainAsync(sg); err != nil {
		t.Fatal(err)
	}
	// The fence's Ack came after the ASP read the NTFY.
	if err := asp.Send(ProtocolData{SI: SISCCP}); err != ErrNoActiveAssociation {
		t.Fatalf("send after the SG drained: %v", err)
	}
	if asp.ActiveCount() != 1 || asp.ASState() != ASStateInactive {
		t.Fatalf("ASP: %d active, AS %v", asp.ActiveCount(), asp.ASState())
	}
	if st := sg.Stats(); st.Losses != 0 {
		t.Fatalf("%+v", st)
	}
	// And the other way round.
	sg2 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}}))
	asp2 := start(t, fast(Config{Role: RoleASP, Connect: []string{sg2.Addr()}, RoutingContexts: []uint32{10}}))
	waitActive(t, sg2, 1)
	if err := <-drainAsync(asp2); err != nil {
		t.Fatal(err)
	}
	if sg2.ActiveCount() != 0 {
		t.Fatal("the SG still sees the ASP active")
	}
}

// TestASPRoutesAroundDrainingSG: an ASP with two SGs sends everything to
// the one that still serves the AS once the other announces it inactive.
func TestASPRoutesAroundDrainingSG(t *testing.T) {
	got := [2]chan received{make(chan received, 64), make(chan received, 64)}
	sgs := [2]*Endpoint{}
	for i := range sgs {
		sgs[i] = start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}, Handler: collector(got[i])}))
	}
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sgs[0].Addr(), sgs[1].Addr()}, RoutingContexts: []uint32{10}}))
	waitActive(t, asp, 2)
	if err := <-drainAsync(sgs[0]); err != nil {
		t.Fatal(err)
	}
	for sls := range 32 {
		if err := asp.Send(ProtocolData{SI: SISCCP, SLS: uint8(sls)}); err != nil {
			t.Fatalf("SLS %d: %v", sls, err)
		}
	}
	for range 32 {
		recvData(t, got[1])
	}
	if len(got[0]) != 0 {
		t.Fatalf("%d messages sent to the draining SG", len(got[0]))
	}
}

// TestSGCloseTellsASPDown: the accepting side closing tells an ASP that
// is up so with an ASP Down Ack it did not ask for (RFC 4666 §4.3.4.2),
// and closes once a BEAT round trip shows the ASP read it.
func TestSGCloseTellsASPDown(t *testing.T) {
	sg := start(t, noBeat(Config{Role: RoleSG, Listen: "127.0.0.1:0"}))
	p := dialRaw(t, sg.Addr())
	p.send(&ASPUp{})
	if _, ok := p.expect().(*ASPUpAck); !ok {
		t.Fatal("no ASP Up Ack")
	}
	closed := make(chan struct{})
	go func() { sg.Close(); close(closed) }()
	for {
		m := p.next()
		if _, ok := m.(*ASPDownAck); ok {
			break
		}
		if _, ok := m.(*Notify); !ok {
			t.Fatalf("%T %+v before the ASP Down Ack", m, m)
		}
	}
	b, ok := p.next().(*Beat)
	if !ok {
		t.Fatal("no BEAT after the ASP Down Ack")
	}
	p.send((*BeatAck)(b))
	<-closed
	if _, ok := <-p.in; ok {
		t.Fatal("association still open after Close")
	}
}
