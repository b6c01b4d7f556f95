package sip

import (
	"strings"
	"testing"
	"time"
)

func TestDTMFInfoRoundTrip(t *testing.T) {
	for _, mode := range []DTMFMode{DTMFInfo, DTMFInfoDTMF} {
		for _, d := range "0123456789*#ABCD" {
			ct, body := DTMFInfoBody(mode, d, 100*time.Millisecond)
			got, err := ParseDTMFInfo(ct+"; charset=utf-8", body)
			if err != nil || got != d {
				t.Errorf("%s %c: got %c, %v (body %q)", mode, d, got, err, body)
			}
		}
	}
}

func TestParseDTMFInfoForms(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		want     rune
		err      string
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', ""},
		{"Application/DTMF-Relay", "signal = 11\nduration=250", '#', ""},
		{"application/dtmf-relay", "Duration=160\r\n", 0, "without a Signal"},
		{"application/dtmf-relay", "Signal=5\r\nDuration=long\r\n", 0, "Duration \"long\""},
		{"application/dtmf-relay", "Signal=55", 0, `signal "55"`},
		{"application/dtmf", "b", 'B', ""},
		{"application/dtmf", "10", '*', ""},
		{"text/plain", "5", 0, "is not DTMF"},
		{"application/dtmf", strings.Repeat("1", 2000), 0, "at most"},
	} {
		got, err := ParseDTMFInfo(tc.ct, []byte(tc.body))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %q: error %v, want %q", tc.ct, tc.body, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %q: got %c, %v; want %c", tc.ct, tc.body, got, err, tc.want)
		}
	}
}

func FuzzParseDTMFInfo(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Add("application/dtmf-relay;x=y", []byte("signal=15"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		d, err := ParseDTMFInfo(ct, body)
		if err != nil {
			return
		}
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			t.Fatalf("digit %q is not a DTMF key", d)
		}
	})
}
