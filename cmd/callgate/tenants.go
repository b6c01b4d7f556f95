package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/e164"
	"callgate/store"
)

// ---- providers ----

type providerJSON struct {
	ID                 uint32           `json:"id"`
	Name               string           `json:"name"`
	Defaults           store.Settings   `json:"defaults"`
	DefaultPermissions store.Permission `json:"default_permissions"`
	Route              string           `json:"route,omitempty"`
	Allocations        []string         `json:"allocations"`
	Subscribers        *int             `json:"subscribers,omitempty"`
	Created            time.Time        `json:"created"`
}

func newProviderJSON(p store.Provider) providerJSON {
	j := providerJSON{ID: p.ID, Name: p.Name, Defaults: p.Defaults, DefaultPermissions: p.DefaultPermissions,
		Route: p.Route, Allocations: []string{}, Created: p.Created}
	for _, r := range p.Allocations {
		j.Allocations = append(j.Allocations, r.String())
	}
	return j
}

func (e *env) providerCmd() *cobra.Command {
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a service provider",
		Example: `  callgate provider create demo-telco
  callgate provider create acme --unknown announce-voicemail --permissions vip,blocked,pin`,
		Args: exactArgs(1, "a provider name"),
	}
	cs := addSettingsFlags(create)
	var cperm, croute string
	create.Flags().StringVar(&cperm, "permissions", "all", "what its new subscribers may change: all, none, or some of unknown,anonymous,reject-with-media,voicemail,announcement,pin,vip,blocked")
	create.Flags().StringVar(&croute, "route", "", "egress route name (default: the platform's default route)")
	create.RunE = func(cmd *cobra.Command, args []string) error {
		set, err := cs.settings()
		if err != nil {
			return err
		}
		perm, err := store.ParsePermissions(cperm)
		if err != nil {
			return usageError{Err: err}
		}
		return e.withBackend(false, func(b backend) error {
			p, err := b.CreateProvider(store.ProviderSpec{Name: args[0], Defaults: set, DefaultPermissions: &perm, Route: croute})
			if err != nil {
				return err
			}
			return e.emit(newProviderJSON(p), func(w io.Writer) {
				fmt.Fprintf(w, "Created provider %s (id %d). Next: give it numbers with 'callgate provider allocate %s FIRST..LAST'.\n", p.Name, p.ID, p.Name)
			})
		})
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List service providers",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(true, func(b backend) error {
				ps, err := b.ListProviders()
				if err != nil {
					return err
				}
				out := make([]providerJSON, 0, len(ps))
				for _, p := range ps {
					j := newProviderJSON(p)
					n, err := b.CountSubscribers(p.Name)
					if err != nil {
						return err
					}
					j.Subscribers = &n
					out = append(out, j)
				}
				return e.emit(out, func(w io.Writer) {
					if len(out) == 0 {
						fmt.Fprintln(w, "No providers. Create one with 'callgate provider create NAME'.")
						return
					}
					rows := make([][]string, 0, len(out))
					for _, p := range out {
						rows = append(rows, []string{p.Name, strconv.Itoa(int(p.ID)), strconv.Itoa(*p.Subscribers),
							orDash(p.Route), orDash(strings.Join(p.Allocations, " "))})
					}
					table(w, "NAME\tID\tSUBSCRIBERS\tROUTE\tALLOCATIONS", rows)
				})
			})
		},
	}

	show := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show a provider: defaults, permissions, allocations, route",
		Example: "  callgate provider show demo-telco",
		Args:    exactArgs(1, "a provider name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(true, func(b backend) error {
				p, err := b.GetProvider(args[0])
				if err != nil {
					return err
				}
				j := newProviderJSON(p)
				n, err := b.CountSubscribers(p.Name)
				if err != nil {
					return err
				}
				j.Subscribers = &n
				page, err := b.ListEntries(store.ProviderPrefix+p.Name, store.ListBlocked, 0, 1)
				if err != nil {
					return err
				}
				vip, err := b.ListEntries(store.ProviderPrefix+p.Name, store.ListVIP, 0, 1)
				if err != nil {
					return err
				}
				return e.emit(j, func(w io.Writer) {
					fmt.Fprintf(w, "provider %s (id %d), created %s\n", p.Name, p.ID, p.Created.Format(time.RFC3339))
					fmt.Fprintf(w, "  subscribers:        %d\n", n)
					fmt.Fprintf(w, "  blocked list:       %s (callgate list show --owner %s%s)\n", plural(page.Total, "number"), store.ProviderPrefix, p.Name)
					fmt.Fprintf(w, "  vip list:           %s (always get through)\n", plural(vip.Total, "number"))
					fmt.Fprintf(w, "  egress route:       %s\n", orDefault(p.Route, "platform default"))
					fmt.Fprintf(w, "  allocations:        %s\n", orDash(strings.Join(j.Allocations, " ")))
					fmt.Fprintf(w, "  subscribers may change: %s\n", p.DefaultPermissions)
					fmt.Fprintln(w, "  defaults for its subscribers:")
					writeSettings(w, "    ", p.Defaults)
				})
			})
		},
	}

	del := e.deleteCmd("provider", "Delete a provider (refused while it has subscribers or enterprises)", "a provider name", backend.DeleteProvider)

	defaults := &cobra.Command{
		Use:   "defaults NAME",
		Short: "Show or change a provider's default treatments and what subscribers may change",
		Long: `With no flags, shows the provider's defaults. Each flag given changes one default;
"unset" hands it back to the platform default (unknown and anonymous callers: screen).
--permissions sets what NEW subscribers may change themselves (existing subscribers keep
theirs: see 'callgate subscriber permissions').`,
		Example: `  callgate provider defaults demo-telco --unknown screen --anonymous block
  callgate provider defaults demo-telco --permissions vip,blocked,pin`,
		Args: exactArgs(1, "a provider name"),
	}
	ds := addSettingsFlags(defaults)
	var dperm string
	defaults.Flags().StringVar(&dperm, "permissions", "", "what new subscribers may change: all, none, or a comma list")
	defaults.RunE = func(cmd *cobra.Command, args []string) error {
		u, changed, err := ds.update()
		if err != nil {
			return err
		}
		var patch providerPatch
		if changed {
			patch.Defaults = &u
		}
		if cmd.Flags().Changed("permissions") {
			perm, err := store.ParsePermissions(dperm)
			if err != nil {
				return usageError{Err: err}
			}
			patch.DefaultPermissions = &perm
		}
		return e.withBackend(patch == providerPatch{}, func(b backend) error {
			var p store.Provider
			var err error
			if patch != (providerPatch{}) {
				p, err = b.PatchProvider(args[0], patch)
			} else {
				p, err = b.GetProvider(args[0])
			}
			if err != nil {
				return err
			}
			type out struct {
				Name        string           `json:"name"`
				Defaults    store.Settings   `json:"defaults"`
				Permissions store.Permission `json:"default_permissions"`
			}
			return e.emit(out{p.Name, p.Defaults, p.DefaultPermissions}, func(w io.Writer) {
				fmt.Fprintf(w, "provider %s defaults:\n", p.Name)
				writeSettings(w, "  ", p.Defaults)
				fmt.Fprintf(w, "  new subscribers may change: %s\n", p.DefaultPermissions)
			})
		})
	}

	allocate := &cobra.Command{
		Use:   "allocate NAME RANGE...",
		Short: "Give number ranges to a provider (or take one back with --release)",
		Long: `A RANGE is one number or FIRST..LAST (any number form: +13035550100, 3035550100, ...).
Subscribers' numbers must lie in their provider's allocations; a number belongs to at most
one provider.`,
		Example: `  callgate provider allocate demo-telco +13035550100..+13035550199
  callgate provider allocate demo-telco --release +13035550100..+13035550199`,
		Args: minArgs(2, "a provider name and at least one range"),
	}
	var release bool
	allocate.Flags().BoolVar(&release, "release", false, "take the ranges back (each exactly as allocated)")
	allocate.RunE = func(cmd *cobra.Command, args []string) error {
		var ranges []store.Range
		for _, a := range args[1:] {
			r, err := store.ParseRange(a)
			if err != nil {
				return usageError{Err: err}
			}
			ranges = append(ranges, r)
		}
		return e.withBackend(false, func(b backend) error {
			if release {
				for _, r := range ranges {
					if err := b.ReleaseNumbers(args[0], r); err != nil {
						return err
					}
				}
			} else if err := b.AllocateNumbers(args[0], ranges); err != nil {
				return err
			}
			p, err := b.GetProvider(args[0])
			if err != nil {
				return err
			}
			j := newProviderJSON(p)
			return e.emit(j, func(w io.Writer) {
				verb := "Allocated"
				if release {
					verb = "Released"
				}
				fmt.Fprintf(w, "%s %d range(s). Provider %s now holds: %s\n", verb, len(ranges), p.Name, orDash(strings.Join(j.Allocations, " ")))
			})
		})
	}

	route := &cobra.Command{
		Use:     "route NAME ROUTE",
		Short:   "Point a provider at an egress route ('-' = the platform default route)",
		Example: "  callgate provider route demo-telco sip-tier",
		Args:    exactArgs(2, "a provider name and a route name (or -)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := args[1]
			if r == "-" {
				r = ""
			}
			return e.withBackend(false, func(b backend) error {
				p, err := b.PatchProvider(args[0], providerPatch{Route: &r})
				if err != nil {
					return err
				}
				return e.emit(newProviderJSON(p), func(w io.Writer) {
					fmt.Fprintf(w, "Provider %s now uses route %s.\n", p.Name, orDefault(p.Route, "platform default"))
				})
			})
		},
	}
	return group("provider", "Service providers: create, list, show, delete, defaults, allocate, route, stir, signals",
		create, list, show, del, defaults, allocate, route, e.providerStirCmd(), e.providerSignalsCmd())
}

