package ssp

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/scp/ain"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

func ctl(code string, gap time.Duration, dur time.Duration) ACG {
	return ACG{Code: code, Gap: gap, For: dur}
}

func TestGapTable(t *testing.T) {
	g := NewGapTable()
	t0 := time.Unix(1000, 0)
	if g.Check([]byte("3035550100"), t0) {
		t.Fatal("empty table gaps")
	}
	g.Apply(ctl("303555", time.Second, 16*time.Second), t0)
	g.Apply(ctl("3035550100", 5*time.Second, 0), t0) // longer code governs
	cases := []struct {
		called string
		at     time.Duration
		gapped bool
	}{
		{"3035550199", 0, true},                    // within the first gap
		{"3035560100", 0, false},                   // other code
		{"303555", 500 * time.Millisecond, true},   // the code itself
		{"3035550199", time.Second, false},         // gap ran out: one through
		{"3035550198", time.Second + 1, true},      // and the gap restarts
		{"3035550100", 2 * time.Second, true},      // the 10-digit control, 5 s gap
		{"3035550100", 5 * time.Second, false},     // ... ran out
		{"3035550197", 17 * time.Second, false},    // 303555 expired after 16 s
		{"3035550197", 17*time.Second + 1, false},  // still expired
		{"3035550100", 1000 * time.Second, false},  // infinite control, gap out
		{"3035550100", 1000*time.Second + 1, true}, // ... restarted
		{"30355", 0, false},                        // shorter than every code
	}
	for _, c := range cases {
		if got := g.Check([]byte(c.called), t0.Add(c.at)); got != c.gapped {
			t.Errorf("%s at +%v: gapped %v, want %v", c.called, c.at, got, c.gapped)
		}
	}
	ctls := g.Controls(t0.Add(20 * time.Second))
	if len(ctls) != 1 || ctls[0].Code != "3035550100" || ctls[0].Gapped != 2 || ctls[0].Allowed != 2 {
		t.Fatalf("controls %+v", ctls)
	}
	g.Apply(ACG{Code: "3035550100", Remove: true}, t0)
	if g.Check([]byte("3035550100"), t0.Add(1000*time.Second+2)) || len(g.Controls(t0)) != 0 {
		t.Fatal("removed control still gaps")
	}
	g.Apply(ACG{Code: "720", StopAll: true}, t0)
	if !g.Check([]byte("7205550000"), t0.Add(time.Hour)) {
		t.Fatal("stop all calls let a call through")
	}
}

