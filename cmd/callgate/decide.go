package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/daemon"
	"callgate/e164"
	"callgate/internal/config"
	"callgate/internal/when"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// decideRequest is one call to decide, as typed on the command line.
type decideRequest struct {
	Calling, Called, Original, Presentation, Origin string
	Attestation                                     string
	// Key and Reputation give the signal stage's answers by hand
	// ("" = ask the stage as serve does).
	Key, Reputation string
}

// whatIf reads the answers given by hand.
func (r decideRequest) whatIf() (daemon.WhatIf, error) {
	var w daemon.WhatIf
	switch strings.ToLower(r.Key) {
	case "":
	case "matched", "missing", "none":
		k := map[string]policy.KeyMatch{"matched": policy.KeyMatched, "missing": policy.KeyMissing, "none": policy.KeyNotChecked}[strings.ToLower(r.Key)]
		w.Key = &k
	default:
		return w, fmt.Errorf("--key %q: want matched (the caller holds a call key), missing (an enrolled caller without one) or none (not enrolled)", r.Key)
	}
	if r.Reputation != "" {
		var b policy.Reputation
		if err := b.UnmarshalText([]byte(strings.ToLower(r.Reputation))); err != nil {
			return w, fmt.Errorf("--reputation %q: want low, medium, high, exempt or unknown", r.Reputation)
		}
		w.Reputation = &b
	}
	return w, nil
}

// call validates the request into a policy.Call.
func (r decideRequest) call() (policy.Call, error) {
	var c policy.Call
	var err error
	if r.Called == "" {
		return c, errors.New("the called number is required (--called)")
	}
	if c.Called, err = e164.Parse(r.Called); err != nil {
		return c, fmt.Errorf("called number: %w", err)
	}
	if r.Calling != "" && !strings.EqualFold(r.Calling, "anonymous") {
		if c.Calling, err = e164.Parse(r.Calling); err != nil {
			return c, fmt.Errorf("calling number: %w", err)
		}
	}
	if r.Original != "" {
		if c.OriginalCalled, err = e164.Parse(r.Original); err != nil {
			return c, fmt.Errorf("original called number: %w", err)
		}
	}
	if r.Presentation != "" {
		if err := c.Presentation.UnmarshalText([]byte(strings.ToLower(r.Presentation))); err != nil {
			return c, fmt.Errorf("presentation %q: want allowed, restricted or unavailable", r.Presentation)
		}
	}
	if r.Attestation != "" {
		a := r.Attestation
		if len(a) == 1 {
			a = strings.ToUpper(a)
		} else {
			a = strings.ToLower(a)
		}
		if err := c.Attestation.UnmarshalText([]byte(a)); err != nil {
			return c, fmt.Errorf("attestation %q: want none, A, B, C or failed", r.Attestation)
		}
	}
	switch strings.ToLower(r.Origin) {
	case "", "sip":
		c.Origin = policy.OriginSIP
	case "ain":
		c.Origin = policy.OriginAIN
	default:
		return c, fmt.Errorf("origin %q: want sip or ain", r.Origin)
	}
	c.Peer = "callgate decide"
	return c, nil
}

// decideResult is what `decide` prints.
type decideResult struct {
	Call struct {
		Calling        e164.Number         `json:"calling,omitempty"`
		Called         e164.Number         `json:"called"`
		OriginalCalled e164.Number         `json:"original_called,omitempty"`
		Presentation   policy.Presentation `json:"presentation"`
		Origin         policy.Origin       `json:"origin"`
		Attestation    policy.Attestation  `json:"attestation,omitempty"`
		// The signal stage's answers (given by hand or found as serve
		// finds them).
		KeyMatch   policy.KeyMatch          `json:"key,omitzero"`
		Reputation policy.Reputation        `json:"reputation,omitzero"`
		Lookup     *policy.ReputationLookup `json:"reputation_lookup,omitempty"`
		Brand      string                   `json:"brand,omitempty"`
	} `json:"call"`
	// Given lists the signals given by hand (key, reputation, attestation).
	Given      []string        `json:"given,omitempty"`
	Decision   policy.Decision `json:"decision"`
	Subscriber string          `json:"subscriber,omitempty"` // name of the called subscriber
	Source     string          `json:"source"`               // "store" (this process) or "daemon"
}

