package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"callgate/e164"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
)

// callFlags describe one call.
type callFlags struct {
	calling, called, presentation string
	charge, originalCalled        string
	redirecting, userDN, bearer   string
}

func (f *callFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.calling, "calling", "", "calling party number (E.164 or NANP 10 digits); empty: none sent")
	fl.StringVar(&f.called, "called", "", "called party number (the subscriber)")
	fl.StringVar(&f.presentation, "presentation", "allowed", "calling number presentation: allowed, restricted or unavailable")
	fl.StringVar(&f.charge, "charge", "", "charge number (sent as ChargeNumber)")
	fl.StringVar(&f.originalCalled, "original-called", "", "original called number (a forwarded call)")
	fl.StringVar(&f.redirecting, "redirecting", "", "redirecting number (a forwarded call)")
	fl.StringVar(&f.userDN, "user-dn", "", "UserID directory number, 10 digits (default: the called number)")
	fl.StringVar(&f.bearer, "bearer", "speech", "bearer capability: speech, 3.1khz, 7khz, 56kbps, 64kbps, packet, multirate or 0-6")
}

var bearers = map[string]ain.BearerCapability{"speech": 0, "3.1khz": 1, "7khz": 2, "56kbps": 3, "64kbps": 4, "packet": 5, "multirate": 6}

func parseNumber(flag, s string) (e164.Number, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	n, err := e164.Parse(s)
	if err != nil {
		return 0, usagef("--%s: %v", flag, err)
	}
	return n, nil
}

// ta reads the call from the flags and checks it can be sent with
// trigger tr.
func (f *callFlags) ta(tr ssp.Trigger) (ssp.TA, error) {
	var ta ssp.TA
	var err error
	if ta.Calling, err = parseNumber("calling", f.calling); err != nil {
		return ta, err
	}
	if ta.Called, err = parseNumber("called", f.called); err != nil {
		return ta, err
	}
	if ta.ChargeNumber, err = parseNumber("charge", f.charge); err != nil {
		return ta, err
	}
	if ta.OriginalCalled, err = parseNumber("original-called", f.originalCalled); err != nil {
		return ta, err
	}
	if ta.Redirecting, err = parseNumber("redirecting", f.redirecting); err != nil {
		return ta, err
	}
	if ta.Presentation, err = ssp.ParsePresentation(f.presentation); err != nil {
		return ta, usagef("--presentation: %v", err)
	}
	b, ok := bearers[strings.ToLower(f.bearer)]
	if !ok {
		v, err := strconv.ParseUint(f.bearer, 10, 8)
		if err != nil {
			return ta, usagef("--bearer %q: want speech, 3.1khz, 7khz, 56kbps, 64kbps, packet, multirate or 0-6", f.bearer)
		}
		b = ain.BearerCapability(v)
	}
	ta.Bearer = b
	ta.UserDN = f.userDN
	if err := ta.Check(tr); err != nil {
		return ta, usageError{Err: err}
	}
	return ta, nil
}

func (e *env) callCmd() *cobra.Command {
	var cf connFlags
	var call callFlags
	var count int
	cmd := &cobra.Command{
		Use:   "call --called NUMBER [--calling NUMBER] [flags]",
		Short: "Send one Termination_Attempt and print the SCP's answer",
		Long: `call connects to the SCP, sends one terminationAttempt (Query With Permission)
for the given numbers and prints the decoded answer: the TCAP package, the
answering AIN operation (authorizeTermination, disconnect, forwardCall,
sendToResource, ...) with its parameters, any ACG control, and the latency.
With --json it prints the operation name and parameters as JSON.

It exits with status 1 when no answer came (timeout), the query was
returned by SCCP or the answer did not decode; a Reject, Return Error or
Abort is an answer (status 0) and is printed as such.`,
		Example: `  # The golden vector P-01Q against a local callgate
  sspsim call --connect 127.0.0.1:2905 --calling +17195551212 --called +13035550100

  # A caller who withholds their number, with a charge number, JSON out
  sspsim call --calling +17195551212 --presentation restricted --charge +17195550000 \
      --called +13035550100 --json

  # Explicit network: SCTP, point codes, SSNs and routing context
  sspsim call --transport sctp --connect 10.0.0.5:2905 --opc 244-1-10 --dpc 244-2-20 \
      --ssn 249 --scp-ssn 248 --rc 10 --called 3035550100 --calling 7195551212

  # Keep the exchange for Wireshark
  sspsim call --called +13035550100 --calling +17195551212 --capture call.pcap`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if call.called == "" {
				return usagef("--called is required")
			}
			ta, err := call.ta(ssp.TriggerTermination)
			if err != nil {
				return err
			}
			if count < 1 {
				return usagef("--count must be at least 1")
			}
			cfg, err := cf.config(e, true)
			if err != nil {
				return err
			}
			c, err := ssp.Dial(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer c.Close()
			failed := false
			var answers []ssp.Answer
			for i := 0; i < count; i++ {
				a, err := c.TerminationAttempt(cmd.Context(), ta)
				if err != nil {
					failed = true
					if !errors.Is(err, ssp.ErrTimeout) {
						fmt.Fprintln(e.stderr, "sspsim:", err)
					}
				}
				if a.Operation == ssp.OutcomeReturned {
					failed = true
				}
				if e.jsonOut {
					answers = append(answers, a)
				} else {
					fmt.Fprint(e.stdout, a.String())
				}
			}
			if e.jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				var v any = answers
				if count == 1 {
					v = answers[0]
				}
				if err := enc.Encode(v); err != nil {
					return err
				}
			}
			if err := cf.writeCapture(e, c); err != nil {
				return err
			}
			if failed {
				return exitError{Code: 1}
			}
			return nil
		},
	}
	cf.add(cmd)
	call.add(cmd)
	cmd.Flags().IntVar(&count, "count", 1, "send the call this many times, one after the other (ACG gapping shows from the second)")
	return cmd
}
