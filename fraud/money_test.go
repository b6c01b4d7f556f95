package fraud

import "testing"

func TestParseMoney(t *testing.T) {
	good := map[string]Money{
		"10": 10 * Unit, "10.00": 10 * Unit, "0.0125": 12500, ".5": Unit / 2, "7.": 7 * Unit,
		" 1.000001 ": 1_000_001, "0": 0, "9000000000": maxMoney,
	}
	for s, want := range good {
		if got, err := ParseMoney(s); err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", ".", "-1", "1e3", "1,000", "$5", "0.0000001", "9000000001", "1.2.3"} {
		if _, err := ParseMoney(s); err == nil {
			t.Errorf("ParseMoney(%q) accepted", s)
		}
	}
}

func TestMoneyString(t *testing.T) {
	for m, want := range map[Money]string{
		0: "0.00", 10 * Unit: "10.00", 12500: "0.0125", 1_000_001: "1.000001", -Unit / 2: "-0.50", 10_666_667: "10.666667",
	} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(m), got, want)
		}
		var back Money
		if err := back.UnmarshalText([]byte(m.String())); err != nil || back != m {
			t.Errorf("round trip of %s: %d, %v", m, back, err)
		}
	}
}

// A call costs its seconds at the price a minute, rounded up to the micro.
func TestPerMinute(t *testing.T) {
	cases := []struct {
		price   Money
		seconds int64
		want    Money
	}{
		{Unit, 60, Unit}, {Unit, 1, 16667}, {Unit, 0, 0}, {money("0.0125"), 61, 12709}, {3 * Unit, 86400, 4320 * Unit},
	}
	for _, c := range cases {
		if got := c.price.PerMinute(c.seconds); got != c.want {
			t.Errorf("%s a minute for %ds = %s, want %s", c.price, c.seconds, got, c.want)
		}
	}
}

func TestParseMultiplier(t *testing.T) {
	for s, want := range map[string]Multiplier{"1": 1000, "1.5": 1500, "1.25": 1250, "3": 3000, "100": 100_000, "2.125": 2125} {
		if got, err := ParseMultiplier(s); err != nil || got != want {
			t.Errorf("ParseMultiplier(%q) = %d, %v", s, got, err)
		}
		if got := want.String(); got != s {
			t.Errorf("%d.String() = %q, want %q", want, got, s)
		}
	}
	for _, s := range []string{"0.9", "", "1.2345", "x", "101", "-2"} {
		if _, err := ParseMultiplier(s); err == nil {
			t.Errorf("ParseMultiplier(%q) accepted", s)
		}
	}
}
