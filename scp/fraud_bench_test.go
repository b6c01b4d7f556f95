package scp

import (
	"callgate/store"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/fraud"
	"callgate/policy"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/tcap"
	"callgate/store/storetest"
)

// BenchmarkServeInfoAnalyzed is one Info_Analyzed query through the SCP
// path (M3UA Protocol Data in, SCCP, TCAP, AIN, the engine, the answer
// encoded to M3UA DATA), with the fraud monitor off (the engine alone) and
// on (fraud.Wrap and the rate table as the engine's classifier: the line's
// group looked up, the lock checked, the allowed call opened as in
// progress; "locked": the group locked, the call refused). It reports the
// median and 99th percentile of the per-query time (p50-ns, p99-ns: the
// query alone); with fraud on and the call allowed, each iteration also
// applies the call's CDR, as the feed does in production, so the table of
// calls in progress stays at its steady state: ns/op includes that
// (bench/fraud/README.md).
func BenchmarkServeInfoAnalyzed(b *testing.B) {
	st := storetest.Fixture(b)
	dn, _ := ain.ParseDN("3035550100") // Alice
	arg := ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CalledPartyID: ain.Some(digits(b, "442079460000", ain.NOAInternational))}
	var d m3ua.Data
	if err := d.UnmarshalBinary(query(b, 0x601, tcap.QueryWithPermission, uint16(ain.OpInfoAnalyzed), arg.Marshal(nil), 248)); err != nil {
		b.Fatal(err)
	}
	monitor := func(b *testing.B, lock bool) *fraud.Monitor {
		m, err := fraud.New(fraud.DefaultConfig(), st, fraud.NewMemState())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.ImportRates(strings.NewReader("1,domestic,0.01\n44,international,1\n1900,premium,3\n"), "", store.Operator.By("bench", "test"), false); err != nil {
			b.Fatal(err)
		}
		if lock {
			alice := e164.MustParse(storetest.AliceNumber)
			_ = m.Record(fraud.CDR{Calling: alice, Called: e164.MustParse("+442079460000"), Start: time.Now().Add(-20 * time.Minute), Seconds: 1200})
			if err := m.Recompute(); err != nil || len(m.Locks()) != 1 {
				b.Fatalf("not locked: %v", err)
			}
		}
		return m
	}
	var m *fraud.Monitor // the monitor of the running sub-benchmark, nil when off
	for _, tc := range []struct {
		name   string
		engine func(b *testing.B) policy.Decider
		want   ain.OpCode
	}{
		{"fraud=off", func(*testing.B) policy.Decider { m = nil; return policy.New(st) }, ain.OpContinue},
		{"fraud=on", func(b *testing.B) policy.Decider {
			m = monitor(b, false)
			return fraud.Wrap(policy.New(st, policy.WithClassifier(m)), m)
		}, ain.OpContinue},
		{"fraud=on,locked", func(b *testing.B) policy.Decider {
			m = monitor(b, true)
			return fraud.Wrap(policy.New(st, policy.WithClassifier(m)), m)
		}, ain.OpDisconnect},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHarness(b, testConfig(), tc.engine(b))
			cdr := fraud.CDR{Calling: e164.MustParse(storetest.AliceNumber), Called: e164.MustParse("+442079460000"), Seconds: 1}
			closeCall := m != nil && tc.want == ain.OpContinue
			sink := &encodeSink{buf: make([]byte, 0, 512)}
			pd := d.ProtocolData
			out := &capture{}
			h.s.handle(h.w, out, &pd, time.Now(), safeNone)
			if op := ain.OpCode(decodeAnswer(b, out.one(b)).Components[0].Op.Code); op != tc.want {
				b.Fatalf("answer %v, want %v", op, tc.want)
			}
			lat := make([]int64, 0, 1<<20)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				pd := d.ProtocolData
				t0 := time.Now()
				h.s.handle(h.w, sink, &pd, t0, safeNone)
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(t0).Nanoseconds())
				}
				if closeCall {
					cdr.Start = t0
					_ = m.Record(cdr)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
		})
	}
}
