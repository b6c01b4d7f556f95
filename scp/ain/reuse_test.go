package ain

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// decodeBoth decodes wire into the reused value and into a fresh one and
// fails unless both give the same error and the same value: nothing a
// previous decode left in the reused value may show through.
func decodeBoth(t *testing.T, reused Arg, wire []byte) error {
	t.Helper()
	fresh := NewArg(reused.Op())
	errR, errF := reused.UnmarshalAt(wire, 0), fresh.UnmarshalAt(wire, 0)
	if (errR == nil) != (errF == nil) || (errR != nil && errR.Error() != errF.Error()) {
		t.Fatalf("%x: reused value gives error %v, fresh one %v", wire, errR, errF)
	}
	if !reflect.DeepEqual(reused, fresh) {
		t.Fatalf("%x: reused value differs from a fresh one\nreused %+v\n fresh %+v", wire, reused, fresh)
	}
	return errR
}

// unknownParams returns n context parameters no argument models (tags
// 2000+), enough to fill RawParams and count drops.
func unknownParams(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("9f8f" + hex.EncodeToString([]byte{byte(0x50 + i)}) + "01" + hex.EncodeToString([]byte{byte(i)}))
	}
	return b.String()
}

// TestDecodeReuseLeaksNothing: an argument decoded into a value that held a
// fully populated one (every modelled parameter, Other full and overflowing)
// equals the same argument decoded into a fresh value, after a success, after
// an error, and for every modelled operation.
func TestDecodeReuseLeaksNothing(t *testing.T) {
	for _, a := range fullArgs(t) {
		t.Run(a.Op().String(), func(t *testing.T) {
			full := append(a.Marshal(nil), unhex(t, unknownParams(MaxRawParams+2))...)
			reused := NewArg(a.Op())
			if err := decodeBoth(t, reused, full); err != nil {
				t.Fatal(err)
			}
			decodeBoth(t, reused, nil)
			decodeBoth(t, reused, full)
			decodeBoth(t, reused, unhex(t, "9f8f7f0100"))
		})
	}

	// The SCP's query after a full one, after a shorter number in the same
	// field, and after errors at each stage of a parameter.
	var ta TerminationAttemptArg
	full := append(fullArgs(t)[0].Marshal(nil), unhex(t, unknownParams(MaxRawParams+2))...)
	for _, c := range []struct {
		name string
		wire string
		bad  bool
	}{
		{"full", hex.EncodeToString(full), false},
		{"P-01Q", p01q, false},
		{"full again", hex.EncodeToString(full), false},
		{"3-digit calledPartyID", "bf350781050353551000" + "8d0100" + "8f0401100305", false},
		{"repeated calledPartyID", p01q + "8f0703100353551000", true},
		{"calledPartyID too short", "bf350781050353551000" + "8d0100" + "8f0103", true},
		{"constructed calledPartyID", "bf350781050353551000" + "8d0100" + "af0703100353551000", true},
		{"dn of 4 octets", "bf35068104035355108d0100", true},
		{"broken framing", p01q + "8f09", true},
		{"P-01Q after errors", p01q, false},
	} {
		if err := decodeBoth(t, &ta, unhex(t, c.wire)); (err != nil) != c.bad {
			t.Fatalf("%s: error %v", c.name, err)
		}
	}
}

// TestResetClearsEveryField: TerminationAttemptArg.reset, which clears field
// by field, leaves the zero value however full the argument was, so a field
// added to the type without a line in reset fails here.
func TestResetClearsEveryField(t *testing.T) {
	var a TerminationAttemptArg
	v := reflect.ValueOf(&a).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if v.Type().Field(i).Name == "Other" {
			continue
		}
		fill(f)
		if f.IsZero() {
			t.Fatalf("could not fill %s", v.Type().Field(i).Name)
		}
	}
	for i := range MaxRawParams + 1 {
		a.Other.Add(RawParam{Tag: uint32(i), Value: []byte{1}})
	}
	d, err := ParseDigits("3035550100", NOANational)
	if err != nil {
		t.Fatal(err)
	}
	a.CalledPartyID.V = d // unexported digit fields too
	a.reset()
	if !reflect.DeepEqual(a, TerminationAttemptArg{}) {
		t.Fatalf("after reset: %+v", a)
	}
}

// fill sets every settable part of v to something other than its zero value.
func fill(v reflect.Value) {
	if !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		v.SetUint(1)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	}
}

// TestDigitsDecodeInPlace: Digits.decode overwrites every field of a used
// value, digit octets past the new ones included, and leaves it alone on
// error.
func TestDigitsDecodeInPlace(t *testing.T) {
	var d Digits
	for _, c := range []struct {
		in  string
		bad bool
	}{
		{"0310035355100012345678", false}, {"81010305", false}, {"0210", false}, {"8100", true}, {"03", true},
		{"031000112233445566778899aabbccddeeff", false}, {"031000112233445566778899aabbccddeeff00", true}, {"83131759552101", false},
	} {
		before := d
		bad := d.decode(unhex(t, c.in))
		want, wantBad := parseDigits(unhex(t, c.in))
		if bad != wantBad || (bad != "") != c.bad {
			t.Fatalf("%s: error %q, want %q", c.in, bad, wantBad)
		}
		if bad != "" {
			want = before
		}
		if d != want {
			t.Fatalf("%s: decoded in place %+v (%x), want %+v (%x)", c.in, d, d.bcd, want, want.bcd)
		}
	}
}
