package policy

import "fmt"

// Rule names a step of the decision chain.
//
// Rule values are persisted (the decision log stores them as one byte), so
// the list is append-only: never renumber or reuse a value.
type Rule uint8

// Rules, in the order they were added (append-only; the engine's order is in engine.go).
const (
	RuleSubscriber      Rule = iota + 1 // is the called number a subscriber?
	RuleVIP                             // caller on the subscriber's VIP list
	RuleBlocked                         // caller on the subscriber's Blocked list
	RuleProviderBlocked                 // caller on the provider's Blocked list
	RuleAnonymous                       // caller withheld its number
	RuleUnknown                         // everyone else
	RuleRoute                           // egress route for the SIP tier
	RuleCancelled                       // the asking tier had already given up (ctx done)
	RuleKey                             // spoof protection: call-key check result
	RuleAnnouncement                    // an announcement was needed: is one configured?
	RulePIN                             // the caller may enter the override PIN
	RuleAttestation                     // STIR/SHAKEN: the provider's policy for C-attested and failed calls
	RuleReputation                      // reserved: spam-risk reputation policy slot
	RuleFraud                           // originating: is the line locked down for toll fraud?
	RuleFallback                        // no way to the B2BUA: the engine's no-route fallback was applied
	RuleLine                            // originating: is the calling line a subscriber?
	RuleDestination                     // originating: is the dialled destination barred for a locked line?
	RuleBrand                           // a delivered call with a matching key: is a brand shown?
	RuleProviderVIP                     // caller on the provider's VIP list (consulted before the subscriber's lists)
	RuleSetting                         // whose setting chose the action of the step before: the provider's or the platform's
)

var ruleNames = [...]string{"", "subscriber", "vip", "blocked", "provider-blocked", "anonymous", "unknown", "route",
	"cancelled", "key", "announcement", "pin", "attestation", "reputation", "fraud", "fallback", "line", "destination", "brand",
	"provider-vip", "setting"}

// ruleHelp says in words what each rule asks (`callgate decide` prints it
// beside each step of a trace). It lives beside the names so the two
// cannot drift apart.
var ruleHelp = [len(ruleNames)]string{
	RuleSubscriber:      "is the called number a subscriber?",
	RuleVIP:             "is the caller on the subscriber's VIP list?",
	RuleBlocked:         "is the caller on the subscriber's Blocked list?",
	RuleProviderBlocked: "is the caller on the provider's Blocked list?",
	RuleAnonymous:       "is the caller anonymous? (then the anonymous-caller treatment)",
	RuleUnknown:         "the unknown-caller treatment",
	RuleRoute:           "is there an egress route to the B2BUA for the asking tier? (default: the tier's own, sip.screening_uri)",
	RuleCancelled:       "had the asking tier already given up?",
	RuleKey:             "spoof protection: does an enrolled caller hold a call key?",
	RuleAnnouncement:    "is an announcement configured for Reject with Media?",
	RulePIN:             "may the caller enter an override PIN?",
	RuleAttestation:     "STIR/SHAKEN: does the provider screen, block or reject calls with this attestation (C or failed)?",
	RuleReputation:      "spam-risk reputation of the caller: the band (or exempt / unknown) and the configured action for it",
	RuleFraud:           "outgoing call: is the line locked down for toll fraud?",
	RuleFallback:        "no way to the B2BUA: the configured engine.no_route_fallback was applied",
	RuleLine:            "outgoing call: is the calling line a subscriber?",
	RuleDestination:     "outgoing call from a locked line: is the destination barred (international, premium)?",
	RuleBrand:           "a delivered call whose enterprise call key matched: is the enterprise's brand shown?",
	RuleProviderVIP:     "is the caller on the provider's VIP list? (numbers that must always get through)",
	RuleSetting:         "whose setting chose the action for the step before (reputation band, missing key): the called subscriber's provider's own (provider), or the platform default of the configuration (platform: reputation.actions, keys.on_missing)",
}

func (r Rule) String() string {
	if int(r) < len(ruleNames) && r != 0 {
		return ruleNames[r]
	}
	return "rule?"
}

// Help says in words what the rule asks ("" for an unnamed rule).
func (r Rule) Help() string {
	if int(r) < len(ruleHelp) {
		return ruleHelp[r]
	}
	return ""
}

