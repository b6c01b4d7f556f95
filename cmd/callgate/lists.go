package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"callgate/e164"
	"callgate/internal/progress"
	"callgate/store"
)

// ---- lists ----

func (e *env) listCmd() *cobra.Command {
	var owner, listName, note string
	ownerFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&owner, "owner", "", "subscriber name or number, or provider:NAME for a provider-wide list (required)")
		_ = c.MarkFlagRequired("owner")
	}
	parseList := func(required bool) (store.List, error) {
		if listName == "" {
			if required {
				return 0, usagef("--list is required: vip or blocked")
			}
			return 0, nil
		}
		l, err := store.ParseList(listName)
		if err != nil {
			return 0, usageError{Err: err}
		}
		return l, nil
	}

	add := &cobra.Command{
		Use:   "add --owner OWNER --list vip|blocked NUMBER...",
		Short: "Add numbers to a VIP or Blocked list",
		Long: `Adds the numbers (any form: +17195551212, 719-555-1212, 17195551212) to the list, all or
none: one bad number fails the command and names every bad input. A number already on the
list keeps its place and gets the new note.`,
		Example: `  callgate list add --owner +13035550100 --list blocked +17195551212 +18005550199
  callgate list add --owner alice --list vip 7195550001 --note mom
  callgate list add --owner provider:demo-telco --list blocked +19005550100
  callgate list add --owner provider:demo-telco --list vip +12025550911 --note "PSAP call-back"`,
		Args: minArgs(1, "at least one number"),
	}
	ownerFlag(add)
	add.Flags().StringVar(&listName, "list", "", "vip or blocked (required)")
	add.Flags().StringVar(&note, "note", "", "a note kept with each number (at most 200 bytes)")
	add.RunE = func(cmd *cobra.Command, args []string) error {
		l, err := parseList(true)
		if err != nil {
			return err
		}
		return e.withBackend(false, func(b backend) error {
			n, err := b.AddToList(owner, l, args, note)
			if err != nil {
				return err
			}
			page, err := b.ListEntries(owner, l, 0, 1)
			if err != nil {
				return err
			}
			return e.emit(map[string]any{"owner": owner, "list": l, "added": n, "already": len(args) - n, "total": page.Total}, func(w io.Writer) {
				fmt.Fprintf(w, "Added %d number(s) to the %s list of %s", n, l, owner)
				if len(args) > n {
					fmt.Fprintf(w, " (%d already there)", len(args)-n)
				}
				fmt.Fprintf(w, "; it now holds %d.\n", page.Total)
			})
		})
	}

	remove := &cobra.Command{
		Use:     "remove --owner OWNER --list vip|blocked NUMBER...",
		Short:   "Remove numbers from a VIP or Blocked list",
		Example: "  callgate list remove --owner +13035550100 --list blocked +17195551212",
		Args:    minArgs(1, "at least one number"),
	}
	ownerFlag(remove)
	remove.Flags().StringVar(&listName, "list", "", "vip or blocked (required)")
	remove.RunE = func(cmd *cobra.Command, args []string) error {
		l, err := parseList(true)
		if err != nil {
			return err
		}
		return e.withBackend(false, func(b backend) error {
			n, err := b.RemoveFromList(owner, l, args)
			if err != nil {
				return err
			}
			return e.emit(map[string]any{"owner": owner, "list": l, "removed": n}, func(w io.Writer) {
				fmt.Fprintf(w, "Removed %d number(s) from the %s list of %s", n, l, owner)
				if len(args) > n {
					fmt.Fprintf(w, " (%d were not on it)", len(args)-n)
				}
				fmt.Fprintln(w, ".")
			})
		})
	}

	show := &cobra.Command{
		Use:   "show --owner OWNER [--list vip|blocked]",
		Short: "Show a subscriber's or provider's lists",
		Example: `  callgate list show --owner +13035550100
  callgate list show --owner alice --list vip --limit 50
  callgate list show --owner provider:demo-telco`,
		Args: exactArgs(0, "no arguments (the owner goes in --owner)"),
	}
	var limit int
	var after string
	ownerFlag(show)
	show.Flags().StringVar(&listName, "list", "", "vip or blocked (default: both)")
	show.Flags().IntVar(&limit, "limit", 100, "most numbers shown per list (at most 10000)")
	show.Flags().StringVar(&after, "after", "", "start after this number (page through long lists)")
	show.RunE = func(cmd *cobra.Command, args []string) error {
		l, err := parseList(false)
		if err != nil {
			return err
		}
		var from e164.Number
		if after != "" {
			if from, err = e164.Parse(after); err != nil {
				return usagef("--after: %v", err)
			}
		}
		lists := []store.List{store.ListVIP, store.ListBlocked}
		if l != 0 {
			lists = []store.List{l}
		}
		type listOut struct {
			List    store.List    `json:"list"`
			Total   int           `json:"total"`
			Entries []store.Entry `json:"entries"`
			Next    e164.Number   `json:"next,omitempty"`
		}
		return e.withBackend(true, func(b backend) error {
			var out []listOut
			for _, li := range lists {
				page, err := b.ListEntries(owner, li, from, limit)
				if err != nil {
					return err
				}
				if page.Entries == nil {
					page.Entries = []store.Entry{}
				}
				out = append(out, listOut{li, page.Total, page.Entries, page.Next})
			}
			return e.emit(map[string]any{"owner": owner, "lists": out}, func(w io.Writer) {
				for i, lo := range out {
					if i > 0 {
						fmt.Fprintln(w)
					}
					fmt.Fprintf(w, "%s list of %s: %d number(s)\n", lo.List, owner, lo.Total)
					for _, en := range lo.Entries {
						if en.Note != "" {
							fmt.Fprintf(w, "  %-16s %s\n", en.Number, en.Note)
						} else {
							fmt.Fprintf(w, "  %s\n", en.Number)
						}
					}
					if lo.Next != 0 {
						fmt.Fprintf(w, "  ... more: --after %s\n", lo.Next)
					}
				}
			})
		})
	}
	return group("list", "VIP and Blocked lists: add, remove, show", add, remove, show)
}

