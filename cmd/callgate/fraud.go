package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/fraud"
)

// callgate fraud: the toll-fraud monitor's operator commands (flags and
// output; the monitor is package fraud). While a daemon runs they go to
// its monitor through the management API (/api/v1/fraud); without one, to
// a monitor over the store file, where it keeps its state
// (backend_fraud.go).

func (e *env) fraudCmd() *cobra.Command {
	rates := group("rates", "The rate table: import a CSV as a new version, list the versions",
		e.fraudRatesImportCmd(), e.fraudRatesVersionsCmd())
	return group("fraud", "Toll-fraud monitor: groups' spend against their thresholds, lockdowns, unlock, rate table",
		e.fraudStatusCmd(), e.fraudHistoryCmd(), e.fraudUnlockCmd(), rates)
}

func (e *env) fraudStatusCmd() *cobra.Command {
	var top int
	c := &cobra.Command{
		Use:   "status [GROUP]",
		Short: "Today's spend of the groups nearest their lockdown threshold (locked first), or one group's",
		Long: `Without GROUP: every group with spend today or a lock, the locked ones first, then by spend
as a share of the lockdown threshold. GROUP is subscriber:NAME, enterprise:NAME, a subscriber or
enterprise name, or one of its lines' numbers. Spend is completed calls (CDRs) plus calls in
progress as valued at the last recompute; thresholds are today's (doubled after a lockdown).`,
		Example: `  callgate fraud status
  callgate fraud status dave
  callgate fraud status --top 0 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withFraud(true, func(f fraudBackend) error {
				if len(args) == 1 {
					s, err := f.GroupStatus(args[0])
					if err != nil {
						return err
					}
					return e.emit(s, func(w io.Writer) { writeGroupStatus(w, &s) })
				}
				out, err := f.Status(top)
				if err != nil {
					return err
				}
				shown := out.Status
				if shown == nil {
					shown = []fraud.GroupStatus{}
					out.Status = shown
				}
				return e.emit(out, func(w io.Writer) {
					if out.RatesVersion == 0 {
						fmt.Fprintln(w, "Rate table: none imported (every call is priced at fraud.unrated_price_per_minute; callgate fraud rates import FILE).")
					} else {
						fmt.Fprintf(w, "Rate table version %d (%d rows). %d group(s) with spend or a lock, %d locked.\n", out.RatesVersion, out.RatesRows, out.Groups, out.Locked)
					}
					if len(shown) == 0 {
						return
					}
					rows := make([][]string, 0, len(shown))
					for _, s := range shown {
						rows = append(rows, []string{s.Name, s.Day, s.Spend.String(), s.Thresholds.Alert.String(), s.Thresholds.Lockdown.String(),
							s.Baseline.String(), "x" + strconv.FormatInt(s.Factor, 10), stateWord(&s)})
					}
					table(w, "GROUP\tDAY\tSPEND\tALERT\tLOCKDOWN\tBASELINE\tFACTOR\tSTATE", rows)
					if out.Groups > len(shown) {
						fmt.Fprintf(w, "... and %d more (--top 0 for all)\n", out.Groups-len(shown))
					}
				})
			})
		},
	}
	c.Flags().IntVar(&top, "top", 20, "groups listed (0: all)")
	return c
}

// stateWord is a group's state in one word or a few.
func stateWord(s *fraud.GroupStatus) string {
	switch {
	case s.Locked:
		return "LOCKED since " + s.Lock.Since.UTC().Format(time.RFC3339)
	case s.Alerted:
		return "alerted"
	}
	return "ok"
}

func writeGroupStatus(w io.Writer, s *fraud.GroupStatus) {
	fmt.Fprintf(w, "%s (%s), day %s in %s\n", s.Name, s.Group, s.Day, s.Zone)
	fmt.Fprintf(w, "  spend      %s %s (completed %s, in progress %s)\n", s.Spend, s.Currency, s.Completed, s.InProgress)
	fmt.Fprintf(w, "  thresholds alert %s, lockdown %s (x%d; baseline %s)\n", s.Thresholds.Alert, s.Thresholds.Lockdown, s.Factor, s.Baseline)
	switch {
	case s.Locked:
		fmt.Fprintf(w, "  LOCKED     since %s at spend %s (threshold %s, audit #%d): international and premium calls refused\n",
			s.Lock.Since.UTC().Format(time.RFC3339), s.Lock.Spend, s.Lock.Threshold, s.Lock.Audit)
	default:
		fmt.Fprintf(w, "  not locked (alerted today: %v, lockdowns today: %d)\n", s.Alerted, s.Lockdowns)
	}
	if !s.Evaluated.IsZero() {
		fmt.Fprintf(w, "  last recompute %s\n", s.Evaluated.UTC().Format(time.RFC3339))
	}
}

func (e *env) fraudHistoryCmd() *cobra.Command {
	var events int
	c := &cobra.Command{
		Use:   "history GROUP",
		Short: "A group's daily spend over the history its thresholds are learned from, and its audit records",
		Example: `  callgate fraud history dave
  callgate fraud history enterprise:initech --events 0 --json`,
		Args: exactArgs(1, "a group (subscriber:NAME, enterprise:NAME, a name or a line's number)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withFraud(true, func(f fraudBackend) error {
				h, err := f.History(args[0], events)
				if err != nil {
					return err
				}
				return e.emit(h, func(w io.Writer) {
					writeGroupStatus(w, &h.Status)
					rows := make([][]string, 0, len(h.Days))
					for _, d := range h.Days {
						note := ""
						if d.Lockdowns > 0 {
							note = fmt.Sprintf("%d lockdown(s): not in the baseline", d.Lockdowns)
						}
						rows = append(rows, []string{d.Day, d.Spend.String(), note})
					}
					fmt.Fprintln(w)
					table(w, "DAY\tSPEND\t", rows)
					if len(h.Events) > 0 {
						fmt.Fprintln(w, "\nAudit (newest first):")
						for _, ev := range h.Events {
							fmt.Fprintln(w, "  "+ev.String())
						}
					}
				})
			})
		},
	}
	c.Flags().IntVar(&events, "events", 20, "audit records listed, newest first (0: all)")
	return c
}

func (e *env) fraudUnlockCmd() *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use:   "unlock GROUP --reason TEXT",
		Short: "Restore a locked group's international and premium calls (an operator, with a written reason; audited)",
		Long: `Lifts a group's lockdown. The reason (at least 10 characters: what was checked and why normal
service is safe again) is stored with your name in the audit log, in the same write as the
unlock. The day's doubled thresholds stay until the group's local midnight.`,
		Example: `  callgate fraud unlock dave --reason "PBX password changed; customer confirmed the calls (ticket 4411)"`,
		Args:    exactArgs(1, "a group (subscriber:NAME, enterprise:NAME, a name or a line's number)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("fraud unlock needs --reason \"...\": what was checked and why normal service is safe again")
			}
			return e.withFraud(false, func(f fraudBackend) error {
				ev, err := f.Unlock(args[0], reason)
				if err != nil {
					return err
				}
				return e.emit(ev, func(w io.Writer) {
					fmt.Fprintf(w, "Unlocked %s: its international and premium calls go through again (audit #%d, by %s).\n", ev.Name, ev.Seq, ev.Actor)
				})
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why normal service is safe again (required, stored in the audit log)")
	return c
}

func (e *env) fraudRatesImportCmd() *cobra.Command {
	var dry bool
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a CSV rate table as the next version (all or nothing)",
		Long: `Reads prefix,category,price_per_minute[,description] rows (a first line starting with "prefix"
is a header): prefix is E.164 digits, country code first; category is domestic, mobile,
international or premium (a locked group's international and premium calls are refused); the
price is a decimal in the account currency. Every bad row is reported as FILE:LINE and nothing
is imported; a good file becomes the next version, in force for calls that start from then on.`,
		Example: `  callgate fraud rates import rates.csv
  callgate fraud rates import --dry-run rates.csv`,
		Args: exactArgs(1, "one CSV file (or - for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = e.stdin
			name := "standard input"
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in, name = f, args[0]
			}
			return e.withFraud(dry, func(f fraudBackend) error {
				meta, err := f.ImportRates(in, name, dry)
				var re *fraud.RatesError
				if errors.As(err, &re) {
					fmt.Fprintf(e.stderr, "%d bad row(s) in %s; nothing was imported (fix them and import the file again):\n", len(re.Rows), name)
					for _, r := range re.Rows {
						fmt.Fprintf(e.stderr, "  %s:%d: %s\n", name, r.Line, r.Err)
					}
					return exitError{Code: 1}
				}
				if err != nil {
					return err
				}
				return e.emit(meta, func(w io.Writer) {
					if dry {
						fmt.Fprintf(w, "Checked %s (dry run, nothing written): %d rows, all good.\n", name, meta.Rows)
						return
					}
					fmt.Fprintf(w, "Imported %s as rate table version %d: %d rows (sha256 %s).\n", name, meta.Version, meta.Rows, meta.SHA256[:12])
				})
			})
		},
	}
	c.Flags().BoolVar(&dry, "dry-run", false, "check every row only; write nothing")
	return c
}

func (e *env) fraudRatesVersionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "versions",
		Short: "List the rate table versions imported",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withFraud(true, func(f fraudBackend) error {
				vs, err := f.RateVersions()
				if err != nil {
					return err
				}
				return e.emit(vs, func(w io.Writer) {
					if len(vs) == 0 {
						fmt.Fprintln(w, "No rate table imported.")
						return
					}
					rows := make([][]string, 0, len(vs))
					for _, v := range vs {
						rows = append(rows, []string{strconv.FormatUint(uint64(v.Version), 10), v.Imported.UTC().Format(time.RFC3339),
							strconv.Itoa(v.Rows), orDash(v.Source), orDash(v.By), v.SHA256[:12]})
					}
					table(w, "VERSION\tIMPORTED\tROWS\tSOURCE\tBY\tSHA256", rows)
				})
			})
		},
	}
}
