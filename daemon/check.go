package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"

	"callgate/b2bua"
	"callgate/e164"
	"callgate/internal/config"
	"callgate/internal/metrics"
	"callgate/policy"
	"callgate/store"
	"callgate/store/etcdkv"
)

// Check runs every check serve runs on cfg, without opening a socket or
// the store: listeners that would clash (the same port twice on one
// host, across every tier and the admin listener), and for each enabled
// tier the mapping of its section and the tier's own New (TLS certificate
// and key readable and matching, Contact templates, token keys, the SCP's
// M3UA and SCCP settings). Every problem is returned, joined, one per line.
//
// cfg's own field checks (config.Validate) are not repeated: `config
// check` reports them from config.Load. A tier whose section already has
// such problems (in its section or one it reads) is not built here, as it
// would report them again in its own words; its remaining problems show
// once those are fixed.
func Check(cfg *config.Config) error {
	errs := checkListeners(cfg)
	withProblems := map[string]bool{}
	for _, e := range unjoin(cfg.Validate()) {
		section, _, _ := strings.Cut(e.Error(), ".")
		withProblems[section] = true
	}
	deps := checkDeps()
	for _, spec := range tierList {
		if !spec.enabled(cfg) || withProblems[spec.section] || slices.ContainsFunc(spec.reads, func(s string) bool { return withProblems[s] }) {
			continue
		}
		t, err := buildTier(spec, cfg, deps)
		if err != nil {
			errs = append(errs, split(err)...)
			continue
		}
		_ = t.Stop(context.Background()) // never started: releases what New made
	}
	if !withProblems["keys"] && !withProblems["reputation"] {
		errs = append(errs, split(checkSignals(cfg))...)
	}
	if !withProblems["fraud"] {
		errs = append(errs, split(checkFraud(cfg))...)
	}
	if !withProblems["store"] {
		errs = append(errs, checkEtcdFiles(cfg)...)
	}
	return errors.Join(errs...)
}

// checkEtcdFiles reads what serve reads before it dials etcd: the
// password file and the TLS files (the store itself is not opened).
func checkEtcdFiles(cfg *config.Config) []error {
	if cfg.Store.Backend != config.BackendEtcd {
		return nil
	}
	ec, err := EtcdConfig(cfg)
	if err != nil {
		return []error{err}
	}
	if err := etcdkv.CheckFiles(ec); err != nil {
		return []error{err}
	}
	return nil
}

// checkFraud is what serve's openFraud refuses beyond the section's own
// values: the webhook's secret_file read and long enough.
func checkFraud(cfg *config.Config) error {
	if !cfg.Fraud.Enabled {
		return nil
	}
	wc, err := cfg.Fraud.WebhookConfig()
	if err != nil || wc == nil {
		return err
	}
	if err := wc.Check(); err != nil {
		return fmt.Errorf("fraud.webhook: %w (secret_file %s)", err, cfg.Fraud.Webhook.SecretFile)
	}
	return nil
}

// buildTier builds one tier, naming its section in an error.
func buildTier(spec tierSpec, cfg *config.Config, deps *Deps) (Tier, error) {
	t, err := spec.build(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("%s tier (config section %s:): %w", spec.name, spec.section, err)
	}
	return t, nil
}

// split turns an error wrapping a list of problems ("sip tier: redirect:
// config: " and an errors.Join) into one error per problem, each with the
// prefix, so every problem is one line of the report.
func split(err error) []error {
	for inner := err; inner != nil; inner = errors.Unwrap(inner) {
		list := unjoin(inner)
		if len(list) < 2 {
			continue
		}
		prefix, ok := strings.CutSuffix(err.Error(), inner.Error())
		if !ok {
			break
		}
		out := make([]error, len(list))
		for i, e := range list {
			out[i] = errors.New(prefix + e.Error())
		}
		return out
	}
	return []error{err}
}

// checkDeps are what Check builds tiers with: an engine over an empty
// store, a registry like serve's (so two tiers registering one metric
// name is caught), no decision log, and a silent logger.
func checkDeps() *Deps {
	var view store.View = emptyView{}
	var d policy.Decider = policy.New(view)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &Deps{
		View: view, Decider: d, Guard: policy.NewGuard(d, quiet),
		Registerer: metrics.New().Registry(), Logger: quiet, Fail: func(error) {},
	}
}

