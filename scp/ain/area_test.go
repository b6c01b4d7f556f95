package ain

import (
	"errors"
	"testing"

	"callgate/e164"
)

// TestE164InArea reads AINDigits contents as switches send them (octet 1:
// odd/even + nature of address, octet 2: numbering plan, presentation,
// screening, then BCD low nibble first).
func TestE164InArea(t *testing.T) {
	cases := []struct {
		name     string
		contents string // AINDigits contents, hex
		npa      NPA
		want     string // E.164, or "" for an error
		noArea   bool   // the error is ErrNoArea
	}{
		{"subscriber 555-1212 in 303", "811355151202", 303, "+13035551212", false},
		{"subscriber, operator requested", "f11355151202", 303, "+13035551212", false},
		{"unknown nature, 7 digits as dialled", "821355151202", 719, "+17195551212", false},
		{"subscriber and no area", "811355151202", 0, "", true},
		{"subscriber, area not an area code", "811355151202", 123, "", true},
		{"exchange starting with 1", "811351151202", 303, "", false},
		{"national 10 digits: npa unused", "03131759552121", 303, "+17195551212", false},
		{"national 7 digits is malformed, not local", "831355151202", 303, "", false},
		{"subscriber 10 digits as today", "03131759552121", 0, "+17195551212", false},
		{"international", "0413440297640000", 303, "+442079460000", false},
		{"subscriber 6 digits", "011355151200", 303, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, msg := parseDigits(unhex(t, c.contents))
			if msg != "" {
				t.Fatalf("test input: %s", msg)
			}
			n, err := d.E164InArea(c.npa)
			if c.want == "" {
				if err == nil || errors.Is(err, ErrNoArea) != c.noArea {
					t.Fatalf("got %v, %v; want an error (no area: %v)", n, err, c.noArea)
				}
				return
			}
			if err != nil || n != e164.MustParse(c.want) {
				t.Fatalf("got %v, %v; want %s", n, err, c.want)
			}
		})
	}
}

func TestNPAs(t *testing.T) {
	if a, err := ParseNPA("303"); err != nil || a != 303 || a.String() != "303" {
		t.Errorf("ParseNPA(303) = %v, %v", a, err)
	}
	for _, bad := range []string{"", "30", "3033", "103", "0a3", "3x3"} {
		if _, err := ParseNPA(bad); err == nil {
			t.Errorf("ParseNPA(%q) accepted", bad)
		}
	}
	if a, ok := NPAOf(e164.MustParse("+17195551212")); !ok || a != 719 {
		t.Errorf("NPAOf = %v %v", a, ok)
	}
	if _, ok := NPAOf(e164.MustParse("+442079460000")); ok {
		t.Error("NPAOf an international number")
	}
	dn, _ := ParseDN("4155550100")
	if a, ok := dn.NPA(); !ok || a != 415 {
		t.Errorf("DN NPA = %v %v", a, ok)
	}
	if _, ok := (DN{0x10, 0x00, 0, 0, 0}).NPA(); ok {
		t.Error("DN 010... has an area code")
	}
	if NPA(0).String() != "none" {
		t.Error(NPA(0).String())
	}
}

// TestE164InAreaDoesNotAllocate: it runs on the query path.
func TestE164InAreaDoesNotAllocate(t *testing.T) {
	d, _ := parseDigits(unhex(t, "811355151202"))
	if n := testing.AllocsPerRun(100, func() { _, _ = d.E164InArea(303) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzE164InArea: any AINDigits contents and area code: no panic; a local
// number that reads is the area code followed by its 7 digits, anything
// else reads exactly as E164 reads it.
func FuzzE164InArea(f *testing.F) {
	f.Add([]byte{0x81, 0x13, 0x55, 0x15, 0x12, 0x02}, uint16(303))
	f.Add([]byte{0x03, 0x13, 0x17, 0x59, 0x55, 0x21, 0x21}, uint16(0))
	f.Add([]byte{0x82, 0x13, 0x51, 0x15, 0x12, 0x02}, uint16(999))
	f.Fuzz(func(t *testing.T, contents []byte, area uint16) {
		d, msg := parseDigits(contents)
		if msg != "" {
			return
		}
		npa := NPA(area)
		n, err := d.E164InArea(npa)
		if !d.Local() {
			m, err2 := d.E164()
			if n != m || (err == nil) != (err2 == nil) {
				t.Fatalf("non-local %s: %v %v, E164 %v %v", d, n, err, m, err2)
			}
			return
		}
		if err != nil {
			return
		}
		if a, ok := NPAOf(n); !ok || a != npa || n.Digits()[4:] != d.String() {
			t.Fatalf("local %s in %v read as %v", d, npa, n)
		}
	})
}

func FuzzParseNPA(f *testing.F) {
	for _, s := range []string{"303", "200", "999", "199", "3a3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseNPA(s)
		if err != nil {
			return
		}
		if !a.Valid() || a.String() != s {
			t.Fatalf("ParseNPA(%q) = %v", s, a)
		}
	})
}
