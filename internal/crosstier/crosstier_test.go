package crosstier

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/token"
	"callgate/redirect"
	"callgate/scp"
	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/simulators/ssp"
	"callgate/store"
	"callgate/store/storetest"
)

// verdict is what a caller experiences, comparable across tiers.
type verdict struct {
	Class   string        // ring, block, announce-then-release, sip-tier
	Action  policy.Action // for sip-tier: which conversation (SIP token / engine)
	Routing e164.Number   // AIN forwardCall destination
	B2BUA   string        // SIP: the host of the B2BUA the 302 sent the call to
}

func (v verdict) String() string {
	if v.Class == "sip-tier" && v.Action != 0 {
		return fmt.Sprintf("%s(%v)", v.Class, v.Action)
	}
	if v.Class == "sip-tier" {
		return fmt.Sprintf("%s(via %v)", v.Class, v.Routing)
	}
	return v.Class
}

// engineVerdict is what the engine's decision should look like on the wire.
func engineVerdict(d policy.Decision) verdict {
	switch d.Action {
	case policy.ActionAllow:
		return verdict{Class: "ring"}
	case policy.ActionBlock:
		return verdict{Class: "block"}
	case policy.ActionBlockWithAnnouncement:
		// AIN plays the announcement itself (sendToResource); SIP sends the
		// call to the B2BUA, which plays it. Both: announcement, release.
		return verdict{Class: "announce-then-release"}
	}
	return verdict{Class: "sip-tier", Action: d.Action, Routing: d.Route.RoutingNumber}
}

type call struct {
	name         string
	calling      string // "" = no number
	called       string
	presentation policy.Presentation
}

var calls = []call{
	{"VIP caller", storetest.VIPCaller, storetest.AliceNumber, policy.PresentationAllowed},
	{"VIP caller to the subscriber's second number", storetest.VIPCaller, storetest.AliceNumber2, policy.PresentationAllowed},
	{"blocked caller", storetest.BlockedCaller, storetest.AliceNumber, policy.PresentationAllowed},
	{"blocked caller, Reject with Media", storetest.BlockedCaller, storetest.BobNumber, policy.PresentationAllowed},
	{"unknown caller, screened", "+16175550123", storetest.AliceNumber, policy.PresentationAllowed},
	{"unknown caller, treatment block", "+16175550123", storetest.BobNumber, policy.PresentationAllowed},
	{"unknown caller, other provider", "+16175550123", storetest.CarolNumber, policy.PresentationAllowed},
	{"anonymous caller (restricted)", "+16175550123", storetest.AliceNumber, policy.PresentationRestricted},
	{"anonymous caller, announce then voicemail", "+16175550123", storetest.BobNumber, policy.PresentationRestricted},
	{"caller without a number", "", storetest.CarolNumber, policy.PresentationUnavailable},
	{"called number not a subscriber", "+16175550123", "+12125550100", policy.PresentationAllowed},
	{"blocked caller to a non-subscriber", storetest.BlockedCaller, "+12125550100", policy.PresentationAllowed},
	{"provider VIP caller, on the subscriber's Blocked list", providerVIPCaller, storetest.AliceNumber, policy.PresentationAllowed},
	{"provider VIP caller, unknown-caller treatment block", providerVIPCaller, storetest.BobNumber, policy.PresentationAllowed},
	{"provider VIP list is per provider", providerVIPCaller, storetest.CarolNumber, policy.PresentationAllowed},
}

// providerVIPCaller is on acme's provider-wide VIP list and on Alice's own
// Blocked list (addProviderVIP): the provider's list wins for acme's
// subscribers; globex's Carol screens it like any unknown caller.
const providerVIPCaller = "+12025550911"

func addProviderVIP(t *testing.T, st *store.Store) {
	t.Helper()
	if _, err := st.AddToList(store.Operator, store.ProviderPrefix+storetest.Provider, store.ListVIP, []string{providerVIPCaller}, "PSAP call-back"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{providerVIPCaller}, ""); err != nil {
		t.Fatal(err)
	}
}

// tiers is the AIN SCP and the SIP redirect server running over one
// engine, with a switch attached to the SCP.
type tiers struct {
	sw      *ssp.Client
	sipAddr string
	rs      *redirect.Server
	reg     *prometheus.Registry // the SCP's metrics
	key     token.Key
	n       int // INVITEs sent, for unique Call-IDs
}