// ---- PIN ----

func (e *env) pinCmd() *cobra.Command {
	var pin string
	set := &cobra.Command{
		Use:   "set SUBSCRIBER [--pin DIGITS]",
		Short: "Set a subscriber's override PIN (4 to 8 digits; stored hashed)",
		Long: `Sets the PIN a caller can key to get through screening. Without --pin, it is prompted for
without echo on a terminal, or read from the first line of standard input otherwise
(echo 2468 | callgate pin set alice). --pin puts the PIN in the shell history and the
process list: prefer the prompt.`,
		Example: "  callgate pin set alice\n  callgate pin set +13035550100 --pin 2468",
		Args:    exactArgs(1, "a subscriber name or number"),
	}
	set.Flags().StringVar(&pin, "pin", "", "the PIN (default: prompt without echo, or read standard input)")
	set.RunE = func(cmd *cobra.Command, args []string) error {
		if !cmd.Flags().Changed("pin") {
			var err error
			if pin, err = e.readPIN(); err != nil {
				return err
			}
		}
		return e.withBackend(false, func(b backend) error {
			if err := b.SetPIN(args[0], pin); err != nil {
				return err
			}
			return e.emit(map[string]any{"subscriber": args[0], "has_pin": true}, func(w io.Writer) {
				fmt.Fprintf(w, "Set the override PIN of %s.\n", args[0])
			})
		})
	}
	clear := &cobra.Command{
		Use:   "clear SUBSCRIBER",
		Short: "Remove a subscriber's override PIN",
		Args:  exactArgs(1, "a subscriber name or number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(false, func(b backend) error {
				if err := b.ClearPIN(args[0]); err != nil {
					return err
				}
				return e.emit(map[string]any{"subscriber": args[0], "has_pin": false}, func(w io.Writer) {
					fmt.Fprintf(w, "Cleared the override PIN of %s.\n", args[0])
				})
			})
		},
	}
	return group("pin", "Subscribers' PINs: set, clear; lockouts after wrong PINs: lockouts, lockout, unlock",
		append([]*cobra.Command{set, clear}, e.pinLockoutCmds()...)...)
}

