package policy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"callgate/e164"
	"callgate/store"
)

// Fixture numbers.
var (
	nAlice = e164.MustParse("+13035550101") // screen unknown, block anonymous, PIN
	nBob   = e164.MustParse("+13035550102") // voicemail unknown, challenge anonymous, RWM + announcement
	nCarol = e164.MustParse("+13035550103") // provider without route, RWM without announcement
	nDave  = e164.MustParse("+13035550104") // allow unknown, voicemail anonymous, no announcement
	nErin  = e164.MustParse("+13035550105") // block unknown with RWM
	nFrank = e164.MustParse("+13035550106") // challenge unknown, anonymous treatment missing
	nGrace = e164.MustParse("+13035550107") // provider with a SIP-only route
	nHenry = e164.MustParse("+13035550108") // voicemail unknown on a provider without route

	nNobody   = e164.MustParse("+13035550199") // not a subscriber
	nFriend   = e164.MustParse("+12125550001") // alice's VIP
	nPest     = e164.MustParse("+12125550002") // on alice's, bob's, carol's Blocked lists
	nBoth     = e164.MustParse("+12125550003") // on alice's VIP and Blocked lists
	nSpammer  = e164.MustParse("+12125550009") // provider 1 Blocked list; also alice's VIP
	nSpammer2 = e164.MustParse("+12125550010") // provider 1 Blocked list only
	nStranger = e164.MustParse("+442079460000")
)

var (
	routeEast = store.Route{Name: "east", RoutingNumber: e164.MustParse("+13035550000"), SIPURI: "sip:screen@b2bua.example"}
	routeSIP  = store.Route{Name: "sip-only", SIPURI: "sip:screen@sip-only.example"}
)

func fixture() *fakeView {
	v := newFakeView()
	v.subs[nAlice] = store.SubscriberView{ID: 1, Provider: 1, Name: "alice", Unknown: store.TreatScreen,
		Anonymous: store.TreatBlock, HasPIN: true, Voicemail: "sip:vm-alice@vm.example"}
	v.subs[nBob] = store.SubscriberView{ID: 2, Provider: 1, Name: "bob", Unknown: store.TreatAnnounceVoicemail,
		Anonymous: store.TreatChallenge, RejectWithMedia: true, Announcement: 77, Voicemail: "+13035559999"}
	v.subs[nCarol] = store.SubscriberView{ID: 3, Provider: 2, Name: "carol", Unknown: store.TreatScreen,
		Anonymous: store.TreatAllow, RejectWithMedia: true, HasPIN: true}
	v.subs[nDave] = store.SubscriberView{ID: 4, Provider: 1, Name: "dave", Unknown: store.TreatAllow,
		Anonymous: store.TreatAnnounceVoicemail, Voicemail: "+13035558888"}
	v.subs[nErin] = store.SubscriberView{ID: 5, Provider: 1, Name: "erin", Unknown: store.TreatBlock,
		Anonymous: store.TreatScreen, RejectWithMedia: true, Announcement: 12, HasPIN: true}
	v.subs[nFrank] = store.SubscriberView{ID: 6, Provider: 1, Name: "frank", Unknown: store.TreatChallenge}
	v.subs[nGrace] = store.SubscriberView{ID: 7, Provider: 3, Name: "grace", Unknown: store.TreatScreen,
		Anonymous: store.TreatScreen}
	v.subs[nHenry] = store.SubscriberView{ID: 8, Provider: 2, Name: "henry", Unknown: store.TreatAnnounceVoicemail,
		Anonymous: store.TreatAnnounceVoicemail, Announcement: 3, Voicemail: "+13035557777"}

	v.vip[listKey{1, nFriend}] = struct{}{}
	v.vip[listKey{1, nBoth}] = struct{}{}
	v.vip[listKey{1, nSpammer}] = struct{}{}
	v.blocked[listKey{1, nPest}] = struct{}{}
	v.blocked[listKey{1, nBoth}] = struct{}{}
	v.blocked[listKey{2, nPest}] = struct{}{}
	v.blocked[listKey{3, nPest}] = struct{}{}
	v.provBlocked[listKey{1, nSpammer}] = struct{}{}
	v.provBlocked[listKey{1, nSpammer2}] = struct{}{}
	v.routes[1] = routeEast
	v.routes[3] = routeSIP
	return v
}

