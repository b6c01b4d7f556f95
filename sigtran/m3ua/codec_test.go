package m3ua

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sampleMessages holds one fully populated value of every message type.
func sampleMessages() []Message {
	apcs := []AffectedPC{{Mask: 0, PC: 0xf4010a}, {Mask: 8, PC: 0xf40200}}
	return append([]Message{
		&Err{Code: CodeInvalidRoutingContext, RoutingContexts: []uint32{99}, NetworkAppearance: 7, HasNetworkAppearance: true, AffectedPCs: apcs[:1], Diagnostic: []byte{1, 0, 1, 1, 0, 0, 0, 8, 9}},
		&Notify{Status: Status{StatusTypeOther, StatusAlternateASPActive}, ASPIdentifier: 42, HasASPIdentifier: true, RoutingContexts: []uint32{10, 11}, Info: "alt"},
		&ASPUp{ASPIdentifier: 1, HasASPIdentifier: true, Info: "callgate scp"},
		&ASPUpAck{ASPIdentifier: 1, HasASPIdentifier: true, Info: "sg"},
		&ASPDown{Info: "bye"},
		&ASPDownAck{},
		&Beat{Data: []byte("hb-123")},
		&BeatAck{Data: []byte("hb-123")},
		&ASPActive{TrafficMode: TrafficModeOverride, RoutingContexts: []uint32{10}, Info: "x"},
		&ASPActiveAck{TrafficMode: TrafficModeLoadshare, RoutingContexts: []uint32{10, 20, 30}},
		&ASPInactive{RoutingContexts: []uint32{10}, Info: "maintenance"},
		&ASPInactiveAck{RoutingContexts: []uint32{10}},
		&DUNA{NetworkAppearance: 1, HasNetworkAppearance: true, RoutingContexts: []uint32{10}, AffectedPCs: apcs, Info: "down"},
		&DAVA{AffectedPCs: apcs[:1]},
		&DAUD{RoutingContexts: []uint32{10}, AffectedPCs: apcs},
		&DRST{AffectedPCs: apcs[1:]},
		&SCON{AffectedPCs: apcs[:1], ConcernedDestination: 0xf40214, HasConcernedDestination: true, CongestionLevel: CongestionLevel2, HasCongestionLevel: true, Info: "cong"},
		&DUPU{NetworkAppearance: 3, HasNetworkAppearance: true, AffectedPCs: apcs[:1], UserCause: UserCause{Cause: 1, User: 3}},
		&Data{NetworkAppearance: 2, HasNetworkAppearance: true, RoutingContext: 10, HasRoutingContext: true, CorrelationID: 77, HasCorrelationID: true,
			ProtocolData: ProtocolData{OPC: 0xf4010a, DPC: 0xf40214, SI: 3, NI: 2, MP: 1, SLS: 9, Data: []byte{9, 0x80, 3, 5, 7}}},
	}, rkmSamples()...)
}

func TestRoundTripEveryType(t *testing.T) {
	seen := map[[2]uint8]bool{}
	for _, m := range sampleMessages() {
		name := MessageName(m.MessageClass(), m.MessageType())
		t.Run(name, func(t *testing.T) {
			seen[[2]uint8{uint8(m.MessageClass()), m.MessageType()}] = true
			b, err := m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != m.MarshalLen() || len(b)%4 != 0 {
				t.Fatalf("encoded %d octets, MarshalLen %d", len(b), m.MarshalLen())
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("decode %x: %v", b, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, m)
			}
			// AppendTo appends after existing bytes.
			pre := []byte("prefix")
			b2, err := m.AppendTo(pre)
			if err != nil || !bytes.Equal(b2[len(pre):], b) || string(b2[:len(pre)]) != "prefix" {
				t.Fatalf("AppendTo: %v", err)
			}
			// Decoding the wrong type fails with Unsupported Message Type.
			other := &ASPUp{}
			if _, isUp := m.(*ASPUp); !isUp {
				if code, _ := CodeOf(other.UnmarshalBinary(b)); code != CodeUnsupportedMessageType {
					t.Errorf("ASPUp.UnmarshalBinary of %s: code %v", name, code)
				}
			}
		})
	}
	if len(seen) != 23 {
		t.Errorf("%d message types covered, want 23", len(seen))
	}
}

