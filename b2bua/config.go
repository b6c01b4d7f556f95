package b2bua

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"callgate/e164"
	"callgate/sipcall"
)

// Config is everything the B2BUA needs. The zero value of an optional field
// takes the default given in its comment (Defaults fills them).
type Config struct {
	// UDP and TCP are SIP listen addresses ("host:port"); "" opens none of
	// that kind. At least one is required. Port 0 picks a free port
	// (tests); Describe says which.
	UDP string
	TCP string
	// TLS is the SIP over TLS listen address ("host:port"), "" none. It
	// needs TLSConfig, or TLSCertFile and TLSKeyFile (PEM). Calls on it
	// may offer SRTP (RTP/SAVP with SDES keys, RFC 4568), which the
	// B2BUA takes only there: SDES keys travel in the SDP, in the clear
	// over UDP or TCP. An outbound leg to a sips: target, or one with
	// transport=tls, goes out over TLS and offers SRTP.
	TLS         string
	TLSConfig   *tls.Config
	TLSCertFile string
	TLSKeyFile  string
	// TLSCAFile (PEM) holds the certificate authorities that TLS peers
	// the B2BUA calls are verified against; "" = the system's roots.
	TLSCAFile string
	// TLSClientCAFile (PEM), when set, requires every TLS client to
	// present a certificate from one of these authorities (mutual TLS);
	// a client without one fails its handshake (counted).
	TLSClientCAFile string
	// TLSNoSRTP keeps TLS legs on plain RTP: an SRTP offer is refused
	// (488 SRTP Not Enabled) and outbound TLS legs offer RTP/AVP.
	TLSNoSRTP bool
	// Advertise is the IP address put in our Contact, Via and SDP (c=):
	// the address peers reach us at. Default: the listen host, which must
	// then be a concrete address (not 0.0.0.0 or ::).
	Advertise string
	// RTPPortMin and RTPPortMax bound the local RTP ports (RTP on even
	// ports, RTCP on the next odd one; a call uses two pairs while it has
	// an outbound leg). 0 and 0 let the kernel pick. diago keeps the range
	// process-wide, so one B2BUA per process.
	RTPPortMin, RTPPortMax int
	// MaxSessions bounds the calls handled at once (default 1000); beyond
	// it, and when no RTP port is free, INVITEs get 503 with Retry-After:
	// RetryAfter (default 5s).
	MaxSessions int
	RetryAfter  time.Duration

	// ContinueRoute is where the subscriber is called (screen, PIN right,
	// challenge passed, allow): a URI template with {called}, {calling},
	// {original} (package sipcall), e.g. "sip:{called}@gw.example;user=phone".
	// It must reach the subscriber without being screened again. Required.
	ContinueRoute string
	// VoicemailRoute is the template for a voicemail target given as a
	// number ("+13035550190"), {called} being that number. Default:
	// ContinueRoute. A target given as a sip: URI is used as it is.
	VoicemailRoute string

	// NotForUs is the answer to an INVITE that carries no screening token
	// and is not a gateway call to a routing number with a diverting
	// number: 404 (default) or 403.
	NotForUs int
	// RejectMode is how Reject with Media plays the announcement: "early"
	// (default: 183 Session Progress with SDP, the announcement as early
	// media, then 603 Decline; the call is never answered) or "answer"
	// (200 OK, the announcement, then BYE).
	RejectMode string

	// PromptDir replaces the built-in English prompts (b2bua/prompts/en)
	// with the files of a directory: every prompt name of prompts.txt as
	// NAME.wav (8 kHz mono 16-bit PCM). "" = the built-in set.
	PromptDir string
	// Announcements maps the store's announcement IDs to WAV files (a name
	// relative to PromptDir, or an absolute path; 8 kHz mono 16-bit PCM).
	// Default {101: "announcement_101.wav"}, which the built-in set has.
	// An announcement ID with no entry plays the prompt call_rejected (and
	// is counted and logged).
	Announcements map[uint32]string

	// PINMaxDigits (default 8) and PINTries (default 3): digits of an
	// override PIN, and wrong PINs before the caller is released.
	PINMaxDigits int
	PINTries     int
	// PINLockFailures (default 5) wrong PINs for one subscriber within
	// PINLockWindow (default 15m), across calls, prompts (the IVR's and the
	// override PIN, which are the same PIN) and nodes, lock its PIN for
	// PINLockPeriod (default 15m): no PIN keyed for it is checked, and the
	// caller hears pin_locked (pinlock.go; the count is the store's).
	PINLockFailures int
	PINLockWindow   time.Duration
	PINLockPeriod   time.Duration
	// ChallengeDigits (default 3) are announced; the caller has
	// ChallengeTime (default 10s) to key them and ChallengeTries (default
	// 3) tries. ChallengeSeed 0 draws the digits from crypto/rand; any other
	// value makes them a fixed pseudo-random sequence (tests, demos: the
	// n-th challenge of a run with seed s is always the same digits).
	ChallengeDigits int
	ChallengeTime   time.Duration
	ChallengeTries  int
	ChallengeSeed   int64
	// NameMax (default 5s) bounds the recorded name; recording also ends
	// on '#' and after NameSilence (default 1.5s) of silence following
	// speech.
	NameMax     time.Duration
	NameSilence time.Duration

	// Timers.
	DecideTimeout   time.Duration // budget of a decision asked for a gateway call (default 200ms)
	PINFirstDigit   time.Duration // wait for the first PIN digit after the prompt before the treatment goes on (default 5s)
	DigitTimeout    time.Duration // between PIN digits (default 5s)
	RingTimeout     time.Duration // subscriber or voicemail ringing before "no answer" (default 30s)
	DecisionTimeout time.Duration // subscriber's 1/2/3 after the menu, which is played twice (default 8s each time)
	RTPTimeout      time.Duration // no RTP from an answered leg that is not on hold: release both legs (default 30s)

	// IVRNumber (E.164, "+13035550123") and IVRUser (a SIP user part,
	// "ivr") are the subscribers' IVR: an INVITE whose Request-URI user is
	// either goes to the IVR (ivr.go) instead of being screened. "" and ""
	// = no IVR. IVRUser needs IVRNumber too: each IVR call is logged as a
	// call to that number (a decision record always has a called number).
	// The IVR needs the store (WithIVR).
	IVRNumber string
	IVRUser   string

	// PINWorkers (default 2) check PINs (bcrypt) off the SIP and media
	// goroutines; PINQueue (default 64) checks may wait for them.
	PINWorkers int
	PINQueue   int
}