type want struct {
	action       Action
	subscriber   uint32
	route        store.Route
	announcement uint32
	voicemail    string
	pin          bool
	trace        string
}

func check(t *testing.T, got Decision, w want) {
	t.Helper()
	if got.Action != w.action {
		t.Errorf("action = %v, want %v", got.Action, w.action)
	}
	if got.Subscriber != w.subscriber {
		t.Errorf("subscriber = %d, want %d", got.Subscriber, w.subscriber)
	}
	if got.Route != w.route {
		t.Errorf("route = %+v, want %+v", got.Route, w.route)
	}
	if got.Announcement != w.announcement {
		t.Errorf("announcement = %d, want %d", got.Announcement, w.announcement)
	}
	if got.Voicemail != w.voicemail {
		t.Errorf("voicemail = %q, want %q", got.Voicemail, w.voicemail)
	}
	if got.PINAllowed != w.pin {
		t.Errorf("PINAllowed = %v, want %v", got.PINAllowed, w.pin)
	}
	if s := got.Trace.String(); s != w.trace {
		t.Errorf("trace = %q, want %q", s, w.trace)
	}
}

const lists = "provider-vip=no vip=no blocked=no provider-blocked=no "

func TestDecide(t *testing.T) {
	tests := []struct {
		name string
		call Call
		want want
	}{
		// Called number not a subscriber.
		{"not a subscriber", Call{Calling: nPest, Called: nNobody, Origin: OriginAIN},
			want{action: ActionAllow, trace: "subscriber=no"}},
		{"no called number", Call{Calling: nPest, Origin: OriginAIN},
			want{action: ActionAllow, trace: "subscriber=missing"}},
		{"anonymous to non-subscriber", Call{Called: nNobody, Presentation: PresentationRestricted},
			want{action: ActionAllow, trace: "subscriber=no"}},

		// VIP.
		{"vip", Call{Calling: nFriend, Called: nAlice, Origin: OriginAIN},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=yes"}},
		{"vip beats own blocked list", Call{Calling: nBoth, Called: nAlice},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=yes"}},
		{"vip beats provider blocked list", Call{Calling: nSpammer, Called: nAlice},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=yes"}},
		{"vip with presentation restricted", Call{Calling: nFriend, Called: nAlice, Presentation: PresentationRestricted},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=yes"}},
		{"vip list is per subscriber", Call{Calling: nFriend, Called: nDave},
			want{action: ActionAllow, subscriber: 4, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply"}},

		// Blocked.
		{"blocked", Call{Calling: nPest, Called: nAlice, Origin: OriginAIN},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"}},
		{"blocked with reject with media", Call{Calling: nPest, Called: nBob, Origin: OriginAIN},
			want{action: ActionBlockWithAnnouncement, subscriber: 2, announcement: 77, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"}},
		{"blocked with reject with media, SIP: the B2BUA plays it", Call{Calling: nPest, Called: nBob, Origin: OriginSIP},
			want{action: ActionBlockWithAnnouncement, subscriber: 2, announcement: 77, route: routeEast, trace: "subscriber=yes provider-vip=no vip=no blocked=yes route=yes"}},
		{"blocked with reject with media, no announcement", Call{Calling: nPest, Called: nCarol},
			want{action: ActionBlock, subscriber: 3, trace: "subscriber=yes provider-vip=no vip=no blocked=yes announcement=missing"}},
		{"blocked with presentation restricted", Call{Calling: nPest, Called: nAlice, Presentation: PresentationRestricted},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"}},
		{"provider blocked", Call{Calling: nSpammer2, Called: nAlice},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=no blocked=no provider-blocked=yes"}},
		{"provider blocked with reject with media", Call{Calling: nSpammer, Called: nBob},
			want{action: ActionBlockWithAnnouncement, subscriber: 2, announcement: 77, trace: "subscriber=yes provider-vip=no vip=no blocked=no provider-blocked=yes"}},
		{"provider list is per provider", Call{Calling: nSpammer, Called: nCarol},
			want{action: ActionAllow, subscriber: 3, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=missing fallback=apply"}},

		// Anonymous.
		{"anonymous, no number", Call{Called: nAlice, Origin: OriginAIN},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes anonymous=apply"}},
		{"anonymous, restricted", Call{Calling: nStranger, Called: nAlice, Presentation: PresentationRestricted},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes " + lists + "anonymous=apply"}},
		{"anonymous, unavailable, challenge", Call{Called: nBob, Presentation: PresentationUnavailable, Origin: OriginAIN},
			want{action: ActionChallenge, subscriber: 2, route: routeEast, trace: "subscriber=yes anonymous=apply route=yes pin=no"}},
		{"anonymous, allow", Call{Called: nCarol, Presentation: PresentationRestricted},
			want{action: ActionAllow, subscriber: 3, trace: "subscriber=yes anonymous=apply"}},
		{"anonymous, voicemail without announcement", Call{Called: nDave, Origin: OriginSIP},
			want{action: ActionVoicemail, subscriber: 4, route: routeEast, voicemail: "+13035558888", trace: "subscriber=yes anonymous=apply route=yes pin=no"}},
		{"anonymous, screen with PIN", Call{Called: nErin, Origin: OriginAIN},
			want{action: ActionScreen, subscriber: 5, route: routeEast, pin: true, trace: "subscriber=yes anonymous=apply route=yes pin=yes"}},
		{"anonymous treatment missing", Call{Called: nFrank},
			want{action: ActionAllow, subscriber: 6, trace: "subscriber=yes anonymous=missing"}},

		// Unknown caller.
		{"unknown, screen", Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN},
			want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=yes pin=yes"}},
		{"unknown, announce then voicemail", Call{Calling: nStranger, Called: nBob, Origin: OriginSIP},
			want{action: ActionVoicemail, subscriber: 2, route: routeEast, announcement: 77, voicemail: "+13035559999", trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=yes pin=no"}},
		{"unknown, allow", Call{Calling: nStranger, Called: nDave},
			want{action: ActionAllow, subscriber: 4, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply"}},
		{"unknown, block with reject with media", Call{Calling: nStranger, Called: nErin},
			want{action: ActionBlockWithAnnouncement, subscriber: 5, announcement: 12, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply"}},
		{"unknown, challenge", Call{Calling: nStranger, Called: nFrank, Origin: OriginAIN},
			want{action: ActionChallenge, subscriber: 6, route: routeEast, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=yes pin=no"}},

		// Route.
		{"route missing: fallback allow, PIN not offered", Call{Calling: nStranger, Called: nCarol, Origin: OriginAIN},
			want{action: ActionAllow, subscriber: 3, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=missing fallback=apply"}},
		{"route missing clears voicemail treatment", Call{Calling: nStranger, Called: nHenry, Origin: OriginSIP},
			want{action: ActionAllow, subscriber: 8, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=missing fallback=apply"}},
		{"route missing, the SIP tier's default", Call{Calling: nStranger, Called: nHenry, Origin: OriginSIP, DefaultRoute: true},
			want{action: ActionVoicemail, subscriber: 8, announcement: 3, voicemail: "+13035557777", trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=default pin=no"}},
		{"SIP-only route from AIN", Call{Calling: nStranger, Called: nGrace, Origin: OriginAIN},
			want{action: ActionAllow, subscriber: 7, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=missing fallback=apply"}},
		{"AIN-capable route from SIP: the SIP tier's default", Call{Calling: nStranger, Called: nAlice, Origin: OriginSIP, DefaultRoute: true},
			want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=yes pin=yes"}},
		{"SIP route wins over the SIP tier's default", Call{Calling: nStranger, Called: nGrace, Origin: OriginSIP, DefaultRoute: true},
			want{action: ActionScreen, subscriber: 7, route: routeSIP, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=yes pin=no"}},

		{"SIP-only route from SIP", Call{Calling: nStranger, Called: nGrace, Origin: OriginSIP},
			want{action: ActionScreen, subscriber: 7, route: routeSIP, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=yes pin=no"}},
		{"SIP-only route, origin unknown", Call{Calling: nStranger, Called: nGrace},
			want{action: ActionScreen, subscriber: 7, route: routeSIP, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=yes pin=no"}},

		// Spoof protection (call keys).
		{"key missing beats vip", Call{Calling: nFriend, Called: nAlice, KeyMatch: KeyMissing},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes key=missing setting=platform"}},
		{"key missing with reject with media", Call{Calling: nStranger, Called: nBob, KeyMatch: KeyMissing},
			want{action: ActionBlockWithAnnouncement, subscriber: 2, announcement: 77, trace: "subscriber=yes key=missing setting=platform"}},
		{"key missing to non-subscriber", Call{Calling: nStranger, Called: nNobody, KeyMatch: KeyMissing},
			want{action: ActionBlock, trace: "subscriber=no key=missing setting=platform"}},
		{"key matched goes on", Call{Calling: nFriend, Called: nAlice, KeyMatch: KeyMatched},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes key=yes provider-vip=no vip=yes brand=missing"}},
		{"key matched, blocked", Call{Calling: nPest, Called: nAlice, KeyMatch: KeyMatched},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes key=yes provider-vip=no vip=no blocked=yes"}},

		// A provider without a STIR/SHAKEN policy lets a C attestation on
		// (attestation=no); without a look-up (no reputation provider) the
		// reputation rule adds no step (signals_test.go). FraudLocked
		// concerns outgoing calls only.
		{"attestation without policy, no reputation look-up, fraud lock ignored", Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN,
			Attestation: AttestationC, FraudLocked: true},
			want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: "subscriber=yes " + lists + "attestation=no anonymous=no unknown=apply route=yes pin=yes"}},
	}
	e := New(fixture())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, e.Decide(context.Background(), tc.call), tc.want)
		})
	}
}

func TestDecideDefaultAnnouncement(t *testing.T) {
	e := New(fixture(), WithDefaultAnnouncement(5))
	ctx := context.Background()
	// Carol has Reject with Media but no announcement: the platform's is used.
	check(t, e.Decide(ctx, Call{Calling: nPest, Called: nCarol}),
		want{action: ActionBlockWithAnnouncement, subscriber: 3, announcement: 5, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"})
	// Bob's own announcement wins over the default.
	check(t, e.Decide(ctx, Call{Calling: nPest, Called: nBob}),
		want{action: ActionBlockWithAnnouncement, subscriber: 2, announcement: 77, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"})
	// Dave's voicemail treatment gets the default announcement too.
	check(t, e.Decide(ctx, Call{Called: nDave}),
		want{action: ActionVoicemail, subscriber: 4, route: routeEast, announcement: 5, voicemail: "+13035558888", trace: "subscriber=yes anonymous=apply route=yes pin=no"})
	// Alice has no Reject with Media: plain block despite the default.
	check(t, e.Decide(ctx, Call{Calling: nPest, Called: nAlice}),
		want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"})
}

func TestDecideDefaultRoute(t *testing.T) {
	v := fixture()
	def := store.Route{Name: "default", RoutingNumber: e164.MustParse("+17205550000"), SIPURI: "sip:screen@default.example"}
	v.defaultRoute = &def
	e := New(v)
	// Carol's provider has no route of its own: the platform default is used.
	check(t, e.Decide(context.Background(), Call{Calling: nStranger, Called: nCarol, Origin: OriginAIN}),
		want{action: ActionScreen, subscriber: 3, route: def, pin: true, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply route=yes pin=yes"})
}

// TestNoRouteFallback: with no way to the B2BUA the configured fallback
// is applied, said in the trace and reported by FellBack; a tier with a
// default of its own keeps the treatment.
func TestNoRouteFallback(t *testing.T) {
	ctx := context.Background()
	screenCarol := Call{Calling: nStranger, Called: nCarol, Origin: OriginSIP}
	blockCarol := Call{Calling: nPest, Called: nCarol, Origin: OriginSIP} // Reject with Media, default announcement
	const treated = "subscriber=yes " + lists + "anonymous=no unknown=apply "
	tests := []struct {
		name     string
		fallback Fallback
		call     Call
		want     want
		fellBack bool
	}{
		{"allow", FallbackAllow, screenCarol,
			want{action: ActionAllow, subscriber: 3, trace: treated + "route=missing fallback=apply"}, true},
		{"block", FallbackBlock, screenCarol,
			want{action: ActionBlock, subscriber: 3, trace: treated + "route=missing fallback=apply"}, true},
		{"block, AIN", FallbackBlock, Call{Calling: nStranger, Called: nCarol, Origin: OriginAIN},
			want{action: ActionBlock, subscriber: 3, trace: treated + "route=missing fallback=apply"}, true},
		{"block, the tier's default", FallbackBlock, Call{Calling: nStranger, Called: nCarol, Origin: OriginSIP, DefaultRoute: true},
			want{action: ActionScreen, subscriber: 3, pin: true, trace: treated + "route=default pin=yes"}, false},
		{"announcement on SIP without a way: plain block even when allowing", FallbackAllow, blockCarol,
			want{action: ActionBlock, subscriber: 3, trace: "subscriber=yes provider-vip=no vip=no blocked=yes route=missing fallback=apply"}, true},
		{"announcement on SIP, the tier's default", FallbackAllow, Call{Calling: nPest, Called: nCarol, Origin: OriginSIP, DefaultRoute: true},
			want{action: ActionBlockWithAnnouncement, subscriber: 3, announcement: 5, trace: "subscriber=yes provider-vip=no vip=no blocked=yes route=default"}, false},
		{"announcement on AIN needs no route", FallbackAllow, Call{Calling: nPest, Called: nCarol, Origin: OriginAIN},
			want{action: ActionBlockWithAnnouncement, subscriber: 3, announcement: 5, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(fixture(), WithNoRouteFallback(tc.fallback), WithDefaultAnnouncement(5))
			d := e.Decide(ctx, tc.call)
			check(t, d, tc.want)
			if d.FellBack() != tc.fellBack {
				t.Errorf("FellBack() = %v, want %v", d.FellBack(), tc.fellBack)
			}
		})
	}
}

func TestParseFallback(t *testing.T) {
	for _, f := range []Fallback{FallbackAllow, FallbackBlock} {
		if got, err := ParseFallback(f.String()); err != nil || got != f {
			t.Errorf("ParseFallback(%q) = %v, %v", f, got, err)
		}
	}
	if _, err := ParseFallback("screen"); err == nil || !strings.Contains(err.Error(), "want allow or block") {
		t.Errorf("ParseFallback(screen) error %v", err)
	}
}

func TestDecideCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := New(fixture())
	check(t, e.Decide(ctx, Call{Calling: nPest, Called: nAlice}),
		want{action: ActionAllow, trace: "cancelled=yes"})
}

func TestDecideNilContextAndView(t *testing.T) {
	// A nil context from a careless caller must not crash the engine.
	d := New(fixture()).Decide(nil, Call{Calling: nPest, Called: nAlice}) //nolint:staticcheck // SA1012 on purpose
	check(t, d, want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=no blocked=yes"})
	check(t, New(nil).Decide(context.Background(), Call{Calling: nPest, Called: nAlice}),
		want{action: ActionAllow, trace: "subscriber=no"})
}

// TestTreat drives the treat step alone for every treatment value,
// including ones the store must never hand out.
func TestTreat(t *testing.T) {
	sub := store.SubscriberView{ID: 9, RejectWithMedia: true, Announcement: 4, Voicemail: "vm"}
	tests := []struct {
		t     store.Treatment
		want  Action
		ann   uint32
		vm    string
		trace string
	}{
		{store.TreatAllow, ActionAllow, 0, "", "unknown=apply"},
		{store.TreatScreen, ActionScreen, 0, "vm", "unknown=apply"},
		{store.TreatAnnounceVoicemail, ActionVoicemail, 4, "vm", "unknown=apply"},
		{store.TreatBlock, ActionBlockWithAnnouncement, 4, "", "unknown=apply"},
		{store.TreatChallenge, ActionChallenge, 0, "", "unknown=apply"},
		{store.TreatUnset, ActionAllow, 0, "", "unknown=missing"},
		{store.Treatment(200), ActionAllow, 0, "", "unknown=missing"},
	}
	e := New(nil)
	for _, tc := range tests {
		s := state{sub: sub, found: true}
		e.treat(&s, RuleUnknown, tc.t)
		if s.d.Action != tc.want || s.d.Announcement != tc.ann || s.d.Voicemail != tc.vm || s.d.Trace.String() != tc.trace {
			t.Errorf("treat(%v) = %v ann=%d vm=%q [%s], want %v ann=%d vm=%q [%s]", tc.t,
				s.d.Action, s.d.Announcement, s.d.Voicemail, s.d.Trace.String(), tc.want, tc.ann, tc.vm, tc.trace)
		}
	}
}

func TestRouteUsable(t *testing.T) {
	both := store.Route{RoutingNumber: 13035550000, SIPURI: "sip:x@y"}
	ain := store.Route{RoutingNumber: 13035550000}
	sip := store.Route{SIPURI: "sip:x@y"}
	none := store.Route{Name: "empty"}
	tests := []struct {
		r    store.Route
		o    Origin
		want bool
	}{
		{both, OriginAIN, true}, {both, OriginSIP, true}, {both, 0, true},
		{ain, OriginAIN, true}, {ain, OriginSIP, false}, {ain, 0, true},
		{sip, OriginAIN, false}, {sip, OriginSIP, true}, {sip, 0, true},
		{none, OriginAIN, false}, {none, OriginSIP, false}, {none, 0, false},
	}
	for _, tc := range tests {
		if got := routeUsable(&tc.r, tc.o); got != tc.want {
			t.Errorf("routeUsable(%+v, %v) = %v, want %v", tc.r, tc.o, got, tc.want)
		}
	}
}

// TestStepsAlone drives list steps on their own, as the chain does not.
func TestStepsAlone(t *testing.T) {
	e := New(fixture())
	s := state{call: Call{Called: nAlice}, found: true, sub: store.SubscriberView{ID: 1, Provider: 1}}
	// Without a calling number the list steps are not consulted at all.
	if e.vip(&s) || e.blocked(&s) || e.providerBlocked(&s) || s.d.Trace.Len() != 0 {
		t.Fatalf("list steps consulted without a calling number: %s", s.d.Trace.String())
	}
	s.call.Calling = nSpammer2
	if e.vip(&s) || e.blocked(&s) || !e.providerBlocked(&s) {
		t.Fatalf("provider list not matched: %s", s.d.Trace.String())
	}
	if s.d.Action != ActionBlock {
		t.Fatalf("action = %v", s.d.Action)
	}
	// notSubscriber settles only when no subscriber was found.
	if e.notSubscriber(&s) {
		t.Fatal("notSubscriber settled a subscriber's call")
	}
	if !e.notSubscriber(&state{}) {
		t.Fatal("notSubscriber passed a non-subscriber on")
	}
}

func TestDecideAllocs(t *testing.T) {
	e := New(fixture())
	ctx := context.Background()
	calls := []Call{
		{Calling: nFriend, Called: nAlice},
		{Calling: nPest, Called: nBob},
		{Calling: nStranger, Called: nAlice, Origin: OriginAIN},
		{Calling: nStranger, Called: nNobody},
		{Called: nBob},
		{Calling: nStranger, Called: nCarol, Origin: OriginSIP},
		{Calling: nStranger, Called: nHenry, Origin: OriginSIP, DefaultRoute: true},
		{Calling: nAlice, Called: nStranger, Direction: DirectionOriginating, FraudLocked: true},
	}
	for _, c := range calls {
		if n := testing.AllocsPerRun(100, func() { _ = e.Decide(ctx, c) }); n != 0 {
			t.Errorf("Decide(%v -> %v) allocates %.0f times", c.Calling, c.Called, n)
		}
	}
}

func TestDecisionJSON(t *testing.T) {
	d := New(fixture()).Decide(context.Background(), Call{Calling: nStranger, Called: nBob, Origin: OriginAIN})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"action":"voicemail","subscriber":2,"announcement":77,"voicemail":"+13035559999",` +
		`"route":{"name":"east","routing_number":"+13035550000","sip_uri":"sip:screen@b2bua.example"},` +
		`"trace":[{"rule":"subscriber","outcome":"yes"},{"rule":"provider-vip","outcome":"no"},{"rule":"vip","outcome":"no"},{"rule":"blocked","outcome":"no"},` +
		`{"rule":"provider-blocked","outcome":"no"},{"rule":"anonymous","outcome":"no"},{"rule":"unknown","outcome":"apply"},` +
		`{"rule":"route","outcome":"yes"},{"rule":"pin","outcome":"no"}]}`
	if string(b) != want {
		t.Fatalf("json:\n got %s\nwant %s", b, want)
	}
	var back Decision
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != d {
		t.Fatalf("round trip: got %+v, want %+v", back, d)
	}
	if got, want := d.String(), "voicemail subscriber=2 announcement=77 voicemail=+13035559999 "+
		"route=east(+13035550000 sip:screen@b2bua.example) [subscriber=yes provider-vip=no vip=no blocked=no "+
		"provider-blocked=no anonymous=no unknown=apply route=yes pin=no]"; got != want {
		t.Fatalf("String:\n got %s\nwant %s", got, want)
	}
	var empty Decision
	if b, _ := json.Marshal(empty); string(b) != `{"action":"none","trace":[]}` {
		t.Fatalf("zero decision json = %s", b)
	}
}

func TestDecisionJSONErrors(t *testing.T) {
	for _, in := range []string{
		`{"action":"explode","trace":[]}`,
		`{"action":"allow","trace":[{"rule":"nope","outcome":"yes"}]}`,
		`{"action":"allow","trace":[{"rule":"vip","outcome":"maybe"}]}`,
		`{"action":"allow","trace":{}}`,
		`{"action":"allow","trace":[{}]}`,
		`{"action":"allow","trace":[{"rule":"vip"}]}`,
		`{"action":"allow","route":{"routing_number":"banana"}}`,
		`[`,
	} {
		var d Decision
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) accepted", in)
		}
	}
	var tr Trace
	long := `[` + repeatJSON(`{"rule":"vip","outcome":"no"}`, MaxSteps+1) + `]`
	if err := json.Unmarshal([]byte(long), &tr); err == nil {
		t.Error("trace longer than MaxSteps accepted")
	}
}

func repeatJSON(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

func FuzzDecisionJSON(f *testing.F) {
	f.Add([]byte(`{"action":"screen","subscriber":1,"pin_allowed":true,"route":{"name":"e","routing_number":"+13035550000"},"trace":[{"rule":"subscriber","outcome":"yes"}]}`))
	f.Add([]byte(`{"action":"none","trace":[]}`))
	f.Add([]byte(`{"action":"block","trace":null}`))
	f.Add([]byte(`{"trace":[{"rule":"cancelled","outcome":"yes"}],"announcement":4294967295}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decision
		if err := json.Unmarshal(b, &d); err != nil {
			return
		}
		// Whatever parses must render and round-trip to the same value.
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("Marshal of parsed %s: %v", b, err)
		}
		var back Decision
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if back != d {
			t.Fatalf("round trip changed %+v to %+v", d, back)
		}
		_ = d.String()
	})
}
