package dissect

import (
	"encoding/json"
	"strings"
	"testing"
)

// P-05R (acg + authorizeTermination) at each layer.
const (
	p05rTCAP = "e435c70400000105e82de91fcf0102d1026901f2169f3b01019f3e01059f3f01059f4601009f4503035355e90acf020301d1026502f200"
	p05rSCCP = "098003080d05c3f90a01f405c3f81402f437" + p05rTCAP
	p05rM3UA = "010001010000006c000600080000000a0210005900f4021400f4010a03020005" + p05rSCCP + "000000"
	p01qM3UA = "0100010100000068000600080000000a0210005600f4010a00f4021403020001098003080d05c3f81402f405c3f90a01f434e232c70400000101e82ae928cf0101d1026405f21fbf3507810503535510008d01008f07031003535510009207031317595521210000"
)

func TestDetect(t *testing.T) {
	for in, want := range map[string]Kind{p05rTCAP: TCAP, p05rSCCP: SCCP, p05rM3UA: M3UA, "07": Unknown, "": Unknown, "01": M3UA, "f6": TCAP} {
		b, _ := ParseHex(in + "")
		if got := Detect(b); got != want {
			t.Errorf("Detect(%.10s) = %v, want %v", in, got, want)
		}
	}
}

func TestParseHex(t *testing.T) {
	for in, want := range map[string]string{
		"0a0B":            "0a0b",
		"0a 0b\n0c":       "0a0b0c",
		"0a:0b:0c":        "0a0b0c",
		"0x0a 0x0b":       "0a0b",
		"0a-0b.0c_0d":     "0a0b0c0d",
		"0x010203 0x0405": "0102030405",
	} {
		b, err := ParseHex(in)
		if err != nil || strings.TrimSpace(string(hexOf(b))) != want {
			t.Errorf("ParseHex(%q) = %x, %v; want %s", in, b, err, want)
		}
	}
	for _, in := range []string{"", "  ", "0g", "abc", "0a 0"} {
		if _, err := ParseHex(in); err == nil {
			t.Errorf("ParseHex(%q) accepted", in)
		}
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

func TestDecodeLayers(t *testing.T) {
	msgs := DecodeHexArgs([]string{p05rM3UA})
	if len(msgs) != 1 || len(msgs[0].Errors) != 0 {
		t.Fatalf("%+v", msgs)
	}
	m := msgs[0]
	if m.M3UA.Name != "DATA" || *m.M3UA.RoutingContext != 10 || m.M3UA.OPC != "244-2-20" || *m.M3UA.SLS != 5 {
		t.Errorf("m3ua %+v", m.M3UA)
	}
	if m.SCCP.Type != "UDT" || *m.SCCP.Called.SSN != 249 || m.SCCP.Calling.PointCode != "244-2-20" {
		t.Errorf("sccp %+v", m.SCCP)
	}
	c := m.TCAP.Components
	if m.TCAP.RespTID != "00000105" || len(c) != 2 || c[0].Operation != "acg" || c[1].Operation != "authorizeTermination" ||
		*c[1].CorrelationID != 1 || c[0].CorrelationID != nil {
		t.Errorf("tcap %+v", m.TCAP)
	}
	if _, err := json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	txt := m.Text()
	for _, s := range []string{"M3UA  DATA", "SCCP  ANSI UDT", "TCAP  response  rtid 00000105", "AIN     acg", "globalTitleAddress: 303555"} {
		if !strings.Contains(txt, s) {
			t.Errorf("text lacks %q:\n%s", s, txt)
		}
	}
	// Two M3UA messages back to back, then junk.
	msgs = DecodeHexArgs([]string{p01qM3UA + p05rM3UA + "ffff"})
	if len(msgs) != 3 || msgs[1].Offset != 104 || msgs[1].TCAP == nil || len(msgs[2].Errors) != 1 ||
		!strings.Contains(msgs[2].Errors[0], "2 trailing octets at offset 212") {
		t.Fatalf("%d messages: %+v", len(msgs), msgs[len(msgs)-1])
	}
}

// FuzzDecodeHex feeds arbitrary text through the hex parser, the layer
// detection and every decoder, text and JSON rendering included: nothing
// may panic, and every message either decodes or says why not.
func FuzzDecodeHex(f *testing.F) {
	for _, s := range []string{p05rTCAP, p05rSCCP, p05rM3UA, p01qM3UA, p01qM3UA + p05rM3UA,
		"01 00 03 01 00 00 00 10 00 11 00 08 00 00 00 01", "f6 09 c7 04 00 00 01 06 d7 01 06",
		"e4 1b c7 04 00 00 01 07 e8 13 ec 11 cf 01 01 d5 02 02 02 f2 00", "0x09:80", "zz", "01;e2;09"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range DecodeHexArgs([]string{s}) {
			_ = m.Text()
			if _, err := json.Marshal(m); err != nil {
				t.Fatalf("json: %v", err)
			}
			if m.M3UA == nil && m.SCCP == nil && m.TCAP == nil && len(m.Errors) == 0 {
				t.Fatalf("%q: nothing decoded and no error", s)
			}
		}
	})
}

// FuzzDecodeBytes is the same on raw octets (no hex layer in front).
func FuzzDecodeBytes(f *testing.F) {
	for _, s := range []string{p05rTCAP, p05rSCCP, p05rM3UA, p01qM3UA} {
		b, _ := ParseHex(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range DecodeBytes(b, "fuzz") {
			_ = m.Text()
			if _, err := json.Marshal(m); err != nil {
				t.Fatalf("json: %v", err)
			}
		}
	})
}
