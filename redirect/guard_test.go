package redirect

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/token"
	"callgate/store"
	"callgate/store/storetest"
)

type decideFunc func(ctx context.Context, c policy.Call) policy.Decision

func (f decideFunc) Decide(ctx context.Context, c policy.Call) policy.Decision { return f(ctx, c) }

// tcpExchange sends requests over one TCP connection (sipgo's path).
func tcpExchange(t *testing.T, s *Server) func(req) *sip.Response {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rd := bufio.NewReader(conn)
	return func(r req) *sip.Response {
		t.Helper()
		r.via = "SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-g" + itoa(seq+1)
		if _, err := conn.Write([]byte(r.String())); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		return readStreamResponse(t, rd)
	}
}

// eachTransport runs f over stateless UDP, stateful UDP and TCP, with a
// server over d built from cfg.
func eachTransport(t *testing.T, cfg Config, d policy.Decider, f func(t *testing.T, s *Server, exchange func(req) *sip.Response)) {
	for _, m := range testModes {
		t.Run(m.name, func(t *testing.T) {
			c := cfg
			c.Stateful = m.stateful
			s := startServer(t, c, d)
			cl := newUDPClient(t, s)
			f(t, s, func(r req) *sip.Response { t.Helper(); return cl.exchange(r.String()) })
		})
	}
	t.Run("tcp", func(t *testing.T) {
		s := startServer(t, cfg, d)
		f(t, s, tcpExchange(t, s))
	})
}

// TestPanickingDecider: a rule or signal that panics does not take the
// server (a stateless UDP reader, a sipgo handler) down: every INVITE gets
// 500, counted, and the server keeps answering.
func TestPanickingDecider(t *testing.T) {
	boom := decideFunc(func(context.Context, policy.Call) policy.Decision { panic("signal exploded") })
	eachTransport(t, testConfig(), boom, func(t *testing.T, s *Server, exchange func(req) *sip.Response) {
		for i := 0; i < 3; i++ {
			if res := exchange(req{}); res.StatusCode != 500 {
				t.Fatalf("INVITE %d: %d %s, want 500", i, res.StatusCode, res.Reason)
			}
		}
		if res := exchange(req{method: "OPTIONS"}); res.StatusCode != 200 {
			t.Fatalf("OPTIONS after the panics: %d", res.StatusCode)
		}
		if st := s.Stats(); st.DecidePanics != 3 || st.Invites != 3 {
			t.Errorf("stats %+v, want 3 panics of 3 INVITEs", st)
		}
	})
}

// TestLateDecision: a decision that misses DecideTimeout is not used: 503
// with Retry-After, counted.
func TestLateDecision(t *testing.T) {
	slow := decideFunc(func(ctx context.Context, c policy.Call) policy.Decision {
		<-ctx.Done() // a signal that waits for its budget
		return policy.Decision{Action: policy.ActionAllow}
	})
	cfg := testConfig()
	cfg.DecideTimeout = 20 * time.Millisecond
	cfg.RetryAfter = 7 * time.Second
	eachTransport(t, cfg, slow, func(t *testing.T, s *Server, exchange func(req) *sip.Response) {
		res := exchange(req{})
		if res.StatusCode != 503 || header(res, "Retry-After") != "7" {
			t.Fatalf("late decision: %d Retry-After %q, want 503 with 7", res.StatusCode, header(res, "Retry-After"))
		}
		if st := s.Stats(); st.DecideLate != 1 || st.Overload != 0 {
			t.Errorf("stats %+v, want one late decision and no overload", st)
		}
	})
}

// TestInvalidDecision: a decision without a usable action gets 500.
func TestInvalidDecision(t *testing.T) {
	none := decideFunc(func(context.Context, policy.Call) policy.Decision { return policy.Decision{} })
	eachTransport(t, testConfig(), none, func(t *testing.T, s *Server, exchange func(req) *sip.Response) {
		if res := exchange(req{}); res.StatusCode != 500 {
			t.Fatalf("invalid decision: %d", res.StatusCode)
		}
		if st := s.Stats(); st.DecideErrors != 1 {
			t.Errorf("stats %+v, want one decide error", st)
		}
	})
}

// sipRouteless is the demo store with the platform route stripped of
// its SIP URI: acme's subscribers have no route to the B2BUA over SIP.
func sipRouteless(t *testing.T) *store.Store {
	t.Helper()
	st := storetest.Fixture(t)
	if _, err := st.SetRoute(store.Operator, store.RouteSpec{Name: storetest.Route, RoutingNumber: storetest.RoutingNumber}); err != nil {
		t.Fatal(err)
	}
	return st
}

