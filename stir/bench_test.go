package stir_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"callgate/stir"
)

// BenchmarkVerify is one INVITE's verification with a warm certificate
// cache (certificate, chain and CRL already checked once): the Identity
// header is parsed, the PASSporT decoded and checked, the ES256 signature
// verified and orig/dest matched. 256 distinct PASSporTs rotate so no
// per-token shortcut could help. b.RunParallel: run with -cpu 2 for the
// 2-core figure in bench/stir/README.md.
func BenchmarkVerify(b *testing.B) {
	f := getFixture(b)
	v := f.verifier(b, stir.Config{})
	s := newSigner(b, x5uGood)
	reqs := make([]*stir.Request, 256)
	for i := range reqs {
		id, err := s.Identity(stir.Claims{Attest: "A", OrigTN: "+12155551212", DestTN: []string{"+12155550100"},
			OrigID: fmt.Sprintf("origid-%d", i), Iat: t0})
		if err != nil {
			b.Fatal(err)
		}
		req, err := stir.RequestFromSIP(defaultInvite("Identity: "+id).bytes(), t0.Add(time.Second))
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = req
	}
	if r := v.Verify(context.Background(), reqs[0]); r.Verdict != stir.VerdictValid {
		b.Fatalf("%+v", r)
	}
	var n atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := int(n.Add(1)) * 97
		for pb.Next() {
			i++
			if r := v.Verify(ctx, reqs[i%len(reqs)]); r.Verdict != stir.VerdictValid {
				b.Fatalf("%+v", r)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifications/s")
}

// BenchmarkDecodePassport is the parsing part alone.
func BenchmarkDecodePassport(b *testing.B) {
	tok := seedIdentity(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := stir.DecodePassport(tok); err != nil {
			b.Fatal(err)
		}
	}
}
