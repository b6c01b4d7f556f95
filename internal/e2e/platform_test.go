package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"callgate/daemon"
	"callgate/internal/config"
	"callgate/simulators/sip"
	"callgate/store"
)

// The platform every test calls: provider e2e-telco with one subscriber
// per case, so the cases run in parallel without sharing a phone's
// behaviour or a decision-log number.
const (
	provider      = "e2e-telco"
	routeName     = "b2bua"
	routingNumber = "+13035550999" // the route's AIN routing number (the B2BUA's gateway way in)
	promptDir     = "../../b2bua/prompts/en"
	subPIN        = "2468"
	challengeSeed = 7

	mom        = "+17195550001" // on every subscriber's VIP list
	telemarket = "+17195551212" // on every subscriber's Blocked list
)

// sub is one subscriber of the platform: its number, what unknown callers
// get, and its own voicemail mailbox on the voicemail platform.
type sub struct {
	name, number string
	unknown      store.Treatment
	pin          bool
	voicemail    bool
	announcement uint32 // Reject with Media with this announcement
}

var subs = []sub{
	{name: "vip", number: "+13035550100", unknown: store.TreatScreen},
	{name: "blocked", number: "+13035550101", unknown: store.TreatScreen, announcement: 101},
	{name: "pin", number: "+13035550102", unknown: store.TreatScreen, pin: true},
	{name: "accept", number: "+13035550103", unknown: store.TreatScreen},
	{name: "refuse", number: "+13035550104", unknown: store.TreatScreen},
	{name: "press3", number: "+13035550105", unknown: store.TreatScreen, voicemail: true},
	{name: "noanswer", number: "+13035550106", unknown: store.TreatScreen, voicemail: true},
	{name: "challenge", number: "+13035550107", unknown: store.TreatChallenge},
	{name: "ringcancel", number: "+13035550108", unknown: store.TreatScreen},
	{name: "rtptimeout", number: "+13035550109", unknown: store.TreatScreen},
	{name: "ain", number: "+13035550110", unknown: store.TreatScreen},
	{name: "forged", number: "+13035550111", unknown: store.TreatScreen},
}

func number(name string) string {
	for _, s := range subs {
		if s.name == name {
			return s.number
		}
	}
	panic("no subscriber " + name)
}

// platform is the running daemon and the phones around it.
type platform struct {
	cfg       config.Config
	d         *daemon.Daemon
	sipAddr   string // the redirect server (UDP)
	b2buaAddr string // the B2BUA (UDP)
	scpAddr   string // the SCP (M3UA over TCP)
	subPhone  *sip.Phone
	vmPhone   *sip.Phone
	prompts   *sip.Prompts
}

// startPlatform starts the subscribers' phone and the voicemail platform,
// then the daemon (its continue route points at the subscribers' phone),
// then seeds the store through the running daemon: the route's SIP URI is
// the B2BUA's address, known once it listens.
func startPlatform(t *testing.T) *platform {
	t.Helper()
	ctx := context.Background()
	p := &platform{}
	var err error
	if p.prompts, err = sip.LoadPrompts(promptDir); err != nil {
		t.Fatal(err)
	}
	if p.subPhone, err = sip.NewPhone(ctx, sip.PhoneConfig{UserAgent: "subscriber"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.subPhone.Close() })
	if p.vmPhone, err = sip.NewPhone(ctx, sip.PhoneConfig{UserAgent: "voicemail"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.vmPhone.Close() })

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.DecisionLog.NoSync = true
	cfg.DecisionLog.FlushInterval = 50 * time.Millisecond
	cfg.SIP.UDP, cfg.SIP.TCP = "127.0.0.1:0", ""
	cfg.SIP.ContinueRoute = "sip:{called}@" + p.subPhone.Addr()
	cfg.SCP.Listen = []string{"127.0.0.1:0"}
	cfg.B2BUA.Enabled = true
	cfg.B2BUA.UDP, cfg.B2BUA.TCP = "127.0.0.1:0", ""
	cfg.B2BUA.RTPPortMin, cfg.B2BUA.RTPPortMax = 0, 0
	cfg.B2BUA.ChallengeSeed = challengeSeed
	// Timers short enough for a test, long enough for a loaded machine:
	// the subscriber that never answers is given up after RingTimeout;
	// a caller that stops sending RTP is released after RTPTimeout.
	cfg.B2BUA.RingTimeout = 6 * time.Second
	cfg.B2BUA.RTPTimeout = 4 * time.Second
	cfg.B2BUA.PINFirstDigit = 4 * time.Second
	cfg.B2BUA.ChallengeTime = 4 * time.Second
	p.cfg = cfg

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	p.d = daemon.New(cfg, daemon.Options{Logger: logger})
	if err := p.d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.d.Shutdown() })
	for _, tr := range p.d.Tiers() {
		switch a := tr.(type) {
		case interface{ Addr(string) net.Addr }:
			p.sipAddr = a.Addr("udp").String()
		case interface{ Addr() string }:
			if tr.Name() == "b2bua" {
				p.b2buaAddr = a.Addr()
			} else if tr.Name() == "scp" {
				p.scpAddr = a.Addr()
			}
		}
	}
	if p.sipAddr == "" || p.b2buaAddr == "" || p.scpAddr == "" {
		t.Fatalf("tier addresses: sip %q, b2bua %q, scp %q", p.sipAddr, p.b2buaAddr, p.scpAddr)
	}
	p.seed(t)
	return p
}