func TestDecodeErrors(t *testing.T) {
	data := func() []byte {
		b, _ := (&Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: ProtocolData{SI: 3, Data: []byte{1, 2, 3}}}).MarshalBinary()
		return b
	}
	set := func(b []byte, off int, v ...byte) []byte { copy(b[off:], v); return b }
	cases := []struct {
		name string
		in   []byte
		code ErrorCode
		off  int
		what string
	}{
		{"short", []byte{1, 0, 3}, CodeProtocolError, 0, "shorter than"},
		{"version", set(data(), 0, 2), CodeInvalidVersion, 0, "version 2"},
		{"length<8", set(data(), 4, 0, 0, 0, 4), CodeProtocolError, 4, "shorter than the common header"},
		{"length>buffer", set(data(), 4, 0, 0, 1, 0), CodeProtocolError, 4, "exceeds"},
		{"class 5 (IUA)", set(data(), 2, 5), CodeUnsupportedMessageClass, 2, "class"},
		{"class 10", set(data(), 2, 10, 1), CodeUnsupportedMessageClass, 2, "class(10)"},
		{"RKM type 5", set(data(), 2, 9, 5), CodeUnsupportedMessageType, 3, "class RKM"},
		{"type", set(data(), 3, 7), CodeUnsupportedMessageType, 3, "type 7"},
		{"param length<4", set(data(), 10, 0, 2), CodeParameterFieldError, 10, "shorter than its header"},
		{"param overruns", set(data(), 18, 0, 0xf0), CodeParameterFieldError, 18, "exceeds"},
		{"rc wrong size", set(data(), 10, 0, 7), CodeParameterFieldError, 10, "multiple of 4"},
		{"unexpected param", set(data(), 8, 0, 0x0d), CodeUnexpectedParameter, 8, "not allowed"},
		{"repeated param", set(data(), 16, 0x00, 0x06), CodeUnexpectedParameter, 16, "repeated"},
		{"missing protocol data", []byte{1, 0, 1, 1, 0, 0, 0, 16, 0, 6, 0, 8, 0, 0, 0, 10}, CodeMissingParameter, 0, "missing"},
		{"two RCs in DATA", []byte{1, 0, 1, 1, 0, 0, 0, 36, 0, 6, 0, 12, 0, 0, 0, 10, 0, 0, 0, 11, 2, 0x10, 0, 16, 0, 0, 0, 1, 0, 0, 0, 2, 3, 2, 0, 0}, CodeInvalidParameterValue, 8, "exactly one"},
		{"short protocol data", []byte{1, 0, 1, 1, 0, 0, 0, 16, 2, 0x10, 0, 8, 0, 0, 0, 1}, CodeParameterFieldError, 10, "routing label"},
		{"status wrong size", []byte{1, 0, 0, 1, 0, 0, 0, 16, 0, 0x0d, 0, 6, 0, 1, 0, 0}, CodeParameterFieldError, 10, "want 4"},
		{"NTFY missing status", []byte{1, 0, 0, 1, 0, 0, 0, 8}, CodeMissingParameter, 0, "Status"},
		{"DUPU missing cause", []byte{1, 0, 2, 5, 0, 0, 0, 16, 0, 0x12, 0, 8, 0, 0, 0, 1}, CodeMissingParameter, 0, "User/Cause"},
		{"truncated header", []byte{1, 0, 3, 1, 0, 0, 0, 12, 0, 0x11, 0, 8}, CodeParameterFieldError, 10, "exceeds"},
		{"ASPAC traffic mode 0", []byte{1, 0, 4, 1, 0, 0, 0, 16, 0, 0x0b, 0, 8, 0, 0, 0, 0}, CodeUnsupportedTrafficMode, 8, "traffic mode 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.in)
			if err == nil {
				t.Fatalf("decode %x: no error", c.in)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			if e.Code != c.code || e.Offset != c.off || !strings.Contains(err.Error(), c.what) {
				t.Fatalf("got %v (code %v offset %d), want code %v offset %d containing %q", err, e.Code, e.Offset, c.code, c.off, c.what)
			}
		})
	}
}

func TestUnknownParameterSkipped(t *testing.T) {
	// ASP Up with ASP Identifier, then an unknown parameter 0x7777 of 5
	// value octets (padded to 8), then INFO "ab".
	in := []byte{1, 0, 3, 1, 0, 0, 0, 36,
		0, 0x11, 0, 8, 0, 0, 0, 5,
		0x77, 0x77, 0, 9, 1, 2, 3, 4, 5, 0, 0, 0,
		0, 4, 0, 6, 'a', 'b', 0, 0}
	m, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	up := m.(*ASPUp)
	if up.Unknown != 1 || up.ASPIdentifier != 5 || !up.HasASPIdentifier || up.Info != "ab" {
		t.Fatalf("%+v", up)
	}
}

func TestLastParameterWithoutPadding(t *testing.T) {
	// Some peers omit the last parameter's padding (and count the message
	// length without it); accept that.
	in := []byte{1, 0, 3, 3, 0, 0, 0, 13, 0, 9, 0, 5, 'z'}
	m, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.(*Beat).Data) != "z" {
		t.Fatalf("%+v", m)
	}
}

func TestEncodeErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, m := range []Message{
		&ASPUp{Info: long},
		&Notify{Info: long},
		&DUNA{},
		&SCON{},
		&DUPU{},
		&DAVA{AffectedPCs: []AffectedPC{{PC: 1 << 24}}},
		&Beat{Data: make([]byte, 70000)},
		&Data{ProtocolData: ProtocolData{Data: make([]byte, 70000)}},
		&ASPActive{RoutingContexts: make([]uint32, 20000)},
	} {
		if _, err := m.MarshalBinary(); !errors.Is(err, ErrEncode) {
			t.Errorf("%T: error %v, want ErrEncode", m, err)
		}
	}
}

func TestDataDecodeAliases(t *testing.T) {
	b, _ := (&Data{ProtocolData: ProtocolData{Data: []byte{1, 2, 3}}}).MarshalBinary()
	var d Data
	if err := d.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	b[HeaderLen+4+12] = 0xAA
	if d.ProtocolData.Data[0] != 0xAA {
		t.Fatal("Protocol Data user data does not alias the input")
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.UnmarshalBinary(b) }); n != 0 {
		t.Fatalf("DATA decode allocates %.0f times", n)
	}
}

func TestAffectedPCCovers(t *testing.T) {
	a := AffectedPC{Mask: 8, PC: 0xf40200}
	if !a.Covers(0xf402ff) || !a.Covers(0xf40200) || a.Covers(0xf40300) {
		t.Fatal("mask 8 covers the member octet only")
	}
	if !(AffectedPC{Mask: 24}).Covers(0x123456) || (AffectedPC{PC: 5}).Covers(6) {
		t.Fatal("mask 24 covers all, mask 0 one")
	}
}
