package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/simulators/sip"
)

// targetFlags say where a call goes and who it is from.
type targetFlags struct {
	target, server, called, calling string
	anonymous                       bool
	pai, privacy                    string
	diversion, historyInfo, headers []string
	maxRedirects                    int
	body                            bodyFlags
}

func (f *targetFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "the INVITE's Request-URI, whole (overrides --server and --called), e.g. sip:+17205550123@127.0.0.1:5062")
	fl.StringVar(&f.server, "server", "127.0.0.1:5060", "where the INVITE goes, HOST:PORT: the redirect server (callgate's redirect tier), or the B2BUA for a gateway call")
	fl.StringVar(&f.called, "called", "", "the called number: the Request-URI's user (the subscriber; for a gateway call, the routing number)")
	fl.StringVar(&f.calling, "calling", "", "the calling number (From), or a URI")
	fl.BoolVar(&f.anonymous, "anonymous", false, "withhold the caller's identity: anonymous From (RFC 3323) and Privacy: id")
	fl.StringVar(&f.pai, "pai", "", "P-Asserted-Identity: a number or URI")
	fl.StringVar(&f.privacy, "privacy", "", "Privacy header value (e.g. id)")
	fl.StringArrayVar(&f.diversion, "diversion", nil, "a Diversion header: a number (the original called number) or a header value; repeat for several, newest first")
	fl.StringArrayVar(&f.historyInfo, "history-info", nil, "a History-Info entry: a number or an entry, the original target first; the Request-URI is appended retargeted (cause=302)")
	fl.StringArrayVar(&f.headers, "header", nil, `an extra header "Name: value" (repeatable)`)
	fl.IntVar(&f.maxRedirects, "max-redirects", 3, "how many 3xx to follow (0: none)")
	f.body.add(cmd)
}

func (f *targetFlags) config(cfg *sip.CallConfig) error {
	switch {
	case f.target != "":
		cfg.Target = f.target
	case f.called != "":
		if _, _, err := net.SplitHostPort(f.server); err != nil {
			return usagef("--server %q: want HOST:PORT", f.server)
		}
		cfg.Target = "sip:" + f.called + "@" + f.server + ";user=phone"
	default:
		return usagef("give --called (with --server) or --target")
	}
	cfg.From = f.calling
	if f.anonymous {
		cfg.From = "anonymous"
		if f.privacy == "" {
			f.privacy = "id"
		}
	}
	if err := f.body.config(cfg, f.calling, f.privacy); err != nil {
		return err
	}
	cfg.PAssertedIdentity, cfg.Privacy = f.pai, f.privacy
	cfg.Diversion, cfg.HistoryInfo = f.diversion, f.historyInfo
	for _, h := range f.headers {
		if name, _, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(name) == "" {
			return usagef("--header %q: want \"Name: value\"", h)
		}
	}
	cfg.Headers = f.headers
	cfg.MaxRedirects = f.maxRedirects
	if f.maxRedirects == 0 {
		cfg.MaxRedirects = -1
	}
	return nil
}

