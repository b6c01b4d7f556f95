package config

import (
	"strings"
	"testing"
	"time"
)

func TestB2BUASection(t *testing.T) {
	c, err := Parse([]byte("b2bua: {enabled: true}\n"), "on.yaml")
	if err != nil {
		t.Fatalf("defaults with b2bua on: %v", err)
	}
	if c.B2BUA.UDP != "127.0.0.1:5070" || c.B2BUA.Announcements["101"] != "announcement_101.wav" ||
		c.B2BUA.PINLockFailures != 5 || c.B2BUA.PINLockWindow != 15*time.Minute || c.B2BUA.PINLockPeriod != 15*time.Minute {
		t.Errorf("defaults %+v", c.B2BUA)
	}
	bad := `
b2bua:
  enabled: true
  udp: ""
  tcp: ""
  not_for_us: 500
  reject_mode: loud
  rtp_port_min: 20000
  rtp_port_max: 0
  ring_timeout: 0s
  pin_tries: 0
  pin_lock_failures: 0
  pin_lock_window: 500ms
  pin_lock_period: 200h
  continue_route: "http://x"
  announcements: {0: x.wav}
`
	_, err = Parse([]byte(bad), "bad.yaml")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"b2bua.enabled", "b2bua.not_for_us", "b2bua.reject_mode", "b2bua.rtp_port_min",
		"b2bua.ring_timeout", "b2bua.pin_tries", "b2bua.continue_route", "b2bua.announcements",
		"b2bua.pin_lock_failures", "b2bua.pin_lock_window", "b2bua.pin_lock_period"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %s in %v", want, err)
		}
	}
	if _, err := Parse([]byte("b2bua: {nope: 1}\n"), "typo.yaml"); err == nil || !strings.Contains(err.Error(), `unknown field "nope" in b2bua`) {
		t.Errorf("unknown field: %v", err)
	}
}

// The B2BUA's values are reported under their configuration keys, with the
// value and a fix, not left to package b2bua, whose messages name its Go
// fields (IVRNumber, RTPPortMin, Advertise) that no configuration file has.
func TestB2BUAProblemsNameTheirKeys(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"b2bua: {ivr_user: ivr}", `b2bua.ivr_number: ivr_user "ivr" needs ivr_number`},
		{`b2bua: {ivr_number: "303"}`, `b2bua.ivr_number: "303"`},
		{`b2bua: {ivr_user: "a b", ivr_number: "+13035550900"}`, `b2bua.ivr_user: "a b" is not a SIP user part`},
		{"b2bua: {rtp_port_min: 6000, rtp_port_max: 5000}", "b2bua.rtp_port_min: RTP ports 6000-5000"},
		{"b2bua: {rtp_port_min: 80, rtp_port_max: 5000}", "b2bua.rtp_port_min: RTP ports 80-5000"},
		{"b2bua: {rtp_port_min: 16385, rtp_port_max: 17000}", "b2bua.rtp_port_min: 16385 is odd"},
		{"b2bua: {advertise: not-an-ip}", `b2bua.advertise: "not-an-ip" is not a concrete IP address`},
		{"b2bua: {udp: 0.0.0.0:5070}", "b2bua.advertise: required when listening on 0.0.0.0"},
		{"b2bua: {pin_max_digits: 40}", "b2bua.pin_max_digits: 40 is not 1-32"},
		{"b2bua: {challenge_digits: 9}", "b2bua.challenge_digits: 9 is not 1-8"},
		{"b2bua: {name_max: 2m}", "b2bua.name_max: 2m0s is not between 500ms and 1m"},
		{"b2bua: {name_silence: 10s}", "b2bua.name_silence: 10s is not between 100ms and name_max (5s)"},
		{"b2bua: {rtp_timeout: 100ms}", "b2bua.rtp_timeout: 100ms is under a second"},
	} {
		_, err := Parse([]byte(tc.yaml+"\n"), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	for _, ok := range []string{"b2bua: {udp: 0.0.0.0:5070, advertise: 192.0.2.10}", "b2bua: {rtp_port_min: 0, rtp_port_max: 0}",
		`b2bua: {ivr_user: ivr, ivr_number: "+13035550900"}`} {
		if _, err := Parse([]byte(ok+"\n"), "c.yaml"); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// A B2BUA whose subscriber or voicemail leg goes out over TLS (sips: or
// transport=tls, its own route or the inherited sip.continue_route) needs
// its TLS listener: without one config check said OK and every screened
// call then failed at the subscriber's leg.
func TestB2BUATLSLegsNeedTheTLSListener(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{`b2bua: {continue_route: "sips:{called}@10.0.0.5"}`, `b2bua.tls: b2bua.continue_route "sips:{called}@10.0.0.5" calls the subscriber over TLS`},
		{`sip: {continue_route: "sip:{called}@10.0.0.5;transport=tls"}`, "b2bua.tls: sip.continue_route (b2bua.continue_route is empty)"},
		{`b2bua: {voicemail_route: "sips:{called}@vm.example"}`, "b2bua.tls: b2bua.voicemail_route"},
		{`b2bua: {tls_ca_file: ca.pem}`, "b2bua.tls_ca_file: set, but there is no TLS listener"},
	} {
		_, err := Parse([]byte(tc.yaml+"\n"), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	for _, ok := range []string{
		`b2bua: {tls: 127.0.0.1:5071, tls_cert_file: c.pem, tls_key_file: k.pem, tls_ca_file: c.pem, continue_route: "sips:{called}@127.0.0.1:5080"}`,
		`b2bua: {enabled: false}` + "\n" + `sip: {continue_route: "sips:{called}@10.0.0.5"}`,
		`b2bua: {continue_route: "sip:{called}@10.0.0.5;transport=tcp"}`,
	} {
		if _, err := Parse([]byte(ok+"\n"), "c.yaml"); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