// plural renders "1 number", "2 numbers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- subscribers ----

type subscriberJSON struct {
	ID          uint32           `json:"id"`
	Name        string           `json:"name"`
	Provider    string           `json:"provider"`
	Numbers     []e164.Number    `json:"numbers"`
	Settings    store.Settings   `json:"settings"`
	Permissions store.Permission `json:"permissions"`
	HasPIN      bool             `json:"has_pin"`
	Effective   *effectiveJSON   `json:"effective,omitempty"`
	VIP         *int             `json:"vip,omitempty"`
	Blocked     *int             `json:"blocked,omitempty"`
	Created     time.Time        `json:"created"`
}

func newSubscriberJSON(s store.Subscriber) subscriberJSON {
	return subscriberJSON{ID: s.ID, Name: s.Name, Provider: s.Provider, Numbers: s.Numbers, Settings: s.Settings,
		Permissions: s.Permissions, HasPIN: s.HasPIN, Created: s.Created}
}

func numbersText(ns []e164.Number) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, " ")
}

func (e *env) subscriberCmd() *cobra.Command {
	create := &cobra.Command{
		Use:   "create NAME --provider PROVIDER --number NUMBER...",
		Short: "Create a subscriber with one or more numbers",
		Example: `  callgate subscriber create dave --provider demo-telco --number +13035550103
  callgate subscriber create eve --provider demo-telco --number 303-555-0104 --unknown block`,
		Args: exactArgs(1, "a subscriber name"),
	}
	cs := addSettingsFlags(create)
	var prov, perm string
	var numbers []string
	create.Flags().StringVar(&prov, "provider", "", "the service provider (required)")
	create.Flags().StringSliceVar(&numbers, "number", nil, "a number of the subscriber, in the provider's allocation (repeat or comma-separate; required)")
	create.Flags().StringVar(&perm, "permissions", "", "what the subscriber may change (default: the provider's default permissions)")
	_ = create.MarkFlagRequired("provider")
	_ = create.MarkFlagRequired("number")
	create.RunE = func(cmd *cobra.Command, args []string) error {
		set, err := cs.settings()
		if err != nil {
			return err
		}
		spec := store.SubscriberSpec{Name: args[0], Provider: prov, Numbers: numbers, Settings: set}
		if cmd.Flags().Changed("permissions") {
			p, err := store.ParsePermissions(perm)
			if err != nil {
				return usageError{Err: err}
			}
			spec.Permissions = &p
		}
		return e.withBackend(false, func(b backend) error {
			s, err := b.CreateSubscriber(spec)
			if err != nil {
				return err
			}
			return e.emit(newSubscriberJSON(s), func(w io.Writer) {
				fmt.Fprintf(w, "Created subscriber %s (id %d) with %s.\n", s.Name, s.ID, numbersText(s.Numbers))
			})
		})
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List subscribers",
		Args:  exactArgs(0, "no arguments"),
	}
	var lprov string
	var limit int
	list.Flags().StringVar(&lprov, "provider", "", "only this provider's subscribers")
	list.Flags().IntVar(&limit, "limit", 0, "at most this many (0 = all)")
	list.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withBackend(true, func(b backend) error {
			subs, err := b.ListSubscribers(lprov, limit)
			if err != nil {
				return err
			}
			out := make([]subscriberJSON, 0, len(subs))
			for _, s := range subs {
				out = append(out, newSubscriberJSON(s))
			}
			return e.emit(out, func(w io.Writer) {
				if len(out) == 0 {
					fmt.Fprintln(w, "No subscribers.")
					return
				}
				rows := make([][]string, 0, len(out))
				for _, s := range out {
					rows = append(rows, []string{s.Name, strconv.Itoa(int(s.ID)), s.Provider, numbersText(s.Numbers),
						map[bool]string{true: "yes", false: "no"}[s.HasPIN]})
				}
				table(w, "NAME\tID\tPROVIDER\tNUMBERS\tPIN", rows)
			})
		})
	}

	show := &cobra.Command{
		Use:     "show NAME|NUMBER",
		Short:   "Show a subscriber: numbers, own and effective treatments, list sizes",
		Example: "  callgate subscriber show alice\n  callgate subscriber show +13035550100",
		Args:    exactArgs(1, "a subscriber name or number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(true, func(b backend) error {
				s, err := b.GetSubscriber(args[0])
				if err != nil {
					return err
				}
				tr, err := b.Treatment(s.Name)
				if err != nil {
					return err
				}
				eff := tr.Effective
				vip, err := b.ListEntries(s.Name, store.ListVIP, 0, 1)
				if err != nil {
					return err
				}
				blk, err := b.ListEntries(s.Name, store.ListBlocked, 0, 1)
				if err != nil {
					return err
				}
				j := newSubscriberJSON(s)
				j.Effective, j.VIP, j.Blocked = &eff, &vip.Total, &blk.Total
				return e.emit(j, func(w io.Writer) {
					fmt.Fprintf(w, "subscriber %s (id %d) of provider %s, created %s\n", s.Name, s.ID, s.Provider, s.Created.Format(time.RFC3339))
					fmt.Fprintf(w, "  numbers:            %s\n", numbersText(s.Numbers))
					fmt.Fprintf(w, "  VIP list:           %s\n", plural(vip.Total, "number"))
					fmt.Fprintf(w, "  blocked list:       %s\n", plural(blk.Total, "number"))
					fmt.Fprintf(w, "  may change:         %s\n", s.Permissions)
					fmt.Fprintln(w, "  effective treatment (own settings, else provider, else platform):")
					writeEffective(w, "    ", eff)
					fmt.Fprintln(w, "  own settings:")
					writeSettings(w, "    ", s.Settings)
				})
			})
		},
	}

	del := &cobra.Command{
		Use:   "delete NAME|NUMBER",
		Short: "Delete a subscriber with its numbers, lists and PIN",
		Args:  exactArgs(1, "a subscriber name or number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(false, func(b backend) error {
				if err := b.DeleteSubscriber(args[0]); err != nil {
					return err
				}
				return e.emit(map[string]string{"deleted": args[0]}, func(w io.Writer) {
					fmt.Fprintf(w, "Deleted subscriber %s.\n", args[0])
				})
			})
		},
	}

	numbersCmd := func(use, short string, add bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME|NUMBER NUMBER...",
			Short: short,
			Args:  minArgs(2, "a subscriber and at least one number"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return e.withBackend(false, func(b backend) error {
					var s store.Subscriber
					var err error
					if add {
						s, err = b.AssignNumbers(args[0], args[1:])
					} else {
						s, err = b.UnassignNumbers(args[0], args[1:])
					}
					if err != nil {
						return err
					}
					return e.emit(newSubscriberJSON(s), func(w io.Writer) {
						fmt.Fprintf(w, "Subscriber %s now has %s.\n", s.Name, numbersText(s.Numbers))
					})
				})
			},
		}
	}

	perms := &cobra.Command{
		Use:     "permissions NAME|NUMBER PERMISSIONS",
		Short:   "Set what a subscriber may change itself (all, none, or a comma list)",
		Example: "  callgate subscriber permissions alice vip,blocked,pin",
		Args:    exactArgs(2, "a subscriber and a permission list"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := store.ParsePermissions(args[1])
			if err != nil {
				return usageError{Err: err}
			}
			return e.withBackend(false, func(b backend) error {
				s, err := b.PatchSubscriber(args[0], subscriberPatch{Permissions: &p})
				if err != nil {
					return err
				}
				return e.emit(newSubscriberJSON(s), func(w io.Writer) {
					fmt.Fprintf(w, "Subscriber %s may now change: %s.\n", s.Name, s.Permissions)
				})
			})
		},
	}
	return group("subscriber", "Subscribers: create, list, show, delete, assign/unassign numbers, permissions",
		create, list, show, del,
		numbersCmd("assign", "Give a subscriber more numbers", true),
		numbersCmd("unassign", "Take numbers from a subscriber", false),
		perms, e.subscriberImportCmd())
}

