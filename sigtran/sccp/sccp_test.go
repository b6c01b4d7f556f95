package sccp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestPointCode(t *testing.T) {
	pc := ANSIPointCode(244, 2, 20)
	if uint32(pc) != 15991316 || pc.String() != "244-2-20" || pc.Format(ANSI) != "244-2-20" {
		t.Fatalf("ANSI pc %d %s", pc, pc)
	}
	for _, c := range []struct {
		s    string
		v    Variant
		want PointCode
		ok   bool
	}{
		{"244-2-20", ANSI, 15991316, true},
		{"244.1.10", ANSI, 15991050, true},
		{"15991316", ANSI, 15991316, true},
		{"2-145-5", ITU, 2<<11 | 145<<3 | 5, true},
		{"0-0-1", ITU, 1, true},
		{"16383", ITU, 16383, true},
		{"16384", ITU, 0, false},
		{"8-0-0", ITU, 0, false},
		{"256-1-1", ANSI, 0, false},
		{"1-2", ANSI, 0, false},
		{"x", ANSI, 0, false},
		{"16777216", ANSI, 0, false},
	} {
		got, err := ParsePointCode(c.s, c.v)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParsePointCode(%q, %v) = %d, %v; want %d ok=%v", c.s, c.v, got, err, c.want, c.ok)
		}
		if c.ok && strings.Contains(c.s, "-") && got.Format(c.v) != c.s {
			t.Errorf("Format(%v) = %q, want %q", c.v, got.Format(c.v), c.s)
		}
	}
	itu := ITUPointCode(2, 145, 5)
	if itu.Format(ITU) != "2-145-5" || uint32(itu) != 5261 {
		t.Errorf("ITU 2-145-5 = %d %s", itu, itu.Format(ITU))
	}
}

func TestProtocolClass(t *testing.T) {
	for _, c := range []struct {
		p     ProtocolClass
		class uint8
		ret   bool
	}{{0x80, 0, true}, {0x81, 1, true}, {0x00, 0, false}, {0x01, 1, false}, {0x41, 1, false}} {
		if c.p.Class() != c.class || c.p.ReturnOnError() != c.ret {
			t.Errorf("%02x: class %d ret %v", uint8(c.p), c.p.Class(), c.p.ReturnOnError())
		}
	}
	if NewProtocolClass(1, true) != 0x81 || NewProtocolClass(0, false) != 0 {
		t.Error("NewProtocolClass")
	}
}

