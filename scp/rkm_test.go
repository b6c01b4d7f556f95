package scp

import (
	"context"
	"testing"
	"time"

	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/transport"
)

func TestRegistrationPolicy(t *testing.T) {
	pc := uint32(sccp.ANSIPointCode(244, 2, 20))
	na := uint32(7)
	key := func(f func(*m3ua.RoutingKey)) m3ua.RoutingKey {
		k := m3ua.RoutingKey{LocalRKID: 1, DPC: pc}
		if f != nil {
			f(&k)
		}
		return k
	}
	cases := []struct {
		name   string
		k      m3ua.RoutingKey
		pc     uint32
		na     *uint32
		tm     m3ua.TrafficMode
		rcs    []uint32
		rc     uint32
		status m3ua.RegStatus
	}{
		{"minimal key gets the first RC", key(nil), pc, &na, m3ua.TrafficModeLoadshare, []uint32{10, 11}, 10, m3ua.RegStatusSuccess},
		{"full matching key", key(func(k *m3ua.RoutingKey) {
			k.RoutingContext, k.HasRoutingContext = 11, true
			k.NetworkAppearance, k.HasNetworkAppearance = 7, true
			k.TrafficMode = m3ua.TrafficModeLoadshare
			k.ServiceIndicators = []uint8{m3ua.SIISUP, m3ua.SISCCP}
			k.OPCs = []m3ua.AffectedPC{{PC: uint32(sccp.ANSIPointCode(244, 1, 10))}}
		}), pc, &na, m3ua.TrafficModeLoadshare, []uint32{10, 11}, 11, m3ua.RegStatusSuccess},
		{"other DPC", key(func(k *m3ua.RoutingKey) { k.DPC = pc + 1 }), pc, nil, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusInvalidDPC},
		{"any DPC without a point code", key(func(k *m3ua.RoutingKey) { k.DPC = 5 }), 0, nil, m3ua.TrafficModeLoadshare, []uint32{10}, 10, m3ua.RegStatusSuccess},
		{"ISUP only", key(func(k *m3ua.RoutingKey) { k.ServiceIndicators = []uint8{m3ua.SIISUP} }), pc, nil, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusInvalidRoutingKey},
		{"other NA", key(func(k *m3ua.RoutingKey) { k.NetworkAppearance, k.HasNetworkAppearance = 8, true }), pc, &na, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusInvalidNetworkAppearance},
		{"NA without one configured", key(func(k *m3ua.RoutingKey) { k.NetworkAppearance, k.HasNetworkAppearance = 8, true }), pc, nil, m3ua.TrafficModeLoadshare, []uint32{10}, 10, m3ua.RegStatusSuccess},
		{"other traffic mode", key(func(k *m3ua.RoutingKey) { k.TrafficMode = m3ua.TrafficModeOverride }), pc, nil, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusInvalidTrafficMode},
		{"broadcast", key(func(k *m3ua.RoutingKey) { k.TrafficMode = m3ua.TrafficModeBroadcast }), pc, nil, m3ua.TrafficModeOverride, []uint32{10}, 0, m3ua.RegStatusInvalidTrafficMode},
		{"unprovisioned RC", key(func(k *m3ua.RoutingKey) { k.RoutingContext, k.HasRoutingContext = 99, true }), pc, nil, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusNotProvisioned},
		{"no RC configured", key(nil), pc, nil, m3ua.TrafficModeLoadshare, nil, 0, m3ua.RegStatusNotProvisioned},
		{"DPC checked first", key(func(k *m3ua.RoutingKey) {
			k.DPC = 1
			k.ServiceIndicators = []uint8{5}
			k.TrafficMode = m3ua.TrafficModeOverride
		}), pc, nil, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusInvalidDPC},
		{"SI before NA", key(func(k *m3ua.RoutingKey) {
			k.ServiceIndicators = []uint8{5}
			k.NetworkAppearance, k.HasNetworkAppearance = 8, true
		}), pc, &na, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusInvalidRoutingKey},
		{"NA before traffic mode", key(func(k *m3ua.RoutingKey) {
			k.TrafficMode = m3ua.TrafficModeOverride
			k.NetworkAppearance, k.HasNetworkAppearance = 8, true
		}), pc, &na, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusInvalidNetworkAppearance},
		{"traffic mode before RC", key(func(k *m3ua.RoutingKey) {
			k.TrafficMode = m3ua.TrafficModeOverride
			k.RoutingContext, k.HasRoutingContext = 99, true
		}), pc, nil, m3ua.TrafficModeLoadshare, []uint32{10}, 0, m3ua.RegStatusInvalidTrafficMode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc, st := decideRegistration(c.k, c.pc, c.na, c.tm, c.rcs)
			if rc != c.rc || st != c.status {
				t.Fatalf("got rc %d %v, want rc %d %v", rc, st, c.rc, c.status)
			}
		})
	}
}

