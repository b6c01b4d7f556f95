package redirect

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/policy"
	"callgate/stir"
	"callgate/stir/pki"
	"callgate/store"
)

// stirView is a store.View with one subscriber per provider policy, for
// the real engine.
type stirView struct {
	subs map[e164.Number]store.SubscriberView
}

func (v stirView) Subscriber(n e164.Number) (store.SubscriberView, bool) {
	s, ok := v.subs[n]
	return s, ok
}
func (stirView) InVIP(uint32, e164.Number) bool           { return false }
func (stirView) InBlocked(uint32, e164.Number) bool       { return false }
func (stirView) ProviderBlocked(uint32, e164.Number) bool { return false }
func (stirView) ProviderVIP(uint32, e164.Number) bool     { return false }
func (stirView) EgressRoute(uint32) (store.Route, bool)   { return store.Route{}, false }

var (
	subTagger   = e164.MustParse("+13035550301") // provider tags, C screened, failed rejected with the RFC 8224 code
	subBlocker  = e164.MustParse("+13035550302") // provider blocks C and failed
	stirCaller  = e164.MustParse("+12155551212")
	stirX5U     = "https://cert.example.net/sp.pem"
	stirSources = netip.MustParsePrefix("127.0.0.0/8")
)

type stirFixture struct {
	signer *stir.Signer
	v      *stir.Verifier
	engine *policy.Engine
}

func newStirFixture(t testing.TB) *stirFixture { return newStirFixtureAt(t, time.Now()) }