// Address forms, hand-coded from T1.112.3 / Q.713 (independent of the encoder).
func TestAddressForms(t *testing.T) {
	bcd10 := []byte{0x03, 0x53, 0x55, 0x10, 0x00}
	cases := []struct {
		name   string
		v      Variant
		hex    string
		want   Address
		digits string
	}{
		{"ANSI PC+SSN (vector)", ANSI, "c3f81402f4",
			Address{National: true, Routing: RouteOnSSN, HasPC: true, PC: ANSIPointCode(244, 2, 20), HasSSN: true, SSN: 248}, ""},
		{"ANSI SSN only", ANSI, "c1fe",
			Address{National: true, Routing: RouteOnSSN, HasSSN: true, SSN: 254}, ""},
		{"ANSI PC only, international", ANSI, "42030201",
			Address{Routing: RouteOnSSN, HasPC: true, PC: ANSIPointCode(1, 2, 3)}, ""},
		{"ANSI GTI 2 TT only + SSN", ANSI, "89ec08" + "0353551000",
			Address{National: true, Routing: RouteOnGT, HasSSN: true, SSN: 236, GT: GlobalTitle{Indicator: ANSIGTITT, TT: 8, Digits: bcd10}}, "3035550100"},
		{"ANSI GTI 1 TT+NP+ES odd, SSN+PC", ANSI, "87f8" + "0a01f4" + "0011" + "214365870f"[:8] + "09",
			Address{National: true, Routing: RouteOnGT, HasSSN: true, SSN: 248, HasPC: true, PC: ANSIPointCode(244, 1, 10),
				GT: GlobalTitle{Indicator: ANSIGTITTNPES, TT: 0, NP: 1, ES: ESBCDOdd, Odd: true, Digits: []byte{0x21, 0x43, 0x65, 0x87, 0x09}}}, "123456789"},
		{"ITU PC+SSN", ITU, "43010208",
			Address{Routing: RouteOnSSN, HasPC: true, PC: 0x201, HasSSN: true, SSN: 8}, ""},
		{"ITU GTI 4 + SSN (MAP style)", ITU, "1208001104970566152009",
			Address{Routing: RouteOnGT, HasSSN: true, SSN: 8, GT: GlobalTitle{Indicator: ITUGTITTNPESNA, TT: 0, NP: 1, ES: ESBCDOdd, NAI: 4, Odd: true,
				Digits: []byte{0x97, 0x05, 0x66, 0x15, 0x20, 0x09}}}, "79506651029"},
		{"ITU GTI 1 NAI odd", ITU, "04" + "83" + "214305",
			Address{Routing: RouteOnGT, GT: GlobalTitle{Indicator: ITUGTINAI, NAI: 3, Odd: true, Digits: []byte{0x21, 0x43, 0x05}}}, "12345"},
		{"ITU GTI 2 TT only", ITU, "08" + "11" + "2143",
			Address{Routing: RouteOnGT, GT: GlobalTitle{Indicator: ITUGTITT, TT: 0x11, Digits: []byte{0x21, 0x43}}}, "1234"},
		{"ITU GTI 3 TT NP ES even, PC", ITU, "0d" + "ff3f" + "00" + "12" + "2143",
			Address{Routing: RouteOnGT, HasPC: true, PC: 0x3fff, GT: GlobalTitle{Indicator: ITUGTITTNPES, TT: 0, NP: 1, ES: ESBCDEven, Digits: []byte{0x21, 0x43}}}, "1234"},
		{"ITU national bit", ITU, "c2" + "06",
			Address{National: true, Routing: RouteOnSSN, HasSSN: true, SSN: 6}, ""},
		{"ANSI unknown GTI kept raw", ANSI, "dc" + "0102",
			Address{National: true, Routing: RouteOnSSN, GT: GlobalTitle{Indicator: 7, Digits: []byte{1, 2}}}, ""},
	}
	for _, c := range cases {
		raw := mustHex(t, c.hex)
		var a Address
		if err := a.Decode(raw, c.v, 0); err != nil {
			t.Errorf("%s: decode: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(a, c.want) {
			t.Errorf("%s: decoded\n %+v\nwant\n %+v", c.name, a, c.want)
		}
		if c.digits != "" && a.GT.DigitString() != c.digits {
			t.Errorf("%s: digits %q, want %q", c.name, a.GT.DigitString(), c.digits)
		}
		if a.Len(c.v) != len(raw) {
			t.Errorf("%s: Len %d, want %d", c.name, a.Len(c.v), len(raw))
		}
		out, err := a.Append(nil, c.v)
		if err != nil || !bytes.Equal(out, raw) {
			t.Errorf("%s: encode %x (%v), want %x", c.name, out, err, raw)
		}
		// Encoding from a freshly built GT (SetDigits) gives the same bytes.
		if c.digits != "" {
			b := c.want
			b.GT.Digits = nil
			if err := b.GT.SetDigits(c.digits); err != nil {
				t.Fatal(err)
			}
			b.GT.ES = c.want.GT.ES
			out, _ := b.Append(nil, c.v)
			if !bytes.Equal(out, raw) {
				t.Errorf("%s: SetDigits encode %x, want %x", c.name, out, raw)
			}
		}
	}
}

func TestAddressErrors(t *testing.T) {
	for _, c := range []struct {
		v   Variant
		hex string
		off int
	}{
		{ANSI, "", 10},
		{ANSI, "c3f81402", 12},     // PC truncated: offset of PC
		{ANSI, "c3", 11},           // SSN missing
		{ITU, "4301", 11},          // PC truncated
		{ITU, "12080011", 12},      // GTI 4 header truncated (needs 3 octets after SSN)
		{ANSI, "c3f81402f4ff", 15}, // trailing garbage after GT-less address
	} {
		var a Address
		err := a.Decode(mustHex(t, c.hex), c.v, 10)
		var e *Error
		if !errors.As(err, &e) || e.Offset != c.off {
			t.Errorf("%v %s: err %v, want offset %d", c.v, c.hex, err, c.off)
		}
	}
	var g GlobalTitle
	if g.SetDigits("12x") == nil {
		t.Error("SetDigits accepted x")
	}
	a := Address{HasPC: true, PC: 0x4000}
	if _, err := a.Append(nil, ITU); err == nil {
		t.Error("ITU address accepted a 15-bit point code")
	}
}

func sample(v Variant, t MsgType) Message {
	called := NewSSNAddress(ANSIPointCode(244, 2, 20), 248)
	calling := Address{National: true, Routing: RouteOnGT, HasSSN: true, SSN: 249,
		GT: GlobalTitle{Indicator: ANSIGTITTNPES, TT: 8, NP: 1}}
	if v == ITU {
		called = Address{Routing: RouteOnSSN, HasPC: true, PC: ITUPointCode(2, 145, 5), HasSSN: true, SSN: 146}
		calling = Address{Routing: RouteOnGT, HasSSN: true, SSN: 147,
			GT: GlobalTitle{Indicator: ITUGTITTNPESNA, TT: 0, NP: 1, NAI: 4}}
	}
	_ = calling.GT.SetDigits("3035550100")
	m := Message{Variant: v, Type: t, Called: called, Calling: calling, Data: []byte{0xe2, 0x03, 0xc7, 0x01, 0x01}}
	if t.IsService() {
		m.Cause = CauseUnequippedUser
	} else {
		m.Class = Class1Return
	}
	if t.hasHopCounter() {
		m.HopCounter = 12
	}
	return m
}

func TestRoundTripAllTypes(t *testing.T) {
	for _, v := range []Variant{ANSI, ITU} {
		types := []MsgType{UDT, UDTS, XUDT, XUDTS}
		if v == ITU {
			types = append(types, LUDT, LUDTS)
		}
		for _, typ := range types {
			for _, opt := range []int{0, 1, 2} {
				if opt > 0 && !typ.hasHopCounter() {
					continue
				}
				m := sample(v, typ)
				switch opt {
				case 1:
					m.Segmentation = Segmentation{Present: true, First: true, Class: 1, Remaining: 2, LocalRef: 0xABCDEF}
					m.HasImportance, m.Importance = true, 5
				case 2:
					m.OtherOptional = []byte{0xfa, 0x02, 0x01, 0x02}
				}
				raw, err := m.MarshalBinary()
				if err != nil {
					t.Fatalf("%v %v opt%d: %v", v, typ, opt, err)
				}
				if len(raw) != m.MarshalLen() {
					t.Errorf("%v %v: MarshalLen %d, encoded %d", v, typ, m.MarshalLen(), len(raw))
				}
				got := Message{Variant: v}
				if err := got.UnmarshalBinary(raw); err != nil {
					t.Fatalf("%v %v opt%d: decode %x: %v", v, typ, opt, raw, err)
				}
				if !reflect.DeepEqual(got, m) {
					t.Errorf("%v %v opt%d: round trip\n got %+v\nwant %+v", v, typ, opt, got, m)
				}
				if got.NeedsReassembly() != (opt == 1) {
					t.Errorf("%v %v opt%d: NeedsReassembly %v", v, typ, opt, got.NeedsReassembly())
				}
			}
		}
	}
}

// Hand-checked layouts: pointer values and the optional part.
func TestLayouts(t *testing.T) {
	called := Address{Routing: RouteOnSSN, HasSSN: true, SSN: 8}  // ITU 42 08
	calling := Address{Routing: RouteOnSSN, HasSSN: true, SSN: 9} // ITU 42 09
	cases := []struct {
		m    Message
		want string
	}{
		{Message{Variant: ITU, Type: UDT, Class: Class0Return, Called: called, Calling: calling, Data: []byte{0xAA}},
			"09 80 03 05 07 02 4208 02 4209 01 aa"},
		{Message{Variant: ITU, Type: XUDT, Class: Class1, HopCounter: 15, Called: called, Calling: calling, Data: []byte{0xAA}},
			"11 01 0f 04 06 08 00 02 4208 02 4209 01 aa"},
		{Message{Variant: ITU, Type: XUDTS, Cause: CauseHopCounterViolation, HopCounter: 15, Called: called, Calling: calling, Data: []byte{0xAA},
			HasImportance: true, Importance: 3},
			"12 0c 0f 04 06 08 09 02 4208 02 4209 01 aa 12 01 03 00"},
		{Message{Variant: ITU, Type: XUDT, Class: Class0, HopCounter: 7, Called: called, Calling: calling, Data: []byte{0xAA},
			Segmentation: Segmentation{Present: true, First: true, Remaining: 1, LocalRef: 0x030201}},
			"11 00 07 04 06 08 09 02 4208 02 4209 01 aa 10 04 81 01 02 03 00"},
		{Message{Variant: ITU, Type: LUDT, Class: Class0, HopCounter: 15, Called: called, Calling: calling, Data: []byte{0xAA, 0xBB}},
			"13 00 0f 0700 0800 0900 0000 02 4208 02 4209 0200 aabb"},
		{Message{Variant: ANSI, Type: UDTS, Cause: CauseSubsystemFailure, Called: Address{National: true, Routing: RouteOnSSN, HasSSN: true, SSN: 249},
			Calling: Address{National: true, Routing: RouteOnSSN, HasSSN: true, SSN: 248}, Data: []byte{1, 2}},
			"0a 03 03 05 07 02 c1f9 02 c1f8 02 0102"},
	}
	for i, c := range cases {
		want := mustHex(t, strings.ReplaceAll(c.want, " ", ""))
		got, err := c.m.AppendTo(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d %v: got %x (%v), want %x", i, c.m.Type, got, err, want)
			continue
		}
		var d Message
		if err := d.Decode(want, c.m.Variant); err != nil || !reflect.DeepEqual(d.Data, c.m.Data) || d.Type != c.m.Type {
			t.Errorf("case %d: decode %v %+v", i, err, d)
		}
	}
}

func TestUnknownOptionalKept(t *testing.T) {
	// XUDT whose optional part has an unknown (ANSI ISNI-like 0xfa) parameter
	// between segmentation and importance.
	raw := mustHex(t, "11000f040608"+"09"+"024208"+"024209"+"01aa"+"100481010203"+"fa0101"+"120102"+"00")
	var m Message
	if err := m.Decode(raw, ITU); err != nil {
		t.Fatal(err)
	}
	if !m.Segmentation.Present || !m.HasImportance || m.Importance != 2 || !bytes.Equal(m.OtherOptional, []byte{0xfa, 1, 1}) {
		t.Fatalf("optional part: %+v", m)
	}
	// Two unknown, non-contiguous parameters are gathered.
	raw2 := mustHex(t, "11000f04060809024208024209"+"01aa"+"fb0100"+"120102"+"fa0101"+"00")
	if err := m.Decode(raw2, ITU); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.OtherOptional, []byte{0xfb, 1, 0, 0xfa, 1, 1}) {
		t.Fatalf("gathered %x", m.OtherOptional)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		v    Variant
		hex  string
		off  int
		sub  string
	}{
		{"empty", ANSI, "", 0, "empty"},
		{"connection-oriented type", ANSI, "01", 0, "not a connectionless"},
		{"short fixed part", ANSI, "0980", 2, "too short"},
		{"zero pointer", ANSI, "098000080d", 2, "pointer to called party address is zero"},
		{"called past end", ANSI, "0980030405", 2, "points past the end"},
		{"called length overrun", ANSI, "09800304050a", 5, "runs past the end"},
		{"bad called address", ANSI, "0980030406" + "02c3f8" + "01c1" + "00", 8, "called party address"},
		{"data overrun", ANSI, "0980030507" + "02c1f8" + "02c1f9" + "05aa", 11, "data of 5 octets"},
		{"optional past end", ITU, "11000f0406089002420802420901aa", 6, "optional part"},
		{"bad segmentation length", ITU, "11000f0406080902420802420901aa100181", 16, "segmentation"},
		{"opt param without length", ITU, "11000f0406080902420802420901aa12", 15, "no length"},
		{"trailing after end of optional", ITU, "11000f0406080902420802420901aa00ff", 16, "after the end"},
		{"LUDT in ANSI", ANSI, "130000", 0, "ITU"},
	} {
		var m Message
		err := m.Decode(mustHex(t, c.hex), c.v)
		var e *Error
		if !errors.As(err, &e) || e.Offset != c.off || !strings.Contains(err.Error(), c.sub) {
			t.Errorf("%s: err %v, want offset %d containing %q", c.name, err, c.off, c.sub)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	m := sample(ANSI, UDT)
	m.Data = make([]byte, 256)
	if _, err := m.AppendTo(nil); err == nil {
		t.Error("UDT with 256 data octets encoded")
	}
	m = sample(ANSI, XUDT)
	m.Data = make([]byte, 250)
	m.HasImportance = true
	if _, err := m.AppendTo(nil); err == nil {
		t.Error("XUDT with optional pointer > 255 encoded")
	}
	m = sample(ANSI, LUDT)
	if _, err := m.AppendTo(nil); err == nil {
		t.Error("ANSI LUDT encoded")
	}
	m = sample(ITU, LUDT)
	m.Data = make([]byte, 3000)
	if _, err := m.AppendTo(nil); err != nil {
		t.Errorf("ITU LUDT with 3000 octets: %v", err)
	}
	m = sample(ITU, XUDT)
	m.HopCounter = 16
	if _, err := m.AppendTo(nil); err == nil {
		t.Error("hop counter 16 encoded")
	}
}

func TestReturn(t *testing.T) {
	// UDT with return option -> UDTS, addresses swapped, data returned.
	q := sample(ANSI, UDT)
	var r Message
	if !q.Return(&r, CauseUnequippedUser) {
		t.Fatal("UDT with return option not returned")
	}
	if r.Type != UDTS || r.Cause != CauseUnequippedUser || !reflect.DeepEqual(r.Called, q.Calling) ||
		!reflect.DeepEqual(r.Calling, q.Called) || &r.Data[0] != &q.Data[0] {
		t.Fatalf("UDTS %+v", r)
	}
	raw, err := r.MarshalBinary()
	if err != nil || raw[0] != 0x0a || raw[1] != 0x04 {
		t.Fatalf("UDTS encoded %x %v", raw, err)
	}
	// Without the return option: discard.
	q.Class = Class1
	r = Message{}
	if q.Return(&r, CauseUnequippedUser) || r.Type != 0 {
		t.Fatal("UDT without return option returned")
	}
	// A service message is never returned.
	s := sample(ANSI, UDTS)
	if s.Return(&r, CauseSubsystemFailure) {
		t.Fatal("UDTS returned")
	}
	// Segmented XUDT -> XUDTS cannot reassemble, carrying the segmentation.
	x := sample(ITU, XUDT)
	x.Segmentation = Segmentation{Present: true, First: true, Remaining: 3, LocalRef: 77}
	x.HasImportance, x.Importance = true, 4
	if !x.NeedsReassembly() {
		t.Fatal("segmented XUDT not recognised")
	}
	if !x.Return(&r, CauseCannotReassemble) {
		t.Fatal("XUDT not returned")
	}
	if r.Type != XUDTS || r.HopCounter != DefaultHopCounter || r.Segmentation != x.Segmentation || r.Importance != 4 || r.Variant != ITU {
		t.Fatalf("XUDTS %+v", r)
	}
	raw, err = r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var d Message
	if err := d.Decode(raw, ITU); err != nil || d.Type != XUDTS || d.Cause != CauseCannotReassemble || !bytes.Equal(d.Data, x.Data) {
		t.Fatalf("XUDTS decode %v %+v", err, d)
	}
	// LUDT -> LUDTS.
	l := sample(ITU, LUDT)
	if !l.Return(&r, CauseSubsystemCongestion) || r.Type != LUDTS {
		t.Fatal("LUDT not returned as LUDTS")
	}
	// A sole segment (first, 0 remaining) is deliverable.
	x.Segmentation.Remaining = 0
	if x.NeedsReassembly() {
		t.Error("sole segment reported as needing reassembly")
	}
}

func TestStrings(t *testing.T) {
	m := sample(ITU, XUDTS)
	s := m.String()
	for _, want := range []string{"ITU XUDTS", "unequipped user", "pc 2-145-5", "digits 3035550100", "hops 12"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, missing %q", s, want)
		}
	}
	if CauseUnqualified.String() != "unqualified" || ReturnCause(0x50).String() != "return cause 0x50" {
		t.Error("ReturnCause.String")
	}
	if hex.EncodeToString([]byte(UDT.String())) == "" || MsgType(1).String() != "MsgType(0x01)" {
		t.Error("MsgType.String")
	}
}

// Encodings produced by this package and checked field by field with
// tshark 4.0.17 (LINKTYPE_SCCP, -o mtp3.standard:ITU / ANSI): GT forms,
// XUDT optional part, LUDT two-octet pointers, service messages.
func TestTsharkCheckedEncodings(t *testing.T) {
	for _, c := range []struct {
		v      Variant
		hex    string
		typ    MsgType
		called string
		data   string
	}{
		{ITU, "11810f040f13180b120800110497056615200904438d14060562034801011004c001020312010500", XUDT, "79506651029", "6203480101"},
		{ITU, "13000e07001100140000000b120800110497056615200904438d140605006203480101", LUDT, "79506651029", "6203480101"},
		{ITU, "120c0f0408130004438d14060b1208001104970566152009056203480101", XUDTS, "", "6203480101"},
		{ITU, "14030f07000a001400000004438d14060b120800110497056615200905006203480101", LUDTS, "", "6203480101"},
		{ANSI, "11800f040c18000889ec0803535510000c87f90a01f409111759552101056203480101", XUDT, "3035550100", "6203480101"},
		{ANSI, "0a04030f170c87f90a01f4091117595521010889ec080353551000056203480101", UDTS, "719555121", "6203480101"},
	} {
		raw := mustHex(t, strings.ReplaceAll(c.hex, " ", ""))
		var m Message
		if err := m.Decode(raw, c.v); err != nil {
			t.Fatalf("%v %v: %v", c.v, c.typ, err)
		}
		if m.Type != c.typ || m.Called.GT.DigitString() != c.called || hex.EncodeToString(m.Data) != c.data {
			t.Errorf("%v %v: decoded %v", c.v, c.typ, m.String())
		}
		out, err := m.AppendTo(nil)
		if err != nil || !bytes.Equal(out, raw) {
			t.Errorf("%v %v: re-encoded %x, want %x", c.v, c.typ, out, raw)
		}
	}
}
