package stir_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"callgate/stir"
	"callgate/stir/pki"
)

// TestCRLFromDistributionPoint: the CRL is fetched from the certificate's
// distribution point off the call path, and refreshed in the background:
// a revocation published later is seen without a restart.
func TestCRLFromDistributionPoint(t *testing.T) {
	var crl atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(*crl.Load())
	}))
	defer srv.Close()
	p, err := pki.New(t0.Add(-24*time.Hour), srv.URL+"/inter.crl")
	if err != nil {
		t.Fatal(err)
	}
	leaf, key, err := p.IssueSP(pki.SP{SPC: "1234", Serial: 4242})
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := p.CRL(nil, t0.Add(-time.Hour), t0.Add(time.Hour))
	revoking, _ := p.CRL([]*big.Int{big.NewInt(4242)}, t0.Add(-time.Hour), t0.Add(time.Hour))
	crl.Store(&empty)

	cache := stir.NewCache(stir.CacheConfig{Fetch: stir.FetchConfig{AllowPrivate: true}, CRLRefresh: time.Millisecond})
	if err := cache.Seed(x5uGood, pki.PEM(leaf, p.Inter)); err != nil {
		t.Fatal(err)
	}
	v, err := stir.NewVerifier(stir.Config{Anchors: []*x509.Certificate{p.Root}}, cache)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := stir.NewSigner(key.(*ecdsa.PrivateKey), x5uGood)
	id, _ := s.Identity(stir.Claims{Attest: "A", OrigTN: "+12155551212", DestTN: []string{"+12155550100"}, OrigID: "o", Iat: t0})
	call := func() stir.Result { return verifyInvite(t, v, defaultInvite("Identity: "+id), t0) }

	// First call: the CRL is not there yet; the call passes with a warning.
	if r := call(); r.Verdict != stir.VerdictValid || len(r.Warnings) == 0 {
		t.Fatalf("first call: %+v", r)
	}
	waitUntil(t, func() bool { r := call(); return r.Verdict == stir.VerdictValid && len(r.Warnings) == 0 })
	crl.Store(&revoking)
	time.Sleep(2 * time.Millisecond) // past CRLRefresh
	cache.RefreshCRLs()
	waitUntil(t, func() bool { return call().Reason == stir.ReasonRevoked })
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