// MarshalText implements encoding.TextMarshaler (the rule's name).
func (r Rule) MarshalText() ([]byte, error) {
	if r == 0 || int(r) >= len(ruleNames) {
		return nil, fmt.Errorf("policy: rule %d has no name", uint8(r))
	}
	return []byte(ruleNames[r]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rule) UnmarshalText(b []byte) error {
	i := lookupName(ruleNames[:], b)
	if i <= 0 {
		return fmt.Errorf("policy: unknown rule %q", b)
	}
	*r = Rule(i)
	return nil
}

// Outcome is what one rule found.
//
// Like Rule, Outcome values are persisted: append-only.
type Outcome uint8

// Outcomes.
const (
	OutcomeNo       Outcome = iota + 1 // rule did not match; next rule
	OutcomeYes                         // rule matched
	OutcomeApply                       // the rule's treatment was applied
	OutcomeMissing                     // data needed by the rule is missing
	OutcomeDefault                     // the rule's data is missing and the asking tier's default stands in (route=default)
	OutcomeLow                         // reputation: low risk
	OutcomeMedium                      // reputation: medium risk
	OutcomeHigh                        // reputation: high risk
	OutcomeExempt                      // reputation: not looked up (private, anonymous, non-NANP)
	OutcomeUnknown                     // reputation: looked up, no band in time (timeout, error, breaker open, busy)
	OutcomeProvider                    // setting: the called subscriber's provider's own setting applied
	OutcomePlatform                    // setting: the platform default applied (the provider set none, or there is no provider)
)

var outcomeNames = [...]string{"", "no", "yes", "apply", "missing", "default", "low", "medium", "high", "exempt", "unknown",
	"provider", "platform"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && o != 0 {
		return outcomeNames[o]
	}
	return "outcome?"
}

// MarshalText implements encoding.TextMarshaler (the outcome's name).
func (o Outcome) MarshalText() ([]byte, error) {
	if o == 0 || int(o) >= len(outcomeNames) {
		return nil, fmt.Errorf("policy: outcome %d has no name", uint8(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Outcome) UnmarshalText(b []byte) error {
	i := lookupName(outcomeNames[:], b)
	if i <= 0 {
		return fmt.Errorf("policy: unknown outcome %q", b)
	}
	*o = Outcome(i)
	return nil
}

// Step is one consulted rule and its outcome.
type Step struct {
	Rule    Rule    `json:"rule"`
	Outcome Outcome `json:"outcome"`
}

// String renders "rule=outcome".
func (s Step) String() string { return s.Rule.String() + "=" + s.Outcome.String() }

// maxSteps bounds the trace so a Decision stays a fixed-size value (no
// allocation on the hot path).
const maxSteps = 16

// MaxSteps is the capacity of a Trace (see Trace.Add for what happens beyond).
const MaxSteps = maxSteps

// Trace is the ordered list of rules consulted for one decision.
type Trace struct {
	n     uint8
	steps [maxSteps]Step
}

// Add appends a step; steps beyond the capacity are dropped (the last slot
// is kept for the final rule so the outcome is never lost).
func (t *Trace) Add(r Rule, o Outcome) {
	if int(t.n) < maxSteps {
		t.steps[t.n] = Step{r, o}
		t.n++
		return
	}
	t.steps[maxSteps-1] = Step{r, o}
}

// Steps returns the consulted steps in order.
func (t *Trace) Steps() []Step { return t.steps[:t.n] }

// Len returns the number of steps recorded.
func (t *Trace) Len() int { return int(t.n) }

// Last returns the final step (the one that settled the decision) and
// whether the trace has any step.
func (t *Trace) Last() (Step, bool) {
	if t.n == 0 {
		return Step{}, false
	}
	return t.steps[t.n-1], true
}

// Has reports whether rule r was consulted with outcome o.
func (t *Trace) Has(r Rule, o Outcome) bool {
	for _, s := range t.Steps() {
		if s.Rule == r && s.Outcome == o {
			return true
		}
	}
	return false
}

// Reset empties the trace.
func (t *Trace) Reset() { t.n = 0 }

// String renders "subscriber=yes vip=no ..." for logs.
func (t *Trace) String() string {
	return string(t.AppendText(make([]byte, 0, 16*int(t.n))))
}

// AppendText appends the String form to b, so a logger can render a trace
// into its own buffer without an intermediate string.
func (t *Trace) AppendText(b []byte) []byte {
	for i, s := range t.Steps() {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s.Rule.String()...)
		b = append(b, '=')
		b = append(b, s.Outcome.String()...)
	}
	return b
}

// lookupName returns the index of b in names, or -1.
func lookupName(names []string, b []byte) int {
	for i, n := range names {
		if n == string(b) {
			return i
		}
	}
	return -1
}
