package ssp

import (
	"errors"
	"fmt"
	"strings"

	"callgate/e164"
	"callgate/scp/ain"
)

// Presentation is the calling number's presentation restriction, as the
// switch signals it in CallingPartyID.
type Presentation = ain.Presentation

// Presentation values.
const (
	PresentationAllowed     = ain.PresentationAllowed
	PresentationRestricted  = ain.PresentationRestricted
	PresentationUnavailable = ain.PresentationUnavailable
)

// ParsePresentation reads "allowed", "restricted" or "unavailable" (also
// "anonymous"/"private" for restricted).
func ParsePresentation(s string) (Presentation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "allowed", "allow", "public":
		return PresentationAllowed, nil
	case "restricted", "private", "anonymous":
		return PresentationRestricted, nil
	case "unavailable", "unknown":
		return PresentationUnavailable, nil
	}
	return 0, fmt.Errorf("presentation %q: want allowed, restricted or unavailable", s)
}

// TA is one terminating call attempt: what the switch knows when the
// Termination_Attempt trigger fires. The zero values give the model query
// of the golden vector P-01Q (UserID dn = the called number, bearer
// speech, CalledPartyID and CallingPartyID national, network provided).
type TA struct {
	// Calling is the calling party's number; zero sends no CallingPartyID
	// (a caller whose number the network does not have).
	Calling e164.Number
	// Presentation is the calling number's presentation restriction.
	// With PresentationUnavailable and no Calling number, no
	// CallingPartyID is sent either.
	Presentation Presentation
	// Called is the dialled (terminating) number: CalledPartyID, and the
	// UserID dn unless UserDN is set. Required.
	Called e164.Number
	// ChargeNumber, OriginalCalled and Redirecting are sent when not zero.
	ChargeNumber   e164.Number
	OriginalCalled e164.Number
	Redirecting    e164.Number
	// Bearer is the bearer capability (default speech).
	Bearer ain.BearerCapability
	// UserDN overrides the UserID directory number (10 digits); needed
	// when Called is not a NANP number.
	UserDN string
	// CallingScreening is the CallingPartyID screening indicator (default
	// network provided, as in P-01Q; set CallingScreeningSet to send 0).
	CallingScreening    ain.Screening
	CallingScreeningSet bool
}

// ErrNoCalled is returned for a TA without a called number.
var ErrNoCalled = errors.New("ssp: the call has no called number")

// digitsFor encodes a number the way a NANP switch does: 10 national digits
// for +1 numbers, all digits with nature "international" otherwise.
func digitsFor(n e164.Number) (ain.Digits, error) {
	if n.IsNANP() {
		return ain.DigitsFromE164(n, ain.NOANational)
	}
	return ain.DigitsFromE164(n, ain.NOAInternational)
}

// Arg builds the terminationAttempt argument for the call.
func (t *TA) Arg() (ain.TerminationAttemptArg, error) {
	var a ain.TerminationAttemptArg
	if t.Called == 0 {
		return a, ErrNoCalled
	}
	called, err := digitsFor(t.Called)
	if err != nil {
		return a, fmt.Errorf("ssp: called number %s: %w", t.Called, err)
	}
	dn := t.UserDN
	if dn == "" {
		var ok bool
		if dn, ok = t.Called.National(); !ok {
			return a, fmt.Errorf("ssp: called number %s is not NANP: set UserDN for the UserID", t.Called)
		}
	}
	udn, err := ain.ParseDN(dn)
	if err != nil {
		return a, fmt.Errorf("ssp: user DN: %w", err)
	}
	a.UserID = ain.UserIDFromDN(udn)
	a.BearerCapability = t.Bearer
	a.CalledPartyID = ain.Some(called)
	if t.Calling != 0 {
		d, err := digitsFor(t.Calling)
		if err != nil {
			return a, fmt.Errorf("ssp: calling number %s: %w", t.Calling, err)
		}
		d.Presentation = t.Presentation
		d.Screening = ain.ScreeningNetwork
		if t.CallingScreeningSet {
			d.Screening = t.CallingScreening
		}
		a.CallingPartyID = ain.Some(d)
	}
	for _, f := range []struct {
		n   e164.Number
		dst *ain.Opt[ain.Digits]
		nm  string
	}{{t.ChargeNumber, &a.ChargeNumber, "charge number"},
		{t.OriginalCalled, &a.OriginalCalledPartyID, "original called number"},
		{t.Redirecting, &a.RedirectingPartyID, "redirecting number"}} {
		if f.n == 0 {
			continue
		}
		d, err := digitsFor(f.n)
		if err != nil {
			return a, fmt.Errorf("ssp: %s %s: %w", f.nm, f.n, err)
		}
		*f.dst = ain.Some(d)
	}
	return a, nil
}

// appendCalledDigits appends the digits the switch matches ACG controls
// against: the CalledPartyID digits it sends (10 national digits for NANP,
// all E.164 digits otherwise). It does not allocate when dst has room.
func appendCalledDigits(dst []byte, n e164.Number) []byte {
	v := uint64(n)
	if n.IsNANP() {
		v -= 10000000000
		var b [10]byte
		for i := 9; i >= 0; i-- {
			b[i] = '0' + byte(v%10)
			v /= 10
		}
		return append(dst, b[:]...)
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = '0' + byte(v%10)
		v /= 10
	}
	return append(dst, b[i:]...)
}
