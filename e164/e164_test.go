package e164

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want Number
	}{
		// NANP, 10 digits, with and without separators.
		{"3035550100", 13035550100},
		{"303-555-0100", 13035550100},
		{"(303) 555-0100", 13035550100},
		{"303.555.0100", 13035550100},
		{" 303 555 0100 ", 13035550100},
		// NANP 1+10.
		{"13035550100", 13035550100},
		{"1-303-555-0100", 13035550100},
		{"1 (303) 555-0100", 13035550100},
		// +1 international form.
		{"+13035550100", 13035550100},
		{"+1 303 555 0100", 13035550100},
		{"(+1) 303-555-0100", 13035550100},
		// NANP international prefix 011 and ITU 00.
		{"011442079460000", 442079460000},
		{"011 44 20 7946 0000", 442079460000},
		{"00442079460000", 442079460000},
		{"0013035550100", 13035550100},
		{"01113035550100", 13035550100},
		// International, various lengths: 7 (shortest accepted) to 15 digits.
		{"+4420794600", 4420794600},
		{"+442079460000", 442079460000},
		{"+8613800138000", 8613800138000},
		{"+2901234", 2901234},                 // 7 digits: Saint Helena
		{"+999999999999999", 999999999999999}, // 15 digits
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %d, want %d", tc.in, got, tc.want)
		}
		if again, err := Parse(got.String()); err != nil || again != got {
			t.Errorf("Parse(%q) did not round-trip via %q: %v, %v", tc.in, got.String(), again, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		in      string
		want    error
		mention string // part of the message that says why
	}{
		{"", ErrEmpty, "empty"},
		{"   ", ErrCharacter, "no digits"},
		{"+", ErrCharacter, "no digits"},
		{"abc", ErrCharacter, "unexpected 'a' at position 1"},
		{"303555010x", ErrCharacter, "position 10"},
		{"+1303555+0100", ErrCharacter, "unexpected '+'"},
		{"++13035550100", ErrCharacter, "unexpected '+'"},
		{"1+3035550100", ErrCharacter, "unexpected '+'"},
		{"303/555/0100", ErrCharacter, "'/'"},
		{"sip:+13035550100@x", ErrCharacter, "'s'"},
		{"tel:+13035550100", ErrCharacter, "'t'"},
		{"303555010", ErrLength, "9 digits"}, // 9 digits, no prefix
		{"555-0100", ErrLength, "7 digits"},  // local number
		// The digit count is right; the code that is not valid is named.
		{"0303555010", ErrNANP, "area code (NPA) 030 cannot start with 0"},
		{"1303555010", ErrNANP, "area code (NPA) 130 cannot start with 1"},
		{"3031550100", ErrNANP, "central office code (NXX) 155 cannot start with 1"},
		{"3030550100", ErrNANP, "central office code (NXX) 055 cannot start with 0"},
		{"23035550100", ErrLength, "neither"}, // 11 digits not starting 1
		{"10035550100", ErrNANP, "area code (NPA) 003"},
		{"+10035550100", ErrNANP, "area code (NPA) 003"},
		{"+13030001234", ErrNANP, "central office code (NXX) 000 cannot start with 0"},
		{"1-303-000-1234", ErrNANP, "central office code (NXX) 000"},
		{"+1303555010", ErrLength, "not 9"}, // +1 with 9 digits
		{"+130355501000", ErrLength, "+1 numbers have 10 digits after the country code"},
		{"+123456", ErrLength, "6 digits"},
		{"+0442079460000", ErrLeading0, "country code"},
		{"+1234567890123456", ErrLength, "16 digits"},
		{"0114", ErrLength, "1 digits"},
		{"00", ErrLength, "neither"},
		{"011", ErrLength, "neither"},
		{"0110442079460000", ErrLeading0, "country code"},
		{"1234567890123456789012345", ErrLength, "more than 15"},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error %v", tc.in, got, tc.want)
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("Parse(%q) error %q, want %v", tc.in, err, tc.want)
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Parse(%q) error %q does not mention %q", tc.in, err, tc.mention)
		}
		if tc.in != "" && !strings.Contains(err.Error(), tc.in) && len(tc.in) < 20 {
			t.Errorf("Parse(%q) error %q does not name the input", tc.in, err)
		}
	}
}