func stdinIsTTY(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func readPassword(r io.Reader) (string, error) {
	f := r.(*os.File)
	b, err := term.ReadPassword(int(f.Fd()))
	return string(b), err
}

// readPIN prompts twice without echo on a terminal, else reads one line.
func (e *env) readPIN() (string, error) {
	isTTY, readPass := e.isTTY, e.readPass
	if isTTY == nil {
		isTTY = stdinIsTTY
	}
	if readPass == nil {
		readPass = readPassword
	}
	if isTTY(e.stdin) {
		fmt.Fprint(e.stderr, "New PIN (4-8 digits): ")
		p1, err := readPass(e.stdin)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read PIN: %w", err)
		}
		fmt.Fprint(e.stderr, "Again: ")
		p2, err := readPass(e.stdin)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read PIN: %w", err)
		}
		if p1 != p2 {
			return "", errors.New("the two PINs differ; nothing changed")
		}
		return strings.TrimSpace(p1), nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", usagef("no PIN: give --pin, type it at the prompt on a terminal, or pipe it on standard input")
	}
	return strings.TrimSpace(line), nil
}

// ---- treatments ----

func (e *env) treatmentCmd() *cobra.Command {
	set := &cobra.Command{
		Use:   "set SUBSCRIBER [flags]",
		Short: "Set a subscriber's own treatments",
		Long: `Each flag changes one of the subscriber's own settings; "unset" (or "" for --voicemail,
0 for --announcement) hands it back to the provider's default. The effective treatment is
shown afterwards. As the operator you may change settings the provider has locked for the
subscriber, but a locked setting does not take effect until it is unlocked
('callgate subscriber permissions').`,
		Example: `  callgate treatment set alice --unknown screen --anonymous block
  callgate treatment set bob --reject-with-media on --announcement 101
  callgate treatment set bob --unknown announce-voicemail --voicemail +13035550190`,
		Args: exactArgs(1, "a subscriber name or number"),
	}
	sf := addSettingsFlags(set)
	set.RunE = func(cmd *cobra.Command, args []string) error {
		u, any, err := sf.update()
		if err != nil {
			return err
		}
		if !any {
			return usagef("nothing to set: give at least one of --unknown, --anonymous, --reject-with-media, --voicemail, --announcement")
		}
		return e.withBackend(false, func(b backend) error {
			s, err := b.PatchSubscriber(args[0], subscriberPatch{Settings: &u})
			if err != nil {
				return err
			}
			// What the platform owner or the provider sets applies whatever
			// the subscriber may change itself (store/setby.go); the
			// treatment shown says where each value comes from.
			return e.printTreatment(b, s.Name)
		})
	}
	show := &cobra.Command{
		Use:   "show SUBSCRIBER",
		Short: "Show a subscriber's effective treatments",
		Args:  exactArgs(1, "a subscriber name or number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(true, func(b backend) error {
				return e.printTreatment(b, args[0])
			})
		},
	}
	return group("treatment", "Subscriber treatments: set, show", set, show)
}

func (e *env) printTreatment(b backend, ref string) error {
	t, err := b.Treatment(ref)
	if err != nil {
		return err
	}
	return e.emit(t, func(w io.Writer) {
		fmt.Fprintf(w, "subscriber %s (may change: %s)\n", t.Subscriber, t.Permissions)
		fmt.Fprintln(w, "  effective:")
		writeEffective(w, "    ", t.Effective)
		src := t.Sources
		fmt.Fprintf(w, "  from: unknown %s, anonymous %s, reject with media %s, voicemail %s, announcement %s\n",
			src.Unknown, src.Anonymous, src.RejectWithMedia, src.Voicemail, src.Announcement)
		fmt.Fprintf(w, "  own settings (set by the provider: %s):\n", t.SetByProvider)
		writeSettings(w, "    ", t.Own)
	})
}

// ---- routes ----

type routeJSON struct {
	Name          string      `json:"name"`
	RoutingNumber e164.Number `json:"routing_number,omitempty"`
	SIPURI        string      `json:"sip_uri,omitempty"`
	Default       bool        `json:"default"`
}

