package b2bua

import (
	"errors"
	"strings"
)

// DTMF in SIP INFO (diago reads RFC 4733 events but answers INFO with 406).
// Two bodies are in use:
//
//	application/dtmf-relay   "Signal=5\r\nDuration=160\r\n" (Signal may be
//	                         0-9 * # A-D, or the event number 10 for *, 11 for #)
//	application/dtmf         "5" (the same signal alone)

var errNoDTMF = errors.New("no DTMF signal in the INFO body")

// maxINFO bounds the body looked at.
const maxINFO = 1024

// parseDTMFInfo returns the digit an INFO body carries, for the content
// types above (parameters after ';' are ignored, case does not matter).
func parseDTMFInfo(contentType string, body []byte) (rune, error) {
	if len(body) > maxINFO {
		return 0, errors.New("INFO body too large")
	}
	ct, _, _ := strings.Cut(contentType, ";")
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "application/dtmf-relay":
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				return dtmfSignal(strings.TrimSpace(v))
			}
		}
		return 0, errNoDTMF
	case "application/dtmf":
		return dtmfSignal(strings.TrimSpace(string(body)))
	}
	return 0, errors.New("content type is not application/dtmf-relay or application/dtmf")
}

// dtmfSignal maps one signal to its digit.
func dtmfSignal(s string) (rune, error) {
	switch {
	case len(s) == 1:
		c := rune(s[0])
		switch {
		case c >= '0' && c <= '9', c == '*', c == '#':
			return c, nil
		case c >= 'A' && c <= 'D':
			return c, nil
		case c >= 'a' && c <= 'd':
			return c - 'a' + 'A', nil
		}
	case s == "10":
		return '*', nil
	case s == "11":
		return '#', nil
	case s == "12", s == "13", s == "14", s == "15":
		return rune('A' + s[1] - '2'), nil
	}
	return 0, errNoDTMF
}