// ---- enterprises ----

type enterpriseJSON struct {
	ID       uint32        `json:"id"`
	Name     string        `json:"name"`
	Provider string        `json:"provider,omitempty"`
	Numbers  []e164.Number `json:"numbers"`
	Created  time.Time     `json:"created"`
}

func (e *env) enterpriseCmd() *cobra.Command {
	create := &cobra.Command{
		Use:     "create NAME --number NUMBER...",
		Short:   "Create an enterprise tenant (places outbound calls; spoof protection)",
		Example: "  callgate enterprise create acme-corp --number +13125550100,+13125550101",
		Args:    exactArgs(1, "an enterprise name"),
	}
	var prov string
	var numbers []string
	create.Flags().StringVar(&prov, "provider", "", "the provider it belongs to (default: directly under the platform)")
	create.Flags().StringSliceVar(&numbers, "number", nil, "calling numbers it enrols (repeat or comma-separate)")
	create.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withBackend(false, func(b backend) error {
			en, err := b.CreateEnterprise(store.EnterpriseSpec{Name: args[0], Provider: prov, Numbers: numbers})
			if err != nil {
				return err
			}
			return e.emit(enterpriseJSON{en.ID, en.Name, en.Provider, en.Numbers, en.Created}, func(w io.Writer) {
				fmt.Fprintf(w, "Created enterprise %s (id %d) with %s.\n", en.Name, en.ID, orDash(numbersText(en.Numbers)))
			})
		})
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List enterprise tenants",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(true, func(b backend) error {
				ens, err := b.ListEnterprises()
				if err != nil {
					return err
				}
				out := make([]enterpriseJSON, 0, len(ens))
				for _, en := range ens {
					out = append(out, enterpriseJSON{en.ID, en.Name, en.Provider, en.Numbers, en.Created})
				}
				return e.emit(out, func(w io.Writer) {
					if len(out) == 0 {
						fmt.Fprintln(w, "No enterprises.")
						return
					}
					rows := make([][]string, 0, len(out))
					for _, en := range out {
						rows = append(rows, []string{en.Name, strconv.Itoa(int(en.ID)), orDash(en.Provider), orDash(numbersText(en.Numbers))})
					}
					table(w, "NAME\tID\tPROVIDER\tNUMBERS", rows)
				})
			})
		},
	}
	del := e.deleteCmd("enterprise", "Delete an enterprise tenant", "an enterprise name", backend.DeleteEnterprise)
	return group("enterprise", "Enterprise tenants: create, list, delete; spoof protection: token, brand, enrolment",
		append([]*cobra.Command{create, list, del}, e.enterpriseSignalCmds()...)...) // enterprise_signals.go
}