func TestACGFromArg(t *testing.T) {
	gta, _ := ain.AppendGlobalTitleAddress(nil, "303555")
	a := &ain.AcgArg{ControlCauseIndicator: 1, GapDuration: ain.GapDuration16s, GapInterval: ain.GapInterval{Value: ain.NationalGap1s}, GlobalTitleAddress: gta}
	g, err := ACGFromArg(a)
	if err != nil || g.Code != "303555" || g.Gap != time.Second || g.For != 16*time.Second || g.Remove || g.StopAll {
		t.Fatalf("%+v %v", g, err)
	}
	a.GapInterval = ain.GapInterval{Private: true, Value: 17}
	a.GapDuration = ain.GapDurationInfinity
	if g, err = ACGFromArg(a); err != nil || g.Gap != 100*time.Millisecond || g.For != 0 {
		t.Fatalf("private 0.1 s, infinite: %+v %v", g, err)
	}
	a.GapInterval = ain.GapInterval{Value: ain.NationalGapStopAll}
	if g, _ = ACGFromArg(a); !g.StopAll {
		t.Fatal("stop all")
	}
	a.GapInterval = ain.GapInterval{Private: true, Value: ain.PrivateGapRemove}
	if g, _ = ACGFromArg(a); !g.Remove {
		t.Fatal("private remove")
	}
	a.GapInterval = ain.GapInterval{Value: 99}
	if _, err = ACGFromArg(a); err == nil {
		t.Fatal("interval 99 accepted")
	}
	a.GapInterval, a.GapDuration = ain.GapInterval{Value: ain.NationalGap1s}, 0
	if _, err = ACGFromArg(a); err == nil {
		t.Fatal("duration 0 accepted")
	}
	for in, want := range map[string]string{"035355": "303555", "0303": "303", "21f3": "123", "2143": "1234", "": ""} {
		b, _ := hex.DecodeString(in)
		if got := gtaDigits(b); got != want {
			t.Errorf("gtaDigits(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	for in, want := range map[string][2]string{
		"+1303555xxxx":              {"+13035550000", "+13035559999"},
		"+13035550000-+13035550099": {"+13035550000", "+13035550099"},
		"3035550000-3035550009":     {"+13035550000", "+13035550009"},
		"+1 303-555-0100":           {"+13035550100", "+13035550100"},
		"+44207123xxxx":             {"+442071230000", "+442071239999"},
	} {
		r, err := ParseRange(in)
		if err != nil || r.First.String() != want[0] || r.Last.String() != want[1] {
			t.Errorf("ParseRange(%q) = %v, %v; want %v", in, r, err, want)
		}
	}
	for _, in := range []string{"", "+1303x555xxxx", "+13035550099-+13035550000", "+13035550000-+442071234567", "abc"} {
		if r, err := ParseRange(in); err == nil {
			t.Errorf("ParseRange(%q) = %v accepted", in, r)
		}
	}
	// A NANP block whose central office code is not valid names it.
	for in, say := range map[string]string{
		"+1303000xxxx": `"+13030000000": not a valid NANP number: central office code (NXX) 000 cannot start with 0`,
		"+1303xxxxxxx": "x may stand only for the 4 line-number digits",
		"3030001234":   "central office code (NXX) 000",
	} {
		if _, err := ParseRange(in); err == nil || !strings.Contains(err.Error(), say) {
			t.Errorf("ParseRange(%q): %v, want it to say %q", in, err, say)
		}
	}
	r, _ := ParseRange("+13035550098-+13035550100")
	if r.Count() != 3 || r.At(0) != e164.MustParse("+13035550098") || r.At(4) != e164.MustParse("+13035550099") {
		t.Fatalf("count %d at %v %v", r.Count(), r.At(0), r.At(4))
	}
}

// A patched template is the query TA.Arg would have encoded for the
// patched numbers.
func TestTemplatePatch(t *testing.T) {
	c := &Client{called: sccp.NewSSNAddress(DefaultDPC, 248), calling: sccp.NewSSNAddress(DefaultOPC, 249)}
	cr, _ := ParseRange("+1303555xxxx")
	gr, _ := ParseRange("+44207123xxxx")
	tm, err := c.buildTemplate(&Scenario{TA: TA{Presentation: PresentationRestricted, ChargeNumber: e164.MustParse("+17195550000")},
		Called: &cr, Calling: &gr}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tm.dnOff < 0 || tm.called.n != 10 || tm.calling.n != 12 {
		t.Fatalf("template %+v", tm)
	}
	b := append([]byte(nil), tm.b...)
	called, calling := e164.MustParse("+13035551234"), e164.MustParse("+442071239876")
	writeBCD(b[tm.called.off:], appendCalledDigits(nil, called))
	writeBCD(b[tm.dnOff:], appendCalledDigits(nil, called))
	writeBCD(b[tm.calling.off:], appendCalledDigits(nil, calling))
	copy(b[tm.tidOff:], []byte{0xde, 0xad, 0xbe, 0xef})
	var udt sccp.Message
	var q tcap.Message
	if err := udt.Decode(b, sccp.ANSI); err != nil {
		t.Fatal(err)
	}
	if err := q.Decode(udt.Data); err != nil || q.OrigTID.Uint32() != 0xdeadbeef {
		t.Fatalf("%v tid %v", err, q.OrigTID)
	}
	var arg ain.TerminationAttemptArg
	if err := arg.Unmarshal(q.Components[0].Params); err != nil {
		t.Fatal(err)
	}
	gotCalled, _ := arg.Called()
	gotCalling, pres, _ := arg.Calling()
	charge, _ := arg.ChargeNumber.V.E164()
	if gotCalled != called || gotCalling != calling || pres != PresentationRestricted || arg.UserID.DN.String() != "3035551234" ||
		charge != e164.MustParse("+17195550000") {
		t.Fatalf("patched query: called %v calling %v pres %v dn %v charge %v", gotCalled, gotCalling, pres, arg.UserID.DN, charge)
	}
}

func TestAppendCalledDigits(t *testing.T) {
	for in, want := range map[string]string{"+13035550100": "3035550100", "+442071234567": "442071234567", "+12015550000": "2015550000"} {
		if got := string(appendCalledDigits(nil, e164.MustParse(in))); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		var b [20]byte
		appendCalledDigits(b[:0], e164.MustParse("+13035550100"))
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// FuzzDecodeAnswer: any octets handed to the answer decoder (what a
// broken SCP could send) give an Answer or an error, never a panic.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		"e427c70400000101e81fe91dcf020201d1026502f2138a0521436587099f2109204a414e4520444f45",
		"e435c70400000105e82de91fcf0102d1026901f2169f3b01019f3e01059f3f01059f4601009f4503035355e90acf020301d1026502f200",
		"f609c70400000106d70106",
		"e41bc70400000107e813ec11cf0101d5020202f200",
		"e412c70400000107e80aeb08cf0101d40101f200",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAnswer(b)
		if err == nil && a.Operation == "" {
			t.Fatal("decoded answer without an operation")
		}
		_ = a.String()
	})
}
