package sip

import (
	"strings"
	"testing"
)

// An answer that repeats the early media's SDP (another origin version
// at most) leaves the media alone; one that moves the address, the port,
// the codecs or the direction does not.
func TestSameMedia(t *testing.T) {
	const early = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Sip Go Media\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n"
	for _, tc := range []struct {
		name, from, to string
		same           bool
	}{
		{"identical", "", "", true},
		{"new origin version", "o=- 1 1 ", "o=- 1 2 ", true},
		{"other address", "c=IN IP4 127.0.0.1", "c=IN IP4 127.0.0.2", false},
		{"other port", "m=audio 30000", "m=audio 30002", false},
		{"other codec", "RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000", "RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000", false},
		{"other direction", "a=sendrecv", "a=sendonly", false},
	} {
		answer := early
		if tc.from != "" {
			answer = strings.Replace(early, tc.from, tc.to, 1)
		}
		if got := sameMedia([]byte(early), []byte(answer)); got != tc.same {
			t.Errorf("%s: sameMedia %v, want %v", tc.name, got, tc.same)
		}
	}
	if sameMedia([]byte(early), []byte("not sdp")) {
		t.Error("an answer that is not SDP counts as the same media")
	}
}