// decideOnce runs the signal stage and the engine once for c, as serve
// runs them (daemon.Signals.Fill, daemon.NewEngine), without the decision
// log: sig (nil: no signals) fills the call keys and reputation unless w
// gives them by hand.
func decideOnce(ctx context.Context, st *store.Store, cfg *config.Config, sig *daemon.Signals, c policy.Call, w daemon.WhatIf) (decideResult, error) {
	eng, err := daemon.NewEngine(cfg, st)
	if err != nil {
		return decideResult{}, err
	}
	// Asked as the SIP tier, the call may use its screening URI, as serve's would.
	c.DefaultRoute = daemon.DefaultRoute(cfg, c.Origin)
	sig.Fill(ctx, &c, w)
	d := eng.Decide(ctx, c)
	var res decideResult
	res.Call.Calling, res.Call.Called, res.Call.OriginalCalled = c.Calling, c.Called, c.OriginalCalled
	res.Call.Presentation, res.Call.Origin, res.Call.Attestation = c.Presentation, c.Origin, c.Attestation
	res.Call.KeyMatch, res.Call.Reputation, res.Call.Brand = c.KeyMatch, c.Reputation, c.Brand.Name
	if c.ReputationLookup != (policy.ReputationLookup{}) {
		res.Call.Lookup = &c.ReputationLookup
	}
	res.Given = givenSignals(c, w)
	res.Decision = d
	if d.Subscriber != 0 {
		if s, ok := st.SubscriberByID(d.Subscriber); ok {
			res.Subscriber = s.Name
		}
	}
	return res, nil
}

// givenSignals lists the signals of c given by hand.
func givenSignals(c policy.Call, w daemon.WhatIf) []string {
	var given []string
	if w.Key != nil {
		given = append(given, "key")
	}
	if w.Reputation != nil {
		given = append(given, "reputation")
	}
	if c.Attestation != policy.AttestationNone {
		given = append(given, "attestation")
	}
	return given
}

func writeDecideText(w io.Writer, r *decideResult) {
	from := "anonymous"
	if r.Call.Calling != 0 {
		from = r.Call.Calling.String()
	}
	fmt.Fprintf(w, "call:          %s -> %s", from, r.Call.Called)
	if r.Call.OriginalCalled != 0 {
		fmt.Fprintf(w, " (forwarded from %s)", r.Call.OriginalCalled)
	}
	origin := strings.ToUpper(r.Call.Origin.String())
	article := "a"
	if strings.HasPrefix(origin, "A") {
		article = "an" // "an AIN call", read "an A-I-N"
	}
	fmt.Fprintf(w, ", presentation %s, asked as %s %s call", r.Call.Presentation, article, origin)
	if r.Call.Attestation != policy.AttestationNone {
		fmt.Fprintf(w, ", STIR/SHAKEN attestation %s", r.Call.Attestation)
	}
	fmt.Fprintln(w)
	writeDecideSignals(w, r)
	d := &r.Decision
	fmt.Fprintf(w, "decision:      %s\n", d.Action)
	if r.Subscriber != "" {
		fmt.Fprintf(w, "subscriber:    %s (id %d)\n", r.Subscriber, d.Subscriber)
	} else if d.Subscriber != 0 {
		fmt.Fprintf(w, "subscriber:    id %d\n", d.Subscriber)
	}
	if d.Announcement != 0 {
		fmt.Fprintf(w, "announcement:  %d\n", d.Announcement)
	}
	if d.Voicemail != "" {
		fmt.Fprintf(w, "voicemail:     %s\n", d.Voicemail)
	}
	if d.Route != (store.Route{}) {
		fmt.Fprintf(w, "route:         %s (routing number %s, SIP URI %s)\n", d.Route.Name, orDash(d.Route.RoutingNumber.String()), orDash(d.Route.SIPURI))
	}
	if d.PINAllowed {
		fmt.Fprintln(w, "PIN:           the caller may enter the subscriber's override PIN")
	}
	if d.Tag != "" {
		fmt.Fprintf(w, "display tag:   %q (STIR/SHAKEN, the provider tags display names)\n", d.Tag)
	}
	if d.RejectIdentity {
		fmt.Fprintln(w, "reject:        the SIP tier answers with the RFC 8224 code of the verification failure")
	}
	fmt.Fprintln(w, "trace:")
	for i, s := range d.Trace.Steps() {
		fmt.Fprintf(w, "  %d. %-17s %-8s %s\n", i+1, s.Rule, s.Outcome, s.Rule.Help())
	}
	if r.Source == "daemon" {
		fmt.Fprintln(w, "(answered by the running daemon: the store file is in use)")
	}
}

