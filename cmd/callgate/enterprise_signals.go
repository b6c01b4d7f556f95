package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"callgate/store"
)

// The enterprise commands of spoof protection: the API token an enterprise
// registers call keys with, the brand its verified calls show, and SIP
// enrolment (the trunk its enrolment INVITEs come from, the onward route).

type enterpriseSignalsJSON struct {
	Name     string      `json:"name"`
	Brand    store.Brand `json:"brand"`
	HasToken bool        `json:"has_token"`
	Trunk    string      `json:"trunk,omitempty"`
	Onward   string      `json:"onward,omitempty"`
	Token    string      `json:"token,omitempty"` // only when just issued
	// With --revoke-keys: the keys revoked, and why that failed.
	RevokedKeys *int   `json:"revoked_keys,omitempty"`
	RevokeError string `json:"revoke_error,omitempty"`
}

func signalsJSON(en store.Enterprise, token string) enterpriseSignalsJSON {
	g := en.Signals
	return enterpriseSignalsJSON{Name: en.Name, Brand: g.Brand, HasToken: g.TokenHash != nil, Trunk: g.Trunk, Onward: g.Onward, Token: token}
}

func (e *env) printSignals(w io.Writer, j enterpriseSignalsJSON) {
	fmt.Fprintf(w, "enterprise:   %s\n", j.Name)
	fmt.Fprintf(w, "brand:        %s\n", orDash(j.Brand.Name))
	fmt.Fprintf(w, "logo:         %s\n", orDash(j.Brand.LogoURL))
	fmt.Fprintf(w, "reason:       %s\n", orDash(j.Brand.Reason))
	tok := "none (issue one: callgate enterprise token " + j.Name + ")"
	if j.HasToken {
		tok = "issued"
	}
	fmt.Fprintf(w, "API token:    %s\n", tok)
	if j.Trunk == "" {
		fmt.Fprintln(w, "enrolment:    off")
	} else {
		fmt.Fprintf(w, "enrolment:    INVITEs from %s, redirected to %s\n", j.Trunk, j.Onward)
	}
}

