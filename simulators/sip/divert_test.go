package sip

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitHeaderEntries(t *testing.T) {
	for in, want := range map[string][]string{
		`<sip:a@h>;reason=x, <tel:+1>`:              {`<sip:a@h>;reason=x`, `<tel:+1>`},
		`"Smith, John" <sip:a@h;x=1,2>, tel:+1 ,, `: {`"Smith, John" <sip:a@h;x=1,2>`, `tel:+1`},
		`"unterminated, <sip:a@h>`:                  {`"unterminated, <sip:a@h>`},
		`"esc \" , x" <sip:b@h>`:                    {`"esc \" , x" <sip:b@h>`},
		``:                                          nil,
	} {
		if got := SplitHeaderEntries(in); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestEntryNumber(t *testing.T) {
	for in, want := range map[string]string{
		`<sip:+13035550100@gw.example;user=phone>;reason=unconditional`: "+13035550100",
		`"Bob" <sips:3035550100;npdi@gw>;index=1`:                       "3035550100",
		`<tel:+13035550100;rn=+1720>;reason=x`:                          "+13035550100",
		`tel:+13035550100;npdi`:                                         "+13035550100",
		`sip:alice:secret@host;transport=udp`:                           "alice",
		`<http://example.com>`:                                          "",
		`<sip:host-only>`:                                               "",
		`garbage`:                                                       "",
	} {
		if got := EntryNumber(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestPickMailbox(t *testing.T) {
	to := "sip:+17205559999@vm"
	for _, tc := range []struct {
		name      string
		div, hist []string
		want      Mailbox
	}{
		{"one diversion", []string{DiversionHeader("+13035550100")}, nil, Mailbox{"+13035550100", "Diversion"}},
		{"the oldest diversion, over headers", []string{DiversionHeader("+17205550123"), DiversionHeader("+13035550100")}, nil, Mailbox{"+13035550100", "Diversion"}},
		{"the oldest diversion, in one header", []string{"<tel:+17205550123>;reason=deflection, <sip:+13035550100@h>;reason=unconditional"}, nil, Mailbox{"+13035550100", "Diversion"}},
		{"diversion before history-info", []string{DiversionHeader("+13035550100")}, []string{HistoryInfoHeader([]string{"+15555550000"}, to)}, Mailbox{"+13035550100", "Diversion"}},
		{"history-info first entry", nil, []string{HistoryInfoHeader([]string{"+13035550100"}, to)}, Mailbox{"+13035550100", "History-Info"}},
		{"history-info of one entry is no retargeting", nil, []string{"<sip:+13035550100@h>;index=1"}, Mailbox{"+17205559999", "To"}},
		{"nothing", nil, nil, Mailbox{"+17205559999", "To"}},
	} {
		if got := PickMailbox(tc.div, tc.hist, to); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestRedirectionHeaders(t *testing.T) {
	if got := DiversionHeader("+13035550100"); got != "<tel:+13035550100>;reason=unconditional;counter=1" {
		t.Errorf("Diversion %q", got)
	}
	if got := DiversionHeader("<sip:x@y>;reason=user-busy"); got != "<sip:x@y>;reason=user-busy" {
		t.Errorf("Diversion passes header forms: %q", got)
	}
	got := HistoryInfoHeader([]string{"+13035550100"}, "sip:+17205550123@gw;user=phone")
	if want := "<tel:+13035550100>;index=1, <sip:+17205550123@gw;user=phone;cause=302>;index=1.1"; got != want {
		t.Errorf("History-Info\n got %q\nwant %q", got, want)
	}
}

// FuzzRedirectionHeaders: splitting and picking never panic, entries never
// hold a comma outside <> or quotes, and a picked number is a substring of
// what was received.
func FuzzRedirectionHeaders(f *testing.F) {
	f.Add(`<sip:+13035550100@gw;user=phone>;reason=unconditional, <tel:+1720>`, `<tel:+1303>;index=1, <sip:x@y;cause=302>;index=1.1`, "sip:+1720@vm")
	f.Add(`"a,b" <sip:c@d>`, ``, `tel:+1`)
	f.Fuzz(func(t *testing.T, div, hist, to string) {
		for _, e := range SplitHeaderEntries(div) {
			if e == "" || strings.TrimSpace(e) != e {
				t.Fatalf("entry %q not trimmed", e)
			}
		}
		m := PickMailbox([]string{div}, []string{hist}, to)
		if m.Number != "" && !strings.Contains(div+hist+to, m.Number) {
			t.Fatalf("mailbox %q from nowhere", m.Number)
		}
	})
}
