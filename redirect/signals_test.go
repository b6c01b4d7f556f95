package redirect

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callgate/e164"
	"callgate/keys"
	"callgate/policy"
	"callgate/store"
	"callgate/store/storetest"
)

// TestSIPEnrolment: an INVITE to the enrolment address from the
// enterprise's trunk registers the call key and is redirected to the
// onward route; from elsewhere, or for a number no enterprise enrolled,
// it is refused; either way the engine is not asked.
func TestSIPEnrolment(t *testing.T) {
	eachMode(t, func(t *testing.T, m testMode) {
		st := storetest.Fixture(t)
		reg, err := keys.Open(keys.Config{}, st)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		d := newFakeDecider()
		s := startServer(t, m.config(), d, WithEnroller("enrol", reg))
		c := newUDPClient(t, s)
		invite := func(from string) req {
			return req{ruri: "sip:enrol@callgate.example", to: "<sip:" + storetest.AliceNumber + "@carrier.example;user=phone>",
				from: "<sip:" + from + "@initech.example;user=phone>;tag=e1"}
		}
		// Not set up yet.
		if res := c.exchange(invite(storetest.EnterpriseNumber).String()); res.StatusCode != 403 {
			t.Fatalf("before enrolment is set up: %d", res.StatusCode)
		}
		st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
			g.Trunk, g.Onward = "10.0.0.0/8", "sip:{called}@carrier.example;user=phone"
			return nil
		})
		if res := c.exchange(invite(storetest.EnterpriseNumber).String()); res.StatusCode != 403 {
			t.Errorf("from outside the trunk (127.0.0.1): %d", res.StatusCode)
		}
		st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
			g.Trunk = "127.0.0.0/8"
			return nil
		})
		if res := c.exchange(invite(storetest.UnknownCaller).String()); res.StatusCode != 403 {
			t.Errorf("a number no enterprise enrolled: %d", res.StatusCode)
		}
		res := c.exchange(invite(storetest.EnterpriseNumber).String())
		if res.StatusCode != 302 {
			t.Fatalf("enrolment: %d", res.StatusCode)
		}
		if u := contactURI(t, res); !strings.HasPrefix(u.String(), "sip:"+storetest.AliceNumber+"@carrier.example") {
			t.Errorf("Contact %s, want the onward route", u.String())
		}
		if m, _ := reg.Check(e164.MustParse(storetest.EnterpriseNumber), e164.MustParse(storetest.AliceNumber), time.Now()); m != policy.KeyMatched {
			t.Errorf("after enrolment the key check says %v", m)
		}
		if d.lastCall() != (policy.Call{}) {
			t.Errorf("the engine was asked about an enrolment INVITE: %+v", d.lastCall())
		}
	})
}

// countingEnroller counts the enrolments it registers.
type countingEnroller struct {
	Enroller
	n atomic.Int32
}

func (e *countingEnroller) Enrol(src netip.Addr, calling, called e164.Number) (keys.Enrolment, error) {
	e.n.Add(1)
	return e.Enroller.Enrol(src, calling, called)
}

// TestSIPEnrolmentRetransmission: a copy of an enrolment INVITE (the
// proxy resending it over UDP) gets the same 302 without registering a
// second key; a new INVITE between the same numbers registers again.
func TestSIPEnrolmentRetransmission(t *testing.T) {
	eachMode(t, func(t *testing.T, m testMode) {
		st := storetest.Fixture(t)
		st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
			g.Trunk, g.Onward = "127.0.0.0/8", "sip:{called}@carrier.example;user=phone"
			return nil
		})
		reg, err := keys.Open(keys.Config{}, st)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		en := &countingEnroller{Enroller: reg}
		s := startServer(t, m.config(), newFakeDecider(), WithEnroller("enrol", en))
		c := newUDPClient(t, s)
		invite := req{ruri: "sip:enrol@callgate.example", to: "<sip:" + storetest.AliceNumber + "@carrier.example;user=phone>",
			from: "<sip:" + storetest.EnterpriseNumber + "@initech.example;user=phone>;tag=e1"}.String()
		first := c.exchange(invite)
		again := c.exchange(invite)
		if first.StatusCode != 302 || again.StatusCode != 302 || header(first, "Contact") != header(again, "Contact") {
			t.Fatalf("first %d %q, copy %d %q: want the same 302", first.StatusCode, header(first, "Contact"), again.StatusCode, header(again, "Contact"))
		}
		if n := en.n.Load(); n != 1 {
			t.Errorf("the INVITE and its copy registered %d keys, want 1", n)
		}
		c.exchange(req{ruri: "sip:enrol@callgate.example", to: "<sip:" + storetest.AliceNumber + "@carrier.example;user=phone>",
			from: "<sip:" + storetest.EnterpriseNumber + "@initech.example;user=phone>;tag=e2"}.String())
		if n := en.n.Load(); n != 2 {
			t.Errorf("a new INVITE between the same numbers: %d registrations in all, want 2", n)
		}
	})
}

// brander answers every call with an allowed, branded decision.
type brander struct{ brand store.Brand }

func (b brander) Decide(_ context.Context, c policy.Call) policy.Decision {
	return policy.Decision{Action: policy.ActionAllow, Brand: b.brand}
}

func TestBrandedRedirect(t *testing.T) {
	eachMode(t, func(t *testing.T, m testMode) {
		s := startServer(t, m.config(), brander{store.Brand{Name: `Ini"tech`, LogoURL: "https://initech.example/l.png"}})
		c := newUDPClient(t, s)
		res := c.exchange(req{}.String())
		if res.StatusCode != 302 {
			t.Fatalf("status %d", res.StatusCode)
		}
		if got := header(res, "Contact"); !strings.HasPrefix(got, `"Ini?tech" <sip:+13035550100@gw.carrier.example`) {
			t.Errorf("Contact %q, want the brand as display name (quote replaced)", got)
		}
		if got := header(res, "P-Asserted-Identity"); got != `"Ini?tech" <tel:+12125550199>` {
			t.Errorf("P-Asserted-Identity %q", got)
		}
		if got := header(res, "Call-Info"); got != "<https://initech.example/l.png>;purpose=icon" {
			t.Errorf("Call-Info %q", got)
		}
	})
}
