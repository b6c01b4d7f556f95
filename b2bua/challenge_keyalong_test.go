package b2bua

import (
	"strings"
	"testing"

	"github.com/emiago/diago"

	"callgate/policy"
)

// A caller who keys each digit of the challenge as soon as it hears it
// (as people do) hears every digit and passes: a key does not cut the
// digits short, it counts.
func TestChallengeKeyedAlong(t *testing.T) {
	h := newHarness(t, nil)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		if pm := answerAndListen(t, d); pm != nil {
			pm.speak(subscriberVoice)
			<-d.Context().Done()
		}
	})
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionChallenge})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	want := challengeRNG(42) // 4 9 7: no digit twice in a row, so each is heard apart
	for range 3 {
		d := rune('0' + want.IntN(10))
		c.pm.waitHeard("digit_" + string(d))
		c.pm.key(d)
	}
	c.pm.waitHeard("subscriber-voice")
	_ = c.d.Hangup(ctx)
	if got := h.endSteps(t); !strings.HasPrefix(got, "token=ok challenge=passed subscriber=") {
		t.Errorf("steps %s", got)
	}
}