// aliceUnknown is an unknown caller to Alice, who screens unknown callers.
var aliceUnknown = req{ruri: "sip:" + storetest.AliceNumber + "@callgate.example;user=phone",
	from: "<sip:" + storetest.UnknownCaller + "@sbc.example;user=phone>;tag=u1"}

// tokenOf verifies the token of a 302 to the B2BUA.
func tokenOf(t *testing.T, res *sip.Response) token.Claims {
	t.Helper()
	u := contactURI(t, res)
	raw, ok := u.UriParams.Get(token.URIParam)
	if !ok {
		t.Fatalf("302 without a token: %s", res)
	}
	cl, err := token.Verify([]token.Key{testKey}, raw, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestScreeningURIWhenRouteHasNone is the silent fail-open: the route has
// no SIP URI, so the call went to the continue route (ringing unscreened)
// and ScreeningURI was never used. Now it is screened via ScreeningURI.
func TestScreeningURIWhenRouteHasNone(t *testing.T) {
	eng := policy.New(sipRouteless(t))
	eachTransport(t, testConfig(), eng, func(t *testing.T, s *Server, exchange func(req) *sip.Response) {
		res := exchange(aliceUnknown)
		if res.StatusCode != 302 {
			t.Fatalf("status %d", res.StatusCode)
		}
		if u := contactURI(t, res); u.User != "screen" || u.Host != "b2bua.example" {
			t.Fatalf("Contact %s, want the ScreeningURI sip:screen@b2bua.example", u.String())
		}
		if cl := tokenOf(t, res); cl.Action != policy.ActionScreen || cl.Called != e164.MustParse(storetest.AliceNumber) {
			t.Errorf("token %+v", cl)
		}
		if st := s.Stats(); st.Screened != 1 || st.NoRouteFallback != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestNoWayToB2BUA: no route SIP URI and no ScreeningURI: the engine's
// configured fallback answers, and it is counted.
func TestNoWayToB2BUA(t *testing.T) {
	st := sipRouteless(t)
	cfg := testConfig()
	cfg.ScreeningURI = ""
	for _, tc := range []struct {
		fallback policy.Fallback
		code     int
	}{{policy.FallbackAllow, 302}, {policy.FallbackBlock, 603}} {
		t.Run(tc.fallback.String(), func(t *testing.T) {
			eng := policy.New(st, policy.WithNoRouteFallback(tc.fallback))
			eachTransport(t, cfg, eng, func(t *testing.T, s *Server, exchange func(req) *sip.Response) {
				res := exchange(aliceUnknown)
				if res.StatusCode != tc.code {
					t.Fatalf("status %d, want %d", res.StatusCode, tc.code)
				}
				if tc.code == 302 {
					if u := contactURI(t, res); u.Host != "gw.carrier.example" {
						t.Errorf("Contact %s, want the continue route", u.String())
					}
				}
				if st := s.Stats(); st.NoRouteFallback != 1 {
					t.Errorf("NoRouteFallback = %d, want 1", st.NoRouteFallback)
				}
			})
		})
	}
}

// TestBlockWithAnnouncementToRouteURI: Reject with Media on SIP goes to
// the B2BUA of the subscriber's route (it plays the announcement as early
// media, then declines), not to the platform's ScreeningURI.
func TestBlockWithAnnouncementToRouteURI(t *testing.T) {
	eng := policy.New(storetest.Fixture(t))
	bobUnknown := req{ruri: "sip:" + storetest.BobNumber + "@callgate.example;user=phone",
		from: "<sip:" + storetest.UnknownCaller + "@sbc.example;user=phone>;tag=b1"}
	eachTransport(t, testConfig(), eng, func(t *testing.T, s *Server, exchange func(req) *sip.Response) {
		res := exchange(bobUnknown)
		if res.StatusCode != 302 {
			t.Fatalf("status %d", res.StatusCode)
		}
		if u := contactURI(t, res); u.Host != "b2bua.example.net" {
			t.Fatalf("Contact %s, want the route's %s", u.String(), storetest.RouteURI)
		}
		if cl := tokenOf(t, res); cl.Action != policy.ActionBlockWithAnnouncement || cl.Announcement != storetest.BobAnn {
			t.Errorf("token %+v", cl)
		}
	})
}
