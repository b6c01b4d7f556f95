package stir_test

import (
	"testing"

	"callgate/stir"
)

func TestTNAuthList(t *testing.T) {
	der, err := stir.MarshalTNAuthList("567A")
	if err != nil {
		t.Fatal(err)
	}
	// RFC 8226's EXPLICIT tags: SEQUENCE { [0] { IA5String "567A" } }.
	if want := []byte{0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, '5', '6', '7', 'A'}; string(der) != string(want) {
		t.Fatalf("encoding % x, want % x", der, want)
	}
	for _, c := range []struct {
		name string
		der  []byte
		spc  string
		ok   bool
	}{
		{"explicit SPC", der, "567A", true},
		{"implicit SPC", []byte{0x30, 0x06, 0x80, 0x04, '5', '6', '7', 'A'}, "567A", true},
		{"TN only", []byte{0x30, 0x0e, 0xa2, 0x0c, 0x16, 0x0a, '2', '1', '5', '5', '5', '5', '1', '2', '1', '2'}, "", true},
		{"empty list", []byte{0x30, 0x00}, "", false},
		{"not a sequence", []byte{0x04, 0x00}, "", false},
		{"unknown tag", []byte{0x30, 0x04, 0xa5, 0x02, 0x05, 0x00}, "", false},
		{"trailing bytes", append(append([]byte{}, der...), 0), "", false},
	} {
		l, err := stir.ParseTNAuthList(c.der)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.name, err)
			continue
		}
		if c.ok && c.spc != "" && (len(l.SPCs) != 1 || l.SPCs[0] != c.spc) {
			t.Errorf("%s: SPCs %q", c.name, l.SPCs)
		}
	}
}

func TestCanonicalTN(t *testing.T) {
	for in, want := range map[string]string{
		"+12155551212": "12155551212", "12155551212": "12155551212", "2155551212": "12155551212",
		"(215) 555-1212": "12155551212", "+1-215-555-1212": "12155551212", "+12155551212;npdi": "12155551212",
		"+442079460000": "442079460000", "1215555121": "1215555121",
	} {
		if got, ok := stir.CanonicalTN(in); !ok || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "+", "alice", "++1215", "1234567890123456", "#123"} {
		if got, ok := stir.CanonicalTN(bad); ok {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
	for in, want := range map[string]string{
		`"A" <sip:+12155551212@x.example;user=phone>;tag=1`: "12155551212",
		`<tel:+1-215-555-1212;phone-context=x>`:             "12155551212",
		`sip:2155551212@x.example;tag=2`:                    "12155551212",
		`<sip:%2B12155551212@x.example>`:                    "12155551212",
		`<sips:+12155551212:pw@x.example>`:                  "12155551212",
		`"Sales <East>" <sip:+12155551212@x.example>;tag=3`: "12155551212",
		`"a \"<b>\"; c" <tel:+12155551212>`:                 "12155551212",
	} {
		if got, ok := stir.TNFromHeader(in); !ok || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{`<sip:alice@x.example>`, `<mailto:a@b>`, `<sip:x.example>`, `"unterminated <sip:1@x`, `"A" sip:+12155551212@x`} {
		if got, ok := stir.TNFromHeader(bad); ok {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}