// writeDecideSignals prints what the signal stage found (or was told).
func writeDecideSignals(w io.Writer, r *decideResult) {
	given := func(what string) string {
		if slices.Contains(r.Given, what) {
			return " (given by hand)"
		}
		return ""
	}
	switch r.Call.KeyMatch {
	case policy.KeyMatched:
		fmt.Fprintf(w, "call key:      matched%s", given("key"))
		if r.Call.Brand != "" {
			fmt.Fprintf(w, ", brand %q", r.Call.Brand)
		}
		fmt.Fprintln(w)
	case policy.KeyMissing:
		fmt.Fprintf(w, "call key:      missing: an enrolled number without a key in its window%s\n", given("key"))
	}
	if l := r.Call.Lookup; l != nil {
		fmt.Fprintf(w, "reputation:    %s (%s)%s\n", r.Call.Reputation, l.AppendText(nil), given("reputation"))
	}
}

func (e *env) decideCmd() *cobra.Command {
	var req decideRequest
	c := &cobra.Command{
		Use:   "decide --called NUMBER [--calling NUMBER] [--presentation restricted]",
		Short: "Run the decision engine once on the store and print the decision with its trace",
		Long: `Asks the decision engine what it would do with one call, without placing it, and prints
the decision and every rule consulted, from the signal stage and the engine serve runs.
Nothing is logged. While 'callgate serve' runs, the daemon is asked instead (POST
/api/v1/decide on its socket), with its call keys and its reputation cache.

The signal stage runs as it does for a live call: an enrolled caller's call key is checked
(keys.enabled; a single-use key is not used up by asking) and a caller to a subscriber is
looked up for spam risk (reputation.enabled; without a daemon the cache starts empty, as on
the first call after a start). To ask what-if, or to reproduce a logged call whose signals
are in its record ('callgate log search'), give them by hand: --key, --reputation,
--attestation (STIR/SHAKEN is verified by the SIP tier from the INVITE's Identity header;
'callgate stir verify' checks one INVITE offline).`,
		Example: `  callgate decide --calling +17195551212 --called +13035550100
  callgate decide --called +13035550102 --presentation restricted
  callgate decide --calling 7205550123 --called 3035550100 --origin ain --json
  callgate decide --calling +16175550102 --called +13035550100 --reputation medium
  callgate decide --calling +15125550100 --called +13035550100 --key missing`,
		Args: exactArgs(0, "no arguments (numbers go in --calling and --called)"),
	}
	f := c.Flags()
	f.StringVar(&req.Calling, "calling", "", "calling number (omit, or \"anonymous\", for a caller without a number)")
	f.StringVar(&req.Called, "called", "", "called number (required)")
	f.StringVar(&req.Original, "original-called", "", "original called number of a forwarded call")
	f.StringVar(&req.Presentation, "presentation", "allowed", "caller's presentation: allowed, restricted or unavailable")
	f.StringVar(&req.Origin, "origin", "sip", "ask as the sip or ain tier (they need different halves of the egress route)")
	f.StringVar(&req.Attestation, "attestation", "", "STIR/SHAKEN result of the call: none, A, B, C or failed (the provider's policy applies)")
	f.StringVar(&req.Key, "key", "", "the call-key check's answer, instead of checking: matched, missing or none")
	f.StringVar(&req.Reputation, "reputation", "", "the caller's spam-risk band, instead of looking it up: low, medium, high, exempt or unknown")
	_ = c.MarkFlagRequired("called")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		call, err := req.call()
		if err != nil {
			return usageError{Err: err}
		}
		w, err := req.whatIf()
		if err != nil {
			return usageError{Err: err}
		}
		return e.withBackend(true, func(b backend) error {
			res, err := b.Decide(cmd.Context(), call, w)
			if err != nil {
				return err
			}
			return e.emit(&res, func(w io.Writer) { writeDecideText(w, &res) })
		})
	}
	return c
}

// decideSignals is the signal stage decide asks on the store file: the
// configured signals opened read-only (none needed when every signal is
// given by hand). Through the daemon its own stage answers.
func decideSignals(cfg *config.Config, st *store.Store, w daemon.WhatIf) (*daemon.Signals, error) {
	if w.Key != nil && w.Reputation != nil {
		return nil, nil
	}
	return daemon.OpenSignalsReadOnly(cfg, st)
}

// ---- log search ----

