package e164

import "fmt"

// A dialled number is what a caller on a North American line keys to place a
// call, prefixes and all. The toll-fraud lockdown classifies where an
// outgoing call goes, so it must read every form a switch or an outbound
// trunk passes on unaltered, not only the ones a number list holds: a locked
// line that could reach abroad by dialling "01" or a carrier's access code
// first would not be locked.

// cacDigits is the length of a carrier access code, 101XXXX (ATIS-0300113:
// 101 and a four-digit carrier identification code).
const cacDigits = 7

// ParseDialled is Parse for a dialled string: it accepts the same separators
// and a leading '+', and reads the digits as FromDialled does.
func ParseDialled(s string) (Number, error) {
	return parse(s, true)
}

// FromDialled reads digits (values 0-9) as dialled under the NANP dialling
// plan. It reads everything FromDigits reads, and also
//
//	101XXXX + number  a carrier access code (dial-around) before any of the
//	                  forms here: the code is dropped
//	01 + CC...        operator-assisted international -> +CC...
//	0 + NPA-NXX-XXXX  operator-assisted national      -> +1NPANXXXXXX
//
// A carrier access code or an operator request with no number after it
// ("1010288", "1010288 0", "0") reaches no number and is an error, as is
// anything FromDigits refuses. international has FromDigits's meaning and
// turns the dialling plan off. It does not allocate on success.
func FromDialled(d []byte, international bool) (Number, error) {
	if international {
		return FromDigits(d, true)
	}
	if len(d) > cacDigits && d[0] == 1 && d[1] == 0 && d[2] == 1 {
		// No NANP number starts 101 (area codes start with 2-9), so the
		// prefix is unambiguous.
		d = d[cacDigits:]
	}
	switch {
	case len(d) > 3 && d[0] == 0 && d[1] == 1 && d[2] == 1:
		// 011 + CC: FromDigits's own form, ahead of 01 + CC.
	case len(d) > 2 && d[0] == 0 && d[1] == 1:
		n, err := FromDigits(d[2:], true)
		if err != nil {
			return 0, fmt.Errorf("operator-assisted international 01 + %d digits: %w", len(d)-2, err)
		}
		return n, nil
	case len(d) == 11 && d[0] == 0 && isNANP(d[1:]):
		return pack1(d[1:]), nil
	}
	return FromDigits(d, false)
}
