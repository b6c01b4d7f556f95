package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/policy/token"
	"callgate/redirect"
)

// sipTier runs the SIP redirect server (package redirect) as a Tier.
type sipTier struct {
	srv    *redirect.Server
	deps   *tierDeps
	cancel context.CancelFunc
	done   chan error
}

// newSIPTier maps the sip: section onto redirect.Config.
func newSIPTier(d *tierDeps) (Tier, error) {
	c := &d.Config.SIP
	if !c.Enabled {
		return nil, nil
	}
	secrets, err := c.TokenSecrets()
	if err != nil {
		return nil, err
	}
	var keys []token.Key
	for id, s := range secrets {
		keys = append(keys, token.Key{ID: id, Secret: s})
	}
	if len(keys) == 0 {
		// No shared secret configured: a per-run key is safe (tokens live a
		// minute and nothing outside this process verifies them yet).
		secret := make([]byte, token.MinSecretLen)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("sip: make a screening-token key: %w", err)
		}
		keys = []token.Key{{ID: c.TokenKeyID, Secret: secret}}
		d.Logger.Info("sip: no token_keys configured; screening tokens are signed with a random per-run key (set sip.token_keys when the B2BUA runs in another process)")
	}
	srv, err := redirect.New(redirect.Config{
		UDP: c.UDP, TCP: c.TCP, TLS: c.TLS, TLSCertFile: c.TLSCertFile, TLSKeyFile: c.TLSKeyFile,
		ContinueRoute: c.ContinueRoute, RouteOverrides: c.RouteOverrides, ScreeningURI: c.ScreeningURI,
		Reject608: c.Reject608, RejectInfoURL: c.RejectInfoURL,
		TokenKeys: keys, TokenKeyID: c.TokenKeyID, TokenLifetime: c.TokenLifetime,
		MaxInFlight: c.MaxInFlight, MaxRate: c.MaxRate, RateBurst: c.RateBurst, RetryAfter: c.RetryAfter,
		DecideTimeout: c.DecideTimeout, ServerName: c.ServerName,
		Stateful: c.Stateful, UDPReaders: c.UDPReaders,
		Logger: d.Logger.With("tier", "sip"),
	}, d.Decider)
	if err != nil {
		return nil, fmt.Errorf("sip tier (config section sip:): %w", err)
	}
	t := &sipTier{srv: srv, deps: d}
	t.registerMetrics()
	return t, nil
}

func (t *sipTier) Name() string { return "sip" }

func (t *sipTier) Start(ctx context.Context) error {
	if err := t.srv.Listen(); err != nil {
		return err
	}
	// The server's own context, not the daemon's: Shutdown decides when it
	// stops, after the signal, in order with the other tiers.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.cancel = cancel
	t.done = make(chan error, 1)
	go func() {
		err := t.srv.Serve(sctx)
		if err != nil && sctx.Err() == nil {
			t.deps.Fail(err)
		}
		t.done <- err
	}()
	return nil
}

// Shutdown closes the listeners; INVITEs already read are answered (the
// decision takes microseconds and never blocks).
func (t *sipTier) Shutdown(ctx context.Context) error {
	if t.cancel == nil {
		return nil
	}
	t.cancel()
	select {
	case err := <-t.done:
		t.done <- err // later calls see it too
		return err
	case <-ctx.Done():
		return errors.New("SIP listeners did not close within the shutdown timeout")
	}
}

// Describe lists the bound addresses (ports resolved when configured as :0).
func (t *sipTier) Describe() string {
	var parts []string
	for _, n := range []string{"udp", "tcp", "tls"} {
		if a := t.srv.Addr(n); a != nil {
			parts = append(parts, n+"/"+a.String())
		}
	}
	return strings.Join(parts, " ")
}

// registerMetrics exports the server's counters, read at scrape time.
func (t *sipTier) registerMetrics() {
	m := t.deps.Metrics
	kinds := []struct {
		kind string
		get  func(redirect.Stats) uint64
	}{
		{"redirect", func(s redirect.Stats) uint64 { return s.Redirects }},
		{"screen", func(s redirect.Stats) uint64 { return s.Screened }},
		{"decline", func(s redirect.Stats) uint64 { return s.Declined }},
		{"overload", func(s redirect.Stats) uint64 { return s.Overload }},
		{"malformed", func(s redirect.Stats) uint64 { return s.Malformed }},
		{"options", func(s redirect.Stats) uint64 { return s.Options }},
		{"other", func(s redirect.Stats) uint64 { return s.Other }},
		{"decide_error", func(s redirect.Stats) uint64 { return s.DecideErrors }},
		{"decide_panic", func(s redirect.Stats) uint64 { return s.DecidePanics }},
		{"decide_late", func(s redirect.Stats) uint64 { return s.DecideLate }},
	}
	for _, k := range kinds {
		m.CounterFunc("sip_responses_total", "SIP responses by kind: redirect (302 continue), screen (302 to the B2BUA), decline (603/608), overload (503), malformed (4xx), options, other, decide_error (500), decide_panic (500), decide_late (503).",
			prometheus.Labels{"kind": k.kind}, func() float64 { return float64(k.get(t.srv.Stats())) })
	}
	m.CounterFunc("sip_invites_total", "INVITEs answered by the SIP redirect server.", nil,
		func() float64 { return float64(t.srv.Stats().Invites) })
	m.CounterFunc("sip_no_route_fallback_total", "INVITEs the engine answered with its no-route fallback (engine.no_route_fallback): the treatment needed the B2BUA, the route has no SIP URI and sip.screening_uri is not set.", nil,
		func() float64 { return float64(t.srv.Stats().NoRouteFallback) })
	m.CounterFunc("sip_requests_parsed_total", "UDP requests by parser: fast (the stateless scanner) or fallback (the full SIP parser, for what the scanner does not take).",
		prometheus.Labels{"parser": "fast"}, func() float64 { return float64(t.srv.Stats().FastPath) })
	m.CounterFunc("sip_requests_parsed_total", "UDP requests by parser: fast (the stateless scanner) or fallback (the full SIP parser, for what the scanner does not take).",
		prometheus.Labels{"parser": "fallback"}, func() float64 { return float64(t.srv.Stats().Fallback) })
	m.CounterFunc("sip_send_errors_total", "SIP responses the transport failed to send.", nil,
		func() float64 { return float64(t.srv.Stats().SendErrors) })
}
