package scp

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/policy"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
	"callgate/sigtran/transport"
)

// loadPeer is a switch at the other end of one M3UA association, driven
// by hand: it keeps up to window Termination_Attempts outstanding and
// records, under one lock with its sending, the moment it learns the SCP
// is leaving (ASP Inactive Ack or NTFY from an SCP acting as SG; ASP
// Inactive from an SCP acting as ASP, when the peer is the SG). Every
// query sent before that moment must be answered.
type loadPeer struct {
	t    *testing.T
	conn transport.Conn
	sg   bool // this end plays the SG (the SCP dials it as an ASP)

	mu         sync.Mutex // held while deciding to send and sending a query
	told       bool       // the SCP's deactivation was read
	sentBefore []uint32   // TIDs sent before that
	told1st    string     // what told it first

	answered sync.Map // TID -> true
	nAnswer  atomic.Int64
	window   chan struct{}
	active   chan struct{} // closed at ASP-ACTIVE
	gone     chan struct{} // the reader ended
	params   []byte
}

func newLoadPeer(t *testing.T, c transport.Conn, sg bool, window int) *loadPeer {
	p := &loadPeer{t: t, conn: c, sg: sg, window: make(chan struct{}, window),
		active: make(chan struct{}), gone: make(chan struct{}),
		params: taParams(t, basicTA(t, "7195551212", "3035550100"))}
	t.Cleanup(func() { c.Close() })
	go p.read()
	return p
}

func (p *loadPeer) write(m m3ua.Message) {
	b, err := m.MarshalBinary()
	if err != nil {
		p.t.Error(err)
		return
	}
	_ = p.conn.WriteMsg(b, 0) // an error shows as the reader ending
}

func (p *loadPeer) tell(what string) {
	p.mu.Lock()
	if !p.told {
		p.told, p.told1st = true, what
	}
	p.mu.Unlock()
}

