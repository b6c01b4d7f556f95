package ain

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"callgate/e164"
)

// TestSetE164MatchesDialledString checks the in-place number encoder
// (SetE164, under DigitsFromE164) digit for digit against ParseDigits of
// the number written out as each nature of address reads it, over numbers
// of every length, NANP and not: the encoder packs the BCD from the last
// digit, so an off-by-one in the nibble order or the 011 prefix shows here.
func TestSetE164MatchesDialledString(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 11))
	nums := []e164.Number{e164.MustParse("+17205550123"), e164.MustParse("+442079460000"), e164.MustParse("+4930123456"), 1, 12, 123456789012345}
	for range 2000 {
		n := e164.Number(r.Uint64N(1_000_000_000_000_000))
		if r.IntN(2) == 0 {
			n = e164.Number(10_000_000_000 + r.Uint64N(10_000_000_000)) // NANP
		}
		nums = append(nums, n)
	}
	for _, n := range nums {
		if n == 0 {
			continue
		}
		all := n.String()[1:] // without "+"
		for _, noa := range []NatureOfAddress{NOANational, NOANationalOpReq, NOASubscriber, NOASubscriberOpReq, NOAInternational, NOAInternationalOpReq, NOAUnknown} {
			var want string
			switch noa {
			case NOANational, NOANationalOpReq:
				want = all[min(1, len(all)):]
			case NOASubscriber, NOASubscriberOpReq:
				want = all[min(4, len(all)):]
			case NOAInternational, NOAInternationalOpReq:
				want = all
			case NOAUnknown:
				want = "011" + all
				if n.IsNANP() {
					want = all[1:]
				}
			}
			needNANP := noa == NOANational || noa == NOANationalOpReq || noa == NOASubscriber || noa == NOASubscriberOpReq
			got, err := DigitsFromE164(n, noa)
			if needNANP && !n.IsNANP() {
				if err == nil {
					t.Errorf("DigitsFromE164(%d, %s) = %s, want an error", n, noa, got)
				}
				continue
			}
			if err != nil {
				t.Fatalf("DigitsFromE164(%d, %s): %v", n, noa, err)
			}
			exp, err := ParseDigits(want, noa)
			if err != nil {
				t.Fatal(err)
			}
			if got != exp {
				t.Errorf("DigitsFromE164(%d, %s) = %s %x, want %s %x", n, noa, got, got.bcd, exp, exp.bcd)
			}
			var in Digits
			in.Presentation = PresentationRestricted // overwritten
			if err := in.SetE164(n, noa); err != nil || in != exp {
				t.Errorf("SetE164(%d, %s) = %s, %v, want %s", n, noa, in, err, exp)
			}
		}
	}
	var d Digits
	if err := d.SetE164(0, NOANational); err != ErrNoDigits || d != (Digits{}) {
		t.Errorf("SetE164(0) = %s, %v, want zero Digits and ErrNoDigits", d, err)
	}
}

// E164 unpacks two digits an octet: every number reads back as encoded,
// and the first non-decimal digit is named by its position, odd or even,
// whatever follows it.
func TestE164DigitPositions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		n := e164.Number(1 + r.Uint64N(999_999_999_999_999))
		d, err := DigitsFromE164(n, NOAInternational)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := d.E164(); err != nil && !errors.Is(err, ErrNotE164) || err == nil && got != n {
			t.Fatalf("%s read back as %v, %v", d, got, err)
		}
		p := r.IntN(d.Len())
		bad := byte(10 + r.IntN(6))
		d.set(p, bad)
		for k := p + 1; k < d.Len(); k++ {
			if r.IntN(2) == 0 {
				d.set(k, byte(10+r.IntN(6)))
			}
		}
		_, err = d.E164()
		want := fmt.Sprintf("non-decimal digit %X at position %d", bad, p+1)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: E164 error %v, want %q", d, err, want)
		}
	}
}