// Reject modes.
const (
	RejectEarly  = "early"
	RejectAnswer = "answer"
)

// Defaults returns c with every zero optional field set to its default.
func (c Config) Defaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defInt(&c.MaxSessions, 1000)
	def(&c.RetryAfter, 5*time.Second)
	defInt(&c.NotForUs, 404)
	if c.RejectMode == "" {
		c.RejectMode = RejectEarly
	}
	if c.Announcements == nil {
		c.Announcements = map[uint32]string{101: "announcement_101.wav"}
	}
	defInt(&c.PINMaxDigits, 8)
	defInt(&c.PINTries, 3)
	defInt(&c.PINLockFailures, 5)
	def(&c.PINLockWindow, 15*time.Minute)
	def(&c.PINLockPeriod, 15*time.Minute)
	defInt(&c.ChallengeDigits, 3)
	def(&c.ChallengeTime, 10*time.Second)
	defInt(&c.ChallengeTries, 3)
	def(&c.NameMax, 5*time.Second)
	def(&c.NameSilence, 1500*time.Millisecond)
	def(&c.DecideTimeout, 200*time.Millisecond)
	def(&c.PINFirstDigit, 5*time.Second)
	def(&c.DigitTimeout, 5*time.Second)
	def(&c.RingTimeout, 30*time.Second)
	def(&c.DecisionTimeout, 8*time.Second)
	def(&c.RTPTimeout, 30*time.Second)
	defInt(&c.PINWorkers, 2)
	defInt(&c.PINQueue, 64)
	return c
}

