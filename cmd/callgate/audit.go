package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"callgate/store"
)

// auditCmd searches the audit log (store/audit.go): every change with
// who, role, path, when, what, before and after.
func (e *env) auditCmd() *cobra.Command {
	search := &cobra.Command{
		Use:   "search [--since 1h] [--until TIME] [--actor TEXT] [--object TEXT] [--limit N] [--json]",
		Short: "Search the audit log of changes, newest first",
		Long: `Lists changes to providers, allocations, subscribers, PINs, treatments, lists, enterprises,
routes and API tokens, newest first, each with who made it (API token, web user, CLI user),
the role, the path (api, web, cli, ivr), when, the operation and object, and the object
before and after. --actor matches the principal or the role's tenant, --object the object
(subscriber/alice, list/subscriber/alice/blocked, provider/acme). --since and --until take
a duration back from now (90m, 2h, 7d) or a time. While 'callgate serve' holds the store,
the daemon is asked instead (GET /api/v1/audit on its socket).`,
		Example: `  callgate audit search --since 24h --object subscriber/alice
  callgate audit search --actor "token 3fa2" --json`,
		Args: exactArgs(0, "no arguments"),
	}
	var since, until, actor, object string
	var limit int
	f := search.Flags()
	f.StringVar(&since, "since", "", "only changes at or after this (duration ago, or time)")
	f.StringVar(&until, "until", "", "only changes before this (duration ago, or time)")
	f.StringVar(&actor, "actor", "", "only changes whose principal or actor contains this")
	f.StringVar(&object, "object", "", "only changes whose object contains this")
	f.IntVar(&limit, "limit", 100, "most records shown (at most 10000)")
	search.RunE = func(cmd *cobra.Command, args []string) error {
		now := time.Now()
		q := store.AuditQuery{Actor: actor, Object: object, Limit: limit}
		var err error
		if q.Since, err = parseWhen(since, now); err != nil {
			return usagef("--since: %v", err)
		}
		if q.Until, err = parseWhen(until, now); err != nil {
			return usagef("--until: %v", err)
		}
		if limit <= 0 || limit > 10000 {
			return usagef("--limit %d: want 1 to 10000", limit)
		}
		return e.withBackend(true, func(b backend) error {
			recs, err := b.SearchAudit(q)
			if err != nil {
				return err
			}
			if recs == nil {
				recs = []store.AuditRecord{}
			}
			return e.emit(recs, func(w io.Writer) {
				if len(recs) == 0 {
					fmt.Fprintln(w, "no changes recorded match")
				}
				for _, r := range recs {
					fmt.Fprintf(w, "%s  %-10s %-24s via %-4s %-26s %s\n", r.At.Local().Format(time.RFC3339), r.Role, r.Principal, r.Via, r.Op, r.Object)
					if r.Before != nil {
						fmt.Fprintf(w, "    before: %s\n", r.Before)
					}
					if r.After != nil {
						fmt.Fprintf(w, "    after:  %s\n", r.After)
					}
				}
			})
		})
	}
	return group("audit", "The audit log of changes (who, when, what, before and after)", search)
}
