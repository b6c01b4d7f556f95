package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"callgate/internal/demo"
	"callgate/store"
)

// demoCmd is `callgate demo`. It seeds through the backend like every
// operator command: through a running daemon's API when one serves the
// store (each step an ordinary platform-owner write, audited as cli:USER
// and in effect at once), else on the store file, which it creates if
// missing. Before, it refused while a daemon ran, because it wrote the
// file the daemon holds.
func (e *env) demoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo [--data DIR]",
		Short: "Seed a small demo platform (idempotent) and print what to try",
		Long: `Creates the demo provider demo-telco with an allocation, the default egress route sip-tier,
and subscribers alice, bob and carol with VIP and Blocked lists, Reject with Media, an
override PIN and an anonymous-caller block. Running it again restores the demo settings and
keeps anything else in the store. While 'callgate serve' runs it goes through the daemon (its
changes take effect at once); otherwise it writes the store file, creating it if missing.
Either way each change is audited as you (cli:USER), like the other operator commands.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := e.loadConfig()
			if err != nil {
				return err
			}
			var sum demo.Summary
			source := "store"
			e.createStore = true // demo seeds a new store as well as an old one
			err = e.withBackend(false, func(b backend) error {
				if _, ok := b.(*apiBackend); ok {
					source = "daemon"
				}
				var err error
				sum, err = demo.Seed(demoPlatform{b})
				return err
			})
			if err != nil {
				return err
			}
			if e.jsonOut {
				return e.emit(map[string]any{"store": cfg.StorePath(), "source": source, "created": sum.Created, "updated": sum.Updated,
					"try": demo.Decisions}, nil)
			}
			w := e.stdout
			fmt.Fprintf(w, "Demo platform ready in %s.\n", cfg.StorePath())
			if source == "daemon" {
				fmt.Fprintln(w, "  (written through the running daemon: in effect now)")
			}
			if len(sum.Created) > 0 {
				fmt.Fprintf(w, "  created: %s\n", joinList(sum.Created))
			}
			if len(sum.Updated) > 0 {
				fmt.Fprintf(w, "  already there (demo settings restored): %s\n", joinList(sum.Updated))
			}
			fmt.Fprintln(w)
			data := e.dataDir
			if e.configPath != "" && data == "" {
				data = cfg.DataDir
			}
			io.WriteString(w, demo.TryLines(binName(), data, cfg.Admin.Listen))
			return nil
		},
	}
}

// demoPlatform is a backend as the demo seeder writes through it.
type demoPlatform struct{ backend }

var _ demo.Platform = demoPlatform{}

// SetTreatments changes the subscriber's treatments (the API's PATCH of
// its settings).
func (p demoPlatform) SetTreatments(subscriber string, u store.SettingsUpdate) error {
	_, err := p.PatchSubscriber(subscriber, subscriberPatch{Settings: &u})
	return err
}
