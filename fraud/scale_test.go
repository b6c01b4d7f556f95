package fraud

import (
	"strings"
	"testing"
)

// The worked examples of the package documentation, exactly.
func TestScaleWorkedExamples(t *testing.T) {
	c := DefaultConfig()
	for _, ex := range []struct{ baseline, alert, lockdown string }{
		{"0", "10.00", "11.00"},
		{"2.00", "10.00", "11.00"},
		{"5.00", "15.00", "20.00"},
		{"50.00", "120.00", "155.00"},
		{"500.00", "820.00", "1000.00"},
		{"5000.00", "6570.00", "7500.00"},
	} {
		got := c.thresholds(money(ex.baseline))
		if got.Alert != money(ex.alert) || got.Lockdown != money(ex.lockdown) {
			t.Errorf("baseline %s: %s / %s, want %s / %s", ex.baseline, got.Alert, got.Lockdown, ex.alert, ex.lockdown)
		}
	}
}

// Thresholds never fall as the baseline grows (the point of marginal
// bands), and the lockdown threshold never falls below the alert.
func TestScaleMonotonic(t *testing.T) {
	c := DefaultConfig()
	prev := c.thresholds(0)
	for b := Money(0); b <= 3000*Unit; b += Unit / 4 {
		th := c.thresholds(b)
		if th.Alert < prev.Alert || th.Lockdown < prev.Lockdown || th.Lockdown < th.Alert {
			t.Fatalf("baseline %s: %+v after %+v", b, th, prev)
		}
		prev = th
	}
}

func TestScaleValidate(t *testing.T) {
	if err := DefaultScale.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]Scale{
		"no bands":               {},
		"last band has no up_to": {{UpTo: 10 * Unit, Alert: 2000, Lockdown: 3000}},
		"must be above":          {{UpTo: 10 * Unit, Alert: 2000, Lockdown: 3000}, {UpTo: 5 * Unit, Alert: 2000, Lockdown: 3000}, {Alert: 1000, Lockdown: 1000}},
		"below the alert":        {{Alert: 3000, Lockdown: 2000}},
		"below 1":                {{Alert: 500, Lockdown: 2000}},
	}
	for want, s := range bad {
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}