func (p *loadPeer) read() {
	defer close(p.gone)
	buf := make([]byte, 65536)
	for {
		n, _, err := p.conn.ReadMsg(buf)
		if err != nil {
			return
		}
		m, err := m3ua.Decode(buf[:n])
		if err != nil {
			p.t.Errorf("undecodable message from the SCP: %v", err)
			return
		}
		switch m := m.(type) {
		case *m3ua.Data:
			var u sccp.Message
			var q tcap.Message
			if u.Decode(m.ProtocolData.Data, sccp.ANSI) != nil || q.Decode(u.Data) != nil {
				p.t.Errorf("undecodable answer")
				continue
			}
			if _, dup := p.answered.LoadOrStore(q.RespTID.Uint32(), true); dup {
				p.t.Errorf("answered twice: %v", q.RespTID)
			}
			p.nAnswer.Add(1)
			<-p.window
		case *m3ua.Beat:
			p.write((*m3ua.BeatAck)(m))
		case *m3ua.ASPUpAck:
			p.write(&m3ua.ASPActive{RoutingContexts: []uint32{10}})
		case *m3ua.ASPActiveAck:
			close(p.active)
		case *m3ua.ASPInactiveAck:
			p.tell("ASP Inactive Ack")
		case *m3ua.Notify:
			// AS-INACTIVE before this ASP went active is not about leaving.
			if m.Status.Type == m3ua.StatusTypeASStateChange && m.Status.Info != m3ua.StatusASActive && isClosed(p.active) {
				p.tell("NTFY " + m.Status.String())
			}
		// The SG's side, when the SCP dials this peer as an ASP.
		case *m3ua.ASPUp:
			p.write(&m3ua.ASPUpAck{})
		case *m3ua.ASPActive:
			p.write(&m3ua.ASPActiveAck{TrafficMode: m.TrafficMode, RoutingContexts: m.RoutingContexts})
			close(p.active)
		case *m3ua.ASPInactive:
			p.tell("ASP Inactive")
			p.write(&m3ua.ASPInactiveAck{RoutingContexts: m.RoutingContexts})
		case *m3ua.ASPDown:
			p.write(&m3ua.ASPDownAck{})
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// pump sends queries until the SCP's deactivation is read or the
// association goes.
func (p *loadPeer) pump() {
	for tid := uint32(1); ; tid++ {
		select {
		case p.window <- struct{}{}:
		case <-p.gone:
			return
		}
		p.mu.Lock()
		if p.told {
			p.mu.Unlock()
			return
		}
		msg := query(p.t, tid, tcap.QueryWithPermission, uint16(ain.OpTerminationAttempt), p.params, 248)
		err := p.conn.WriteMsg(msg, 0)
		if err == nil {
			p.sentBefore = append(p.sentBefore, tid)
		}
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// slowAllow decides "allow" after a little work, so that queries queue
// for the workers and are still being decided when the drain begins.
func slowAllow() policy.Decider {
	return decideFunc(func(context.Context, policy.Call) policy.Decision {
		time.Sleep(200 * time.Microsecond)
		return policy.Decision{Action: policy.ActionAllow}
	})
}

// TestShutdownLosesNoQuery is the defect of issue 9 (6 of 3,206 AIN
// queries dropped by a graceful shutdown under load): with the SCP as an
// SG and as an ASP, a switch keeps 200 queries outstanding, the SCP shuts
// down (Drain, then Stop), and every query the switch sent before it read
// the deactivation gets its answer.
func TestShutdownLosesNoQuery(t *testing.T) {
	for _, role := range []string{"sg", "asp", "inline sg"} {
		t.Run(role, func(t *testing.T) {
			cfg := testConfig()
			cfg.Workers = 2
			cfg.Inline = role == "inline sg"
			var ln transport.Listener
			if role == "asp" {
				var err error
				if ln, err = transport.Listen(transport.Config{Network: "tcp", Address: "127.0.0.1:0"}); err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				cfg.Role, cfg.Listen, cfg.Connect = m3ua.RoleASP, "", []string{ln.Addr().String()}
			}
			h := newHarness(t, cfg, slowAllow())
			s := h.s
			if err := s.Ready(); err == nil {
				t.Fatal("ready before Start")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			var p *loadPeer
			if ln != nil {
				if err := s.Ready(); err == nil {
					t.Fatal("an ASP with no association active reports ready")
				}
				c, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				p = newLoadPeer(t, c, true, 200)
			} else {
				if err := s.Ready(); err != nil {
					t.Fatalf("a listening SG is not ready: %v", err)
				}
				c, err := transport.Dial(ctx, transport.Config{Network: "tcp", Address: s.Addr()})
				if err != nil {
					t.Fatal(err)
				}
				p = newLoadPeer(t, c, false, 200)
				p.write(&m3ua.ASPUp{})
			}
			select {
			case <-p.active:
			case <-ctx.Done():
				t.Fatal("the association did not become active")
			}
			if err := s.WaitActive(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if err := s.Ready(); err != nil {
				t.Fatalf("not ready with an active association: %v", err)
			}
			pumped := make(chan struct{})
			go func() { defer close(pumped); p.pump() }()
			for p.nAnswer.Load() < 500 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			answeredBefore := p.nAnswer.Load()
			shut := make(chan error, 1)
			go func() { shut <- s.Shutdown(ctx) }()
			for s.Ready() == nil && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			<-pumped
			<-p.gone
			p.mu.Lock()
			defer p.mu.Unlock()
			lost := 0
			for _, tid := range p.sentBefore {
				if _, ok := p.answered.Load(tid); !ok {
					lost++
				}
			}
			t.Logf("%d queries sent before the switch read %q, %d answered before Shutdown, %d lost",
				len(p.sentBefore), p.told1st, answeredBefore, lost)
			if !p.told {
				t.Errorf("the switch was never told the SCP was leaving")
			}
			if lost != 0 {
				t.Fatalf("%d of %d queries sent before the switch was told were not answered", lost, len(p.sentBefore))
			}
			if err := s.Ready(); err == nil {
				t.Fatal("ready after Shutdown")
			}
		})
	}
}
