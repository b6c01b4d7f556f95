package policy

import "callgate/e164"

// The originating chain: what the engine answers for an outgoing call
// (Call.Direction originating), asked by the AIN SCP at the Info_Analyzed
// and Info_Collected triggers. Call.Calling is the line placing the call,
// Call.Called the number it dialled. The answer is Allow (the switch
// continues the call) or Block (it refuses it); nothing else is offered to
// an originating trigger.
//
//	line         look up the subscriber owning the calling line (trace only;
//	             line=missing when the line has no number)
//	fraud        the line is locked down for toll fraud (Call.FraudLocked,
//	             set by a fraud signal in front of the engine)? no -> allow
//	destination  a locked line may still call domestic numbers: the dialled
//	             number is international or premium (DestinationOf, or a
//	             Classifier's stricter answer: WithClassifier) -> block;
//	             domestic -> allow; a number the engine cannot read (a
//	             service code such as 911, a 7-digit local number) -> allow,
//	             destination=missing: the engine must not bar an emergency
//	             call it cannot classify
//
// Every step is in the trace and the decision reaches the decision log
// through the same Decider wrappers as incoming calls, marked originating.

// originate runs the originating chain.
func (e *Engine) originate(s *state) {
	e.line(s)
	_ = e.fraud(s) || e.proceed(s)
}

// line looks up the subscriber owning the calling line.
func (e *Engine) line(s *state) {
	if s.call.Calling == 0 {
		s.d.Trace.Add(RuleLine, OutcomeMissing)
		return
	}
	s.sub, s.found = e.view.Subscriber(s.call.Calling)
	if s.found {
		s.d.Subscriber = s.sub.ID
		s.d.Trace.Add(RuleLine, OutcomeYes)
		return
	}
	s.d.Trace.Add(RuleLine, OutcomeNo)
}

// fraud applies the toll-fraud lockdown: a locked line's calls to barred
// destinations are refused.
func (e *Engine) fraud(s *state) bool {
	if !s.call.FraudLocked {
		s.d.Trace.Add(RuleFraud, OutcomeNo)
		return false
	}
	s.d.Trace.Add(RuleFraud, OutcomeYes)
	switch e.destination(s.call.Called) {
	case DestinationUnknown:
		s.d.Trace.Add(RuleDestination, OutcomeMissing)
		return false
	case DestinationInternational, DestinationPremium:
		s.d.Trace.Add(RuleDestination, OutcomeYes)
		s.d.Action = ActionBlock
		return true
	}
	s.d.Trace.Add(RuleDestination, OutcomeNo)
	return false
}

// proceed lets the outgoing call continue.
func (e *Engine) proceed(s *state) bool {
	s.d.Action = ActionAllow
	return true
}

// Destination is the toll category of a dialled number, as the fraud
// lockdown sees it.
type Destination uint8

// Destinations.
const (
	DestinationUnknown       Destination = iota // no number the engine can read
	DestinationDomestic                         // a US or Canadian number, not premium
	DestinationInternational                    // outside the US and Canada
	DestinationPremium                          // NANP premium rate: area code 900, exchange 976
)

var destinationNames = [...]string{"unknown", "domestic", "international", "premium"}

func (d Destination) String() string {
	if int(d) < len(destinationNames) {
		return destinationNames[d]
	}
	return "destination?"
}

// DestinationOf classifies a dialled number. callgate's switches are North
// American, so "international" is every number outside country code 1 and
// the NANP area codes of the Caribbean and Atlantic countries that share
// it (a call to 876 Jamaica is an international call billed as one, and
// the classic toll-fraud destination).
func DestinationOf(n e164.Number) Destination {
	if n == 0 {
		return DestinationUnknown
	}
	if !n.IsNANP() {
		return DestinationInternational
	}
	npa := uint64(n) / 1e7 % 1000
	nxx := uint64(n) / 1e4 % 1000
	switch {
	case npa == 900 || nxx == 976:
		return DestinationPremium
	case nanpAbroad(npa):
		return DestinationInternational
	}
	return DestinationDomestic
}

// nanpAbroad reports whether a NANP area code belongs to a country other
// than the US and Canada (NANPA's list of NANP members; US territories
// such as Puerto Rico and Guam are domestic): Bahamas 242, Barbados 246,
// Anguilla 264, Antigua and Barbuda 268, British Virgin Islands 284, Cayman
// Islands 345, Bermuda 441, Grenada 473, Turks and Caicos 649, Jamaica
// 658 and 876, Montserrat 664, Sint Maarten 721, Saint Lucia 758, Dominica
// 767, Saint Vincent and the Grenadines 784, Dominican Republic 809, 829
// and 849, Trinidad and Tobago 868, Saint Kitts and Nevis 869.
func nanpAbroad(npa uint64) bool {
	switch npa {
	case 242, 246, 264, 268, 284, 345, 441, 473, 649, 658, 876,
		664, 721, 758, 767, 784, 809, 829, 849, 868, 869:
		return true
	}
	return false
}
