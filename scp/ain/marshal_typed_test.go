package ain

import (
	"bytes"
	"testing"
)

// TestForwardCallTypedEqualsWalk: the shortcut Marshal takes for an
// argument with only typed parameters writes exactly what the general
// walk in forwardCallOrder writes, for every subset of them.
func TestForwardCallTypedEqualsWalk(t *testing.T) {
	var text DisplayText
	if err := text.Add(DisplayTagCallingPartyName, []byte("Initech")); err != nil {
		t.Fatal(err)
	}
	set := []func(a *ForwardCallArg){
		func(a *ForwardCallArg) { a.CallingPartyID = Some(mustDigits(t, "7195551212", NOANational)) },
		func(a *ForwardCallArg) { a.ChargeNumber = Some(mustDigits(t, "7195550000", NOANational)) },
		func(a *ForwardCallArg) { a.ChargePartyStationType = Some(uint8(6)) },
		func(a *ForwardCallArg) { a.CalledPartyID = Some(mustDigits(t, "7205550123", NOANational)) },
		func(a *ForwardCallArg) { a.OutpulseNumber = Some(mustDigits(t, "3035550100", NOANational)) },
		func(a *ForwardCallArg) { a.RedirectingPartyID = Some(mustDigits(t, "3035550100", NOANational)) },
		func(a *ForwardCallArg) { a.RedirectionInformation = []byte{0x01, 0x01} },
		func(a *ForwardCallArg) { a.DisplayText = Some(text) },
		func(a *ForwardCallArg) { a.GenericName = Some(GenericName{TypeOfName: 1, Name: []byte("Initech")}) },
	}
	for mask := range 1 << len(set) {
		var a ForwardCallArg
		for i, f := range set {
			if mask&(1<<i) != 0 {
				f(&a)
			}
		}
		typed, walk := a.marshalTyped(nil), a.marshalWalk(nil)
		if !bytes.Equal(typed, walk) {
			t.Fatalf("parameters %09b: shortcut % x, walk % x", mask, typed, walk)
		}
		if got := a.Marshal(nil); !bytes.Equal(got, walk) {
			t.Fatalf("parameters %09b: Marshal % x, walk % x", mask, got, walk)
		}
	}
	// Billing or a raw parameter: the walk, which places them in order.
	a := ForwardCallArg{CalledPartyID: Some(mustDigits(t, "7205550123", NOANational))}
	a.AMASequenceNumber = Some(uint16(7))
	if got, walk := a.Marshal(nil), a.marshalWalk(nil); !bytes.Equal(got, walk) || bytes.Equal(got, a.marshalTyped(nil)) {
		t.Fatalf("with billing: Marshal % x, walk % x", got, walk)
	}
}
