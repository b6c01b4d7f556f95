package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"callgate/e164"
)

// B2BUA is the SIP back-to-back user agent (package b2bua): where screen,
// challenge, voicemail and Reject with Media are carried out, with media.
// Calls reach it from the redirect tier's 302 (sip.screening_uri, with a
// signed token; it verifies them with sip.token_keys) and from a TDM-to-SIP
// gateway after the SCP's forwardCall (Request-URI = an egress route's
// routing number, the subscriber in Diversion or History-Info).
type B2BUA struct {
	// Enabled starts the B2BUA.
	Enabled bool `yaml:"enabled"`
	// UDP and TCP are SIP listen addresses (IP:port); "" opens no listener
	// of that kind. At least one must be set when enabled. RTP is bound to
	// the same IP.
	UDP string `yaml:"udp"`
	TCP string `yaml:"tcp"`
	// TLS is the SIP over TLS listen address (IP:port), "" none; it needs
	// tls_cert_file and tls_key_file (PEM; relative paths are relative to
	// the configuration file). Its calls may offer SRTP (SDES, RFC 4568),
	// taken only there; outbound legs to a sips: target or one with
	// transport=tls go out over it and offer SRTP. TLSCAFile holds the
	// authorities those legs' peers are verified against ("" = the
	// system's).
	TLS         string `yaml:"tls"`
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	TLSCAFile   string `yaml:"tls_ca_file"`
	// TLSClientCAFile (PEM), when set, requires every TLS client to
	// present a certificate from one of these authorities (mutual TLS).
	TLSClientCAFile string `yaml:"tls_client_ca_file"`
	// TLSSRTP (default on) takes SRTP on TLS calls and offers it on
	// outbound TLS legs; off, TLS legs carry plain RTP and an SRTP offer
	// gets 488 SRTP Not Enabled.
	TLSSRTP bool `yaml:"tls_srtp"`
	// Advertise is the IP address put in Contact, Via and SDP: where
	// peers send SIP and RTP. Required when listening on 0.0.0.0 or ::.
	Advertise string `yaml:"advertise"`
	// RTPPortMin and RTPPortMax bound the RTP/RTCP ports (RTP even, RTCP
	// the next odd; two pairs per call while an outbound leg is up). 0 and
	// 0 let the kernel choose.
	RTPPortMin int `yaml:"rtp_port_min"`
	RTPPortMax int `yaml:"rtp_port_max"`
	// MaxSessions bounds the calls handled at once; beyond it, and when no
	// RTP port is free, INVITEs get 503 with Retry-After: RetryAfter.
	MaxSessions int           `yaml:"max_sessions"`
	RetryAfter  time.Duration `yaml:"retry_after"`
	// ContinueRoute is where the subscriber is called (a URI template with
	// {called}, {calling}, {original}); it must not lead back into
	// screening. "" = sip.continue_route.
	ContinueRoute string `yaml:"continue_route"`
	// VoicemailRoute is the template for voicemail targets given as
	// numbers ({called} = the voicemail number); "" = continue_route.
	VoicemailRoute string `yaml:"voicemail_route"`
	// NotForUs answers INVITEs that are neither a screening-token call nor
	// a gateway call: 404 or 403.
	NotForUs int `yaml:"not_for_us"`
	// RejectMode plays Reject with Media as "early" media (183, the
	// announcement, 603) or after an "answer" (200, the announcement, BYE).
	RejectMode string `yaml:"reject_mode"`
	// PromptDir replaces the built-in English prompts with a directory of
	// NAME.wav files (8 kHz mono 16-bit PCM; the names are those of
	// b2bua/prompts/en/prompts.txt); "" = the built-in set. Relative to the
	// configuration file's folder.
	PromptDir string `yaml:"prompt_dir"`
	// Announcements maps the store's announcement IDs to WAV files (in
	// prompt_dir, or absolute). A missing or unreadable file stops
	// start-up, naming it. An ID without an entry plays call_rejected.
	// The keys are the IDs written as decimal numbers (YAML: 101: x.wav).
	Announcements map[string]string `yaml:"announcements"`
	// IVRNumber (E.164) and IVRUser (a SIP user part, e.g. "ivr") are the
	// subscribers' IVR: an INVITE whose Request-URI user is either goes to
	// the IVR instead of being screened. "" and "" = no IVR; ivr_user needs
	// ivr_number as well (the number IVR calls are logged as calls to).
	IVRNumber string `yaml:"ivr_number"`
	IVRUser   string `yaml:"ivr_user"`
	// PINMaxDigits and PINTries: digits of an override PIN, and wrong PINs
	// before the caller is released.
	PINMaxDigits int `yaml:"pin_max_digits"`
	PINTries     int `yaml:"pin_tries"`
	// PINLockFailures wrong PINs for one subscriber within PINLockWindow,
	// across calls, both PIN prompts (the IVR's and the override PIN: one
	// PIN) and every node, lock its PIN for PINLockPeriod: a PIN keyed
	// meanwhile is not checked and the caller hears pin_locked. The count
	// is kept in the store; `callgate pin lockouts` shows it, `callgate
	// pin unlock` clears it.
	PINLockFailures int           `yaml:"pin_lock_failures"`
	PINLockWindow   time.Duration `yaml:"pin_lock_window"`
	PINLockPeriod   time.Duration `yaml:"pin_lock_period"`
	// ChallengeDigits are read out; the caller has ChallengeTime to key
	// them and ChallengeTries tries. ChallengeSeed 0 draws them from
	// crypto/rand; another value makes a fixed sequence (tests, demos).
	ChallengeDigits int           `yaml:"challenge_digits"`
	ChallengeTime   time.Duration `yaml:"challenge_time"`
	ChallengeTries  int           `yaml:"challenge_tries"`
	ChallengeSeed   int64         `yaml:"challenge_seed"`
	// NameMax bounds a recorded name; recording also ends on # and after
	// NameSilence of silence following speech.
	NameMax     time.Duration `yaml:"name_max"`
	NameSilence time.Duration `yaml:"name_silence"`
	// Timers: the decision budget of a gateway call; the wait for the
	// first PIN digit and between digits; subscriber or voicemail ringing;
	// the subscriber's 1/2/3 after the menu; RTP silence before a call is
	// released.
	DecideTimeout   time.Duration `yaml:"decide_timeout"`
	PINFirstDigit   time.Duration `yaml:"pin_first_digit"`
	DigitTimeout    time.Duration `yaml:"digit_timeout"`
	RingTimeout     time.Duration `yaml:"ring_timeout"`
	DecisionTimeout time.Duration `yaml:"decision_timeout"`
	RTPTimeout      time.Duration `yaml:"rtp_timeout"`
	// PINWorkers check PINs (bcrypt) off the call path; PINQueue checks
	// may wait for them.
	PINWorkers int `yaml:"pin_workers"`
	PINQueue   int `yaml:"pin_queue"`
}