// unjoin returns the errors joined in err (errors.Join), or err alone.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkListeners reports every two sockets of the enabled tiers and the
// admin listener that would bind the same port on the same host. TCP,
// UDP and SCTP ports are separate; port 0 (any free port) never clashes;
// a wildcard host (0.0.0.0, ::, empty) clashes with every host. It also
// reports UDP listeners inside the B2BUA's RTP range (checkrtp.go).
func checkListeners(cfg *config.Config) []error {
	ls := []listener{{"tcp", cfg.Admin.Listen, "admin.listen"}}
	for _, spec := range tierList {
		if spec.enabled(cfg) {
			ls = append(ls, spec.listeners(cfg)...)
		}
	}
	type bound struct {
		listener
		host, port string
	}
	var bs []bound
	for _, l := range ls {
		if l.addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(l.addr)
		if err != nil || port == "0" {
			continue // a bad address is config.Validate's to report
		}
		bs = append(bs, bound{l, normalHost(host), port})
	}
	var errs []error
	for i := range bs {
		for j := i + 1; j < len(bs); j++ {
			a, b := bs[i], bs[j]
			if a.network != b.network || a.port != b.port || sameSocket(a.field, b.field) {
				continue
			}
			if a.host == b.host || a.host == "*" || b.host == "*" {
				errs = append(errs, fmt.Errorf("%s (%s) and %s (%s) both listen on %s port %s: give one of them another port",
					a.field, a.addr, b.field, b.addr, strings.ToUpper(a.network), a.port))
			}
		}
	}
	return append(errs, checkRTPRange(cfg)...)
}

// sameSocket reports whether two fields are addresses of one socket (the
// entries of scp.listen are one multi-homed SCTP endpoint).
func sameSocket(a, b string) bool {
	base := func(f string) string { s, _, _ := strings.Cut(f, "["); return s }
	return strings.Contains(a, "[") && base(a) == base(b)
}

// normalHost maps a listen host to a comparable form: "*" for the
// wildcard, the canonical text of an IP, 127.0.0.1 for localhost.
func normalHost(h string) string {
	switch h {
	case "", "0.0.0.0", "::":
		return "*"
	case "localhost":
		return "127.0.0.1"
	}
	if ip := net.ParseIP(h); ip != nil {
		if ip.IsUnspecified() {
			return "*"
		}
		return ip.String()
	}
	return strings.ToLower(h)
}

// emptyView is a store with no subscribers and no routes. It is also the
// subscribers' IVR's store (b2bua.IVRStore), so a configuration with
// b2bua.ivr_number or ivr_user checks as it serves; with no subscriber to
// recognise, its writes are never reached and refuse.
type emptyView struct{}

var _ b2bua.IVRStore = emptyView{}

// errCheckStore is what emptyView's writes answer.
var errCheckStore = errors.New("config check: no store")

func (emptyView) AddToListContext(context.Context, store.Actor, string, store.List, []string, string) (int, error) {
	return 0, errCheckStore
}
func (emptyView) RemoveFromListContext(context.Context, store.Actor, string, store.List, []string) (int, error) {
	return 0, errCheckStore
}
func (emptyView) ListEntries(store.Actor, string, store.List, e164.Number, int) (store.ListPage, error) {
	return store.ListPage{}, errCheckStore
}
func (emptyView) SetPINContext(context.Context, store.Actor, string, string) error {
	return errCheckStore
}

func (emptyView) Subscriber(e164.Number) (store.SubscriberView, bool) {
	return store.SubscriberView{}, false
}
func (emptyView) InVIP(uint32, e164.Number) bool           { return false }
func (emptyView) InBlocked(uint32, e164.Number) bool       { return false }
func (emptyView) ProviderBlocked(uint32, e164.Number) bool { return false }
func (emptyView) ProviderVIP(uint32, e164.Number) bool     { return false }
func (emptyView) EgressRoute(uint32) (store.Route, bool)   { return store.Route{}, false }
