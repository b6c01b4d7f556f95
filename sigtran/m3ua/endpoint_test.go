package m3ua

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/internal/sctptest"
	"callgate/sigtran/transport"
)

// testLogger routes slog output to t.Log while the test runs.
func testLogger(t *testing.T) *slog.Logger {
	w := &tlogWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *tlogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

func u32(v uint32) *uint32 { return &v }

// fast shortens every timer so the tests finish in well under a second.
func fast(c Config) Config {
	c.HeartbeatInterval = 30 * time.Millisecond
	c.HeartbeatTimeout = 300 * time.Millisecond
	c.AckTimeout = 200 * time.Millisecond
	c.RecoveryTimeout = 50 * time.Millisecond
	c.ReconnectMin = 10 * time.Millisecond
	c.ReconnectMax = 100 * time.Millisecond
	return c
}

func start(t *testing.T, cfg Config) *Endpoint {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.Network == "" {
		cfg.Network = "tcp"
	}
	e, err := NewEndpoint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitActive(t *testing.T, e *Endpoint, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.WaitActive(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// received is a DATA copied out of a Handler call.
type received struct {
	assoc uint64
	rc    uint32
	pd    ProtocolData
}

func collector(ch chan<- received) Handler {
	return func(a *Association, d *Data) {
		pd := d.ProtocolData
		pd.Data = bytes.Clone(pd.Data)
		ch <- received{assoc: a.ID(), rc: d.RoutingContext, pd: pd}
	}
}

func recvData(t *testing.T, ch <-chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(3 * time.Second):
		t.Fatal("no DATA received")
	}
	return received{}
}

var (
	sspPC = uint32(0xf4010a) // 244-1-10
	scpPC = uint32(0xf40214) // 244-2-20
)

func TestEndpointUpDataBeatDown(t *testing.T) {
	sgData := make(chan received, 16)
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10},
		NetworkAppearance: u32(7),
		Handler: func(a *Association, d *Data) {
			collector(sgData)(a, d)
			// Answer on the same association, as the SCP will.
			rsp := d.ProtocolData
			rsp.OPC, rsp.DPC = rsp.DPC, rsp.OPC
			rsp.Data = []byte("response")
			if err := a.SendData(rsp); err != nil {
				t.Error(err)
			}
		}}))
	aspData := make(chan received, 16)
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10},
		NetworkAppearance: u32(7), ASPIdentifier: u32(1), Info: "callgate", Handler: collector(aspData)}))

	waitActive(t, asp, 1)
	waitActive(t, sg, 1)
	waitFor(t, "AS-ACTIVE on both sides", 2*time.Second, func() bool {
		return sg.ASState() == ASStateActive && asp.ASState() == ASStateActive
	})
	info := sg.Associations()
	if len(info) != 1 || !info[0].HasPeerASPID || info[0].PeerASPID != 1 || info[0].State != ASPStateActive {
		t.Fatalf("SG associations %+v", info)
	}

	q := ProtocolData{OPC: sspPC, DPC: scpPC, SI: SISCCP, NI: NINational, SLS: 5, Data: []byte("query")}
	if err := asp.Send(q); err != nil {
		t.Fatal(err)
	}
	got := recvData(t, sgData)
	if got.rc != 10 || got.pd.OPC != sspPC || got.pd.DPC != scpPC || got.pd.SLS != 5 || string(got.pd.Data) != "query" {
		t.Fatalf("SG got %+v", got)
	}
	back := recvData(t, aspData)
	if back.rc != 10 || back.pd.OPC != scpPC || back.pd.SLS != 5 || string(back.pd.Data) != "response" {
		t.Fatalf("ASP got %+v", back)
	}

	// BEATs flow and are answered: several heartbeat periods, no loss.
	before := asp.Stats().MessagesOut[ClassASPSM]
	waitFor(t, "three more BEATs", 3*time.Second, func() bool { return asp.Stats().MessagesOut[ClassASPSM]-before >= 3 })
	if st := asp.Stats(); st.HeartbeatLosses != 0 || st.Losses != 0 {
		t.Fatalf("heartbeat: %+v", st)
	}
	waitFor(t, "the SG to answer them", 3*time.Second, func() bool { return sg.Stats().MessagesOut[ClassASPSM] >= 4 })

	// Orderly shutdown: ASP Down, the SG's AS goes pending then down.
	asp.Close()
	waitFor(t, "AS-DOWN on the SG", 2*time.Second, func() bool {
		return sg.ASState() == ASStateDown && len(sg.Associations()) == 0
	})
	if sg.Stats().Losses != 0 {
		t.Errorf("orderly ASP Down counted as a loss: %+v", sg.Stats())
	}
	if err := asp.Send(q); err != ErrNoActiveAssociation {
		t.Fatalf("send after close: %v", err)
	}
}

