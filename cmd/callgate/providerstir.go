package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"callgate/store"
)

// providerStirCmd is `callgate provider stir`: a provider's STIR/SHAKEN
// policy for calls to its subscribers.
func (e *env) providerStirCmd() *cobra.Command {
	var onC, onFailed, tag, verified, unknown string
	c := &cobra.Command{
		Use:   "stir NAME",
		Short: "Show or set a provider's STIR/SHAKEN policy (C-attested and failed calls, display-name tags)",
		Long: `With no flags, shows the provider's STIR/SHAKEN policy. Each flag given changes one setting:

  --on-c ACTION       C-attested calls (verified, but the signer vouches only for the gateway)
  --on-failed ACTION  calls whose Identity header failed verification
      ACTION: allow (the subscriber's own treatments), screen, block, or reject
      (failed calls only: the RFC 8224 response code of the failure, e.g. 438;
      for C it blocks)
  --tag on|off        put a word in front of the caller's display name of allowed calls:
                      --verified-tag for A and B (default "verified"), --unknown-tag for
                      C, failed and unverified calls (default "unknown")

The policy applies after the subscriber's VIP and Blocked lists and needs the SIP tier's
verification service (sip.stir.verify).`,
		Example: `  callgate provider stir acme --on-c screen --on-failed reject --tag on
  callgate provider stir acme --verified-tag "[V]"`,
		Args: exactArgs(1, "a provider name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			changed := cmd.Flags().Changed
			var patch stirPatch
			any := false
			if changed("on-c") {
				a, err := store.ParseStirAction(onC)
				if err != nil {
					return usageError{Err: err}
				}
				patch.OnC, any = &a, true
			}
			if changed("on-failed") {
				a, err := store.ParseStirAction(onFailed)
				if err != nil {
					return usageError{Err: err}
				}
				patch.OnFailed, any = &a, true
			}
			if changed("tag") {
				var on bool
				switch tag {
				case "on":
					on = true
				case "off":
				default:
					return usagef("--tag %q: want on or off", tag)
				}
				patch.Tag, any = &on, true
			}
			if changed("verified-tag") {
				patch.VerifiedTag, any = &verified, true
			}
			if changed("unknown-tag") {
				patch.UnknownTag, any = &unknown, true
			}
			return e.withBackend(!any, func(b backend) error {
				var out stirJSON
				var err error
				if any {
					out, err = b.PatchProviderStir(args[0], patch)
				} else {
					out, err = b.ProviderStir(args[0])
				}
				if err != nil {
					return err
				}
				pol := out.Stir
				return e.emit(out, func(w io.Writer) {
					fmt.Fprintf(w, "provider %s STIR/SHAKEN policy:\n", out.Provider)
					fmt.Fprintf(w, "  C-attested calls:   %s\n", pol.OnC)
					fmt.Fprintf(w, "  failed calls:       %s\n", pol.OnFailed)
					if pol.Tag {
						fmt.Fprintf(w, "  display-name tags:  %q (A, B), %q (C, failed, unverified)\n", pol.VerifiedTag, pol.UnknownTag)
					} else {
						fmt.Fprintf(w, "  display-name tags:  off\n")
					}
				})
			})
		},
	}
	f := c.Flags()
	f.StringVar(&onC, "on-c", "", "C-attested calls: allow, screen, block or reject")
	f.StringVar(&onFailed, "on-failed", "", "failed verifications: allow, screen, block or reject (RFC 8224 code)")
	f.StringVar(&tag, "tag", "", "tag display names of allowed calls: on or off")
	f.StringVar(&verified, "verified-tag", "", "the word for A and B attestations (default \"verified\")")
	f.StringVar(&unknown, "unknown-tag", "", "the word for the rest (default \"unknown\")")
	return c
}
