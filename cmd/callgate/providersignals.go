package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"callgate/policy"
	"callgate/store"
)

// providerSignalsCmd is `callgate provider signals`: a provider's signal
// policy (reputation bands, missing call keys) over the platform's.
func (e *env) providerSignalsCmd() *cobra.Command {
	var low, medium, high, exempt, unknown, missing string
	c := &cobra.Command{
		Use:   "signals NAME",
		Short: "Show or set a provider's spam-risk and spoof-protection actions (over the platform defaults)",
		Long: `With no flags, shows what the provider's subscribers' calls get for each reputation answer
and for a missing call key, and whether that is the provider's own setting or the platform
default (reputation.actions, keys.on_missing): the running daemon's, as its engine applies them,
or, when no daemon runs, those of this command's configuration (--config; what 'callgate serve'
with the same file applies). The output says which. Each flag given changes one setting;
"default" hands it back to the platform:

  --low, --medium, --high ACTION   the caller's spam-risk band from the reputation provider
  --exempt ACTION                  callers never looked up (private, anonymous, non-NANP)
  --unknown ACTION                 no band within the call's budget (provider slow, failing, busy)
      ACTION: allow (deliver untouched), challenge (the B2BUA's DTMF challenge), block,
      screen (the subscriber's screening), continue (the subscriber's own treatments), default
  --key-missing ACTION             a call claiming an enterprise's enrolled number without a
                                   matching call key (spoofed): block, screen, continue (or tag:
                                   the trace's key=missing marks it, the chain decides), default

The provider itself may change its settings. The engine's trace of each call says which
applied: setting=provider or setting=platform.`,
		Example: `  callgate provider signals acme --medium block --high block --key-missing screen
  callgate provider signals acme --medium default`,
		Args: exactArgs(1, "a provider name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			flags := []struct {
				name string
				v    *string
				dst  func(*store.ProviderSignals) *store.SignalAction
			}{
				{"low", &low, func(p *store.ProviderSignals) *store.SignalAction { return &p.Reputation.Low }},
				{"medium", &medium, func(p *store.ProviderSignals) *store.SignalAction { return &p.Reputation.Medium }},
				{"high", &high, func(p *store.ProviderSignals) *store.SignalAction { return &p.Reputation.High }},
				{"exempt", &exempt, func(p *store.ProviderSignals) *store.SignalAction { return &p.Reputation.Exempt }},
				{"unknown", &unknown, func(p *store.ProviderSignals) *store.SignalAction { return &p.Reputation.Unknown }},
				{"key-missing", &missing, func(p *store.ProviderSignals) *store.SignalAction { return &p.KeyMissing }},
			}
			// The flags given, parsed before anything is asked.
			set := map[string]store.SignalAction{}
			for _, f := range flags {
				if !cmd.Flags().Changed(f.name) {
					continue
				}
				a, err := store.ParseSignalAction(*f.v)
				if err != nil {
					return usagef("--%s: %v", f.name, err)
				}
				set[f.name] = a
			}
			var change func(*store.ProviderSignals)
			if len(set) > 0 {
				change = func(sig *store.ProviderSignals) {
					for _, f := range flags {
						if a, ok := set[f.name]; ok {
							*f.dst(sig) = a
						}
					}
				}
			}
			return e.withBackend(change == nil, func(b backend) error {
				ps, err := b.ProviderSignals(args[0], change)
				if err != nil {
					return err
				}
				out := providerSignalsView(ps)
				return e.emit(out, func(w io.Writer) {
					fmt.Fprintf(w, "provider %s signal policy (platform defaults: %s):\n", ps.Name, e.platformSignalsFrom(ps.From))
					for _, s := range out.Effective {
						fmt.Fprintf(w, "  %-19s %-10s (%s)\n", s.Setting+":", s.Action, s.From)
					}
				})
			})
		},
	}
	f := c.Flags()
	f.StringVar(&low, "low", "", "low risk: allow, challenge, block, screen, continue or default")
	f.StringVar(&medium, "medium", "", "medium risk: allow, challenge, block, screen, continue or default")
	f.StringVar(&high, "high", "", "high risk: allow, challenge, block, screen, continue or default")
	f.StringVar(&exempt, "exempt", "", "callers not looked up (private, anonymous, non-NANP): as above")
	f.StringVar(&unknown, "unknown", "", "no band in the call's budget: as above")
	f.StringVar(&missing, "key-missing", "", "enrolled caller without a call key: block, screen, continue (tag) or default")
	return c
}

// providerSignalsJSON is what `provider signals` prints: the provider's
// own settings as stored and, per setting, the action its calls get and
// whose setting that is.
type providerSignalsJSON struct {
	Provider  string                `json:"provider"`
	Signals   store.ProviderSignals `json:"signals"`
	Effective []effectiveSignal     `json:"effective"`
	// PlatformFrom is whose platform defaults the "platform" settings
	// are: "daemon" (the running daemon's) or "config" (no daemon runs:
	// this command's configuration's).
	PlatformFrom string `json:"platform_from"`
}

type effectiveSignal struct {
	Setting string `json:"setting"` // reputation.low ... reputation.unknown, key_missing
	Action  string `json:"action"`
	From    string `json:"from"` // provider or platform
}

// platformSignalsFrom says in words whose platform defaults are shown.
func (e *env) platformSignalsFrom(from string) string {
	switch {
	case from == platformFromDaemon:
		return "the running daemon's reputation.actions, keys.on_missing"
	case e.configPath != "":
		return "reputation.actions, keys.on_missing of " + e.configPath + "; no daemon runs"
	default:
		return "the built-in reputation.actions, keys.on_missing (no --config); no daemon runs"
	}
}

func providerSignalsView(ps providerSignals) providerSignalsJSON {
	sig, rep, miss := ps.Signals, ps.Platform, ps.KeyMissing
	out := providerSignalsJSON{Provider: ps.Name, Signals: sig, PlatformFrom: ps.From}
	r := &sig.Reputation
	for _, s := range []struct {
		name     string
		own      store.SignalAction
		platform policy.ReputationAction
	}{{"reputation.low", r.Low, rep.Low}, {"reputation.medium", r.Medium, rep.Medium}, {"reputation.high", r.High, rep.High},
		{"reputation.exempt", r.Exempt, rep.Exempt}, {"reputation.unknown", r.Unknown, rep.Unknown}, {"key_missing", sig.KeyMissing, miss}} {
		v := effectiveSignal{Setting: s.name, Action: s.own.String(), From: "provider"}
		if s.own == store.SignalDefault {
			v.Action, v.From = s.platform.String(), "platform"
		}
		out.Effective = append(out.Effective, v)
	}
	return out
}
