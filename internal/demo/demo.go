// Package demo seeds the small demo platform that `make run` serves and the
// README walks through: one service provider with a number allocation, an
// egress route to the SIP tier, and three subscribers showing VIP and
// Blocked lists, Reject with Media, an override PIN and the anonymous
// treatment. The numbers live here as constants so the README, the "what to
// try" lines and the tests cannot drift apart. Seed writes through a
// Platform (platform.go): the CLI's backend, so `callgate demo` seeds a
// running daemon through its API as well as a store file, audited as the
// CLI user either way.
package demo

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"callgate/e164"
	"callgate/store"
)

// The demo platform. Numbers are +E.164.
const (
	Provider  = "demo-telco"
	AllocFrom = "+13035550100" // the provider's allocation: 100 numbers
	AllocTo   = "+13035550199"

	Route         = "sip-tier"                  // default egress route
	RoutingNumber = "+13035550999"              // AIN Forward_Call destination (a SIP-capable switch)
	RouteURI      = "sip:screen@127.0.0.1:5070" // the B2BUA's screening URI

	// Alice screens unknown callers (the platform default), has a VIP, a
	// blocked caller and an override PIN.
	Alice       = "alice"
	AliceNumber = "+13035550100"
	AlicePIN    = "2468"
	// Bob blocks with an announcement (Reject with Media) and sends
	// unknown callers to an announcement and his voicemail.
	Bob             = "bob"
	BobNumber       = "+13035550101"
	BobAnnouncement = 101
	BobVoicemail    = "+13035550190"
	// Carol lets unknown callers ring but blocks anonymous ones.
	Carol       = "carol"
	CarolNumber = "+13035550102"

	Mom         = "+17195550001" // on Alice's VIP list
	Telemarket  = "+17195551212" // on Alice's and Bob's Blocked lists
	PremiumScam = "+19005550100" // on the provider-wide Blocked list
	Stranger    = "+17205550123" // on no list
	Elsewhere   = "+12125550100" // not a subscriber of callgate
)

// Summary says what Seed did.
type Summary struct {
	Created []string // things created this time ("provider demo-telco", ...)
	Updated []string // things that existed and were brought back to the demo state
}

// Seed writes the demo platform through s. It is idempotent: on a
// platform that already holds it, it restores the demo settings and list
// entries (entries an operator added are kept) and creates nothing twice
// (what exists is looked up first, so it works the same over the API,
// where "exists" and "in use" share one status).
func Seed(s Platform) (Summary, error) { return SeedWith(s, RouteURI) }