// DefaultB2BUA is the b2bua section's defaults: on, on 127.0.0.1:5070,
// the address sip.screening_uri and the demo route's SIP URI point at.
func DefaultB2BUA() B2BUA {
	return B2BUA{
		Enabled:         true,
		UDP:             "127.0.0.1:5070",
		TCP:             "127.0.0.1:5070",
		TLSSRTP:         true,
		RTPPortMin:      16384,
		RTPPortMax:      32767,
		MaxSessions:     1000,
		RetryAfter:      5 * time.Second,
		NotForUs:        404,
		RejectMode:      "early",
		Announcements:   map[string]string{"101": "announcement_101.wav"},
		PINMaxDigits:    8,
		PINTries:        3,
		PINLockFailures: 5,
		PINLockWindow:   15 * time.Minute,
		PINLockPeriod:   15 * time.Minute,
		ChallengeDigits: 3,
		ChallengeTime:   10 * time.Second,
		ChallengeTries:  3,
		NameMax:         5 * time.Second,
		NameSilence:     1500 * time.Millisecond,
		DecideTimeout:   200 * time.Millisecond,
		PINFirstDigit:   5 * time.Second,
		DigitTimeout:    5 * time.Second,
		RingTimeout:     30 * time.Second,
		DecisionTimeout: 8 * time.Second,
		RTPTimeout:      30 * time.Second,
		PINWorkers:      2,
		PINQueue:        64,
	}
}

