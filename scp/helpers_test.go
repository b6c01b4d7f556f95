package scp

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/internal/vectortest"
	"callgate/policy"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// vectorM3UA returns the M3UA hex of a golden vector (P-01Q ...).
func vectorM3UA(t testing.TB, id string) []byte {
	t.Helper()
	type vec struct {
		ID  string `json:"id"`
		Hex struct {
			M3UA string `json:"m3ua"`
		} `json:"hex"`
	}
	for _, v := range vectortest.Messages[vec](t) {
		if v.ID == id {
			b, err := hex.DecodeString(v.Hex.M3UA)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			return b
		}
	}
	t.Fatalf("vector %s not in manifest.json", id)
	return nil
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decideFunc adapts a function to policy.Decider.
type decideFunc func(ctx context.Context, c policy.Call) policy.Decision

func (f decideFunc) Decide(ctx context.Context, c policy.Call) policy.Decision { return f(ctx, c) }

// fixed returns a Decider that always answers d and records the calls.
type recorder struct {
	mu    sync.Mutex
	calls []policy.Call
	d     policy.Decision
}

func (r *recorder) Decide(_ context.Context, c policy.Call) policy.Decision {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return r.d
}

func (r *recorder) last(t testing.TB) policy.Call {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("the engine was not asked")
	}
	return r.calls[len(r.calls)-1]
}

// capture is a sender that keeps what the service sends, as the M3UA DATA
// an association with routing context 10 would put on the wire.
type capture struct {
	mu   sync.Mutex
	sent []m3ua.ProtocolData
}

func (c *capture) SendData(pd m3ua.ProtocolData) error {
	pd.Data = append([]byte(nil), pd.Data...)
	c.mu.Lock()
	c.sent = append(c.sent, pd)
	c.mu.Unlock()
	return nil
}

func (c *capture) one(t testing.TB) m3ua.ProtocolData {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sent) != 1 {
		t.Fatalf("sent %d messages, want 1", len(c.sent))
	}
	pd := c.sent[0]
	c.sent = nil
	return pd
}

func (c *capture) none(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sent) != 0 {
		t.Fatalf("sent %d messages, want none", len(c.sent))
	}
}

// wire is the M3UA DATA the answer becomes on an association with RC 10.
func wire(t testing.TB, pd m3ua.ProtocolData) []byte {
	t.Helper()
	d := m3ua.Data{ProtocolData: pd, RoutingContext: 10, HasRoutingContext: true}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tcapOf extracts the TCAP bytes from an answer.
func tcapOf(t testing.TB, pd m3ua.ProtocolData) []byte {
	t.Helper()
	var m sccp.Message
	if err := m.Decode(pd.Data, sccp.ANSI); err != nil {
		t.Fatalf("answer is not SCCP: %v", err)
	}
	return m.Data
}

// decodeAnswer decodes the TCAP answer.
func decodeAnswer(t testing.TB, pd m3ua.ProtocolData) *tcap.Message {
	t.Helper()
	m := new(tcap.Message)
	if err := m.Decode(tcapOf(t, pd)); err != nil {
		t.Fatalf("answer is not TCAP: %v", err)
	}
	return m
}

// testConfig is the network of the reference vectors: SCP ANSI 244-2-20
// SSN 248.
func testConfig() Config {
	return Config{
		Role: m3ua.RoleSG, Network: "tcp", Listen: "127.0.0.1:0",
		PointCode: sccp.ANSIPointCode(244, 2, 20), SSN: 248, RoutingContexts: []uint32{10},
		TimeBudget: time.Second, Workers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

type harness struct {
	s   *Service
	reg *prometheus.Registry
	w   *worker
	out *capture
}

func newHarness(t testing.TB, cfg Config, d policy.Decider, opts ...Option) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(cfg, d, append([]Option{WithRegisterer(reg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{s: s, reg: reg, w: newWorker(0), out: &capture{}}
}

// feed hands one M3UA DATA message to the service as a worker would.
func (h *harness) feed(t testing.TB, m3uaMsg []byte) {
	t.Helper()
	h.feedShed(t, m3uaMsg, safeNone)
}

func (h *harness) feedShed(t testing.TB, m3uaMsg []byte, why safeReason) {
	t.Helper()
	var d m3ua.Data
	if err := d.UnmarshalBinary(m3uaMsg); err != nil {
		t.Fatalf("test input is not M3UA DATA: %v", err)
	}
	h.s.handle(h.w, h.out, &d.ProtocolData, time.Now(), why)
}

// counter reads one sample of a counter vector.
func (h *harness) counter(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

type ctxT = context.Context

// decodeAnswerOrUDTS checks that what the SCP sent decodes as SCCP, and as
// TCAP unless it is a returned message.
func decodeAnswerOrUDTS(t testing.TB, pd m3ua.ProtocolData) {
	t.Helper()
	var m sccp.Message
	if err := m.Decode(pd.Data, sccp.ANSI); err != nil {
		t.Fatalf("sent undecodable SCCP %x: %v", pd.Data, err)
	}
	if m.Type.IsService() {
		return
	}
	var tm tcap.Message
	if err := tm.Decode(m.Data); err != nil {
		t.Fatalf("sent undecodable TCAP %x: %v", m.Data, err)
	}
}