// newStirFixtureAt builds the PKI valid around now.
func newStirFixtureAt(t testing.TB, now time.Time) *stirFixture {
	t.Helper()
	p, err := pki.New(now.Add(-time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	leaf, key, err := p.IssueSP(pki.SP{SPC: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	cache := stir.NewCache(stir.CacheConfig{})
	if err := cache.Seed(stirX5U, pki.PEM(leaf, p.Inter)); err != nil {
		t.Fatal(err)
	}
	v, err := stir.NewVerifier(stir.Config{Anchors: []*x509.Certificate{p.Root}}, cache)
	if err != nil {
		t.Fatal(err)
	}
	s, err := stir.NewSigner(key.(*ecdsa.PrivateKey), stirX5U)
	if err != nil {
		t.Fatal(err)
	}
	view := stirView{subs: map[e164.Number]store.SubscriberView{
		subTagger: {ID: 31, Provider: 3, Name: "tagged", Unknown: store.TreatAllow, Anonymous: store.TreatAllow,
			Stir: store.StirPolicy{OnC: store.StirScreen, OnFailed: store.StirReject, Tag: true, VerifiedTag: "verified", UnknownTag: "unknown"}},
		subBlocker: {ID: 32, Provider: 4, Name: "blocked", Unknown: store.TreatAllow, Anonymous: store.TreatAllow,
			Stir: store.StirPolicy{OnC: store.StirBlock, OnFailed: store.StirBlock}},
	}}
	return &stirFixture{signer: s, v: v, engine: policy.New(view)}
}

func (f *stirFixture) identity(t testing.TB, attest string, called e164.Number) string {
	id, err := f.signer.Identity(stir.Claims{Attest: attest, OrigTN: stirCaller.String(), DestTN: []string{called.String()},
		OrigID: "origid-1", Iat: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func stirInvite(called e164.Number, extra ...string) string {
	return req{ruri: "sip:" + called.String() + "@callgate.example;user=phone",
		from:  `"Alice" <sip:` + stirCaller.String() + `@sbc.example;user=phone>;tag=s1`,
		extra: extra}.String()
}

// TestStirVerification: INVITEs with Identity through the redirect server
// and the real engine, on both UDP paths.
func TestStirVerification(t *testing.T) {
	f := newStirFixture(t)
	eachMode(t, func(t *testing.T, m testMode) {
		cfg := m.config()
		cfg.Verifier = f.v
		cfg.Reject608 = true
		rec := &recordingDecider{d: f.engine}
		s := startServer(t, cfg, rec)
		c := newUDPClient(t, s)
		// The signature's first character changed: still 64 bytes, no longer valid.
		good := f.identity(t, "A", subTagger)
		sig := strings.LastIndexByte(good[:strings.IndexByte(good, ';')], '.') + 1
		flipped := byte('A')
		if good[sig] == 'A' {
			flipped = 'B'
		}
		tampered := good[:sig] + string(flipped) + good[sig+1:]

		for _, tc := range []struct {
			name     string
			called   e164.Number
			identity []string
			code     int
			reason   string
			pai      string
			attest   string
			att      policy.Attestation
			stirWhy  string
		}{
			{"A: 302, verstat passed, tagged verified", subTagger, []string{"Identity: " + f.identity(t, "A", subTagger)},
				302, "", `"verified Alice" <tel:+12155551212;verstat=TN-Validation-Passed>`, "A", policy.AttestationA, "ok"},
			{"compact y, B: verified", subTagger, []string{"y: " + f.identity(t, "B", subTagger)},
				302, "", `"verified Alice" <tel:+12155551212;verstat=TN-Validation-Passed>`, "B", policy.AttestationB, "ok"},
			{"no Identity: No-TN-Validation, tagged unknown", subTagger, nil,
				302, "", `"unknown Alice" <tel:+12155551212;verstat=No-TN-Validation>`, "", policy.AttestationNone, ""},
			{"C to a screening provider: 302 to the B2BUA", subTagger, []string{"Identity: " + f.identity(t, "C", subTagger)},
				302, "", "", "", policy.AttestationC, "ok"},
			{"tampered to a rejecting provider: 438", subTagger, []string{"Identity: " + tampered},
				438, "Invalid Identity Header", "", "", policy.AttestationFailed, "signature-invalid"},
			{"C to a blocking provider: 608", subBlocker, []string{"Identity: " + f.identity(t, "C", subBlocker)},
				608, "", "", "", policy.AttestationC, "ok"},
			{"dest of another number: failed, blocked 608", subBlocker, []string{"Identity: " + f.identity(t, "A", subTagger)},
				608, "", "", "", policy.AttestationFailed, "dest-mismatch"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := c.exchange(stirInvite(tc.called, tc.identity...))
				if res.StatusCode != tc.code || (tc.reason != "" && res.Reason != tc.reason) {
					t.Fatalf("%d %s, want %d %s (stir reason %q)\n%s", res.StatusCode, res.Reason, tc.code, tc.reason, rec.last().AttestationReason, res)
				}
				if got := header(res, HeaderPAI); got != tc.pai {
					t.Fatalf("P-Asserted-Identity %q, want %q", got, tc.pai)
				}
				if got := header(res, HeaderAttestationIndicator); got != tc.attest {
					t.Fatalf("P-Attestation-Indicator %q, want %q", got, tc.attest)
				}
				call := rec.last()
				if call.Attestation != tc.att || call.AttestationReason != tc.stirWhy {
					t.Fatalf("engine saw attestation %s reason %q, want %s %q", call.Attestation, call.AttestationReason, tc.att, tc.stirWhy)
				}
				if tc.code == 302 && tc.att == policy.AttestationC && !strings.Contains(header(res, "Contact"), "b2bua") {
					t.Fatalf("C call not screened: %s", header(res, "Contact"))
				}
			})
		}
	})
}

// TestStirAuthentication: an originator's INVITE without Identity gets a
// 302 carrying one, with the attestation of ATIS-1000074; the Identity it
// carries verifies.
func TestStirAuthentication(t *testing.T) {
	f := newStirFixture(t)
	owner := map[e164.Number]string{stirCaller: "initech"}
	for _, tc := range []struct {
		name, customer, attest string
	}{
		{"customer's own number: A", "initech", "A"},
		{"known customer, another's number: B", "globex", "B"},
		{"gateway: C", "", "C"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Signer = f.signer
			cfg.Originators = []Originator{{Name: "pbx", Sources: []netip.Prefix{stirSources}, Customer: tc.customer, OrigID: "pbx-origid"}}
			cfg.NumberOwner = func(n e164.Number) (string, bool) { o, ok := owner[n]; return o, ok }
			s := startServer(t, cfg, newFakeDecider())
			c := newUDPClient(t, s)
			res := c.exchange(stirInvite(nonSub))
			id := header(res, "Identity")
			if res.StatusCode != 302 || id == "" {
				t.Fatalf("%d without Identity:\n%s", res.StatusCode, res)
			}
			in := stirInvite(nonSub, "Identity: "+id)
			r, err := stir.RequestFromSIP([]byte(in), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			v := f.v.Verify(t.Context(), r)
			if v.Verdict != stir.VerdictValid || v.Attestation.String() != tc.attest || v.OrigID != "pbx-origid" {
				t.Fatalf("signed Identity verifies as %+v", v)
			}
			// An INVITE that already has an Identity is not signed again.
			if res := c.exchange(in); header(res, "Identity") != "" {
				t.Fatal("signed twice")
			}
		})
	}
}

// recordingDecider remembers the calls it was asked about.
type recordingDecider struct {
	d     policy.Decider
	mu    sync.Mutex
	calls []policy.Call
}

func (r *recordingDecider) Decide(ctx context.Context, c policy.Call) policy.Decision {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return r.d.Decide(ctx, c)
}

func (r *recordingDecider) last() policy.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[len(r.calls)-1]
}

// equivTime is equivServer's clock; equivStir's PASSporTs are signed then.
var equivTime = time.Unix(1_800_000_000, 0)

var (
	equivOnce sync.Once
	equivFix  *stirFixture
)

// equivStir is the verifier the fast/fallback equivalence tests run with.
func equivStir(t testing.TB) *stirFixture {
	equivOnce.Do(func() { equivFix = newStirFixtureAt(t, equivTime) })
	return equivFix
}

// stirSeeds are INVITEs with Identity headers (full and compact names,
// valid, to another number, tampered, two headers) for the equivalence
// tests and the fuzzer.
func stirSeeds(t testing.TB) []string {
	f := equivStir(t)
	sign := func(attest string, called e164.Number) string {
		id, err := f.signer.Identity(stir.Claims{Attest: attest, OrigTN: "+12125550199", DestTN: []string{called.String()}, OrigID: "o", Iat: equivTime})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	good := sign("A", subscriber)
	return []string{
		req{extra: []string{"Identity: " + good}}.String(),
		req{extra: []string{"y: " + sign("C", subscriber)}}.String(),
		req{extra: []string{"Identity: " + sign("B", nonSub)}}.String(),
		req{extra: []string{"Identity: " + strings.Replace(good, ".", ".x", 1)}}.String(),
		req{extra: []string{"Identity: garbage;info=<https://x/y>", "IDENTITY: " + good}}.String(),
		req{extra: []string{"Identity: " + good + ", " + sign("C", subscriber)}}.String(),
	}
}

// TestStirCacheMetrics: the verification cache's entries and fetches are
// on /metrics, so a certificate repository that stopped answering shows as
// fetch failures, not only as calls verified x5u-fetch.
func TestStirCacheMetrics(t *testing.T) {
	f := newStirFixture(t)
	p, err := pki.New(time.Now().Add(-time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := p.IssueSP(pki.SP{SPC: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	// The fetcher refuses a loopback x5u (a private address): a failure
	// without a network.
	unfetchable, err := stir.NewSigner(key.(*ecdsa.PrivateKey), "https://127.0.0.1:9/sp.pem")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg := testConfig()
	cfg.Verifier = f.v
	s := startServer(t, cfg, newFakeDecider(), WithRegisterer(reg))
	value := func(name, kind string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if mf.GetName() != name || (kind != "" && m.GetLabel()[0].GetValue() != kind) {
					continue
				}
				if g := m.GetGauge(); g != nil {
					return g.GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
		t.Fatalf("no metric %s %s", name, kind)
		return 0
	}
	if got := value("callgate_sip_stir_cached", "certificate"); got != 1 {
		t.Fatalf("stir_cached{certificate} = %v, want the 1 seeded", got)
	}
	id, err := unfetchable.Identity(stir.Claims{Attest: "A", OrigTN: stirCaller.String(), DestTN: []string{subTagger.String()}, OrigID: "o", Iat: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	newUDPClient(t, s).exchange(stirInvite(subTagger, "Identity: "+id))
	deadline := time.Now().Add(5 * time.Second)
	for value("callgate_sip_stir_fetch_failures_total", "") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the refused x5u fetch was not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := value("callgate_sip_stir_fetches_total", ""); got != 1 {
		t.Errorf("stir_fetches_total = %v, want 1", got)
	}
	if got := value("callgate_sip_stir_cached", "certificate"); got != 2 {
		t.Errorf("stir_cached{certificate} = %v, want 2 (the failure kept for its negative time-to-live)", got)
	}
	if got := value("callgate_sip_stir_fetches_busy_total", ""); got != 0 {
		t.Errorf("stir_fetches_busy_total = %v", got)
	}
}
