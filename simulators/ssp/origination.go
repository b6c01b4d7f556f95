package ssp

import (
	"fmt"
	"strings"

	"callgate/scp/ain"
)

// Trigger is the AIN trigger a load scenario's queries report: the
// terminating one (an incoming call to the subscriber, what the SCP
// screens) or an originating one (a line of the switch dialled a number,
// what the SCP's originating chain, the toll-fraud lockdown, answers with
// continue or disconnect).
type Trigger uint8

// Triggers.
const (
	// TriggerTermination sends terminationAttempt (Termination_Attempt).
	TriggerTermination Trigger = iota
	// TriggerInfoAnalyzed sends infoAnalyzed (Info_Analyzed): the line
	// dialled TA.Called, in CalledPartyID.
	TriggerInfoAnalyzed
	// TriggerInfoCollected sends infoCollected (Info_Collected): the digits
	// the line dialled, in CollectedAddressInfo.
	TriggerInfoCollected
)

// ParseTrigger reads termination, info-analyzed or info-collected.
func ParseTrigger(s string) (Trigger, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "termination", "termination-attempt":
		return TriggerTermination, nil
	case "info-analyzed", "info-analysed":
		return TriggerInfoAnalyzed, nil
	case "info-collected":
		return TriggerInfoCollected, nil
	}
	return 0, fmt.Errorf("trigger %q: want termination, info-analyzed or info-collected", s)
}

// String is the trigger's name as ParseTrigger reads it.
func (t Trigger) String() string {
	switch t {
	case TriggerInfoAnalyzed:
		return "info-analyzed"
	case TriggerInfoCollected:
		return "info-collected"
	}
	return "termination"
}

// Op is the operation the trigger's query invokes.
func (t Trigger) Op() ain.OpCode {
	switch t {
	case TriggerInfoAnalyzed:
		return ain.OpInfoAnalyzed
	case TriggerInfoCollected:
		return ain.OpInfoCollected
	}
	return ain.OpTerminationAttempt
}

// Originating reports whether the trigger is an originating one: the
// query is about the calling line (its UserID is the calling number's).
func (t Trigger) Originating() bool { return t != TriggerTermination }

// Check reports whether the call can be sent with trigger tr (what is
// missing or malformed, and how to fix it).
func (ta *TA) Check(tr Trigger) error {
	var err error
	if tr.Originating() {
		_, err = ta.originationQuery(tr)
	} else {
		_, err = ta.Arg()
	}
	return err
}

// query is a scenario's query parameters as encoded, with what the load
// template patches: the lengths of the called (dialled) and calling
// digits, the tag carrying the called digits.
type query struct {
	params            []byte
	calledTag         uint32
	calledN, callingN int
}

// originationQuery encodes the argument of an originating trigger for the
// call ta: the line ta.Calling (UserID dn: its 10 national digits unless
// ta.UserDN says otherwise; CallingPartyID) dialled ta.Called (international
// numbers in international format, as a NANP switch sends them).
func (ta *TA) originationQuery(tr Trigger) (query, error) {
	if ta.Called == 0 {
		return query{}, ErrNoCalled
	}
	dialled, err := digitsFor(ta.Called)
	if err != nil {
		return query{}, fmt.Errorf("ssp: called number %s: %w", ta.Called, err)
	}
	dn := ta.UserDN
	if dn == "" {
		var ok bool
		if dn, ok = ta.Calling.National(); !ok {
			return query{}, fmt.Errorf("ssp: %s: the calling line %s is not NANP (or none): set UserDN for the UserID", tr, ta.Calling)
		}
	}
	udn, err := ain.ParseDN(dn)
	if err != nil {
		return query{}, fmt.Errorf("ssp: user DN: %w", err)
	}
	var calling ain.Opt[ain.Digits]
	if ta.Calling != 0 {
		d, err := digitsFor(ta.Calling)
		if err != nil {
			return query{}, fmt.Errorf("ssp: calling number %s: %w", ta.Calling, err)
		}
		d.Presentation, d.Screening = ta.Presentation, ain.ScreeningNetwork
		if ta.CallingScreeningSet {
			d.Screening = ta.CallingScreening
		}
		calling = ain.Some(d)
	}
	q := query{calledN: dialled.Len()}
	if calling.Set {
		q.callingN = calling.V.Len()
	}
	if tr == TriggerInfoCollected {
		a := ain.InfoCollectedArg{UserID: ain.UserIDFromDN(udn), BearerCapability: ta.Bearer,
			CallingPartyID: calling, CollectedAddressInfo: ain.Some(dialled)}
		q.params, q.calledTag = a.Marshal(nil), ain.TagCollectedAddressInfo
		return q, nil
	}
	a := ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(udn), BearerCapability: ta.Bearer,
		CallingPartyID: calling, CalledPartyID: ain.Some(dialled)}
	q.params, q.calledTag = a.Marshal(nil), ain.TagCalledPartyID
	return q, nil
}

// terminationQuery encodes ta's terminationAttempt argument.
func (ta *TA) terminationQuery() (query, error) {
	arg, err := ta.Arg()
	if err != nil {
		return query{}, err
	}
	q := query{params: arg.Marshal(nil), calledTag: ain.TagCalledPartyID, calledN: arg.CalledPartyID.V.Len()}
	if arg.CallingPartyID.Set {
		q.callingN = arg.CallingPartyID.V.Len()
	}
	return q, nil
}
