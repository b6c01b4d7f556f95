package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"callgate/daemon"
	"callgate/internal/config"
	"callgate/internal/selfsigned"
	"callgate/simulators/sip"
	"callgate/store"
)

// TestSecureCall is a call over TLS end to end, SRTP on both media legs:
// the caller's phone (sipsim, SRTP offered) sends its INVITE to the
// redirect server's TLS listener and follows the 302 to the B2BUA's
// sips: screening URI; it keys the override PIN inside SRTP; the B2BUA
// calls the subscriber's phone at a sips: route, over TLS with SRTP; the
// two hear each other's probe tones. Every party checks the others'
// certificate, both ways: both tiers require clients' certificates (mutual
// TLS). One self-signed certificate for 127.0.0.1 is trusted by all.
func TestSecureCall(t *testing.T) {
	ctx := context.Background()
	cert, key := writeCert(t)
	prompts, err := sip.LoadPrompts(promptDir)
	if err != nil {
		t.Fatal(err)
	}
	secure := sip.PhoneConfig{Transport: "tls", TLSCertFile: cert, TLSKeyFile: key, TLSCAFile: cert, SRTP: true}
	subCfg := secure
	subCfg.UserAgent = "subscriber"
	subPhone, err := sip.NewPhone(ctx, subCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { subPhone.Close() })

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.DecisionLog.NoSync = true
	cfg.SCP.Enabled = false
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.SIP.TLS = "", "", "127.0.0.1:0"
	cfg.SIP.TLSCertFile, cfg.SIP.TLSKeyFile, cfg.SIP.TLSClientCAFile = cert, key, cert
	cfg.SIP.ContinueRoute = "sips:{called}@" + subPhone.Addr()
	cfg.B2BUA.Enabled = true
	cfg.B2BUA.UDP, cfg.B2BUA.TCP, cfg.B2BUA.TLS = "", "", "127.0.0.1:0"
	cfg.B2BUA.TLSCertFile, cfg.B2BUA.TLSKeyFile, cfg.B2BUA.TLSCAFile, cfg.B2BUA.TLSClientCAFile = cert, key, cert, cert
	cfg.B2BUA.RTPPortMin, cfg.B2BUA.RTPPortMax = 0, 0
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	d := daemon.New(cfg, daemon.Options{Logger: logger})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Shutdown() })
	var sipTLS, b2buaTLS string
	for _, tr := range d.Tiers() {
		switch a := tr.(type) {
		case interface{ Addr(string) net.Addr }:
			if x := a.Addr("tls"); x != nil {
				sipTLS = x.String()
			}
		case interface{ TLSAddr() string }:
			b2buaTLS = a.TLSAddr()
		}
	}
	if sipTLS == "" || b2buaTLS == "" {
		t.Fatalf("TLS addresses: sip %q, b2bua %q", sipTLS, b2buaTLS)
	}

	st, op := d.Store(), store.Operator
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const subNumber = "+13035550102"
	_, err = st.SetRoute(op, store.RouteSpec{Name: routeName, RoutingNumber: routingNumber, SIPURI: "sips:screen@" + b2buaTLS})
	must(err)
	must(st.SetDefaultRoute(op, routeName))
	_, err = st.CreateProvider(op, store.ProviderSpec{Name: provider})
	must(err)
	alloc, err := store.ParseRange(subNumber)
	must(err)
	must(st.AllocateNumbers(op, provider, alloc))
	_, err = st.CreateSubscriber(op, store.SubscriberSpec{Name: "pin", Provider: provider, Numbers: []string{subNumber}})
	must(err)
	unknown := store.TreatScreen
	_, err = st.SetTreatments(op, "pin", store.SettingsUpdate{Unknown: &unknown})
	must(err)
	must(st.SetPIN(op, "pin", subPIN))

	phone, err := subPhone.AnswerUser(subNumber, sip.AnswerConfig{RingFor: 300 * time.Millisecond, Behaviour: sip.Behaviour{Prompts: prompts}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	callCfg := sip.CallConfig{Target: "sips:" + subNumber + "@" + sipTLS, From: "+17205550123", Phone: secure, MaxDuration: 60 * time.Second}
	callCfg.Phone.UserAgent = "caller"
	callCfg.Behaviour.Prompts = prompts
	callCfg.Behaviour.Script = cues(t, "pin_enter="+subPIN+"#", "@tone+1500ms=hangup")
	cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	res, err := sip.Call(cctx, callCfg)
	if err != nil {
		t.Fatal(err)
	}
	got := next(t, phone)
	if res.Outcome != sip.OutcomeAnswered || !res.Heard("pin_enter") || !res.Probe.Heard || !got.Probe.Heard {
		t.Errorf("outcome %s, prompts %v, tones %v/%v; want the PIN asked, then the subscriber bridged\n%s\n%s",
			res.Outcome, res.Prompts, res.Probe.Heard, got.Probe.Heard, res, got)
	}
	if len(res.Redirects) != 1 || !strings.HasPrefix(res.Redirects[0].Contact, "sips:screen@"+b2buaTLS) {
		t.Errorf("redirects %+v, want one 302 to the B2BUA's sips: URI", res.Redirects)
	}
	const srtp = "RTP/SAVP AES_CM_128_HMAC_SHA1_80"
	if res.Media != srtp || got.Media != srtp {
		t.Errorf("media: the caller's answer %q, the subscriber's offer %q; want %q both", res.Media, got.Media, srtp)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (cert, key string) {
	t.Helper()
	c, err := selfsigned.New("127.0.0.1", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert, key, _, err = c.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return cert, key
}