// seed writes the platform into the daemon's live store.
func (p *platform) seed(t *testing.T) {
	t.Helper()
	st, op := p.d.Store(), store.Operator
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := st.SetRoute(op, store.RouteSpec{Name: routeName, RoutingNumber: routingNumber, SIPURI: "sip:screen@" + p.b2buaAddr})
	must(err)
	must(st.SetDefaultRoute(op, routeName))
	_, err = st.CreateProvider(op, store.ProviderSpec{Name: provider})
	must(err)
	alloc, err := store.ParseRange("+13035550100..+13035550199")
	must(err)
	must(st.AllocateNumbers(op, provider, alloc))
	for _, s := range subs {
		_, err := st.CreateSubscriber(op, store.SubscriberSpec{Name: s.name, Provider: provider, Numbers: []string{s.number}})
		must(err)
		unknown, none := s.unknown, store.VoicemailNone
		set := store.SettingsUpdate{Unknown: &unknown, Voicemail: &none}
		if s.voicemail {
			vm := p.mailbox(s.name)
			set.Voicemail = &vm
		}
		if s.announcement != 0 {
			on, ann := store.ToggleOn, s.announcement
			set.RejectWithMedia, set.Announcement = &on, &ann
		}
		_, err = st.SetTreatments(op, s.name, set)
		must(err)
		_, err = st.AddToList(op, s.name, store.ListVIP, []string{mom}, "")
		must(err)
		_, err = st.AddToList(op, s.name, store.ListBlocked, []string{telemarket}, "spam")
		must(err)
		if s.pin {
			must(st.SetPIN(op, s.name, subPIN))
		}
	}
}

// mailbox is the voicemail target of subscriber name: a user of its own
// on the voicemail platform.
func (p *platform) mailbox(name string) string { return p.vmPhone.URI("vm-" + name) }

// answer makes the subscribers' phone answer the calls to subscriber name
// as cfg says.
func (p *platform) answer(t *testing.T, name string, cfg sip.AnswerConfig) *sip.Answerer {
	t.Helper()
	cfg.Behaviour.Prompts = p.prompts
	a, err := p.subPhone.AnswerUser(number(name), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// voicemailBox makes the voicemail platform answer subscriber name's
// mailbox.
func (p *platform) voicemailBox(t *testing.T, name string) *sip.Answerer {
	t.Helper()
	a, err := p.vmPhone.AnswerUser("vm-"+name, sip.AnswerConfig{Mode: sip.ModeVoicemail, Behaviour: sip.Behaviour{Prompts: p.prompts}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// call places a call as an SBC would: to the redirect server for the
// called number, following its 302.
func (p *platform) call(t *testing.T, from, called string, script ...string) *sip.Result {
	t.Helper()
	return p.place(t, sip.CallConfig{Target: "sip:" + called + "@" + p.sipAddr + ";user=phone", From: from}, script...)
}

// place places a call with cfg and the script's cues.
func (p *platform) place(t *testing.T, cfg sip.CallConfig, script ...string) *sip.Result {
	t.Helper()
	cfg.Behaviour.Prompts = p.prompts
	cfg.Behaviour.Script = cues(t, script...)
	if cfg.MaxDuration == 0 {
		cfg.MaxDuration = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := sip.Call(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// next waits for the answerer's next call.
func next(t *testing.T, a *sip.Answerer) *sip.AnswerResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := a.Next(ctx)
	if err != nil {
		t.Fatalf("the answering phone reported no call: %v", err)
	}
	return r
}

func cues(t *testing.T, lines ...string) sip.Script {
	t.Helper()
	var s sip.Script
	for _, l := range lines {
		c, err := sip.ParseCue(l)
		if err != nil {
			t.Fatal(err)
		}
		s.Cues = append(s.Cues, c)
	}
	return s
}

// caller numbers: unknown callers, one per case, so each call's record
// is found by its caller.
func caller(i int) string { return "+1720555" + strconv.Itoa(1000+i) }

// tWriter sends the daemon's log to the test's (with -v).
type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }
