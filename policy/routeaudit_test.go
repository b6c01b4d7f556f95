package policy

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/store"
)

// auditView adds the provider list the audit needs to the fake view.
type auditView struct {
	*fakeView
	mu    sync.Mutex
	provs []store.Provider
}

func (v *auditView) ListProviders() []store.Provider {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]store.Provider(nil), v.provs...)
}

func (v *auditView) EgressRoute(p uint32) (store.Route, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fakeView.EgressRoute(p)
}

func newAuditView() *auditView {
	// Provider 1 uses east (both halves), 2 has none, 3 a SIP-only route.
	return &auditView{fakeView: fixture(), provs: []store.Provider{{ID: 1, Name: "acme"}, {ID: 2, Name: "globex"}, {ID: 3, Name: "initrode"}}}
}

func TestAuditRoutes(t *testing.T) {
	v := newAuditView()
	got := AuditRoutes(v, []TierReach{{Origin: OriginSIP}, {Origin: OriginAIN}})
	want := []RouteGap{
		{Origin: OriginAIN, Provider: "globex"},
		{Origin: OriginAIN, Provider: "initrode", Route: "sip-only"},
		{Origin: OriginSIP, Provider: "globex"},
	}
	if len(got) != len(want) {
		t.Fatalf("gaps %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("gap %d = %v, want %v", i, got[i], want[i])
		}
	}
	if s := got[1].String(); s != "ain: provider initrode uses route sip-only, which has no routing number" {
		t.Errorf("String = %q", s)
	}
	// A SIP tier with its own screening URI has no gaps.
	if g := AuditRoutes(v, []TierReach{{Origin: OriginSIP, DefaultRoute: true}}); len(g) != 0 {
		t.Errorf("gaps with a default: %v", g)
	}
}

// syncBuffer is a log sink the watcher goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until the log holds n lines (the watcher runs on a ticker).
func waitFor(t *testing.T, buf *syncBuffer, n int) []string {
	t.Helper()
	for i := 0; i < 500; i++ {
		if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); buf.String() != "" && len(lines) >= n {
			return lines
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log after 5s:\n%s\nwant %d lines", buf.String(), n)
	return nil
}

// TestWatchRoutes: a warning at start-up, one when the gaps change, an
// info when they are gone, and nothing while they stay the same.
func TestWatchRoutes(t *testing.T) {
	v := newAuditView()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	e := New(v, WithNoRouteFallback(FallbackBlock))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.WatchRoutes(ctx, v, []TierReach{{Origin: OriginSIP}}, time.Millisecond, log)
		close(done)
	}()
	lines := waitFor(t, &buf, 1)
	if !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "no_route_fallback=block") ||
		!strings.Contains(lines[0], "sip: provider globex has no egress route") {
		t.Fatalf("start-up warning: %s", lines[0])
	}
	time.Sleep(20 * time.Millisecond) // many audits, nothing changed
	if n := len(waitFor(t, &buf, 1)); n != 1 {
		t.Fatalf("%d lines for an unchanged audit:\n%s", n, buf.String())
	}

	// An operator gives globex a route without a SIP URI: still a gap, another one.
	v.mu.Lock()
	v.routes[2] = store.Route{Name: "ain-only", RoutingNumber: routeEast.RoutingNumber}
	v.mu.Unlock()
	lines = waitFor(t, &buf, 2)
	if !strings.Contains(lines[1], "level=WARN") || !strings.Contains(lines[1], "uses route ain-only, which has no SIP URI") {
		t.Fatalf("change warning: %s", lines[1])
	}
	// ... and then a SIP URI: no gap left.
	v.mu.Lock()
	v.routes[2] = routeEast
	v.mu.Unlock()
	lines = waitFor(t, &buf, 3)
	if !strings.Contains(lines[2], "level=INFO") || !strings.Contains(lines[2], "again") {
		t.Fatalf("all clear: %s", lines[2])
	}
	cancel()
	<-done
}
