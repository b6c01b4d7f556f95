package stir_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/stir"
)

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::1": false,
		"fe80::1": false, "fd00::1": false, "::ffff:127.0.0.1": false, "224.0.0.1": false,
		"8.8.8.8": true, "2001:4860:4860::8888": true,
	} {
		if got := stir.PublicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: %v, want %v", addr, got, want)
		}
	}
}

// TestFetcherRefusals: the fetcher refuses what an attacker's x5u could
// make it do: private addresses (first hop and redirects), http, bodies over
// the cap, too many redirects, slow servers.
func TestFetcherRefusals(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write([]byte("body"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big)) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	strict := stir.NewFetcher(stir.FetchConfig{AllowHTTP: true})
	if _, err := strict.Fetch(ctx, srv.URL+"/ok", false); err == nil || !strings.Contains(err.Error(), "address refused") {
		t.Fatalf("loopback fetched without the lab setting: %v", err)
	}
	httpsOnly := stir.NewFetcher(stir.FetchConfig{AllowPrivate: true})
	var se *stir.SchemeError
	if _, err := httpsOnly.Fetch(ctx, srv.URL+"/ok", false); !errors.As(err, &se) {
		t.Fatalf("http x5u fetched: %v", err)
	}
	if _, err := httpsOnly.Fetch(ctx, srv.URL+"/ok", true); err != nil {
		t.Fatalf("http CRL refused: %v", err)
	}
	if _, err := httpsOnly.Fetch(ctx, "ftp://example.net/x", false); !errors.As(err, &se) {
		t.Fatalf("ftp: %v", err)
	}
	lab := stir.NewFetcher(stir.FetchConfig{AllowHTTP: true, AllowPrivate: true, MaxBytes: 64 << 10, Timeout: 300 * time.Millisecond})
	if _, err := lab.Fetch(ctx, srv.URL+"/ok", false); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Fetch(ctx, srv.URL+"/big", false); err == nil || !strings.Contains(err.Error(), "cap") {
		t.Fatalf("100 KiB body under a 64 KiB cap: %v", err)
	}
	if _, err := lab.Fetch(ctx, srv.URL+"/loop", false); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
	if _, err := lab.Fetch(ctx, srv.URL+"/slow", false); err == nil {
		t.Fatal("slow server: no time-out")
	}

	// A public-looking https URL redirecting to a private address: the
	// redirect's dial is refused. The first hop is a lab server, so allow
	// it through a fetcher whose only exemption is that one address.
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	}))
	defer redir.Close()
	if _, err := strict.Fetch(ctx, redir.URL, false); err == nil {
		t.Fatal("redirect to link-local followed")
	}
}

// TestCacheMiss: a miss starts one background fetch; the call waits no
// longer than MissWait; a failed fetch is remembered (negative cache).
func TestCacheMiss(t *testing.T) {
	f := getFixture(t)
	var hits atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/sp.pem":
			<-release
			w.Write(f.bodies[x5uGood])
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	defer close(release)
	cache := stir.NewCache(stir.CacheConfig{Fetch: stir.FetchConfig{AllowHTTP: true, AllowPrivate: true}})
	v, err := stir.NewVerifier(stir.Config{Anchors: f.verifierAnchors()}, cache)
	if err != nil {
		t.Fatal(err)
	}
	s, err := stir.NewSigner(f.keysECDSA(x5uGood), srv.URL+"/sp.pem")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := s.Identity(stir.Claims{Attest: "A", OrigTN: "+12155551212", DestTN: []string{"+12155550100"}, OrigID: "o", Iat: t0})
	for i := 0; i < 3; i++ {
		r := verifyInvite(t, v, defaultInvite("Identity: "+id), t0)
		if r.Verdict != stir.VerdictNone || r.Reason != stir.ReasonX5uPending || r.Verstat() != stir.VerstatNone {
			t.Fatalf("miss %d: %+v", i, r)
		}
	}
	release <- struct{}{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := verifyInvite(t, v, defaultInvite("Identity: "+id), t0)
		if r.Verdict == stir.VerdictValid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never became valid: %+v", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d fetches for one URL, want 1", n)
	}
	// Negative cache: a 404 is fetched once, then served from the cache.
	s404, _ := stir.NewSigner(f.keysECDSA(x5uGood), srv.URL+"/missing.pem")
	id404, _ := s404.Identity(stir.Claims{Attest: "A", OrigTN: "+12155551212", DestTN: []string{"+12155550100"}, OrigID: "o", Iat: t0})
	held, _ := stir.NewVerifier(stir.Config{Anchors: f.verifierAnchors(), MissWait: 5 * time.Second}, cache)
	for i := 0; i < 3; i++ {
		r := verifyInvite(t, held, defaultInvite("Identity: "+id404), t0)
		if r.Reason != stir.ReasonX5uFetch || r.ResponseCode() != 436 {
			t.Fatalf("404 x5u: %+v", r)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("%d fetches after the 404 was cached, want 2", n)
	}
}

