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
			any := false
			for _, f := range []string{"on-c", "on-failed", "tag", "verified-tag", "unknown-tag"} {
				any = any || changed(f)
			}
			return e.withStore(!any, func(st *store.Store) error {
				p, err := st.GetProvider(e.op(), args[0])
				if err != nil {
					return err
				}
				pol := p.Stir
				if any {
					if changed("on-c") {
						if pol.OnC, err = store.ParseStirAction(onC); err != nil {
							return usageError{Err: err}
						}
					}
					if changed("on-failed") {
						if pol.OnFailed, err = store.ParseStirAction(onFailed); err != nil {
							return usageError{Err: err}
						}
					}
					if changed("tag") {
						switch tag {
						case "on":
							pol.Tag = true
						case "off":
							pol.Tag = false
						default:
							return usagef("--tag %q: want on or off", tag)
						}
					}
					if changed("verified-tag") {
						pol.VerifiedTag = verified
					}
					if changed("unknown-tag") {
						pol.UnknownTag = unknown
					}
					if p, err = st.SetProviderStir(e.op(), args[0], pol); err != nil {
						return err
					}
					pol = p.Stir
				}
				out := struct {
					Provider string           `json:"provider"`
					Stir     store.StirPolicy `json:"stir"`
				}{p.Name, pol}
				return e.emit(out, func(w io.Writer) {
					fmt.Fprintf(w, "provider %s STIR/SHAKEN policy:\n", p.Name)
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
