package fraud

import (
	"bytes"
	"callgate/store"
	"errors"
	"strings"
	"testing"
	"time"

	"callgate/e164"
)

func TestRateTableLongestPrefix(t *testing.T) {
	tab, err := ParseRates(strings.NewReader(testRates))
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[e164.Number]string{
		toDomestic: "1", toJamaica: "1876", toPremium: "1900", toPumped: "1712555", toLondon: "44", toUKMobile: "447",
		e164.MustParse("+17125560100"): "1", // 1712556 is not the pumped range
	} {
		r := tab.Lookup(n)
		if r == nil || r.Prefix != want {
			t.Errorf("Lookup(%s) = %+v, want prefix %s", n, r, want)
		}
	}
	if r := tab.Lookup(e164.MustParse("+33142685300")); r != nil {
		t.Errorf("France matched %+v", r)
	}
	if tab.Lookup(0) != nil || (*RateTable)(nil).Lookup(toLondon) != nil {
		t.Error("no number or no table matched")
	}
	if n := testing.AllocsPerRun(1000, func() { tab.Lookup(toUKMobile) }); n != 0 {
		t.Errorf("Lookup allocates %v", n)
	}
}

// A bad file reports every bad row by line, and imports nothing.
func TestParseRatesReportsEveryBadRow(t *testing.T) {
	in := `prefix,category,price_per_minute
1,domestic,0.01
44,internatinal,1.00
0044,international,1.00
33,international,-1
1876,international,0.60
1876,premium,0.60
49x,international,0.20
1,domestic
`
	tab, err := ParseRates(strings.NewReader(in))
	var re *RatesError
	if tab != nil || !errors.As(err, &re) {
		t.Fatalf("got table %v, error %v", tab, err)
	}
	want := []struct {
		line int
		has  string
	}{
		{3, `category "internatinal"`}, {4, "starts with 0"}, {5, "not a digit"}, {7, "already on line 6"},
		{8, "not a digit"}, {9, "2 fields"},
	}
	if len(re.Rows) != len(want) {
		t.Fatalf("rows: %v", err)
	}
	for i, w := range want {
		if re.Rows[i].Line != w.line || !strings.Contains(re.Rows[i].Err, w.has) {
			t.Errorf("row %d: %v, want line %d with %q", i, re.Rows[i], w.line, w.has)
		}
	}
	if _, err := ParseRates(strings.NewReader("prefix,category,price_per_minute\n")); err == nil {
		t.Error("an empty table was accepted")
	}
}

// Imports are versioned, all or nothing, and stored.
func TestImportRatesVersions(t *testing.T) {
	f := newFixture(t)
	if v := f.m.Rates().Version; v != 1 {
		t.Fatalf("version %d", v)
	}
	_, err := f.m.ImportRates(strings.NewReader("1,domestic,0.02\n44,international,x\n"), "bad.csv", store.Operator.By("tester", "test"), false)
	if err == nil || f.m.Rates().Version != 1 || f.m.Rates().Lookup(toDomestic).PerMinute != money("0.01") {
		t.Fatalf("a bad import changed the table: %v", err)
	}
	meta, err := f.m.ImportRates(strings.NewReader("1,domestic,0.02\n"), "dry.csv", store.Operator.By("tester", "test"), true)
	if err != nil || meta.Version != 0 || meta.Rows != 1 || f.m.Rates().Version != 1 {
		t.Fatalf("dry run: %+v %v", meta, err)
	}
	// A big table spans several stored chunks.
	var b bytes.Buffer
	for i := range 12000 {
		b.WriteString(e164.Number(4400000+i).Digits() + ",international,0.5\n")
	}
	meta, err = f.m.ImportRates(&b, "big.csv", store.Operator.By("tester", "test"), false)
	if err != nil || meta.Version != 2 || meta.Chunks != 3 {
		t.Fatalf("big import: %+v %v", meta, err)
	}
	f.open(t)
	if tab := f.m.Rates(); tab.Version != 2 || tab.Len() != 12000 || tab.Lookup(e164.MustParse("+4400011999")) == nil {
		t.Fatalf("reloaded: v%d %d rows", tab.Version, tab.Len())
	}
	vs, err := f.m.RateVersions()
	if err != nil || len(vs) != 2 || vs[0].Source != "test.csv" || vs[1].Rows != 12000 {
		t.Fatalf("versions %+v %v", vs, err)
	}
	// Calls rate at the table of their start: dave's call to a number
	// the new table does not have costs the unrated price (0) and is
	// counted.
	f.spend(t, lineDave, toDomestic, time.Minute)
	if f.m.Stats().Unrated != 1 {
		t.Fatalf("unrated %d", f.m.Stats().Unrated)
	}
}

func FuzzParseRates(f *testing.F) {
	f.Add([]byte(testRates))
	f.Add([]byte("1,domestic,0.01\n\"44\",\"international\",\"1\"\n"))
	f.Add([]byte("prefix\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tab, err := ParseRates(bytes.NewReader(in))
		if (tab == nil) == (err == nil) {
			t.Fatalf("table %v and error %v", tab, err)
		}
		if tab == nil {
			return
		}
		// What was accepted writes back and reads the same.
		var out bytes.Buffer
		if err := tab.WriteCSV(&out); err != nil {
			t.Fatal(err)
		}
		again, err := ParseRates(&out)
		if err != nil || again.Len() != tab.Len() {
			t.Fatalf("round trip: %v", err)
		}
		for i, r := range tab.Rows() {
			if again.Rows()[i] != r {
				t.Fatalf("row %d: %+v != %+v", i, again.Rows()[i], r)
			}
		}
	})
}
