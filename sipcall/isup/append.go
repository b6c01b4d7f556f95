package isup

import "fmt"

// usiSpeech is the User Service Information an ANSI IAM gets when the IAM
// holds none: ITU-T coding, speech; circuit mode, 64 kbit/s; layer 1
// G.711 µ-law (T1.113 §3.57).
var usiSpeech = []byte{0x80, 0x90, 0xa2}

// AppendIAM appends m, from its message type code on, in variant v's
// layout: the fixed part, the called party number and the optional
// parameters m has (calling party number, original called number,
// redirecting number, redirection information), then the end of optional
// parameters.
func AppendIAM(dst []byte, v Variant, m *IAM) ([]byte, error) {
	if v != ITU && v != ANSI {
		return dst, fmt.Errorf("isup: AppendIAM needs variant itu or ansi, not %s", v)
	}
	called, err := appendNumber(nil, &m.Called, false)
	if err != nil {
		return dst, fmt.Errorf("isup: called party number: %w", err)
	}
	dst = append(dst, msgIAM, m.NatureOfConnection, byte(m.ForwardCall), byte(m.ForwardCall>>8), m.CallingCategory)
	if v == ITU {
		dst = append(dst, m.TransmissionMedium)
		// Pointers: the called number right after the two pointers, the
		// optional part after it.
		dst = append(dst, 2, byte(1+len(called)))
	} else {
		usi := m.UserServiceInfo
		if len(usi) == 0 {
			usi = usiSpeech
		}
		if len(usi) > 255 {
			return dst, fmt.Errorf("isup: user service information of %d octets", len(usi))
		}
		dst = append(dst, 3, byte(3+len(usi)), byte(2+len(usi)+len(called)))
		dst = append(dst, byte(len(usi)))
		dst = append(dst, usi...)
	}
	dst = append(dst, called...)
	opts := []struct {
		has  bool
		code byte
		n    *Number
		name string
	}{
		{m.HasCalling, parCallingNumber, &m.Calling, "calling party number"},
		{m.HasRedirecting, parRedirectingNum, &m.Redirecting, "redirecting number"},
		{m.HasOriginalCalled, parOriginalCalled, &m.OriginalCalled, "original called number"},
	}
	for _, o := range opts {
		if !o.has {
			continue
		}
		p, err := appendNumber(nil, o.n, true)
		if err != nil {
			return dst, fmt.Errorf("isup: %s: %w", o.name, err)
		}
		dst = append(dst, o.code)
		dst = append(dst, p...)
	}
	if m.HasRedirection {
		r := &m.Redirection
		dst = append(dst, parRedirectionInfo, 2, r.Indicator&0x07|r.OriginalReason<<4, r.Counter&0x07|r.Reason<<4)
	}
	return append(dst, parEnd), nil
}

// appendNumber appends an address parameter with its length octet.
func appendNumber(dst []byte, n *Number, withPresentation bool) ([]byte, error) {
	if len(n.Digits) > 32 {
		return dst, fmt.Errorf("%d digits (at most 32)", len(n.Digits))
	}
	odd := byte(0)
	if len(n.Digits)%2 == 1 {
		odd = 0x80
	}
	second := n.Plan & 0x07 << 4
	if withPresentation {
		second |= n.Presentation&0x03<<2 | n.Screening&0x03
	}
	dst = append(dst, byte(2+(len(n.Digits)+1)/2), odd|n.Nature&0x7f, second)
	for i := 0; i < len(n.Digits); i += 2 {
		lo, err := nibble(n.Digits[i])
		if err != nil {
			return dst, err
		}
		hi := byte(0) // filler
		if i+1 < len(n.Digits) {
			if hi, err = nibble(n.Digits[i+1]); err != nil {
				return dst, err
			}
		}
		dst = append(dst, lo|hi<<4)
	}
	return dst, nil
}

func nibble(c byte) (byte, error) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', nil
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, nil
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, nil
	}
	return 0, fmt.Errorf("digit %q is not an address signal (0-9, A-F)", c)
}
