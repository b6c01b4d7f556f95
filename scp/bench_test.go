package scp

import (
	"callgate/internal/benchcpu"
	"context"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/sigtran/m3ua"
	"callgate/simulators/ssp"
	"callgate/store/storetest"
)

// encodeSink encodes each answer as the M3UA DATA an association would
// write (what m3ua.Association.SendData does before queueing), into a
// reused buffer.
type encodeSink struct {
	buf []byte
	n   int
}

func (s *encodeSink) SendData(pd m3ua.ProtocolData) error {
	d := m3ua.Data{ProtocolData: pd, RoutingContext: 10, HasRoutingContext: true}
	var err error
	s.buf, err = d.AppendTo(s.buf[:0])
	s.n = len(s.buf)
	return err
}

// BenchmarkServeQuery is one query through the whole SCP path except the
// sockets: P-01Q's M3UA Protocol Data in (SCCP UDT, TCAP Query, AIN
// terminationAttempt), the real decision engine over the demo store
// (the called number is a subscriber, the caller unknown: subscriber, VIP,
// Blocked, provider-Blocked and route look-ups, answer forwardCall), the
// answer encoded down to M3UA DATA bytes.
func BenchmarkServeQuery(b *testing.B) {
	benchHandleP01Q(b, policy.New(storetest.Fixture(b)))
}

// benchHandleP01Q measures the CPU of handle answering P-01Q with dec's
// decision, down to the M3UA DATA bytes, checking the answer goes out and
// no dialogue is left open.
func benchHandleP01Q(b *testing.B, dec policy.Decider) {
	h := newHarness(b, testConfig(), dec)
	var d m3ua.Data
	if err := d.UnmarshalBinary(vectorM3UA(b, "P-01Q")); err != nil {
		b.Fatal(err)
	}
	sink := &encodeSink{buf: make([]byte, 0, 512)}
	pd := d.ProtocolData
	h.s.handle(h.w, sink, &pd, time.Now(), safeNone)
	if sink.n == 0 {
		b.Fatal("no answer")
	}
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		n++
		pd := d.ProtocolData
		h.s.handle(h.w, sink, &pd, time.Now(), safeNone)
	}
	clk.Stop(b, n)
	if h.s.tx.Len() != 0 {
		b.Fatalf("%d dialogues left open", h.s.tx.Len())
	}
}

// BenchmarkServeQueryShed is the cost of a query answered without the
// engine (safe answer + ACG under overload): what the SCP spends per query
// it sheds.
func BenchmarkServeQueryShed(b *testing.B) {
	cfg := testConfig()
	cfg.Overload.Capacity = 1000
	h := newHarness(b, cfg, policy.New(nil))
	var d m3ua.Data
	if err := d.UnmarshalBinary(vectorM3UA(b, "P-01Q")); err != nil {
		b.Fatal(err)
	}
	sink := &encodeSink{buf: make([]byte, 0, 512)}
	b.ReportAllocs()
	for b.Loop() {
		pd := d.ProtocolData
		h.s.handle(h.w, sink, &pd, time.Now(), safeBacklog)
	}
}

// BenchmarkLoopbackTCP drives a started SCP (SG on loopback TCP, real
// engine over the demo store) with the switch simulator, closed loop with
// 256 queries outstanding, b.N calls; it reports the answered rate and the
// latency percentiles as seen by the switch. Client and server share the
// machine, so this is a floor, not the SCP's capacity.
func BenchmarkLoopbackTCP(b *testing.B) {
	st := policy.New(storetest.Fixture(b))
	b.Run("workers", func(b *testing.B) { loopback(b, st, false, 0) })
	b.Run("inline", func(b *testing.B) { loopback(b, st, true, 0) })
	// Every query decided by a worker, handed on a read batch at a time.
	b.Run("handoff", func(b *testing.B) { loopback(b, st, false, -1) })
}

func loopback(b *testing.B, st policy.Decider, inline bool, inlineLimit time.Duration) {
	cfg := testConfig()
	cfg.Workers = 0 // GOMAXPROCS
	cfg.Inline = inline
	cfg.InlineLimit = inlineLimit
	svc, err := New(cfg, st)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer svc.Shutdown(ctx)
	cl, err := ssp.Dial(ctx, ssp.Config{Connect: []string{svc.Addr()}, RoutingContexts: []uint32{10}, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	// Called numbers over the demo provider's allocation: Alice and Bob
	// (screened, forwarded, blocked) and numbers nobody subscribed.
	called, err := ssp.ParseRange("+13035550100-+13035550199") // storetest.ProviderRange
	if err != nil {
		b.Fatal(err)
	}
	caller := e164.MustParse(storetest.UnknownCaller)
	b.ResetTimer()
	sum, err := cl.Load(ctx, ssp.LoadConfig{Calls: int64(b.N), Concurrency: 256, Duration: time.Hour,
		Scenarios: []ssp.Scenario{{TA: ssp.TA{Calling: caller}, Called: &called}}})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if sum.Answered != int64(b.N) {
		b.Fatalf("answered %d of %d (timeouts %d, errors %d %v)", sum.Answered, b.N, sum.Timeouts, sum.Errors, sum.ErrorSamples)
	}
	b.ReportMetric(sum.AnswerRate, "answers/s")
	b.ReportMetric(float64(sum.Latency.P50)/1e3, "p50-µs")
	b.ReportMetric(float64(sum.Latency.P99)/1e3, "p99-µs")
}
