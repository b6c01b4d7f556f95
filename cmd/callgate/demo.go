package main

import (
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"callgate/internal/config"
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
				sum, err = demo.SeedWith(demoPlatform{b}, demoRouteURI(&cfg))
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
			fmt.Fprintf(w, "Demo platform ready in %s.\n", storeWhere(&cfg))
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
			io.WriteString(w, demo.TryLines(binName(), e.demoWhere(&cfg)))
			return nil
		},
	}
}

// demoWhere is where the "what to try" lines point: the flags this
// command was given (so each line reaches the same daemon and store) and
// the listeners of its configuration.
func (e *env) demoWhere(cfg *config.Config) demo.Where {
	var at demo.Where
	if e.dataDir != "" && (e.dataDir != "data" || e.configPath != "") {
		at.Flags = " --data " + e.dataDir
	}
	if e.configPath != "" {
		at.Flags += " --config " + e.configPath
	}
	at.Admin = dialable(cfg.Admin.Listen)
	if cfg.SIP.Enabled {
		at.SIP = dialable(cfg.SIP.UDP)
	}
	if cfg.SCP.Enabled && cfg.SCP.Transport == "tcp" && cfg.SCP.Role != "asp" && len(cfg.SCP.Listen) > 0 {
		at.SCP = dialable(cfg.SCP.Listen[0])
	}
	return at
}

// demoRouteURI is the demo route's SIP URI: the screening URI of the
// B2BUA this configuration runs (its UDP listener, else TCP, else TLS;
// at its advertise address when set), or demo.RouteURI when it is off.
func demoRouteURI(cfg *config.Config) string {
	b := &cfg.B2BUA
	if !b.Enabled {
		return demo.RouteURI
	}
	scheme, addr, params := "sip", b.UDP, ""
	switch {
	case b.UDP != "":
	case b.TCP != "":
		addr, params = b.TCP, ";transport=tcp"
	case b.TLS != "":
		scheme, addr = "sips", b.TLS
	default:
		return demo.RouteURI
	}
	host, port, err := net.SplitHostPort(dialable(addr))
	if err != nil {
		return demo.RouteURI
	}
	if b.Advertise != "" {
		host = b.Advertise
	}
	return scheme + ":screen@" + net.JoinHostPort(host, port) + params
}

// dialable is a listen address as a client on this host dials it: a
// wildcard host becomes loopback ("" stays "": no listener).
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
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

// storeWhere names where the store is: its file, or with store.backend
// etcd the cluster and prefix every node shares (the node's replica file
// is only its copy, rebuilt from etcd).
func storeWhere(cfg *config.Config) string {
	if cfg.Store.Backend == config.BackendEtcd {
		return fmt.Sprintf("etcd %s, prefix %s (the store every node on it shares)", strings.Join(cfg.Store.Etcd.Endpoints, ","), cfg.Store.Etcd.Prefix)
	}
	return cfg.StorePath()
}
