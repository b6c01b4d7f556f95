package redirect

import "testing"

// BenchmarkStatelessStir: the whole stateless handling of an INVITE to a
// subscriber whose provider tags display names (real engine), with the
// verification service off, on without an Identity header, and on with a
// valid Identity (warm certificate cache: one ES256 verification per call).
// calls/s = 1e9 / ns/op per core; see bench/stir/README.md.
func BenchmarkStatelessStir(b *testing.B) {
	f := newStirFixture(b)
	id := f.identity(b, "A", subTagger)
	for _, c := range []struct {
		name   string
		verify bool
		msg    string
	}{
		{"verifier-off", false, stirInvite(subTagger)},
		{"no-identity", true, stirInvite(subTagger)},
		{"identity", true, stirInvite(subTagger, "Identity: "+id)},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := testConfig()
			if c.verify {
				cfg.Verifier = f.v
			}
			s, err := New(cfg, f.engine)
			if err != nil {
				b.Fatal(err)
			}
			data := []byte(c.msg)
			r := newUDPReader()
			b.ReportAllocs()
			cpu := startCPU(b)
			for b.Loop() {
				out, _, ok := s.handleDatagram(r, data, benchSrc)
				if !ok || len(out) < 12 || out[8] != '3' {
					b.Fatalf("response %q", out)
				}
			}
			cpu.report()
			if st := s.Stats(); st.Fallback != 0 {
				b.Fatalf("fallback used: %+v", st)
			}
		})
	}
}