// TestFetchFloodBounded: x5u URLs come from PASSporTs nobody has verified
// yet. A flood of distinct ones at a server that never answers must not
// queue fetches without end: a fetch that finds no slot within Timeout
// gives up, its call stays x5u-pending (not a cached 436), and the URL is
// tried again by a later call.
func TestFetchFloodBounded(t *testing.T) {
	f := getFixture(t)
	var answering atomic.Bool
	var seen sync.Map // paths that reached the server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answering.Load() {
			seen.Store(r.URL.Path, true)
			<-r.Context().Done() // a tarpit: the fetcher's time-out ends it
			return
		}
		w.Write(f.bodies[x5uGood])
	}))
	defer srv.Close()
	const timeout = 200 * time.Millisecond
	cache := stir.NewCache(stir.CacheConfig{Fetch: stir.FetchConfig{AllowHTTP: true, AllowPrivate: true, MaxConcurrent: 1, Timeout: timeout}})
	v, err := stir.NewVerifier(stir.Config{Anchors: f.verifierAnchors()}, cache)
	if err != nil {
		t.Fatal(err)
	}
	path := func(i int) string { return fmt.Sprintf("/flood/%d.pem", i) }
	identity := func(i int) string {
		s, err := stir.NewSigner(f.keysECDSA(x5uGood), srv.URL+path(i))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := s.Identity(stir.Claims{Attest: "A", OrigTN: "+12155551212", DestTN: []string{"+12155550100"}, OrigID: "o", Iat: t0})
		return id
	}
	call := func(i int) stir.Result { return verifyInvite(t, v, defaultInvite("Identity: "+identity(i)), t0) }
	base := runtime.NumGoroutine()
	// The first URL takes the only slot; the flood, a little later, waits.
	call(0)
	time.Sleep(timeout / 4)
	const flood = 60
	for i := 1; i <= flood; i++ {
		if r := call(i); r.Reason != stir.ReasonX5uPending {
			t.Fatalf("flood call %d: %+v", i, r)
		}
	}
	// Unbounded, the one slot would serve one tarpit request per time-out
	// and hold most of the flood waiting for seconds.
	time.Sleep(5 * timeout)
	if extra := runtime.NumGoroutine() - base; extra > flood/3 {
		t.Fatalf("%d goroutines still held %s after a flood of %d x5u URLs", extra, 5*timeout, flood)
	}
	if st := cache.Stats(); st.FetchBusy == 0 {
		t.Fatalf("no fetch given up for want of a slot: %+v", st)
	}
	// A URL given up is not remembered as failed: once the server answers,
	// a later call fetches it and verifies.
	dropped := -1
	for i := 1; i <= flood && dropped < 0; i++ {
		if _, ok := seen.Load(path(i)); !ok {
			dropped = i
		}
	}
	if dropped < 0 {
		t.Fatal("every URL of the flood was fetched")
	}
	answering.Store(true)
	waitUntil(t, func() bool {
		r := call(dropped)
		if r.Verdict == stir.VerdictInvalid {
			t.Fatalf("a URL given up for want of a slot failed the call: %+v", r)
		}
		return r.Verdict == stir.VerdictValid
	})
}

// TestMissWaitPerCall: MissWait bounds the whole call, not each fetch: an
// INVITE with three Identity headers whose certificates never arrive is
// held MissWait once, not three times (the tier's budget counts on it).
func TestMissWaitPerCall(t *testing.T) {
	f := getFixture(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	const wait = 300 * time.Millisecond
	cache := stir.NewCache(stir.CacheConfig{Fetch: stir.FetchConfig{AllowHTTP: true, AllowPrivate: true}})
	v, err := stir.NewVerifier(stir.Config{Anchors: f.verifierAnchors(), MissWait: wait}, cache)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 3; i++ {
		s, err := stir.NewSigner(f.keysECDSA(x5uGood), fmt.Sprintf("%s/slow/%d.pem", srv.URL, i))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := s.Identity(stir.Claims{Attest: "A", OrigTN: "+12155551212", DestTN: []string{"+12155550100"}, OrigID: "o", Iat: t0})
		ids = append(ids, "Identity: "+id)
	}
	start := time.Now()
	r := verifyInvite(t, v, defaultInvite(ids...), t0)
	took := time.Since(start)
	if r.Reason != stir.ReasonX5uPending {
		t.Fatalf("%+v", r)
	}
	if took > 2*wait {
		t.Fatalf("held %s for three uncached certificates, MissWait is %s", took.Round(time.Millisecond), wait)
	}
}