func TestEndpointReconnectsAfterServerLoss(t *testing.T) {
	sgCfg := fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}})
	sg1 := start(t, sgCfg)
	addr := sg1.Addr()
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{addr}, RoutingContexts: []uint32{10}}))
	waitActive(t, asp, 1)

	// The server goes away in order: an unsolicited ASP Down Ack tells the
	// ASP it is down before the association closes, so that is no loss.
	sg1.Close()
	waitFor(t, "the ASP to notice", 2*time.Second, func() bool { return asp.ActiveCount() == 0 })
	if asp.Stats().Losses != 0 {
		t.Fatalf("an SG closing in order counted as a loss: %+v", asp.Stats())
	}

	sgCfg.Listen = addr // the server returns on the same address
	sg2 := start(t, sgCfg)
	waitActive(t, asp, 1)
	waitActive(t, sg2, 1)
	if c := asp.Stats().Connects; c < 2 {
		t.Fatalf("connects %d", c)
	}
	if err := asp.Send(ProtocolData{SI: 3, Data: []byte{1}}); err != nil {
		t.Fatal(err)
	}
}

// fakeSG is a hand-driven SG: it accepts one association at a time and
// answers ASP Up and ASP Active, but never BEAT, so a heartbeat must find
// the association dead.
func TestEndpointHeartbeatLoss(t *testing.T) {
	ln, err := transport.Listen(transport.Config{Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				buf := make([]byte, 65536)
				for {
					n, _, err := c.ReadMsg(buf)
					if err != nil {
						return
					}
					m, err := Decode(buf[:n])
					if err != nil {
						return
					}
					var rsp Message
					switch m := m.(type) {
					case *ASPUp:
						rsp = &ASPUpAck{}
					case *ASPActive:
						rsp = &ASPActiveAck{TrafficMode: m.TrafficMode, RoutingContexts: m.RoutingContexts}
					}
					if rsp != nil {
						b, _ := rsp.MarshalBinary()
						c.WriteMsg(b, 0)
					}
				}
			}()
		}
	}()
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{ln.Addr().String()}}))
	waitActive(t, asp, 1)
	waitFor(t, "heartbeat loss and a redial", 3*time.Second, func() bool {
		return asp.Stats().HeartbeatLosses >= 1 && accepted.Load() >= 2
	})
	waitActive(t, asp, 1) // and it is back up by itself
}

func TestEndpointOverride(t *testing.T) {
	sgData := make(chan received, 16)
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", TrafficMode: TrafficModeOverride, RoutingContexts: []uint32{10}, Handler: collector(sgData)}))
	d1 := make(chan received, 16)
	asp1 := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, TrafficMode: TrafficModeOverride, RoutingContexts: []uint32{10}, ASPIdentifier: u32(1), Handler: collector(d1)}))
	waitActive(t, asp1, 1)
	d2 := make(chan received, 16)
	asp2 := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, TrafficMode: TrafficModeOverride, RoutingContexts: []uint32{10}, ASPIdentifier: u32(2), Handler: collector(d2)}))
	waitActive(t, asp2, 1)

	// asp1 hears "alternate ASP active" and drops to inactive.
	waitFor(t, "asp1 standby", 2*time.Second, func() bool { return asp1.ActiveCount() == 0 })
	if sg.ActiveCount() != 1 || len(sg.Associations()) != 2 || sg.ASState() != ASStateActive {
		t.Fatalf("SG: %d active of %+v, %v", sg.ActiveCount(), sg.Associations(), sg.ASState())
	}
	for sls := range uint8(8) {
		if err := sg.Send(ProtocolData{SI: 3, SLS: sls, Data: []byte{sls}}); err != nil {
			t.Fatal(err)
		}
		recvData(t, d2)
	}
	select {
	case r := <-d1:
		t.Fatalf("standby ASP got traffic: %+v", r)
	default:
	}
	// A standby ASP sending DATA is refused.
	if err := asp1.Send(ProtocolData{SI: 3}); err != ErrNoActiveAssociation {
		t.Fatalf("standby send: %v", err)
	}
}

func TestEndpointLoadshare(t *testing.T) {
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}}))
	d1, d2 := make(chan received, 16), make(chan received, 16)
	asp1 := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10}, Handler: collector(d1)}))
	asp2 := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10}, Handler: collector(d2)}))
	waitActive(t, asp1, 1)
	waitActive(t, asp2, 1)
	waitActive(t, sg, 2)
	for sls := range uint8(8) {
		for range 2 { // the same SLS twice lands on the same ASP
			if err := sg.Send(ProtocolData{SI: 3, SLS: sls, Data: []byte{sls}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	bySLS := map[uint8]int{}
	n1, n2 := 0, 0
	for range 16 {
		select {
		case r := <-d1:
			n1++
			bySLS[r.pd.SLS] |= 1
		case r := <-d2:
			n2++
			bySLS[r.pd.SLS] |= 2
		case <-time.After(3 * time.Second):
			t.Fatal("DATA missing")
		}
	}
	if n1 != 8 || n2 != 8 {
		t.Fatalf("loadshare split %d/%d, want 8/8", n1, n2)
	}
	for sls, who := range bySLS {
		if who == 3 {
			t.Fatalf("SLS %d went to both ASPs", sls)
		}
	}
}

func TestEndpointSSNM(t *testing.T) {
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}}))
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10}}))
	waitActive(t, asp, 1)
	waitActive(t, sg, 1)
	if !asp.Available(sspPC) {
		t.Fatal("an unreported destination must be available")
	}
	sg.SetAvailable(sspPC, false)
	waitFor(t, "DUNA", 2*time.Second, func() bool { return !asp.Available(sspPC) })
	if _, known := asp.Destination(sspPC); !known {
		t.Fatal("DUNA not recorded")
	}
	if !asp.Available(scpPC) {
		t.Fatal("DUNA for one PC affected another")
	}
	sg.SetAvailable(sspPC, true)
	waitFor(t, "DAVA", 2*time.Second, func() bool { return asp.Available(sspPC) })
}

