package m3ua

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/sigtran/transport"
)

// An SG that knows a destination unavailable tells an ASP so as soon as
// the ASP is active, on its first association and again after a
// reconnect (the ASP forgot the first report with the association): no
// DATA goes to a destination the SG cannot reach in the meantime.
func TestSGReportsDestinationsWhenASPGoesActive(t *testing.T) {
	sgCfg := fast(Config{Role: RoleSG, Listen: "127.0.0.1:0"})
	sg := start(t, sgCfg)
	addr := sg.Addr()
	sg.SetAvailable(scpPC, false)
	sg.SetAvailable(sspPC, true)
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{addr}}))
	waitActive(t, asp, 1)
	waitFor(t, "the DUNA sent on activation", 2*time.Second, func() bool { return !asp.Available(scpPC) })
	if s, known := asp.Destination(sspPC); !known || !s.Available {
		t.Fatalf("the available destination beside the unavailable one: %+v, known %v; want reported available", s, known)
	}

	sg.Close()
	waitFor(t, "the association to go", 2*time.Second, func() bool { return asp.ActiveCount() == 0 })
	sgCfg.Listen = addr
	sg2 := start(t, sgCfg)
	sg2.SetAvailable(scpPC, false) // the SG restarted and still cannot reach the SCP
	waitActive(t, asp, 1)
	waitFor(t, "the DUNA on the new association", 2*time.Second, func() bool { return !asp.Available(scpPC) })

	// An SG with nothing against any destination sends nothing.
	sg2.SetAvailable(scpPC, true)
	waitFor(t, "the DAVA", 2*time.Second, func() bool { return asp.Available(scpPC) })
	var ssnm atomic.Int32
	asp2 := start(t, fast(Config{Role: RoleASP, Connect: []string{addr}, Tap: func(_ *Association, out bool, _ uint16, msg []byte) {
		if !out && Class(msg[2]) == ClassSSNM {
			ssnm.Add(1)
		}
	}}))
	waitActive(t, asp2, 1)
	time.Sleep(100 * time.Millisecond)
	if n := ssnm.Load(); n != 0 {
		t.Fatalf("%d SSNM messages sent on activation although every destination is available", n)
	}
}

// An ASP with Config.Audit audits those point codes with one DAUD once it
// is active (RFC 4666 §4.5.3), and applies the answers. Against our own
// SG: a known destination is answered DAVA (reported, available), an
// unknown one ERR Destination Status Unknown, which is no fault (logged
// below WARN, state unchanged).
func TestASPAuditsDestinationsOnActive(t *testing.T) {
	var mu sync.Mutex
	var dauds []*DAUD
	tap := func(_ *Association, out bool, _ uint16, msg []byte) {
		if out || Class(msg[2]) != ClassSSNM || msg[3] != TypeDAUD {
			return
		}
		m, err := Decode(slices.Clone(msg))
		if err != nil {
			t.Errorf("DAUD received by the SG: %v", err)
			return
		}
		mu.Lock()
		dauds = append(dauds, m.(*DAUD))
		mu.Unlock()
	}
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}, Tap: tap}))
	sg.SetAvailable(sspPC, true)
	const unknownPC = 0x010101
	logs := &logLines{}
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10},
		Audit: []uint32{sspPC, unknownPC}, Logger: slog.New(logs)}))
	waitActive(t, asp, 1)
	waitFor(t, "the DAUD's answers", 2*time.Second, func() bool {
		_, known := asp.Destination(sspPC)
		return known && asp.Stats().ErrorsIn == 1
	})
	mu.Lock()
	if len(dauds) != 1 || !slices.Equal(dauds[0].RoutingContexts, []uint32{10}) ||
		!slices.Equal(dauds[0].AffectedPCs, []AffectedPC{{PC: sspPC}, {PC: unknownPC}}) {
		t.Fatalf("DAUDs received by the SG: %+v", dauds)
	}
	mu.Unlock()
	if s, known := asp.Destination(unknownPC); known || !s.Available {
		t.Fatalf("the destination the SG does not know: %+v, known %v; want unreported and available", s, known)
	}
	if l := logs.find("ERR"); l != "" {
		t.Fatalf("the SG's Destination Status Unknown was logged as a fault: %s", l)
	}
}

// Against an SG that reports nothing on its own (another vendor's), the
// audit is what tells the ASP a destination is unavailable, on every new
// association.
func TestASPAuditLearnsFromASilentSG(t *testing.T) {
	ln, err := transport.Listen(transport.Config{Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{ln.Addr().String()}, Audit: []uint32{scpPC}, HeartbeatInterval: -1}))
	for round := range 2 {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		sg := newRawPeer(t, c)
		if _, ok := sg.expect().(*ASPUp); !ok {
			t.Fatal("no ASP Up")
		}
		sg.send(&ASPUpAck{})
		if _, ok := sg.expect().(*ASPActive); !ok {
			t.Fatal("no ASP Active")
		}
		sg.send(&ASPActiveAck{TrafficMode: TrafficModeLoadshare})
		m := sg.expect()
		d, ok := m.(*DAUD)
		if !ok || !slices.Equal(d.AffectedPCs, []AffectedPC{{PC: scpPC}}) {
			t.Fatalf("round %d: after ASP Active Ack got %T %+v, want DAUD for the SCP's point code", round, m, m)
		}
		sg.send(&DUNA{AffectedPCs: d.AffectedPCs})
		waitFor(t, "the DUNA answering the DAUD", 2*time.Second, func() bool { return !asp.Available(scpPC) })
		c.Close()
		waitFor(t, "the association to go", 2*time.Second, func() bool { return asp.ActiveCount() == 0 })
		if !asp.Available(scpPC) {
			t.Fatal("the DUNA outlived its association")
		}
	}
}

func TestAuditIsForAnASP(t *testing.T) {
	_, err := NewEndpoint(Config{Role: RoleSG, Network: "tcp", Listen: "127.0.0.1:0", Audit: []uint32{scpPC}})
	if err == nil || !strings.Contains(err.Error(), "Audit is for an ASP") {
		t.Fatalf("Audit on an SG: %v", err)
	}
	_, err = NewEndpoint(Config{Role: RoleASP, Network: "tcp", Connect: []string{"127.0.0.1:1"}, Audit: []uint32{1 << 24}})
	if err == nil || !strings.Contains(err.Error(), "over 24 bits") {
		t.Fatalf("a 25-bit point code: %v", err)
	}
}
