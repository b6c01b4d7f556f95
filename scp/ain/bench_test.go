package ain

import (
	"callgate/internal/benchcpu"
	"testing"

	"callgate/e164"
)

func BenchmarkDecodeTerminationAttempt(b *testing.B) {
	params := unhex(b, p01q)
	var a TerminationAttemptArg
	b.ReportAllocs()
	b.SetBytes(int64(len(params)))
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		n++
		if err := a.Unmarshal(params); err != nil {
			b.Fatal(err)
		}
		calling, err := a.CallingPartyID.V.E164()
		if err != nil || calling == 0 || a.CallingPartyID.V.Presentation != PresentationAllowed {
			b.Fatal(err)
		}
		if _, err := a.CalledPartyID.V.E164(); err != nil {
			b.Fatal(err)
		}
	}
	clk.Stop(b, n)
}

func BenchmarkEncodeAuthorizeTermination(b *testing.B) {
	slp, _ := ParseAMAslpID("123456789")
	name := []byte("JANE DOE")
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		n++
		a := AuthorizeTerminationArg{GenericName: Some(GenericName{TypeOfName: NameTypeCalling, Name: name})}
		a.AMAslpID = Some(slp)
		buf = a.Marshal(buf[:0])
	}
	clk.Stop(b, n)
	if len(buf) != 19 {
		b.Fatalf("encoded %x", buf)
	}
}

func BenchmarkEncodeForwardCall(b *testing.B) {
	routing := e164.MustParse("+17205550123")
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		n++
		d, err := DigitsFromE164(routing, NOANational)
		if err != nil {
			b.Fatal(err)
		}
		a := ForwardCallArg{CalledPartyID: Some(d)}
		buf = a.Marshal(buf[:0])
	}
	clk.Stop(b, n)
	if len(buf) != 9 {
		b.Fatalf("encoded %x", buf)
	}
}

// BenchmarkUnmarshalTerminationAttempt is the SCP's per-query decode of the
// P-01Q argument alone, into a reused value.
func BenchmarkUnmarshalTerminationAttempt(b *testing.B) {
	params := unhex(b, p01q)
	var a TerminationAttemptArg
	b.ReportAllocs()
	n, clk := 0, benchcpu.Start(b)
	for b.Loop() {
		n++
		if err := a.Unmarshal(params); err != nil {
			b.Fatal(err)
		}
	}
	clk.Stop(b, n)
	if !a.CallingPartyID.Set || a.Other.Len() != 0 {
		b.Fatal("wrong decode")
	}
}
