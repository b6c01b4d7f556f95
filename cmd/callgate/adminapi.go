package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"callgate/store"
)

// adminCmd holds the management API's operator commands.
func (e *env) adminCmd() *cobra.Command {
	return group("admin", "The management API (api: in the configuration)", e.adminBootstrapCmd())
}

// adminBootstrapCmd creates the first platform-owner API token. There is
// no default password: until this runs, the API answers nobody.
func (e *env) adminBootstrapCmd() *cobra.Command {
	var (
		ttl     time.Duration
		label   string
		another bool
	)
	cmd := &cobra.Command{
		Use:   "bootstrap [--ttl 720h] [--label TEXT] [--another]",
		Short: "Create the first platform-owner API token and print it (once: only its hash is kept)",
		Example: `  callgate admin bootstrap
  curl -H "Authorization: Bearer cgt_..." http://127.0.0.1:8480/api/v1/providers`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(false, func(b backend) error {
				toks, err := b.APITokens()
				if err != nil {
					return err
				}
				now := time.Now()
				for _, t := range toks {
					if t.Role == store.RoleOperator && t.Revoked.IsZero() && now.Before(t.Expires) && !another {
						return fmt.Errorf("a platform-owner token exists already (id %s, expires %s): create more through the API "+
							"(POST /api/v1/tokens) or pass --another", t.ID, t.Expires.Format(time.RFC3339))
					}
				}
				rec, secret, err := b.CreateAPIToken(store.Operator, label, ttl)
				if err != nil {
					return err
				}
				out := map[string]any{"id": rec.ID, "role": "operator", "expires": rec.Expires, "token": secret}
				return e.emit(out, func(w io.Writer) {
					fmt.Fprintf(w, "Platform-owner API token (id %s, expires %s). It is shown only now; keep it secret:\n\n  %s\n\n",
						rec.ID, rec.Expires.Format(time.RFC3339), secret)
					fmt.Fprintln(w, "Send it as: Authorization: Bearer <token>")
				})
			})
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 720*time.Hour, "lifetime of the token (at most 8784h)")
	cmd.Flags().StringVar(&label, "label", "bootstrap", "a note on what the token is for")
	cmd.Flags().BoolVar(&another, "another", false, "create one even though a platform-owner token exists")
	return cmd
}
