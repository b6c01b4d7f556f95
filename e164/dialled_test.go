package e164

import "testing"

func TestParseDialled(t *testing.T) {
	tests := []struct {
		dialled string
		want    string // "" for an error
	}{
		// FromDigits's forms read the same.
		{"3035550100", "+13035550100"},
		{"1 303 555 0100", "+13035550100"},
		{"011 44 20 7946 0000", "+442079460000"},
		{"+44 20 7946 0000", "+442079460000"},
		// Operator-assisted.
		{"01 44 20 7946 0000", "+442079460000"},
		{"0 303 555 0100", "+13035550100"},
		// Dial-around: a carrier access code in front of every form.
		{"101-0288-011-44-20-7946-0000", "+442079460000"},
		{"1010288 01 44 20 7946 0000", "+442079460000"},
		{"1010288 1 900 555 0100", "+19005550100"},
		{"1010288 0 303 555 0100", "+13035550100"},
		{"1010288 303 555 0100", "+13035550100"},
		// Nothing reached, or not a number.
		{"1010288", ""},
		{"1010288 0", ""},
		{"0", ""},
		{"01", ""},
		{"01 44", ""},
		{"0 103 555 0100", ""}, // area code cannot start with 1
		{"911", ""},
		{"555 0100", ""},
	}
	for _, tc := range tests {
		got, err := ParseDialled(tc.dialled)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseDialled(%q) = %v, want an error", tc.dialled, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseDialled(%q) = %v, %v; want %s", tc.dialled, got, err, tc.want)
		}
	}
	// A '+' says the digits are country code first: no dialling plan.
	if n, err := ParseDialled("+1010288011442079460000"); err == nil {
		t.Errorf("ParseDialled(+1010288...) = %v, want an error", n)
	}
	buf := []byte{1, 0, 1, 0, 2, 8, 8, 0, 1, 1, 4, 4, 2, 0, 7, 9, 4, 6, 0, 0, 0, 0}
	if a := testing.AllocsPerRun(100, func() { _, _ = FromDialled(buf, false) }); a != 0 {
		t.Errorf("FromDialled allocates %v times on success", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = ParseDialled("1010288011442079460000") }); a != 0 {
		t.Errorf("ParseDialled allocates %v times on success", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = Parse("+13035550100") }); a != 0 {
		t.Errorf("Parse allocates %v times on success", a)
	}
}

// FuzzParseDialled: whatever ParseDialled accepts is an E.164 number that
// Parse reads back unchanged, and whatever Parse accepts ParseDialled reads
// the same (the dialling plan only adds forms).
func FuzzParseDialled(f *testing.F) {
	for _, s := range []string{"01442079460000", "1010288011442079460000", "03035550100", "1010288", "10102880",
		"011442079460000", "3035550100", "+1010288", "0", "101"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseDialled(s)
		if err != nil {
			if n != 0 || err.Error() == "" {
				t.Fatalf("ParseDialled(%q) = %v, %v", s, n, err)
			}
		} else if again, err := Parse(n.String()); err != nil || again != n {
			t.Fatalf("ParseDialled(%q) = %v does not re-parse: %v %v", s, n, again, err)
		}
		if p, err := Parse(s); err == nil {
			if d, derr := ParseDialled(s); derr != nil || d != p {
				t.Fatalf("Parse(%q) = %v but ParseDialled = %v, %v", s, p, d, derr)
			}
		}
	})
}
