package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SIP INFO DTMF: the body is "Signal=5\r\nDuration=160\r\n" for
// application/dtmf-relay (the de facto format, Cisco/Asterisk), or the
// digit alone for application/dtmf (RFC 2976's usage in the field).
const (
	ContentTypeDTMFRelay = "application/dtmf-relay"
	ContentTypeDTMF      = "application/dtmf"
)

// maxInfoBody bounds what ParseDTMFInfo reads.
const maxInfoBody = 1024

// DTMFInfoBody returns the Content-Type and body of an INFO carrying digit
// d for mode DTMFInfo or DTMFInfoDTMF.
func DTMFInfoBody(mode DTMFMode, d rune, dur time.Duration) (contentType string, body []byte) {
	if mode == DTMFInfoDTMF {
		return ContentTypeDTMF, []byte(string(d))
	}
	return ContentTypeDTMFRelay, fmt.Appendf(nil, "Signal=%c\r\nDuration=%d\r\n", d, dur.Milliseconds())
}

// ParseDTMFInfo returns the digit an INFO body carries. contentType is the
// Content-Type header value (parameters allowed). For dtmf-relay the
// Signal line is required (digits 0-9 * # A-D, or the event codes 10-15
// some gateways send for * # A-D) and a Duration, when present, must be a
// number; for application/dtmf the body is the digit (or its code).
func ParseDTMFInfo(contentType string, body []byte) (rune, error) {
	if len(body) > maxInfoBody {
		return 0, fmt.Errorf("INFO body of %d bytes is not DTMF (at most %d)", len(body), maxInfoBody)
	}
	ct, _, _ := strings.Cut(contentType, ";")
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case ContentTypeDTMFRelay:
		var signal string
		found := false
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "signal":
				signal, found = strings.TrimSpace(v), true
			case "duration":
				if _, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err != nil {
					return 0, fmt.Errorf("INFO dtmf-relay Duration %q is not a number of milliseconds", strings.TrimSpace(v))
				}
			}
		}
		if !found {
			return 0, errors.New("INFO dtmf-relay body without a Signal= line")
		}
		return dtmfSignal(signal)
	case ContentTypeDTMF:
		return dtmfSignal(strings.TrimSpace(string(body)))
	}
	return 0, fmt.Errorf("INFO Content-Type %q is not DTMF (want %s or %s)", contentType, ContentTypeDTMFRelay, ContentTypeDTMF)
}

func dtmfSignal(s string) (rune, error) {
	if len(s) == 1 && strings.ContainsAny(s, "0123456789*#ABCDabcd") {
		return []rune(strings.ToUpper(s))[0], nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 10 && n <= 15 {
		return rune("*#ABCD"[n-10]), nil
	}
	return 0, fmt.Errorf("DTMF signal %q: want one of 0-9 * # A-D (or event code 10-15)", s)
}
