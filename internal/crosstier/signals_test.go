package crosstier

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/daemon"
	"callgate/e164"
	"callgate/keys"
	"callgate/policy"
	"callgate/reputation"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/store"
	"callgate/store/storetest"

	repsim "callgate/simulators/reputation"
)

// The signals table (issue 13): call keys and spam-risk reputation, filled
// by the daemon's signal stage in front of one engine, asked through both
// tiers; each call must get the same verdict from both. Brands must reach
// the wire on both: AIN authorizeTermination genericName/displayText, SIP
// 302 Contact display name, P-Asserted-Identity and the RFC 9796
// Call-Info (logo, call reason).

const brandName = "Initech"

// signalTiers starts both tiers over the signal stage of one engine:
// call keys in memory, reputation from a simulator.
func signalTiers(t *testing.T, ctx context.Context, pol policy.ReputationPolicy, cfg reputation.Config) (*tiers, *keys.Registry, *repsim.Sim, *store.Store) {
	tt, reg, sim, st, _ := signalTiersRecorded(t, ctx, pol, cfg)
	return tt, reg, sim, st
}

// signalTiersRecorded is signalTiers, also returning the engine's last
// decision per origin and called number (for its trace).
func signalTiersRecorded(t *testing.T, ctx context.Context, pol policy.ReputationPolicy, cfg reputation.Config) (*tiers, *keys.Registry, *repsim.Sim, *store.Store, *recorder) {
	t.Helper()
	st := storetest.Fixture(t)
	if _, err := st.UpdateEnterpriseSignals(store.Operator, storetest.Enterprise, func(g *store.EnterpriseSignals) error {
		g.Brand = store.Brand{Name: brandName, Reason: "Your order", LogoURL: "https://initech.example/logo.png"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	reg, err := keys.Open(keys.Config{}, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	sim, err := repsim.New(repsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	p, err := reputation.NewHTTPProvider(reputation.HTTPConfig{BaseURL: sim.URL(), Timeout: cfg.Timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	chk, err := reputation.NewChecker(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: policy.New(st, policy.WithReputationPolicy(pol)), last: map[recordKey]policy.Decision{}}
	tt := startTiers(t, ctx, daemon.SignalStage(rec, reg, chk, st), "sip:screen@b2bua.invalid")
	return tt, reg, sim, st, rec
}

// recorder keeps the last decision of the engine it wraps per origin and
// called number.
type recorder struct {
	next policy.Decider
	mu   sync.Mutex
	last map[recordKey]policy.Decision
}

type recordKey struct {
	origin policy.Origin
	called e164.Number
}

func (r *recorder) Decide(ctx context.Context, c policy.Call) policy.Decision {
	d := r.next.Decide(ctx, c)
	r.mu.Lock()
	r.last[recordKey{c.Origin, c.Called}] = d
	r.mu.Unlock()
	return d
}

// trace is the trace of the last decision about a call to called asked
// by origin.
func (r *recorder) trace(origin policy.Origin, called e164.Number) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.last[recordKey{origin, called}]
	return d.Trace.String()
}

// brandedAIN asks the SCP and returns its verdict and the brand name the
// authorizeTermination carries (genericName and displayText must agree).
func (tt *tiers) brandedAIN(t *testing.T, ctx context.Context, calling, called e164.Number) (verdict, string) {
	t.Helper()
	ans, err := tt.sw.TerminationAttempt(ctx, ssp.TA{Calling: calling, Called: called, Presentation: ssp.PresentationAllowed})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Operation != "authorizeTermination" {
		return tt.askAINAnswer(t, ans, called), ""
	}
	at, _ := ans.Arg.(*ain.AuthorizeTerminationArg)
	if at == nil || !at.GenericName.Set {
		return verdict{Class: "ring"}, ""
	}
	name := string(at.GenericName.V.Name)
	var shown string
	for i := 0; i < at.DisplayText.V.Len(); i++ {
		if it := at.DisplayText.V.At(i); it.Tag == 13 { // callingPartyName
			shown = string(it.Value)
		}
	}
	if shown != name {
		t.Errorf("AIN genericName %q, displayText callingPartyName %q", name, shown)
	}
	return verdict{Class: "ring"}, name
}

// askAINAnswer classifies an answer other than authorizeTermination.
func (tt *tiers) askAINAnswer(t *testing.T, ans ssp.Answer, called e164.Number) verdict {
	switch ans.Operation {
	case "disconnect":
		return verdict{Class: "block"}
	case "sendToResource":
		return verdict{Class: "announce-then-release"}
	case "forwardCall":
		fwd, _ := ans.Arg.(*ain.ForwardCallArg)
		v := verdict{Class: "sip-tier"}
		if fwd != nil && fwd.CalledPartyID.Set {
			v.Routing, _ = fwd.CalledPartyID.V.E164()
		}
		return v
	}
	t.Fatalf("unexpected AIN answer %s", ans.String())
	return verdict{}
}

// brandedSIP sends an INVITE and returns the verdict and the display name
// of the 302's Contact and P-Asserted-Identity (which must agree).
func (tt *tiers) brandedSIP(t *testing.T, calling, called e164.Number) (verdict, string) {
	t.Helper()
	resp := tt.invite(t, calling, called, policy.PresentationAllowed)
	h := headers(resp)
	contact, pai := h["contact"], h["p-asserted-identity"]
	v := tt.askSIPFrom(t, resp, called)
	name := displayName(contact)
	if pn := displayName(pai); pn != name {
		t.Errorf("SIP Contact display name %q, P-Asserted-Identity %q", name, pn)
	}
	if name != "" && !strings.Contains(pai, "<tel:"+calling.String()+">") {
		t.Errorf("SIP P-Asserted-Identity %q does not name the caller %s", pai, calling)
	}
	if name != "" && h["call-info"] != `<https://initech.example/logo.png>;purpose=icon;call-reason="Your order"` {
		t.Errorf("SIP Call-Info %q, want the brand's logo and call reason (RFC 9796)", h["call-info"])
	}
	return v, name
}

// askSIPFrom classifies a final response (as askSIP does).
func (tt *tiers) askSIPFrom(t *testing.T, resp []byte, called e164.Number) verdict {
	status, contact := parseResponse(t, resp)
	switch {
	case status == 302 && uriParam(contact, "cgt") == "" && !strings.Contains(contact, "b2bua.invalid"):
		return verdict{Class: "ring"}
	case status == 302:
		return verdict{Class: "sip-tier"}
	case status == 603 || status == 608:
		return verdict{Class: "block"}
	}
	t.Fatalf("unexpected SIP status %d", status)
	return verdict{}
}

func headers(resp []byte) map[string]string {
	h := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(resp))
	sc.Scan()
	for sc.Scan() && sc.Text() != "" {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "m" {
				k = "contact"
			}
			h[k] = strings.TrimSpace(v)
		}
	}
	return h
}

// displayName is the quoted display name of a header value ("" = none).
func displayName(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return ""
	}
	name, _, _ := strings.Cut(v[1:], `"`)
	return name
}

func TestCallKeysOnBothTiers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tt, reg, sim, st := signalTiers(t, ctx, policy.DefaultReputationPolicy, reputation.Config{Budget: time.Second})
	ent, _ := st.GetEnterprise(store.Operator, storetest.Enterprise)
	caller := e164.MustParse(storetest.EnterpriseNumber)
	alice, alice2 := e164.MustParse(storetest.AliceNumber), e164.MustParse(storetest.AliceNumber2)
	carol := e164.MustParse(storetest.CarolNumber)
	now := time.Now()

	// A key for alice's first number now, one for her second number in
	// ten minutes.
	if _, err := reg.Register(ent.ID, keys.Key{Calling: caller, Called: alice}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Register(ent.ID, keys.Key{Calling: caller, Called: alice2, NotBefore: now.Add(10 * time.Minute), NotAfter: now.Add(11 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		called    e164.Number
		want      string
		wantBrand string
	}{
		{"enrolled number without a key: spoofed, blocked", carol, "block", ""},
		{"enrolled number with a key: delivered with the brand", alice, "ring", brandName},
		{"enrolled number, key outside its window: blocked", alice2, "block", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ainV, ainBrand := tt.brandedAIN(t, ctx, caller, c.called)
			sipV, sipBrand := tt.brandedSIP(t, caller, c.called)
			if ainV.Class != c.want || sipV.Class != c.want {
				t.Errorf("AIN %v, SIP %v, want %s on both", ainV, sipV, c.want)
			}
			if ainBrand != c.wantBrand || sipBrand != c.wantBrand {
				t.Errorf("brand: AIN %q, SIP %q, want %q on both", ainBrand, sipBrand, c.wantBrand)
			}
		})
	}
	if n := sim.Total(); n != 0 {
		t.Errorf("enterprise calls were looked up for reputation %d times (their keys vouch for them)", n)
	}
}

func TestReputationOnBothTiers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// high -> block (configured), unknown -> continue (alice's unknown-caller
	// treatment: screen), exempt -> continue.
	pol := policy.ReputationPolicy{Low: policy.RepAllow, Medium: policy.RepChallenge, High: policy.RepBlock,
		Exempt: policy.RepContinue, Unknown: policy.RepContinue}
	// The look-up in the background gives up before the slow simulator
	// answers, so a slow answer never lands in the cache between the two
	// tiers' calls; the breaker is off so every call asks.
	tt, _, sim, _ := signalTiers(t, ctx, pol, reputation.Config{Budget: 20 * time.Millisecond, Timeout: 100 * time.Millisecond, BreakerFailures: -1})
	alice := e164.MustParse(storetest.AliceNumber)
	low, medium, high := e164.MustParse("+16175550101"), e164.MustParse("+16175550102"), e164.MustParse("+16175550103")
	sim.SetBand(medium, "medium")
	sim.SetBand(high, "high")

	type tc struct {
		name     string
		calling  e164.Number
		pres     policy.Presentation
		want     verdict
		exempt   bool
		setup    func()
		teardown func()
	}
	screen := verdict{Class: "sip-tier", Action: policy.ActionScreen}
	for _, c := range []tc{
		{name: "low risk: delivered untouched", calling: low, want: verdict{Class: "ring"}},
		{name: "medium risk: challenged", calling: medium, want: verdict{Class: "sip-tier", Action: policy.ActionChallenge}},
		{name: "high risk: the configured block", calling: high, want: verdict{Class: "block"}},
		{name: "private caller: exempt, not looked up (alice's anonymous treatment)", calling: e164.MustParse("+16175550104"),
			pres: policy.PresentationRestricted, exempt: true, want: screen},
		{name: "non-NANP caller: exempt, not looked up (alice's unknown treatment)", calling: e164.MustParse("+442079460000"),
			exempt: true, want: screen},
		{name: "service down: the unknown branch", calling: e164.MustParse("+16175550105"), want: screen,
			setup: func() { sim.SetDown(true) }, teardown: func() { sim.SetDown(false) }},
		// Late, the SCP would give its safe answer (authorize: ring), not
		// alice's screening: the answer shows the budget held.
		{name: "service slow (200 ms): the unknown branch within the SCP's budget", calling: e164.MustParse("+16175550106"), want: screen,
			setup: func() { sim.SetLatency(200 * time.Millisecond) }, teardown: func() { sim.SetLatency(0) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
				defer c.teardown()
			}
			ainV := tt.askAIN(t, ctx, c.calling, alice, c.pres)
			sipV := tt.askSIP(t, c.calling, alice, c.pres)
			ainV.Routing = 0 // compared by class (and action on SIP) only
			if ainV.Class != c.want.Class {
				t.Errorf("AIN %v, want %v", ainV, c.want)
			}
			if sipV.Class != c.want.Class || (c.want.Action != 0 && sipV.Action != c.want.Action) {
				t.Errorf("SIP %v, want %v", sipV, c.want)
			}
			if n := sim.Requests(c.calling); c.exempt && n != 0 {
				t.Errorf("an exempt caller was looked up %d times", n)
			} else if !c.exempt && n == 0 {
				t.Errorf("the caller was never looked up")
			}
		})
	}
}
