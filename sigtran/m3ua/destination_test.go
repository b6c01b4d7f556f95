package m3ua

import (
	"errors"
	"testing"
	"time"
)

// A mated STP pair: one STP reporting the SCP's point code unavailable
// (DUNA) does not make it unavailable to the ASP while the other still
// reaches it (RFC 4666 §4.5.1: destination state is learnt per SG), and
// the queries go to the other STP, not to the one that cannot route
// them. Only when both report it is the destination unavailable.
func TestDestinationStateIsPerSG(t *testing.T) {
	d1, d2 := make(chan received, 64), make(chan received, 512)
	sg1 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Handler: collector(d1)}))
	sg2 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Handler: collector(d2)}))
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg1.Addr(), sg2.Addr()}}))
	waitActive(t, asp, 2)
	waitActive(t, sg1, 1)
	waitActive(t, sg2, 1)

	sg1.SetAvailable(scpPC, false)
	waitFor(t, "the DUNA from the first SG", 2*time.Second, func() bool {
		for _, r := range asp.Routes(scpPC) {
			if r.Reported && !r.State.Available {
				return true
			}
		}
		return false
	})
	if !asp.Available(scpPC) {
		t.Fatal("one SG's DUNA made the destination unavailable although the other SG reaches it")
	}
	if s, known := asp.Destination(scpPC); !s.Available || !known {
		t.Fatalf("Destination after one SG's DUNA: %+v, known %v", s, known)
	}
	for sls := range uint8(16) {
		a, err := asp.SendVia(ProtocolData{DPC: scpPC, SI: 3, SLS: sls, Data: []byte{sls}})
		if err != nil {
			t.Fatalf("SLS %d: %v", sls, err)
		}
		if a.RemoteAddr().String() != sg2.Addr() {
			t.Fatalf("SLS %d sent to %v, the SG that reported the destination unavailable", sls, a.RemoteAddr())
		}
	}
	for range 16 {
		recvData(t, d2)
	}
	// Routing around the SG costs no allocation (the DATA path's rule).
	if n := testing.AllocsPerRun(200, func() {
		if _, err := asp.SendVia(ProtocolData{DPC: scpPC, SI: 3, SLS: 0}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("SendVia around a DUNA: %v allocations", n)
	}
	select {
	case r := <-d1:
		t.Fatalf("the SG that sent DUNA got %+v", r.pd)
	default:
	}
	// Another destination is not affected: it is still load-shared.
	via := map[string]int{}
	for sls := range uint8(8) {
		a, err := asp.SendVia(ProtocolData{DPC: sspPC, SI: 3, SLS: sls})
		if err != nil {
			t.Fatal(err)
		}
		via[a.RemoteAddr().String()]++
	}
	if via[sg1.Addr()] != 4 || via[sg2.Addr()] != 4 {
		t.Fatalf("a DUNA for one point code moved another: %v", via)
	}

	sg2.SetAvailable(scpPC, false)
	waitFor(t, "the DUNA from the second SG", 2*time.Second, func() bool { return !asp.Available(scpPC) })
	if _, err := asp.SendVia(ProtocolData{DPC: scpPC, SI: 3}); !errors.Is(err, ErrDestinationUnavailable) {
		t.Fatalf("SendVia with the destination unavailable through both SGs: %v", err)
	}
	sg1.SetAvailable(scpPC, true)
	waitFor(t, "the DAVA", 2*time.Second, func() bool { return asp.Available(scpPC) })
	for sls := range uint8(2) {
		if a, err := asp.SendVia(ProtocolData{DPC: scpPC, SI: 3, SLS: sls}); err != nil || a.RemoteAddr().String() != sg1.Addr() {
			t.Fatalf("after DAVA from the first SG only: %v, %v", a, err)
		}
	}
}

// An SG that reported a destination restricted (DRST) is used only when
// no other SG reaches it unrestricted.
func TestDestinationRestrictedSGIsAvoided(t *testing.T) {
	sg1 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0"}))
	sg2 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0"}))
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg1.Addr(), sg2.Addr()}}))
	waitActive(t, asp, 2)
	act := *asp.active.Load()
	drst := func(a *Association) {
		a.dest.update([]AffectedPC{{PC: scpPC}}, func(s *DestinationState) { s.Available = true; s.Restricted = true })
	}
	drst(act[0])
	for sls := range uint8(8) {
		if a, err := asp.SendVia(ProtocolData{DPC: scpPC, SI: 3, SLS: sls}); err != nil || a != act[1] {
			t.Fatalf("SLS %d: %v, %v; want the unrestricted SG", sls, a, err)
		}
	}
	drst(act[1])
	for sls := range uint8(8) {
		if a, err := asp.SendVia(ProtocolData{DPC: scpPC, SI: 3, SLS: sls}); err != nil || a != act[int(sls)%2] {
			t.Fatalf("SLS %d with both SGs restricted: %v, %v; want load sharing as usual", sls, a, err)
		}
	}
	if s, _ := asp.Destination(scpPC); !s.Available || !s.Restricted {
		t.Fatalf("Destination: %+v", s)
	}
}

// What an SG reported goes with its association (RFC 4666 §4.5.1): a DUNA
// received before the association was lost is not in force on the next
// one.
func TestDestinationStateForgottenWithTheAssociation(t *testing.T) {
	sgCfg := fast(Config{Role: RoleSG, Listen: "127.0.0.1:0"})
	sg1 := start(t, sgCfg)
	addr := sg1.Addr()
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{addr}}))
	waitActive(t, asp, 1)
	waitActive(t, sg1, 1)
	sg1.SetAvailable(scpPC, false)
	waitFor(t, "DUNA", 2*time.Second, func() bool { return !asp.Available(scpPC) })
	if _, err := asp.SendVia(ProtocolData{DPC: scpPC, SI: 3}); !errors.Is(err, ErrDestinationUnavailable) {
		t.Fatalf("SendVia after DUNA: %v", err)
	}

	sg1.Close()
	waitFor(t, "the association to go", 2*time.Second, func() bool { return asp.ActiveCount() == 0 })
	sgCfg.Listen = addr
	start(t, sgCfg) // the SG comes back and reports nothing
	waitActive(t, asp, 1)
	if !asp.Available(scpPC) {
		t.Fatal("a DUNA received on a lost association is still in force")
	}
	if _, known := asp.Destination(scpPC); known {
		t.Fatal("the new association has reported nothing")
	}
	if err := asp.Send(ProtocolData{DPC: scpPC, SI: 3}); err != nil {
		t.Fatal(err)
	}
}