// startTiers starts both tiers over d; screeningURI is the SIP tier's
// ScreeningURI ("" = none).
func startTiers(t *testing.T, ctx context.Context, d policy.Decider, screeningURI string) *tiers {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	tt := &tiers{reg: prometheus.NewRegistry(), key: token.Key{ID: 1, Secret: bytes.Repeat([]byte{0x5a}, 32)}}

	// The AIN SCP, as an SG accepting the switch on loopback TCP.
	svc, err := scp.New(scp.Config{
		Role: m3ua.RoleSG, Network: "tcp", Listen: "127.0.0.1:0",
		PointCode: sccp.ANSIPointCode(244, 2, 20), SSN: 248, RoutingContexts: []uint32{10},
		Logger: quiet,
	}, d, scp.WithRegisterer(tt.reg))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Shutdown(context.Background()) })
	tt.sw, err = ssp.Dial(ctx, ssp.Config{Connect: []string{svc.Addr()}, RoutingContexts: []uint32{10}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tt.sw.Close() })

	// The SIP redirect server on loopback UDP.
	tt.rs, err = redirect.New(redirect.Config{
		UDP: "127.0.0.1:0", ContinueRoute: "sip:{called}@gw.carrier.example", ScreeningURI: screeningURI,
		TokenKeys: []token.Key{tt.key}, TokenKeyID: tt.key.ID, TokenLifetime: time.Minute, Logger: quiet,
	}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := tt.rs.Listen(); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go tt.rs.Serve(sctx)
	tt.sipAddr = tt.rs.Addr("udp").String()
	return tt
}

// scpFallbacks reads callgate_scp_no_route_fallback_total.
func (tt *tiers) scpFallbacks(t *testing.T) float64 {
	t.Helper()
	mfs, err := tt.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "callgate_scp_no_route_fallback_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("callgate_scp_no_route_fallback_total not exported")
	return 0
}

func TestBothTiersGiveTheSameVerdict(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st := storetest.Fixture(t)
	addProviderVIP(t, st)
	engine := policy.New(st)
	tt := startTiers(t, ctx, engine, "sip:screen@b2bua.invalid")

	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			var calling e164.Number
			if c.calling != "" {
				calling = e164.MustParse(c.calling)
			}
			called := e164.MustParse(c.called)

			ainCall := policy.Call{Calling: calling, Called: called, Presentation: c.presentation, Origin: policy.OriginAIN}
			sipCall := ainCall
			sipCall.Origin, sipCall.DefaultRoute = policy.OriginSIP, true // the SIP tier has a screening URI
			wantAIN := engineVerdict(engine.Decide(ctx, ainCall))
			wantSIP := engineVerdict(engine.Decide(ctx, sipCall))
			if wantAIN.Class != wantSIP.Class || wantAIN.Action != wantSIP.Action {
				t.Fatalf("the engine itself differs by origin: AIN %v, SIP %v", wantAIN, wantSIP)
			}

			gotAIN := tt.askAIN(t, ctx, calling, called, c.presentation)
			gotSIP := tt.askSIP(t, calling, called, c.presentation)
			t.Logf("engine %v, AIN %v, SIP %v", wantAIN, gotAIN, gotSIP)

			if gotAIN.Class != wantAIN.Class {
				t.Errorf("AIN verdict %v, engine says %v", gotAIN, wantAIN)
			}
			if gotAIN.Class == "sip-tier" && gotAIN.Routing != wantAIN.Routing {
				t.Errorf("AIN forwardCall to %v, route's routing number is %v", gotAIN.Routing, wantAIN.Routing)
			}
			if gotSIP.Class != wantSIP.Class || gotSIP.Action != wantSIP.Action {
				if !(wantSIP.Class == "announce-then-release" && gotSIP.Action == policy.ActionBlockWithAnnouncement) {
					t.Errorf("SIP verdict %v, engine says %v", gotSIP, wantSIP)
				}
			}
		})
	}
}

func (tt *tiers) askAIN(t *testing.T, ctx context.Context, calling, called e164.Number, p policy.Presentation) verdict {
	t.Helper()
	pres := ssp.PresentationAllowed
	switch p {
	case policy.PresentationRestricted:
		pres = ssp.PresentationRestricted
	case policy.PresentationUnavailable:
		pres = ssp.PresentationUnavailable
	}
	ans, err := tt.sw.TerminationAttempt(ctx, ssp.TA{Calling: calling, Called: called, Presentation: pres})
	if err != nil {
		t.Fatalf("AIN query: %v", err)
	}
	switch ans.Operation {
	case "authorizeTermination":
		return verdict{Class: "ring"}
	case "disconnect":
		return verdict{Class: "block"}
	case "sendToResource":
		return verdict{Class: "announce-then-release"}
	case "forwardCall":
		v := verdict{Class: "sip-tier"}
		fwd, ok := ans.Arg.(*ain.ForwardCallArg)
		if !ok || !fwd.CalledPartyID.Set {
			t.Fatalf("forwardCall without a calledPartyID: %s", ans.String())
		}
		v.Routing, _ = fwd.CalledPartyID.V.E164()
		// The SIP tier must learn which subscriber the call was for.
		if !fwd.RedirectingPartyID.Set {
			t.Fatalf("forwardCall does not carry the dialled number: %s", ans.String())
		}
		if n, _ := fwd.RedirectingPartyID.V.E164(); n != called {
			t.Errorf("forwardCall redirectingPartyID %v, want the dialled %v", n, called)
		}
		return v
	}
	t.Fatalf("unexpected AIN answer %s", ans.String())
	return verdict{}
}

