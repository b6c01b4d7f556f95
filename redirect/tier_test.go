package redirect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The daemon runs the server through Start, Ready, Drain and Stop: while
// draining, new INVITEs get 503 with Retry-After, the one being decided is
// still answered, and Drain returns only after it was.
func TestTierLifecycleDrainsInFlightInvites(t *testing.T) {
	eachMode(t, func(t *testing.T, m testMode) {
		d := newFakeDecider()
		reg := prometheus.NewRegistry()
		var failed []error
		s, err := New(m.config(), d, WithRegisterer(reg), WithFailFunc(func(err error) { failed = append(failed, err) }))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "not started") {
			t.Errorf("Ready before Start: %v", err)
		}
		ctx := context.Background()
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(); err != nil {
			t.Errorf("Ready after Start: %v", err)
		}
		if s.Name() != "sip" || !strings.Contains(s.Describe(), "udp/127.0.0.1:") || !strings.Contains(s.Describe(), "tcp/127.0.0.1:") {
			t.Errorf("Name %q, Describe %q", s.Name(), s.Describe())
		}
		c := newUDPClient(t, s)

		// One INVITE held in the engine.
		d.mu.Lock()
		d.block = make(chan struct{})
		d.mu.Unlock()
		c.send(req{}.String())
		for s.inflight.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		drained := make(chan error, 1)
		go func() { drained <- s.Drain(ctx) }()
		for s.Ready() == nil {
			time.Sleep(time.Millisecond)
		}
		if err := s.Ready(); !strings.Contains(err.Error(), "draining") {
			t.Errorf("Ready while draining: %v", err)
		}
		// New work is refused once draining ...
		res := c.exchange(req{ruri: "sip:+13035550200@callgate.example;user=phone"}.String())
		if res.StatusCode != 503 || header(res, "Retry-After") == "" {
			t.Errorf("INVITE while draining: want 503 with Retry-After, got\n%s", res)
		}
		// ... while the INVITE already being decided keeps Drain waiting.
		select {
		case err := <-drained:
			t.Fatalf("Drain returned (%v) with an INVITE still being decided", err)
		default:
		}
		close(d.block)
		res = c.read(10 * time.Second)
		for res != nil && res.StatusCode < 200 { // 100 Trying (stateful, slow decision)
			res = c.read(10 * time.Second)
		}
		if res == nil || res.StatusCode != 302 {
			t.Fatalf("the INVITE in flight when draining began: %v, want its 302", res)
		}
		if err := <-drained; err != nil {
			t.Errorf("Drain: %v", err)
		}
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "stopped") {
			t.Errorf("Ready after Stop: %v", err)
		}
		if len(failed) != 0 {
			t.Errorf("Stop reported as a failure: %v", failed)
		}
		if got := gathered(t, reg, "callgate_sip_invites_total"); got < 2 {
			t.Errorf("callgate_sip_invites_total = %v", got)
		}
	})
}

// gathered returns the value of the named counter (no labels) in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// Two servers can register on one registry only once: the second is an
// error from New, not a panic at scrape time.
func TestMetricsRegisteredOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(testConfig(), newFakeDecider(), WithRegisterer(reg)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(testConfig(), newFakeDecider(), WithRegisterer(reg)); err == nil || !strings.Contains(err.Error(), "registering metrics") {
		t.Errorf("second server on one registry: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "callgate_sip_responses_total" && len(mf.Metric) != 11 {
			t.Errorf("callgate_sip_responses_total: %d series, want one per kind (11)", len(mf.Metric))
		}
	}
}