func (e *env) routeCmd() *cobra.Command {
	set := &cobra.Command{
		Use:   "set NAME [--routing-number NUMBER] [--sip-uri URI]",
		Short: "Create or replace an egress route (where calls to be screened go)",
		Long: `A route says where calls that need a conversation (screen, challenge, voicemail) are
sent: the AIN tier forwards them to the routing number (a SIP-capable switch), the SIP tier
redirects them to the SIP URI (the B2BUA). Set at least one.`,
		Example: "  callgate route set sip-tier --routing-number +13035550999 --sip-uri sip:screen@127.0.0.1:5070",
		Args:    exactArgs(1, "a route name"),
	}
	var rn, uri string
	var makeDefault bool
	set.Flags().StringVar(&rn, "routing-number", "", "AIN Forward_Call destination")
	set.Flags().StringVar(&uri, "sip-uri", "", "SIP URI of the B2BUA's screening service")
	set.Flags().BoolVar(&makeDefault, "default", false, "also make it the platform default route")
	set.RunE = func(cmd *cobra.Command, args []string) error {
		if rn == "" && uri == "" {
			return usagef("give --routing-number, --sip-uri or both")
		}
		return e.withBackend(false, func(b backend) error {
			r, err := b.SetRoute(store.RouteSpec{Name: args[0], RoutingNumber: rn, SIPURI: uri})
			if err != nil {
				return err
			}
			if makeDefault {
				if err := b.SetDefaultRoute(r.Name); err != nil {
					return err
				}
			}
			_, def, err := b.Routes()
			if err != nil {
				return err
			}
			return e.emit(routeJSON{r.Name, r.RoutingNumber, r.SIPURI, def == r.Name}, func(w io.Writer) {
				fmt.Fprintf(w, "Route %s: routing number %s, SIP URI %s", r.Name, orDash(r.RoutingNumber.String()), orDash(r.SIPURI))
				if def == r.Name {
					fmt.Fprint(w, " (platform default)")
				}
				fmt.Fprintln(w, ".")
			})
		})
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List egress routes",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(true, func(b backend) error {
				rs, def, err := b.Routes()
				if err != nil {
					return err
				}
				out := make([]routeJSON, 0, len(rs))
				for _, r := range rs {
					out = append(out, routeJSON{r.Name, r.RoutingNumber, r.SIPURI, r.Name == def})
				}
				return e.emit(out, func(w io.Writer) {
					if len(out) == 0 {
						fmt.Fprintln(w, "No routes. Calls that need screening are allowed until one is set ('callgate route set').")
						return
					}
					rows := make([][]string, 0, len(out))
					for _, r := range out {
						d := ""
						if r.Default {
							d = "default"
						}
						rows = append(rows, []string{r.Name, orDash(r.RoutingNumber.String()), orDash(r.SIPURI), d})
					}
					table(w, "NAME\tROUTING NUMBER\tSIP URI\t", rows)
				})
			})
		},
	}
	del := e.deleteCmd("route", "Delete an egress route (refused while it is the default or a provider uses it)", "a route name", backend.DeleteRoute)
	def := &cobra.Command{
		Use:     "default NAME|--none",
		Short:   "Make a route the platform default (used by providers without their own)",
		Example: "  callgate route default sip-tier\n  callgate route default --none",
		Args:    cobra.MaximumNArgs(1),
	}
	var none bool
	def.Flags().BoolVar(&none, "none", false, "clear the platform default route")
	def.RunE = func(cmd *cobra.Command, args []string) error {
		name := ""
		switch {
		case none && len(args) == 0:
		case !none && len(args) == 1:
			name = args[0]
		default:
			return usagef("give a route name or --none")
		}
		return e.withBackend(false, func(b backend) error {
			if err := b.SetDefaultRoute(name); err != nil {
				return err
			}
			return e.emit(map[string]string{"default": name}, func(w io.Writer) {
				if name == "" {
					fmt.Fprintln(w, "No platform default route now.")
				} else {
					fmt.Fprintf(w, "Route %s is now the platform default.\n", name)
				}
			})
		})
	}
	return group("route", "Egress routes to the SIP tier: set, list, delete, default", set, list, del, def)
}

// ---- import / export ----