// askSIP sends one INVITE and reads the final response.
func (tt *tiers) askSIP(t *testing.T, calling, called e164.Number, p policy.Presentation) verdict {
	t.Helper()
	status, contact := parseResponse(t, tt.invite(t, calling, called, p))
	switch {
	case status == 302:
		u, err := url.Parse(angled(contact))
		if err != nil {
			t.Fatalf("bad Contact %q: %v", contact, err)
		}
		raw := uriParam(contact, token.URIParam)
		if raw == "" {
			return verdict{Class: "ring"}
		}
		// sip:user@host;params: the B2BUA the call was sent to.
		_, host, _ := strings.Cut(strings.SplitN(u.Opaque, ";", 2)[0], "@")
		cl, err := token.Verify([]token.Key{tt.key}, raw, time.Now())
		if err != nil {
			t.Fatalf("302 carries a token that does not verify: %v", err)
		}
		if cl.Called != called {
			t.Errorf("token called %v, want %v", cl.Called, called)
		}
		if cl.Action == policy.ActionBlockWithAnnouncement {
			return verdict{Class: "announce-then-release", Action: cl.Action, B2BUA: host}
		}
		return verdict{Class: "sip-tier", Action: cl.Action, B2BUA: host}
	case status == 603 || status == 608:
		return verdict{Class: "block"}
	}
	t.Fatalf("unexpected SIP status %d", status)
	return verdict{}
}

// invite sends one INVITE and returns the final response.
func (tt *tiers) invite(t *testing.T, calling, called e164.Number, p policy.Presentation) []byte {
	t.Helper()
	tt.n++
	n := tt.n
	conn, err := net.Dial("udp", tt.sipAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	from := fmt.Sprintf("<sip:%s@198.51.100.7>", calling)
	if calling == 0 {
		from = "\"Anonymous\" <sip:anonymous@anonymous.invalid>"
	}
	var privacy string
	if p != policy.PresentationAllowed && calling != 0 {
		privacy = "Privacy: id\r\nP-Asserted-Identity: <sip:" + calling.String() + "@198.51.100.7;user=phone>\r\n"
	}
	local := conn.LocalAddr().String()
	req := fmt.Sprintf("INVITE sip:%s@callgate.example;user=phone SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-xt-%d;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: %s;tag=xt%d\r\n"+
		"To: <sip:%s@callgate.example>\r\n"+
		"Call-ID: crosstier-%d@%s\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:caller@%s>\r\n"+
		"%s"+
		"Content-Length: 0\r\n\r\n",
		called, local, n, from, n, called, n, local, local, privacy)
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("SIP: no final response: %v", err)
		}
		if status, _ := parseResponse(t, buf[:k]); status < 200 {
			continue // 100 Trying
		}
		return append([]byte(nil), buf[:k]...)
	}
}

func parseResponse(t *testing.T, b []byte) (status int, contact string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() {
		t.Fatal("empty SIP response")
	}
	if _, err := fmt.Sscanf(sc.Text(), "SIP/2.0 %d", &status); err != nil {
		t.Fatalf("bad status line %q", sc.Text())
	}
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			break
		}
		name, val, ok := strings.Cut(l, ":")
		if ok && (strings.EqualFold(name, "Contact") || name == "m") {
			contact = strings.TrimSpace(val)
		}
	}
	return status, contact
}

// angled is the URI between < and > of a header value with a display name
// ("Brand" <sip:...>), or the value itself.
func angled(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	return v
}

// uriParam returns a URI parameter's value from a Contact header value.
func uriParam(contact, name string) string {
	inner := contact
	if i := strings.IndexByte(inner, '<'); i >= 0 {
		if j := strings.IndexByte(inner[i:], '>'); j > 0 {
			inner = inner[i+1 : i+j]
		}
	}
	for _, p := range strings.Split(inner, ";")[1:] {
		k, v, _ := strings.Cut(p, "=")
		if k == name {
			return v
		}
	}
	return ""
}