// Validate checks c (after Defaults) and returns every problem at once,
// each naming the field and the fix.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.UDP == "" && c.TCP == "" && c.TLS == "" {
		bad("UDP", "no SIP listener: set UDP, TCP or TLS (host:port)")
	}
	if c.TLS != "" && c.TLSConfig == nil && (c.TLSCertFile == "" || c.TLSKeyFile == "") {
		bad("TLS", "a TLS listener needs TLSCertFile and TLSKeyFile (PEM)")
	}
	var hosts []string
	for _, a := range []struct{ name, v string }{{"UDP", c.UDP}, {"TCP", c.TCP}, {"TLS", c.TLS}} {
		if a.v == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a.v)
		if err != nil {
			bad(a.name, "%q is not host:port (%v)", a.v, err)
			continue
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			bad(a.name, "%q: port %q is not a number 0-65535", a.v, port)
		}
		if _, err := netip.ParseAddr(host); err != nil {
			bad(a.name, "%q: host %q is not an IP address (the B2BUA binds RTP there too)", a.v, host)
			continue
		}
		hosts = append(hosts, host)
	}
	if c.Advertise != "" {
		if a, err := netip.ParseAddr(c.Advertise); err != nil || a.IsUnspecified() {
			bad("Advertise", "%q is not a concrete IP address", c.Advertise)
		}
	} else {
		for _, h := range hosts {
			if a, _ := netip.ParseAddr(h); a.IsUnspecified() {
				bad("Advertise", "required when listening on %s: peers need an address to send SIP and RTP to", h)
				break
			}
		}
	}
	switch {
	case c.RTPPortMin == 0 && c.RTPPortMax == 0:
	case c.RTPPortMin < 1024 || c.RTPPortMax > 65535 || c.RTPPortMax < c.RTPPortMin+3:
		bad("RTPPortMin", "RTP ports %d-%d: need 1024 <= min, max <= 65535 and room for two RTP/RTCP pairs", c.RTPPortMin, c.RTPPortMax)
	case c.RTPPortMin%2 != 0:
		bad("RTPPortMin", "%d is odd; RTP uses even ports (RTCP the next odd one)", c.RTPPortMin)
	}
	if c.MaxSessions < 1 {
		bad("MaxSessions", "%d is not positive", c.MaxSessions)
	}
	if c.RetryAfter < time.Second {
		bad("RetryAfter", "%s is under a second (Retry-After is in whole seconds)", c.RetryAfter)
	}
	if c.ContinueRoute == "" {
		bad("ContinueRoute", "required: the template the subscriber is called at, e.g. \"sip:{called}@gw.example;user=phone\"")
	} else if _, err := sipcall.CompileTemplate("ContinueRoute", c.ContinueRoute); err != nil {
		bad("ContinueRoute", "%v", err)
	}
	if c.VoicemailRoute != "" {
		if _, err := sipcall.CompileTemplate("VoicemailRoute", c.VoicemailRoute); err != nil {
			bad("VoicemailRoute", "%v", err)
		}
	}
	if c.NotForUs != 404 && c.NotForUs != 403 {
		bad("NotForUs", "%d is not 404 or 403", c.NotForUs)
	}
	if c.RejectMode != RejectEarly && c.RejectMode != RejectAnswer {
		bad("RejectMode", "%q is not %q or %q", c.RejectMode, RejectEarly, RejectAnswer)
	}
	for id, f := range c.Announcements {
		if id == 0 || f == "" {
			bad("Announcements", "entry %d: %q: IDs start at 1 and need a file", id, f)
		}
	}
	if c.PINMaxDigits < 1 || c.PINMaxDigits > 32 {
		bad("PINMaxDigits", "%d is not 1-32", c.PINMaxDigits)
	}
	if c.PINTries < 1 {
		bad("PINTries", "%d is not positive", c.PINTries)
	}
	if c.PINLockFailures < 1 || c.PINLockFailures > 100 {
		bad("PINLockFailures", "%d is not 1-100 (wrong PINs within PINLockWindow that lock a subscriber's PIN; e.g. 5)", c.PINLockFailures)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"PINLockWindow", c.PINLockWindow}, {"PINLockPeriod", c.PINLockPeriod}} {
		if d.v < time.Second || d.v > 7*24*time.Hour {
			bad(d.name, "%s is not between 1s and 168h (e.g. 15m)", d.v)
		}
	}
	if c.ChallengeDigits < 1 || c.ChallengeDigits > 8 {
		bad("ChallengeDigits", "%d is not 1-8", c.ChallengeDigits)
	}
	if c.ChallengeTries < 1 {
		bad("ChallengeTries", "%d is not positive", c.ChallengeTries)
	}
	if c.NameMax < 500*time.Millisecond || c.NameMax > time.Minute {
		bad("NameMax", "%s is not between 500ms and 1m", c.NameMax)
	}
	if c.NameSilence < 100*time.Millisecond || c.NameSilence > c.NameMax {
		bad("NameSilence", "%s is not between 100ms and NameMax (%s)", c.NameSilence, c.NameMax)
	}
	for _, t := range []struct {
		name string
		v    time.Duration
	}{{"ChallengeTime", c.ChallengeTime}, {"DecideTimeout", c.DecideTimeout}, {"PINFirstDigit", c.PINFirstDigit},
		{"DigitTimeout", c.DigitTimeout}, {"RingTimeout", c.RingTimeout}, {"DecisionTimeout", c.DecisionTimeout},
		{"RTPTimeout", c.RTPTimeout}} {
		if t.v <= 0 {
			bad(t.name, "%s is not positive", t.v)
		}
	}
	if c.RTPTimeout > 0 && c.RTPTimeout < time.Second {
		bad("RTPTimeout", "%s is under a second: packet loss would release calls", c.RTPTimeout)
	}
	if c.IVRNumber != "" {
		if _, err := e164.Parse(c.IVRNumber); err != nil {
			bad("IVRNumber", "%q: %v (want E.164, e.g. \"+13035550123\")", c.IVRNumber, err)
		}
	}
	if c.IVRUser != "" && strings.ContainsAny(c.IVRUser, "@:;?<> \t") {
		bad("IVRUser", "%q is not a SIP user part (no '@', ':', ';', spaces), e.g. \"ivr\"", c.IVRUser)
	}
	if c.IVRUser != "" && c.IVRNumber == "" {
		bad("IVRNumber", "IVRUser %q needs IVRNumber as well: each IVR call is logged as a call to that number (e.g. \"+13035550900\")", c.IVRUser)
	}
	if c.PINWorkers < 1 || c.PINQueue < 1 {
		bad("PINWorkers", "PINWorkers (%d) and PINQueue (%d) must be positive", c.PINWorkers, c.PINQueue)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("b2bua: %w", errors.Join(errs...))
}