func (e *env) callCmd() *cobra.Command {
	var (
		pf                                    phoneFlags
		tf                                    targetFlags
		bf                                    behaviourFlags
		ringTimeout, hangupAfter, maxDuration time.Duration
	)
	cmd := &cobra.Command{
		Use:   "call (--called NUMBER [--server HOST:PORT] | --target URI) [flags]",
		Short: "Place one call, as an SBC or a TDM gateway would, and print what it heard",
		Long: `call sends an INVITE with real G.711 RTP and lives the call: it follows a 302
(the redirect server's answer, with the screening token in the Contact) to
the B2BUA, plays early media, answers cues from its script (say the name,
key a PIN or the challenge's digits, hang up), and prints a timeline of what
happened: SIP requests and responses with their reasons, early media, each
prompt recognised by name with its score, speech no prompt explains, DTMF
sent, the probe tone heard, and the outcome (answered, rejected with the
status, cancelled, timeout).

Prompts are recognised by comparing what is heard with every WAV of
--prompts (an energy contour and spectral-shape correlation, robust to
G.711, packet loss and offsets), so the same directory the B2BUA plays from
makes the timeline name them.

With --json it prints the result as one JSON object (outcome, status,
redirects, prompts, digits, probe, RTP statistics, timeline).`,
		Example: `  # An SBC's call to the redirect server: follow the 302 to the B2BUA, say the
  # name when asked, then wait for the outcome
  sipsim call --called +13035550100 --calling +17195551212 --prompts prompts/ \
      --on-prompt 'say-name=wait:300ms say'

  # A PIN: key it when asked; three wrong ones
  sipsim call --called +13035550100 --calling +17195551212 --prompts prompts/ --on-prompt enter-pin=1234#
  sipsim call --called +13035550100 --calling +17195551212 --prompts prompts/ --on-prompt 'enter-pin*3=0000#'

  # The challenge: key back the digits announced, by SIP INFO
  sipsim call --called +13035550100 --calling +17195551212 --prompts prompts/ \
      --on-prompt challenge=echo-digits --dtmf info

  # A TDM gateway after an AIN forwardCall: the routing number at the B2BUA,
  # the original called number in Diversion (or --history-info)
  sipsim call --server 127.0.0.1:5062 --called +17205550123 --calling +17195551212 \
      --diversion +13035550100 --prompts prompts/

  # A late offer (INVITE without SDP): the B2BUA offers in its 200, we answer in the ACK
  sipsim call --called +13035550100 --calling +17195551212 --late-offer --prompts prompts/

  # A SIP-T gateway (ISUP IAM beside the SDP) after an AIN forwardCall, the
  # forwarding and the withheld caller's number in the IAM alone
  sipsim call --server 127.0.0.1:5062 --called +17205550123 --calling +17195551212 --anonymous \
      --sip-t --iam-original-called +13035550100 --prompts prompts/

  # Abandon after 3 s (CANCEL while it rings, BYE once answered)
  sipsim call --called +13035550100 --calling +17195551212 --hangup-after 3s

  # Without prompts: key the PIN 4 s after media starts
  sipsim call --called +13035550100 --calling +17195551212 --digits-after 4s=1234#`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg sip.CallConfig
			if err := tf.config(&cfg); err != nil {
				return err
			}
			b, err := bf.behaviour()
			if err != nil {
				return err
			}
			pc, err := pf.config(e)
			if err != nil {
				return err
			}
			cfg.Behaviour, cfg.Phone = b, pc
			cfg.RingTimeout, cfg.HangupAfter, cfg.MaxDuration = ringTimeout, hangupAfter, maxDuration
			res, err := sip.Call(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if e.jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				writeCall(e.stdout, res)
			}
			if res.Outcome == sip.OutcomeFailed || res.Outcome == sip.OutcomeTimeout {
				return exitError{Code: 1}
			}
			return nil
		},
	}
	pf.add(cmd, "127.0.0.1:0")
	tf.add(cmd)
	bf.add(cmd, true)
	fl := cmd.Flags()
	fl.DurationVar(&ringTimeout, "ring-timeout", 60*time.Second, "CANCEL when no final answer came in this time (outcome timeout)")
	fl.DurationVar(&hangupAfter, "hangup-after", 0, "hang up this long after the INVITE: CANCEL while it rings, BYE once answered")
	fl.DurationVar(&maxDuration, "max-duration", 60*time.Second, "hang up this long after the answer if nobody has")
	return cmd
}

// writeCall prints a call's timeline and summary.
func writeCall(w io.Writer, r *sip.Result) {
	fmt.Fprint(w, r.String())
	fmt.Fprintf(w, "outcome:  %s", r.Outcome)
	if r.Status != 0 {
		fmt.Fprintf(w, " (%d %s)", r.Status, r.Reason)
	}
	if r.EndedBy != "" {
		fmt.Fprintf(w, ", ended by the %s", map[string]string{"local": "caller", "remote": "far end"}[r.EndedBy])
	}
	fmt.Fprintln(w)
	for _, rd := range r.Redirects {
		fmt.Fprintf(w, "redirect: %d %s -> %s\n", rd.Status, rd.Reason, rd.Contact)
	}
	writeCommon(w, r.Prompts, r.DigitsSent, r.DigitsReceived, r.Probe, r.RTP, r.EarlyMedia, r.Media)
	if r.Error != "" {
		fmt.Fprintf(w, "error:    %s\n", r.Error)
	}
}

func writeCommon(w io.Writer, prompts []string, sent, received string, p sip.ProbeResult, rtp sip.RTPStats, early bool, media string) {
	if len(prompts) > 0 {
		fmt.Fprintf(w, "prompts:  %s\n", strings.Join(prompts, ", "))
	}
	switch {
	case early && media != "":
		fmt.Fprintf(w, "media:    %s, early media received\n", media)
	case early:
		fmt.Fprintln(w, "media:    early media received")
	case media != "":
		fmt.Fprintf(w, "media:    %s\n", media)
	}
	if sent != "" || received != "" {
		fmt.Fprintf(w, "digits:   sent %q, received %q\n", sent, received)
	}
	if p.Sent || p.Heard {
		fmt.Fprintf(w, "probe:    sent %.0f Hz %s, heard %.0f Hz %s\n", p.SentHz, yesNo(p.Sent), p.ExpectHz, yesNo(p.Heard))
	}
	if rtp.Packets > 0 {
		fmt.Fprintf(w, "rtp:      %d packets received, %d lost (%.2f %%), %d late; jitter p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			rtp.Packets, rtp.Lost, rtp.LossPct, rtp.Late, rtp.JitterP50Ms, rtp.JitterP99Ms, rtp.JitterMaxMs)
		if rtp.KernelJitterSamples > 0 {
			fmt.Fprintf(w, "          jitter by kernel receive times: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
				rtp.KernelJitterP50Ms, rtp.KernelJitterP99Ms, rtp.KernelJitterMaxMs)
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