func (e *env) importCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "import FILE.csv|-",
		Short: "Import VIP and Blocked list rows from CSV (owner,list,number[,note])",
		Long: `Reads rows "owner,list,number[,note]": owner is a subscriber number or name, or
provider:NAME; list is vip or blocked. A header row and '#' comments are skipped. Bad rows
are reported with their line number and reason and the rest is imported, in one transaction
(an interrupted import leaves nothing half-written). With --replace any bad row means nothing
is imported: a list replaced without the bad rows would lose their entries. The exit status
is 1 when any row was bad. '-' reads standard input. A progress bar is drawn when standard
error is a terminal.`,
		Example: `  callgate import lists.csv
  callgate import --replace lists.csv     # each list in the file replaces the stored one
  callgate import --dry-run lists.csv     # check only`,
		Args: exactArgs(1, "one CSV file (or - for standard input)"),
	}
	var replace, dry bool
	var maxErrors int
	c.Flags().BoolVar(&replace, "replace", false, "replace each list named in the file instead of merging into it")
	c.Flags().BoolVar(&dry, "dry-run", false, "validate and count only; write nothing")
	c.Flags().IntVar(&maxErrors, "max-errors", 100, "bad rows listed in the report (all are counted)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var in io.Reader = e.stdin
		var size int64
		name := "standard input"
		if args[0] != "-" {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if fi, err := f.Stat(); err == nil {
				size = fi.Size()
			}
			in, name = f, args[0]
		}
		return e.withBackend(dry, func(b backend) error {
			bar := progress.New(e.stderr)
			opts := store.ImportOptions{Replace: replace, DryRun: dry, MaxErrors: maxErrors, Size: size,
				Progress: func(p store.ImportProgress) {
					unit := progress.Count
					if p.Phase == store.PhaseRead {
						unit = progress.Bytes
					}
					bar.Set(p.Phase.String(), unit, p.Done, p.Total)
				}}
			rep, err := b.Import(in, opts)
			bar.Finish()
			if err != nil {
				return fmt.Errorf("import %s: %w", name, err)
			}
			if err := e.emit(rep, func(w io.Writer) {
				if rep.Refused {
					fmt.Fprintf(w, "Nothing imported from %s: %d row(s) read, %d bad; --replace changes nothing when any row is bad.\n",
						name, rep.Rows, rep.ErrorCount)
					return
				}
				verb := "Imported"
				if dry {
					verb = "Checked (dry run, nothing written)"
				}
				fmt.Fprintf(w, "%s %s: %d row(s) read, %d imported (%d new, %d already listed), %d duplicate(s) in the file",
					verb, name, rep.Rows, rep.Valid-rep.Duplicates, rep.Added, rep.Updated, rep.Duplicates)
				if replace {
					fmt.Fprintf(w, ", %d removed by --replace", rep.Removed)
				}
				fmt.Fprintf(w, ", %d list(s) touched.\n", rep.Lists)
			}); err != nil {
				return err
			}
			if rep.ErrorCount > 0 {
				if rep.Refused {
					fmt.Fprintf(e.stderr, "%d bad row(s) in %s; nothing was imported (fix them and import the file again):\n", rep.ErrorCount, name)
				} else {
					fmt.Fprintf(e.stderr, "%d bad row(s) in %s, not imported:\n", rep.ErrorCount, name)
				}
				for _, re := range rep.Errors {
					fmt.Fprintf(e.stderr, "  %s:%d: %s\n", name, re.Line, re.Err)
				}
				if rep.ErrorCount > len(rep.Errors) {
					fmt.Fprintf(e.stderr, "  ... and %d more (raise --max-errors to list them)\n", rep.ErrorCount-len(rep.Errors))
				}
				return exitError{Code: 1}
			}
			return nil
		})
	}
	return c
}

func (e *env) exportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "export [--owner OWNER] [--list vip|blocked] [--output FILE]",
		Short: "Export list rows as CSV (re-importable)",
		Example: `  callgate export > lists.csv
  callgate export --owner +13035550100 --list blocked --output alice-blocked.csv`,
		Args: exactArgs(0, "no arguments"),
	}
	var owner, listName, output string
	c.Flags().StringVar(&owner, "owner", "", "only this subscriber (name or number) or provider:NAME")
	c.Flags().StringVar(&listName, "list", "", "only this list: vip or blocked")
	c.Flags().StringVarP(&output, "output", "o", "", "write to FILE instead of standard output")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var l store.List
		if listName != "" {
			var err error
			if l, err = store.ParseList(listName); err != nil {
				return usageError{Err: err}
			}
		}
		return e.withBackend(true, func(b backend) error {
			w := e.stdout
			var f *os.File
			if output != "" {
				var err error
				if f, err = os.Create(output); err != nil {
					return err
				}
				w = f
			}
			n, err := b.Export(w, store.ExportOptions{Owner: owner, List: l})
			if f != nil {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				return err
			}
			if output != "" {
				fmt.Fprintf(e.stderr, "Exported %d row(s) to %s.\n", n, output)
			}
			return nil
		})
	}
	return c
}