// validate checks the section's own values; the b2bua package checks the
// rest when the daemon builds it (`config check` runs that too).
func (b *B2BUA) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("b2bua.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	for _, a := range []struct{ name, addr string }{{"udp", b.UDP}, {"tcp", b.TCP}, {"tls", b.TLS}} {
		if a.addr != "" {
			if err := checkAddr(a.addr); err != nil {
				bad(a.name, "%v", err)
			}
		}
	}
	if b.Enabled && b.UDP == "" && b.TCP == "" && b.TLS == "" {
		bad("enabled", "the B2BUA is enabled but has no listener (set udp, tcp or tls)")
	}
	if b.TLS != "" && (b.TLSCertFile == "" || b.TLSKeyFile == "") {
		bad("tls", "a TLS listener needs tls_cert_file and tls_key_file")
	}
	if b.TLSClientCAFile != "" && b.TLS == "" {
		bad("tls_client_ca_file", "set, but there is no TLS listener (tls) for it to check clients on")
	}
	for _, u := range []struct{ name, v string }{{"continue_route", b.ContinueRoute}, {"voicemail_route", b.VoicemailRoute}} {
		if u.v != "" && !hasURIScheme(u.v) {
			bad(u.name, "%q does not start with sip:, sips: or tel:", u.v)
		}
	}
	if b.NotForUs != 404 && b.NotForUs != 403 {
		bad("not_for_us", "%d is not 404 or 403", b.NotForUs)
	}
	if b.RejectMode != "early" && b.RejectMode != "answer" {
		bad("reject_mode", "%q is not early or answer", b.RejectMode)
	}
	switch {
	case (b.RTPPortMin == 0) != (b.RTPPortMax == 0):
		bad("rtp_port_min", "set both rtp_port_min and rtp_port_max, or neither")
	case b.RTPPortMin == 0:
	case b.RTPPortMin < 1024 || b.RTPPortMax > 65535 || b.RTPPortMax < b.RTPPortMin+3:
		bad("rtp_port_min", "RTP ports %d-%d: want 1024 <= rtp_port_min, rtp_port_max <= 65535 and room for two RTP/RTCP pairs (e.g. 16384-32767)", b.RTPPortMin, b.RTPPortMax)
	case b.RTPPortMin%2 != 0:
		bad("rtp_port_min", "%d is odd: RTP takes even ports, RTCP the next odd one (e.g. %d)", b.RTPPortMin, b.RTPPortMin+1)
	}
	b.validateAdvertise(bad)
	if b.IVRNumber != "" {
		if _, err := e164.Parse(b.IVRNumber); err != nil {
			bad("ivr_number", "%q: %v (want E.164, e.g. \"+13035550900\")", b.IVRNumber, err)
		}
	}
	if b.IVRUser != "" && strings.ContainsAny(b.IVRUser, "@:;?<> \t") {
		bad("ivr_user", "%q is not a SIP user part (no '@', ':', ';', spaces), e.g. ivr", b.IVRUser)
	}
	if b.IVRUser != "" && b.IVRNumber == "" {
		bad("ivr_number", "ivr_user %q needs ivr_number as well: each IVR call is logged as a call to that number (e.g. \"+13035550900\")", b.IVRUser)
	}
	if b.PINMaxDigits > 32 {
		bad("pin_max_digits", "%d is not 1-32", b.PINMaxDigits)
	}
	if b.ChallengeDigits > 8 {
		bad("challenge_digits", "%d is not 1-8", b.ChallengeDigits)
	}
	if b.NameMax > 0 && (b.NameMax < 500*time.Millisecond || b.NameMax > time.Minute) {
		bad("name_max", "%s is not between 500ms and 1m", b.NameMax)
	}
	if b.NameSilence > 0 && (b.NameSilence < 100*time.Millisecond || b.NameSilence > b.NameMax) {
		bad("name_silence", "%s is not between 100ms and name_max (%s)", b.NameSilence, b.NameMax)
	}
	if b.RTPTimeout > 0 && b.RTPTimeout < time.Second {
		bad("rtp_timeout", "%s is under a second: packet loss would release calls", b.RTPTimeout)
	}
	for id, f := range b.Announcements {
		if _, err := b.AnnouncementID(id); err != nil || strings.TrimSpace(f) == "" {
			bad("announcements", "entry %q: %q (IDs are numbers from 1 and name a WAV file)", id, f)
		}
	}
	for _, t := range []struct {
		name string
		v    time.Duration
	}{{"retry_after", b.RetryAfter}, {"challenge_time", b.ChallengeTime}, {"name_max", b.NameMax}, {"name_silence", b.NameSilence},
		{"decide_timeout", b.DecideTimeout}, {"pin_first_digit", b.PINFirstDigit}, {"digit_timeout", b.DigitTimeout},
		{"ring_timeout", b.RingTimeout}, {"decision_timeout", b.DecisionTimeout}, {"rtp_timeout", b.RTPTimeout}} {
		if t.v <= 0 {
			bad(t.name, "%s is not positive", t.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max_sessions", b.MaxSessions}, {"pin_max_digits", b.PINMaxDigits}, {"pin_tries", b.PINTries},
		{"challenge_digits", b.ChallengeDigits}, {"challenge_tries", b.ChallengeTries}, {"pin_workers", b.PINWorkers}, {"pin_queue", b.PINQueue}} {
		if n.v <= 0 {
			bad(n.name, "%d is not positive", n.v)
		}
	}
	if b.PINLockFailures < 1 || b.PINLockFailures > 100 {
		bad("pin_lock_failures", "%d is not 1-100 (wrong PINs within pin_lock_window that lock a subscriber's PIN; default 5)", b.PINLockFailures)
	}
	for _, t := range []struct {
		name string
		v    time.Duration
	}{{"pin_lock_window", b.PINLockWindow}, {"pin_lock_period", b.PINLockPeriod}} {
		if t.v < time.Second || t.v > 7*24*time.Hour {
			bad(t.name, "%s is not between 1s and 168h (default 15m)", t.v)
		}
	}
	return errs
}

// validateTLSLegs checks that the B2BUA can place the legs its routes ask
// for over TLS: the subscriber's leg (continue_route, or sip.continue_route
// when it is empty) and the voicemail leg go out over TLS when sips: or
// transport=tls, and only from its TLS listener. Without b2bua.tls each
// such call failed at run time ("needs TLS and the B2BUA has no TLS
// listener"), every one, after the caller had been screened.
func (b *B2BUA) validateTLSLegs(sipContinue string) []error {
	if !b.Enabled || b.TLS != "" {
		return nil
	}
	var errs []error
	needsTLS := func(uri string) bool {
		l := strings.ToLower(uri)
		return strings.HasPrefix(l, "sips:") || strings.Contains(l, ";transport=tls")
	}
	cont, from := b.ContinueRoute, "b2bua.continue_route"
	if cont == "" {
		cont, from = sipContinue, "sip.continue_route (b2bua.continue_route is empty)"
	}
	if needsTLS(cont) {
		errs = append(errs, fmt.Errorf("b2bua.tls: %s %q calls the subscriber over TLS, which the B2BUA places only from its TLS listener: set b2bua.tls with tls_cert_file and tls_key_file, or give b2bua.continue_route a sip: route", from, cont))
	}
	if needsTLS(b.VoicemailRoute) {
		errs = append(errs, fmt.Errorf("b2bua.tls: b2bua.voicemail_route %q calls voicemail over TLS, which the B2BUA places only from its TLS listener: set b2bua.tls with tls_cert_file and tls_key_file", b.VoicemailRoute))
	}
	if b.TLSCAFile != "" {
		errs = append(errs, errors.New("b2bua.tls_ca_file: set, but there is no TLS listener (tls): the B2BUA's outbound TLS legs, whose peers it checks, go out from it"))
	}
	return errs
}

// validateAdvertise checks advertise: a concrete IP when set, and set
// when a listener is on a wildcard address (peers need an address to send
// SIP and RTP to).
func (b *B2BUA) validateAdvertise(bad func(field, format string, args ...any)) {
	if b.Advertise != "" {
		if a, err := netip.ParseAddr(b.Advertise); err != nil || a.IsUnspecified() {
			bad("advertise", "%q is not a concrete IP address (the address peers send SIP and RTP to, e.g. 192.0.2.10)", b.Advertise)
		}
		return
	}
	for _, l := range []string{b.UDP, b.TCP, b.TLS} {
		if host, _, err := net.SplitHostPort(l); err == nil {
			if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
				bad("advertise", "required when listening on %s (%s): set the IP address peers send SIP and RTP to", host, l)
				return
			}
		}
	}
}

// AnnouncementID parses a key of Announcements: an announcement ID (1 and
// up, 32 bits).
func (b *B2BUA) AnnouncementID(key string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(key), 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("announcement ID %q is not a number from 1 to 4294967295", key)
	}
	return uint32(n), nil
}