func (e *env) enterpriseSignalCmds() []*cobra.Command {
	var revokeKeys bool
	token := &cobra.Command{
		Use:   "token NAME [--revoke-keys]",
		Short: "Issue the enterprise's API token for /api/v1/keys (revokes the previous one)",
		Long: `token issues a new API token for the enterprise and prints it once: callgate keeps only
its SHA-256 hash, so a lost token cannot be shown again, only replaced. The enterprise
sends it as "Authorization: Bearer TOKEN" with POST /api/v1/keys on the admin listener.

The call keys registered with the previous token keep matching: a routine reissue must not
block the calls the enterprise has just registered. When the token leaked, give
--revoke-keys: every key of the enterprise is revoked once the new token is in place (a
thief's keys cannot be told from the enterprise's own); it registers its next calls anew.`,
		Example: `  callgate enterprise token initech
  callgate enterprise token initech --revoke-keys   # the old token leaked
  curl -H "Authorization: Bearer $TOKEN" -d '{"calling":"+15125550100","called":"+13035550100"}' http://127.0.0.1:9464/api/v1/keys`,
		Args: exactArgs(1, "an enterprise name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(false, func(b backend) error {
				j, err := b.IssueEnterpriseToken(args[0], revokeKeys)
				if err != nil {
					return err
				}
				if err := e.emit(j, func(w io.Writer) {
					fmt.Fprintf(w, "API token of %s (shown once; the previous one no longer works):\n%s\n", j.Name, j.Token)
					if j.RevokedKeys != nil && j.RevokeError == "" {
						fmt.Fprintf(w, "call keys revoked: %d\n", *j.RevokedKeys)
					}
				}); err != nil {
					return err
				}
				if j.RevokeError != "" {
					return fmt.Errorf("the token is issued (above), but its keys were not all revoked: %s", j.RevokeError)
				}
				return nil
			})
		},
	}
	token.Flags().BoolVar(&revokeKeys, "revoke-keys", false, "also revoke every call key of the enterprise (the old token leaked)")
	revoke := &cobra.Command{
		Use:   "revoke-keys NAME",
		Short: "Revoke every call key of the enterprise: its calls are blocked as spoofed until it registers new ones",
		Long: `revoke-keys revokes every call key the enterprise registered that could still match: they
match no call from now on, on every node (keys.replicate), and across restarts. For a token
that leaked, reissue it with 'callgate enterprise token NAME --revoke-keys' instead, which
does both. The enterprise revokes its own keys with DELETE /api/v1/keys.`,
		Example: `  callgate enterprise revoke-keys initech`,
		Args:    exactArgs(1, "an enterprise name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(false, func(b backend) error {
				n, err := b.RevokeEnterpriseKeys(args[0])
				if err != nil {
					return err
				}
				j := struct {
					Enterprise string `json:"enterprise"`
					Revoked    int    `json:"revoked"`
				}{args[0], n}
				return e.emit(j, func(w io.Writer) { fmt.Fprintf(w, "call keys of %s revoked: %d\n", args[0], n) })
			})
		},
	}
	brand := &cobra.Command{
		Use:   "brand NAME [--name TEXT] [--logo URL] [--reason TEXT]",
		Short: "Set or show the brand the enterprise's verified calls show (no flags: show)",
		Long: `brand sets what a called party is shown for the enterprise's calls that carry a matching
call key: the name (SIP display name; AIN genericName, 15 characters, and displayText, 20),
optionally a logo (https URL, SIP Call-Info purpose=icon) and a call reason (SIP Call-Info
call-reason per RFC 9796, at most 64 characters advised; AIN displayText).
An empty value clears it. Without flags it shows the enterprise's spoof-protection settings.`,
		Example: `  callgate enterprise brand initech --name "Initech" --reason "Your order"`,
		Args:    exactArgs(1, "an enterprise name"),
	}
	var name, logo, reason string
	brand.Flags().StringVar(&name, "name", "", "display name (at most 64 characters)")
	brand.Flags().StringVar(&logo, "logo", "", "https URL of a logo")
	brand.Flags().StringVar(&reason, "reason", "", "call reason")
	brand.RunE = func(cmd *cobra.Command, args []string) error {
		fl := cmd.Flags()
		var bp brandPatch
		if fl.Changed("name") {
			bp.Name = &name
		}
		if fl.Changed("logo") {
			bp.LogoURL = &logo
		}
		if fl.Changed("reason") {
			bp.Reason = &reason
		}
		change := bp != brandPatch{}
		return e.withBackend(!change, func(b backend) error {
			var j enterpriseSignalsJSON
			var err error
			if change {
				j, err = b.PatchEnterpriseSignals(args[0], signalsPatch{Brand: &bp})
			} else {
				j, err = b.EnterpriseSignals(args[0])
			}
			if err != nil {
				return err
			}
			return e.emit(j, func(w io.Writer) { e.printSignals(w, j) })
		})
	}
	enrol := &cobra.Command{
		Use:   "enrolment NAME (--trunk ADDR --onward URI | --off)",
		Short: "Set up SIP enrolment: INVITEs from the trunk register a call key and are redirected onward",
		Long: `enrolment lets an enterprise register call keys by sending its outbound INVITEs to the SIP
tier's enrolment address (keys.sip_enrolment_user): an INVITE from the enterprise's trunk (an IP
address or prefix) for one of its enrolled numbers registers the key for keys.default_window
and is answered 302 to the onward route ({called} and {calling} filled in).`,
		Example: `  callgate enterprise enrolment initech --trunk 192.0.2.0/24 --onward 'sip:{called}@carrier.example;user=phone'`,
		Args:    exactArgs(1, "an enterprise name"),
	}
	var trunk, onward string
	var off bool
	enrol.Flags().StringVar(&trunk, "trunk", "", "address or prefix the enterprise's INVITEs come from")
	enrol.Flags().StringVar(&onward, "onward", "", "SIP URI the enrolled call is redirected to")
	enrol.Flags().BoolVar(&off, "off", false, "turn SIP enrolment off for the enterprise")
	enrol.RunE = func(cmd *cobra.Command, args []string) error {
		if off == (trunk != "" || onward != "") {
			return usagef("give --trunk and --onward, or --off")
		}
		return e.withBackend(false, func(b backend) error {
			j, err := b.PatchEnterpriseSignals(args[0], signalsPatch{Trunk: &trunk, Onward: &onward})
			if err != nil {
				return err
			}
			return e.emit(j, func(w io.Writer) { e.printSignals(w, j) })
		})
	}
	return []*cobra.Command{token, revoke, brand, enrol}
}