// parseWhen reads a point in time as --since and --until take it
// (internal/when: the API's since and until read the same forms): a
// duration back from now ("90m", "2h", "7d") or an absolute time (RFC
// 3339, or a date and time without a zone, in the machine's zone, to the
// minute or second, or a date). "Why was the call at 14:02 blocked" is
// asked as --since "2026-05-01 14:02".
func parseWhen(s string, now time.Time) (time.Time, error) {
	return when.Parse(s, now, time.Local)
}

func (e *env) logCmd() *cobra.Command {
	search := &cobra.Command{
		Use:   "search [--number NUMBER] [--since 1h] [--until TIME] [--limit N]",
		Short: "Search the decision log, newest first",
		Long: `Lists decisions the running tiers made (SIP INVITEs, AIN queries) with their reason trace,
newest first. --number matches the calling, called or original called number. --since and
--until take a duration back from now (90m, 2h, 7d) or a time: RFC 3339 (2026-05-01T12:00:00Z),
or without a zone in the machine's zone ("2026-05-01 14:02", 2026-05-01); times print in UTC.
--action keeps one action; --action none keeps the calls to the subscribers' IVR, which the
B2BUA records without an action (called = b2bua.ivr_number, with the IVR's steps).
While 'callgate serve' holds the log file, the daemon is asked instead.

Each node keeps its own decision log: with store.backend etcd this searches the node of
--config only, and a SIP call decided by one node's redirect server and screened by another
node's B2BUA has its records on both. Search every node (each with its --config) to see a
call whole.`,
		Example: `  callgate log search --number +13035550100 --since 1h
  callgate log search --action block --limit 20 --json
  callgate log search --action none --since 1d`,
		Args: exactArgs(0, "no arguments"),
	}
	var number, since, until, action string
	var limit int
	f := search.Flags()
	f.StringVar(&number, "number", "", "calling, called or original called number")
	f.StringVar(&since, "since", "", "only decisions at or after this (duration ago, or time)")
	f.StringVar(&until, "until", "", "only decisions before this (duration ago, or time)")
	f.StringVar(&action, "action", "", "only this action: allow, block, block-with-announcement, screen, challenge, voicemail, or none (calls to the subscribers' IVR)")
	f.IntVar(&limit, "limit", decisionlog.DefaultLimit, "most decisions shown")
	search.RunE = func(cmd *cobra.Command, args []string) error {
		now := time.Now()
		var q decisionlog.Query
		var err error
		if number != "" {
			if q.Number, err = e164.Parse(number); err != nil {
				return usagef("--number: %v", err)
			}
		}
		if q.From, err = parseWhen(since, now); err != nil {
			return usagef("--since: %v", err)
		}
		if q.To, err = parseWhen(until, now); err != nil {
			return usagef("--until: %v", err)
		}
		if action != "" {
			a, ok := policy.ParseAction(strings.ToLower(action))
			if !ok {
				return usagef("--action %q: want allow, block, block-with-announcement, screen, challenge, voicemail or none (calls to the subscribers' IVR)", action)
			}
			q.Action, q.NoAction = a, a == 0 // "none": the records without an action
		}
		if limit <= 0 {
			return usagef("--limit must be positive")
		}
		q.Limit = limit
		found, err := e.searchLog(q) // backend.go
		if err != nil {
			return err
		}
		if found.damage.Any() {
			// On stderr, so that --json stays one document; before the
			// answer, so that "No decisions match" is read with it.
			fmt.Fprintf(e.stderr, "warning: the decision log is damaged: %s\n", found.damage)
		}
		if e.jsonOut {
			return decisionlog.WriteJSONSteps(e.stdout, found.recs, found.steps)
		}
		if len(found.recs) == 0 {
			fmt.Fprintln(e.stdout, "No decisions match.")
		} else if err := decisionlog.WriteTextSteps(e.stdout, found.recs, found.steps); err != nil {
			return err
		}
		e.noteOneNodesLog()
		return nil
	}
	return group("log", "The decision log: search", search)
}

// noteOneNodesLog says, under a search on a node of many (store.backend
// etcd), whose decision log that was: each node keeps its own, and an
// operator used to one node's log would take "No decisions match" for the
// platform's answer.
func (e *env) noteOneNodesLog() {
	cfg, err := e.loadConfig()
	if err != nil || cfg.Store.Backend != config.BackendEtcd {
		return
	}
	fmt.Fprintf(e.stdout, "(the decision log of node %s only: each node keeps its own; search the others with their --config)\n", daemon.NodeName(&cfg))
}