// SeedWith is Seed with the route's SIP URI given: the screening URI of
// the B2BUA the daemon's configuration runs (RouteURI is the default one),
// so calls to screen reach it wherever the configuration puts it.
func SeedWith(s Platform, routeURI string) (Summary, error) {
	var sum Summary
	note := func(created bool, what string) {
		if created {
			sum.Created = append(sum.Created, what)
		} else {
			sum.Updated = append(sum.Updated, what)
		}
	}
	fail := func(err error) (Summary, error) { return sum, fmt.Errorf("demo: %w", err) }

	routes, _, err := s.Routes()
	if err != nil {
		return fail(err)
	}
	hadRoute := slices.ContainsFunc(routes, func(r store.Route) bool { return r.Name == Route })
	if _, err := s.SetRoute(store.RouteSpec{Name: Route, RoutingNumber: RoutingNumber, SIPURI: routeURI}); err != nil {
		return fail(err)
	}
	if err := s.SetDefaultRoute(Route); err != nil {
		return fail(err)
	}
	note(!hadRoute, "route "+Route+" (default)")

	p, err := s.GetProvider(Provider)
	switch {
	case err == nil:
		note(false, "provider "+Provider)
	case errors.Is(err, store.ErrNotFound):
		if p, err = s.CreateProvider(store.ProviderSpec{Name: Provider}); err != nil {
			return fail(err)
		}
		note(true, "provider "+Provider)
	default:
		return fail(err)
	}
	alloc, err := store.ParseRange(AllocFrom + ".." + AllocTo)
	if err != nil {
		return fail(err)
	}
	if !slices.Contains(p.Allocations, alloc) {
		if err := s.AllocateNumbers(Provider, []store.Range{alloc}); err != nil {
			return fail(err)
		}
		note(true, "allocation "+alloc.String())
	}
	if _, err := s.AddToList(store.ProviderPrefix+Provider, store.ListBlocked, []string{PremiumScam}, "premium-rate scam"); err != nil {
		return fail(err)
	}

	screen, annVM, allow, block := store.TreatScreen, store.TreatAnnounceVoicemail, store.TreatAllow, store.TreatBlock
	on := store.ToggleOn
	ann := uint32(BobAnnouncement)
	vm := BobVoicemail
	subs := []struct {
		name, number string
		set          store.SettingsUpdate
		vip, blocked []string
		pin          string
	}{
		{Alice, AliceNumber, store.SettingsUpdate{Unknown: &screen, Anonymous: &screen}, []string{Mom}, []string{Telemarket}, AlicePIN},
		{Bob, BobNumber, store.SettingsUpdate{Unknown: &annVM, RejectWithMedia: &on, Announcement: &ann, Voicemail: &vm}, nil, []string{Telemarket}, ""},
		{Carol, CarolNumber, store.SettingsUpdate{Unknown: &allow, Anonymous: &block}, nil, nil, ""},
	}
	for _, d := range subs {
		_, err := s.GetSubscriber(d.name)
		switch {
		case err == nil:
			note(false, "subscriber "+d.name+" "+d.number)
		case errors.Is(err, store.ErrNotFound):
			if _, err := s.CreateSubscriber(store.SubscriberSpec{Name: d.name, Provider: Provider, Numbers: []string{d.number}}); err != nil {
				return fail(err)
			}
			note(true, "subscriber "+d.name+" "+d.number)
		default:
			return fail(err)
		}
		if err := s.SetTreatments(d.name, d.set); err != nil {
			return fail(err)
		}
		if len(d.vip) > 0 {
			if _, err := s.AddToList(d.name, store.ListVIP, d.vip, ""); err != nil {
				return fail(err)
			}
		}
		if len(d.blocked) > 0 {
			if _, err := s.AddToList(d.name, store.ListBlocked, d.blocked, ""); err != nil {
				return fail(err)
			}
		}
		if d.pin != "" {
			if err := s.SetPIN(d.name, d.pin); err != nil {
				return fail(err)
			}
		}
	}
	return sum, nil
}

// Try is one suggested command and what it shows.
type Try struct {
	What    string
	Command string
	// Expect is the action `decide` prints for decide lines ("" otherwise),
	// so tests check the suggestions against the engine.
	Expect string
	// Calling, Called and Presentation are the decide arguments.
	Calling, Called, Presentation string
}

// Decisions are the calls worth trying against the demo data, each with
// the decision the engine gives.
var Decisions = []Try{
	{What: "VIP caller rings through", Calling: Mom, Called: AliceNumber, Expect: "allow"},
	{What: "blocked caller is rejected", Calling: Telemarket, Called: AliceNumber, Expect: "block"},
	{What: "blocked caller hears an announcement (Reject with Media)", Calling: Telemarket, Called: BobNumber, Expect: "block-with-announcement"},
	{What: "unknown caller is screened by the SIP tier (PIN allowed)", Calling: Stranger, Called: AliceNumber, Expect: "screen"},
	{What: "unknown caller gets Bob's announcement, then voicemail", Calling: Stranger, Called: BobNumber, Expect: "voicemail"},
	{What: "anonymous caller is blocked by Carol", Calling: Stranger, Called: CarolNumber, Presentation: "restricted", Expect: "block"},
	{What: "provider-wide Blocked list", Calling: PremiumScam, Called: CarolNumber, Expect: "block"},
	{What: "called number is not a subscriber", Calling: Stranger, Called: Elsewhere, Expect: "allow"},
}

// Where is what the "what to try" lines point at: the flags that name the
// daemon's store (" --data DIR", " --config FILE"; "" for the defaults)
// and the addresses of its listeners (host:port; "" = that listener is
// off, and its lines are left out).
type Where struct {
	Flags string
	Admin string // the admin listener (metrics, health)
	SIP   string // the SIP redirect server's UDP listener
	SCP   string // the SCP's M3UA listener
}

// Defaults is Where for `callgate serve` without flags.
var Defaults = Where{Admin: "127.0.0.1:9464", SIP: "127.0.0.1:5060", SCP: "127.0.0.1:2905"}