// servingSwitch starts an SCP service with cfg (stopped when the test
// ends) and dials it with rawSwitch.
func servingSwitch(t *testing.T, cfg Config) (send func(m3ua.Message), recv func() m3ua.Message) {
	t.Helper()
	h := newHarness(t, cfg, &recorder{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if err := h.s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.s.Shutdown(context.Background()) })
	return rawSwitch(t, ctx, h.s.Addr())
}

// rawSwitch dials the SCP's listening address as a bare M3UA peer: send
// writes one message, recv returns the next one other than NTFY and BEAT.
// BEATs are answered as they arrive (the SCP's shutdown fences on them).
func rawSwitch(t *testing.T, ctx context.Context, addr string) (send func(m3ua.Message), recv func() m3ua.Message) {
	t.Helper()
	c, err := transport.Dial(ctx, transport.Config{Network: "tcp", Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	send = func(m m3ua.Message) {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteMsg(b, 0); err != nil {
			t.Fatal(err)
		}
	}
	in := make(chan []byte, 16)
	go func() {
		defer close(in)
		for {
			buf := make([]byte, 65536)
			n, _, err := c.ReadMsg(buf)
			if err != nil {
				return
			}
			if m, err := m3ua.Decode(buf[:n]); err == nil {
				if b, ok := m.(*m3ua.Beat); ok {
					if ack, err := (*m3ua.BeatAck)(b).MarshalBinary(); err == nil {
						_ = c.WriteMsg(ack, 0) // not send: t.Fatal is for the test's goroutine
					}
				}
			}
			in <- buf[:n]
		}
	}()
	recv = func() m3ua.Message {
		t.Helper()
		for {
			var b []byte
			select {
			case b = <-in:
			case <-time.After(3 * time.Second):
				t.Fatal("no answer from the SCP")
			}
			m, err := m3ua.Decode(b)
			if err != nil {
				t.Fatalf("undecodable %x: %v", b, err)
			}
			switch m.(type) {
			case *m3ua.Notify, *m3ua.Beat:
				continue
			}
			return m
		}
	}
	return send, recv
}

// TestServiceAnswersRegistration checks the wiring: a switch registering
// its key with the SCP (running as SG) gets the configured RC, can then
// go active with it, and a key for another point code is refused.
func TestServiceAnswersRegistration(t *testing.T) {
	cfg := testConfig()
	// The zero TrafficMode is the endpoint's loadshare: a key asking for
	// loadshare matches it.
	send, recv := servingSwitch(t, cfg)
	send(&m3ua.ASPUp{})
	if m, ok := recv().(*m3ua.ASPUpAck); !ok {
		t.Fatalf("got %T", m)
	}
	send(&m3ua.RegReq{Keys: []m3ua.RoutingKey{
		{LocalRKID: 5, DPC: uint32(cfg.PointCode), ServiceIndicators: []uint8{m3ua.SISCCP}, TrafficMode: m3ua.TrafficModeLoadshare},
		{LocalRKID: 6, DPC: uint32(sccp.ANSIPointCode(1, 1, 1))},
	}})
	rsp, ok := recv().(*m3ua.RegRsp)
	if !ok || len(rsp.Results) != 2 {
		t.Fatalf("REG REQ answered with %+v", rsp)
	}
	if r := rsp.Results[0]; r != (m3ua.RegResult{LocalRKID: 5, Status: m3ua.RegStatusSuccess, RoutingContext: 10}) {
		t.Fatalf("result 1 %+v", r)
	}
	if r := rsp.Results[1]; r != (m3ua.RegResult{LocalRKID: 6, Status: m3ua.RegStatusInvalidDPC}) {
		t.Fatalf("result 2 %+v", r)
	}
	send(&m3ua.ASPActive{RoutingContexts: []uint32{rsp.Results[0].RoutingContext}})
	if m, ok := recv().(*m3ua.ASPActiveAck); !ok {
		t.Fatalf("got %T %+v", m, m)
	}
}

// An SCP in the ASP role with Register registers its routing key with the
// SG it dials and goes active on the routing context the SG grants; an SG
// refusing the key keeps it from going active.
func TestServiceRegistersWithSG(t *testing.T) {
	for _, tc := range []struct {
		name   string
		grant  bool
		active bool
	}{
		{"granted", true, true},
		{"refused", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := make(chan m3ua.RoutingKey, 4)
			sg, err := m3ua.NewEndpoint(m3ua.Config{Role: m3ua.RoleSG, Network: "tcp", Listen: "127.0.0.1:0",
				Handler: func(*m3ua.Association, *m3ua.Data) {},
				Registrar: func(_ *m3ua.Association, k m3ua.RoutingKey) (uint32, m3ua.RegStatus) {
					keys <- k
					if !tc.grant {
						return 0, m3ua.RegStatusPermissionDenied
					}
					return 33, m3ua.RegStatusSuccess
				}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := sg.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer sg.Close()

			cfg := testConfig()
			cfg.Role, cfg.Listen, cfg.Connect = m3ua.RoleASP, "", []string{sg.Addr()}
			cfg.RoutingContexts, cfg.Register = nil, true
			svc, err := New(cfg, &recorder{})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer svc.Shutdown(context.Background())
			select {
			case k := <-keys:
				if k.DPC != uint32(cfg.PointCode) || len(k.ServiceIndicators) != 1 || k.ServiceIndicators[0] != m3ua.SISCCP || k.HasRoutingContext {
					t.Errorf("registered key %+v, want SCCP to %v with no RC asked", k, cfg.PointCode)
				}
			case <-ctx.Done():
				t.Fatal("the SCP sent no REG REQ")
			}
			wctx, wcancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			defer wcancel()
			err = svc.WaitActive(wctx, 1)
			if tc.active && err != nil {
				t.Fatalf("not active after registering: %v", err)
			}
			if !tc.active && err == nil {
				t.Fatal("active although the SG refused the key")
			}
		})
	}
}

// Register is for an SCP that dials its SG.
func TestRegisterConfig(t *testing.T) {
	cfg := testConfig() // role SG
	cfg.Register = true
	if _, err := New(cfg, &recorder{}); err == nil {
		t.Error("register accepted in the SG role")
	}
	cfg.Role, cfg.Listen, cfg.Connect = m3ua.RoleASP, "", []string{"127.0.0.1:1"}
	cfg.RoutingContexts = []uint32{1, 2}
	if _, err := New(cfg, &recorder{}); err == nil {
		t.Error("register accepted with two routing contexts")
	}
}

// TestServiceAnswersDAUDForItsPointCode: as the SG, the SCP is the
// destination its switches reach: a DAUD auditing the SCP's point code
// gets DAVA (RFC 4666 §4.5.3); one for a point code it knows nothing of
// gets ERR Destination Status Unknown.
func TestServiceAnswersDAUDForItsPointCode(t *testing.T) {
	cfg := testConfig()
	send, recv := servingSwitch(t, cfg)
	send(&m3ua.ASPUp{})
	if m, ok := recv().(*m3ua.ASPUpAck); !ok {
		t.Fatalf("got %T", m)
	}
	send(&m3ua.ASPActive{RoutingContexts: []uint32{10}})
	if m, ok := recv().(*m3ua.ASPActiveAck); !ok {
		t.Fatalf("got %T %+v", m, m)
	}
	own := m3ua.AffectedPC{PC: uint32(cfg.PointCode)}
	send(&m3ua.DAUD{RoutingContexts: []uint32{10}, AffectedPCs: []m3ua.AffectedPC{own}})
	got := recv()
	if dava, ok := got.(*m3ua.DAVA); !ok || len(dava.AffectedPCs) != 1 || dava.AffectedPCs[0] != own {
		t.Fatalf("DAUD for the SCP's point code answered %T %+v, want DAVA for it", got, got)
	}
	send(&m3ua.DAUD{RoutingContexts: []uint32{10}, AffectedPCs: []m3ua.AffectedPC{{PC: uint32(sccp.ANSIPointCode(1, 1, 1))}}})
	got = recv()
	if e, ok := got.(*m3ua.Err); !ok || e.Code != m3ua.CodeDestinationStatusUnknown {
		t.Fatalf("DAUD for a foreign point code answered %T %+v, want ERR Destination Status Unknown", got, got)
	}
}