func TestFromDigits(t *testing.T) {
	d := func(s string) []byte {
		b := []byte(s)
		for i := range b {
			b[i] -= '0'
		}
		return b
	}
	tests := []struct {
		digits string
		intl   bool
		want   Number
		ok     bool
	}{
		{"3035550100", false, 13035550100, true},
		{"13035550100", false, 13035550100, true},
		{"13035550100", true, 13035550100, true},
		{"3035550100", true, 3035550100, true}, // country code 30 (Greece), 10 digits
		{"442079460000", true, 442079460000, true},
		{"011442079460000", false, 442079460000, true},
		{"", true, 0, false},
		{"", false, 0, false},
	}
	for _, tc := range tests {
		got, err := FromDigits(d(tc.digits), tc.intl)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("FromDigits(%s, %v) = %v, %v; want %v ok=%v", tc.digits, tc.intl, got, err, tc.want, tc.ok)
		}
	}
	// BCD filler and code nibbles are not digits.
	for _, bad := range [][]byte{{3, 0, 3, 5, 5, 5, 0, 1, 0, 0xf}, {0xa, 3, 0, 3, 5, 5, 5, 0, 1, 0, 0}, {4, 4, 2, 0, 7, 9, 4, 6, 0, 0, 0, 0xb}} {
		if n, err := FromDigits(bad, true); err == nil || !errors.Is(err, ErrCharacter) {
			t.Errorf("FromDigits(%v) = %v, %v; want ErrCharacter", bad, n, err)
		}
	}
	buf := d("13035550100")
	if a := testing.AllocsPerRun(100, func() { _, _ = FromDigits(buf, false) }); a != 0 {
		t.Errorf("FromDigits allocates %v times on success", a)
	}
}

func TestFormatting(t *testing.T) {
	n := MustParse("303-555-0100")
	if n.String() != "+13035550100" || n.Digits() != "13035550100" {
		t.Errorf("String/Digits = %q/%q", n.String(), n.Digits())
	}
	if nat, ok := n.National(); !ok || nat != "3035550100" {
		t.Errorf("National = %q, %v", nat, ok)
	}
	uk := MustParse("+442079460000")
	if _, ok := uk.National(); ok || uk.IsNANP() {
		t.Error("UK number reported as NANP")
	}
	var zero Number
	if zero.String() != "" || zero.Digits() != "" || !zero.IsZero() || string(zero.AppendTo(nil)) != "" {
		t.Error("zero Number not empty")
	}
	b, _ := n.MarshalText()
	var back Number
	if err := back.UnmarshalText(b); err != nil || back != n {
		t.Errorf("text round trip: %v %v", back, err)
	}
	if err := back.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText accepted garbage")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"3035550100", "+1 (303) 555-0100", "13035550100", "011442079460000",
		"00442079460000", "+442079460000", "+", "", "abc", "+0123", "1+2", "999999999999999999999999999",
		"(((", "+1-303-555-0100", "0110", "\x00", "３０３５５５０１００"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("Parse(%q) returned %v with error %v", s, n, err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if n == 0 {
			t.Fatalf("Parse(%q) = 0 without error", s)
		}
		str := n.String()
		if len(str) < 1+minDigits || len(str) > 1+MaxDigits || str[0] != '+' || str[1] == '0' {
			t.Fatalf("Parse(%q) = %q: not E.164", s, str)
		}
		again, err := Parse(str)
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %q does not re-parse: %v %v", s, str, again, err)
		}
		if n.IsNANP() {
			nat, ok := n.National()
			if !ok || len(nat) != 10 || nat[0] < '2' || nat[3] < '2' {
				t.Fatalf("Parse(%q) = %q: bad NANP national %q", s, str, nat)
			}
			if again, err := Parse(nat); err != nil || again != n {
				t.Fatalf("national %q does not re-parse to %q", nat, str)
			}
		}
	})
}