func TestDestTableWildcards(t *testing.T) {
	var d destTable
	d.update([]AffectedPC{{PC: 0xf40105}}, func(s *DestinationState) { s.Congestion = 2 })
	d.update([]AffectedPC{{Mask: 8, PC: 0xf40100}}, func(s *DestinationState) { s.Available = false })
	if s, _ := d.lookup(0xf40105); s.Available || s.Congestion != 0 {
		t.Fatalf("cluster-wide DUNA must replace the member entry: %+v", s)
	}
	d.update([]AffectedPC{{PC: 0xf40107}}, func(s *DestinationState) { s.Available = true })
	if s, _ := d.lookup(0xf40107); !s.Available {
		t.Fatal("member DAVA inside a DUNA'd cluster")
	}
	if s, _ := d.lookup(0xf40108); s.Available {
		t.Fatal("rest of the cluster must stay unavailable")
	}
	if s, known := d.lookup(0xf40200); !s.Available || known {
		t.Fatal("other cluster unaffected")
	}
}

func TestDataStream(t *testing.T) {
	if dataStream(1, 7) != 0 {
		t.Fatal("TCP uses stream 0")
	}
	for sls := range 256 {
		s := dataStream(16, uint8(sls))
		if s < 1 || s > 15 || s != uint16(1+sls%15) {
			t.Fatalf("SLS %d -> stream %d", sls, s)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{
		{Role: RoleASP},
		{Role: RoleASP, Connect: []string{"x:1"}, Listen: "y:2"},
		{Role: RoleSG},
		{Role: RoleIPSP},
		{Role: RoleIPSP, Connect: []string{"x:1"}, Listen: "y:2"},
		{Role: 0, Listen: "y:2"},
		{Role: RoleSG, Listen: "y:2", TrafficMode: TrafficModeBroadcast},
	} {
		if _, err := NewEndpoint(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestEndpointSCTP(t *testing.T) {
	sctptest.Need(t, transport.SCTPAvailable)
	sgData := make(chan received, 16)
	sg := start(t, fast(Config{Role: RoleSG, Network: "sctp", Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}, Handler: collector(sgData)}))
	asp := start(t, fast(Config{Role: RoleASP, Network: "sctp", Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10}}))
	waitActive(t, asp, 1)
	if s := asp.Associations()[0].Streams; s < 2 {
		t.Fatalf("%d streams", s)
	}
	if err := asp.Send(ProtocolData{SI: 3, SLS: 3, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if r := recvData(t, sgData); r.pd.SLS != 3 {
		t.Fatalf("%+v", r)
	}
}

func TestIPSP(t *testing.T) {
	srvData := make(chan received, 4)
	srv := start(t, fast(Config{Role: RoleIPSP, Listen: "127.0.0.1:0", Handler: collector(srvData)}))
	cli := start(t, fast(Config{Role: RoleIPSP, Connect: []string{srv.Addr()}}))
	waitActive(t, cli, 1)
	waitActive(t, srv, 1)
	if err := cli.Send(ProtocolData{SI: 3, Data: []byte("p2p")}); err != nil {
		t.Fatal(err)
	}
	if r := recvData(t, srvData); string(r.pd.Data) != "p2p" || r.rc != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestASPLoadsharesOverSeveralSGs(t *testing.T) {
	d1, d2 := make(chan received, 16), make(chan received, 16)
	sg1 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Handler: collector(d1)}))
	sg2 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Handler: collector(d2)}))
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg1.Addr(), sg2.Addr()}}))
	waitActive(t, asp, 2)
	for sls := range uint8(8) {
		if err := asp.Send(ProtocolData{SI: 3, SLS: sls}); err != nil {
			t.Fatal(err)
		}
	}
	n1, n2 := 0, 0
	for range 8 {
		select {
		case <-d1:
			n1++
		case <-d2:
			n2++
		case <-time.After(3 * time.Second):
			t.Fatal("DATA missing")
		}
	}
	if n1 != 4 || n2 != 4 {
		t.Fatalf("split %d/%d", n1, n2)
	}
	// One SG goes: all traffic moves to the other.
	sg1.Close()
	waitFor(t, "one association left", 2*time.Second, func() bool { return asp.ActiveCount() == 1 })
	for sls := range uint8(4) {
		if err := asp.Send(ProtocolData{SI: 3, SLS: sls}); err != nil {
			t.Fatal(err)
		}
		recvData(t, d2)
	}
}
