package sip

import (
	"encoding/json"
	"strings"
	"testing"
)

// sipsim's JSON spells the Call-ID and the Request-URI one way in every
// output, as its replay does (callID, requestURI) and as sspsim spells its
// initialisms (queryTID): call and answer said callId and requestUri.
func TestJSONNamesOneSpelling(t *testing.T) {
	for name, v := range map[string]any{
		"call":   Result{CallID: "c", RequestURI: "sip:x"},
		"answer": AnswerResult{CallID: "c", RequestURI: "sip:x"},
		"replay": ReplayInvite{CallID: "c", RequestURI: "sip:x"},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); !strings.Contains(s, `"callID":"c"`) || !strings.Contains(s, `"requestURI":"sip:x"`) {
			t.Errorf("%s: %s, want callID and requestURI", name, s)
		}
	}
}