// TryLines returns the "what to try" text printed after seeding: bin is
// the callgate binary as the user types it.
func TryLines(bin string, at Where) string {
	dataFlag := at.Flags
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("What to try, in another terminal while `%s serve%s` runs (it holds the store file;\n", bin, dataFlag)
	w("these commands go through the daemon's API for you, and changes take effect at once):\n\n")
	w("  Ask the decision engine, with the reason trace:\n")
	for _, t := range Decisions {
		w("    %s\n", t.What)
		w("      %s\n", DecideCommand(bin, dataFlag, t))
	}
	w("\n  Look at the data:\n")
	w("    %s subscriber show %s%s\n", bin, Alice, dataFlag)
	w("    %s list show --owner %s%s\n", bin, AliceNumber, dataFlag)
	w("    %s list show --owner %s%s%s\n", bin, store.ProviderPrefix, Provider, dataFlag)
	w("    %s provider show %s%s\n", bin, Provider, dataFlag)
	w("    %s export --owner %s%s > alice.csv\n", bin, AliceNumber, dataFlag)
	if at.SIP != "" {
		w("\n  Real SIP calls through the redirect server (sipp: Debian package sip-tester):\n")
		w("    %s\n", sippLine("invite_603.xml", Telemarket, AliceNumber, at.SIP))
		w("    %s\n", sippLine("invite_302.xml", Mom, AliceNumber, at.SIP))
	}
	sspsim := strings.TrimSuffix(bin, "callgate") + "sspsim"
	if at.SCP != "" {
		w("\n  AIN Termination_Attempt queries, as a switch sends them (M3UA over TCP to the SCP):\n")
		w("    %s call --connect %s --calling %s --called %s     # authorizeTermination\n", sspsim, at.SCP, Mom, AliceNumber)
		w("    %s call --connect %s --calling %s --called %s     # disconnect\n", sspsim, at.SCP, Telemarket, AliceNumber)
		w("    %s call --connect %s --calling %s --called %s     # sendToResource\n", sspsim, at.SCP, Telemarket, BobNumber)
		w("    %s call --connect %s --calling %s --called %s     # forwardCall to the SIP tier\n", sspsim, at.SCP, Stranger, AliceNumber)
		w("    %s load --connect %s --rate 2000 --duration 10s --called %s --calling-range +1617555xxxx\n", sspsim, at.SCP, AliceNumber)
		w("    %s call --connect %s --calling %s --called %s --capture call.pcap && %s decode call.pcap\n", sspsim, at.SCP, Stranger, AliceNumber, sspsim)
		if at.Admin != "" {
			w("    %s capture --seconds 10 --output scp.pcap%s     # the SCP's live signalling, for Wireshark or sspsim replay\n", bin, dataFlag)
		}
	}
	w("\n  Decisions made by the running tiers (SIP INVITEs, AIN queries), with their trace:\n")
	w("    %s log search --number %s --since 1h%s\n", bin, AliceNumber, dataFlag)
	if at.Admin != "" {
		w("\n  Metrics and health:\n")
		w("    curl -s http://%s/metrics | grep ^callgate_ | grep -v _bucket\n", at.Admin)
		w("    curl -s http://%s/readyz\n", at.Admin)
	}
	w("\n  Change things live (the next call sees the change; no restart):\n")
	w("    %s list add --owner %s --list blocked %s%s\n", bin, CarolNumber, Stranger, dataFlag)
	if at.SCP != "" {
		w("    %s call --connect %s --calling %s --called %s     # now disconnect\n", sspsim, at.SCP, Stranger, CarolNumber)
	}
	w("    %s pin set %s%s        # prompts for the PIN without echo\n", bin, Bob, dataFlag)
	w("    %s treatment set %s --unknown challenge%s\n", bin, Carol, dataFlag)
	return b.String()
}

// sippLine is a one-call sipp run of a scenario in testdata/sipp against
// the SIP listener at server.
func sippLine(scenario, calling, called, server string) string {
	return "sipp -sf testdata/sipp/" + scenario + " -m 1 -i 127.0.0.1 -p 5090 -key calling " + calling +
		" -key called " + called + " -timeout 10s -timeout_error -nostdin " + server
}

// DecideCommand renders one decide line.
func DecideCommand(bin, dataFlag string, t Try) string {
	cmd := bin + " decide"
	if t.Calling != "" {
		cmd += " --calling " + t.Calling
	}
	cmd += " --called " + t.Called
	if t.Presentation != "" {
		cmd += " --presentation " + t.Presentation
	}
	return cmd + dataFlag
}

// MustNumber parses a demo constant (they are valid by construction).
func MustNumber(s string) e164.Number { return e164.MustParse(s) }
