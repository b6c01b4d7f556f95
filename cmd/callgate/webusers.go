package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"callgate/store"
)

// userCmd manages web UI logins (store/webusers.go). The password is read
// from standard input, never from the command line.
func (e *env) userCmd() *cobra.Command {
	var role, tenant string
	create := &cobra.Command{
		Use:   "create NAME --role operator|provider|subscriber [--tenant NAME] < password",
		Short: "Create a web UI user; the password (10 to 72 bytes) is read from standard input",
		Example: `  printf '%s\n' "$PASSWORD" | callgate user create alice-web --role subscriber --tenant alice
  callgate user create acme-admin --role provider --tenant acme < acme.password`,
		Args: exactArgs(1, "the user's login name"),
	}
	create.Flags().StringVar(&role, "role", "", "operator, provider or subscriber")
	create.Flags().StringVar(&tenant, "tenant", "", "the provider or subscriber the user acts as (not for operator)")
	create.RunE = func(cmd *cobra.Command, args []string) error {
		r, ok := map[string]store.Role{"operator": store.RoleOperator, "provider": store.RoleProvider, "subscriber": store.RoleSubscriber}[role]
		if !ok {
			return usagef("--role %q: want operator, provider or subscriber", role)
		}
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the password from standard input: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return usagef("no password on standard input (there is no default password)")
		}
		return e.withBackend(false, func(b backend) error {
			u, err := b.CreateWebUser(store.Actor{Role: r, Name: tenant}, args[0], password)
			if err != nil {
				return err
			}
			return e.emit(map[string]any{"name": u.Name, "role": store.RoleName(u.Role), "tenant": u.Tenant}, func(w io.Writer) {
				fmt.Fprintf(w, "Created web user %s (%s %s). Log in at /ui/ on the API listener.\n", u.Name, store.RoleName(u.Role), u.Tenant)
			})
		})
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a web UI user",
		Args:  exactArgs(1, "the user's login name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(false, func(b backend) error {
				if err := b.DeleteWebUser(args[0]); err != nil {
					return err
				}
				return e.emit(map[string]any{"deleted": args[0]}, func(w io.Writer) { fmt.Fprintf(w, "Deleted web user %s.\n", args[0]) })
			})
		},
	}
	return group("user", "Web UI users: create, delete", create, del)
}
