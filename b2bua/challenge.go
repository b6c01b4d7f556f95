package b2bua

import (
	"strconv"
	"time"
)

// challenge is the DTMF challenge: a robocaller cannot repeat digits read
// out to it, a human can.
//
//	state     event                            next
//	start     -                                200 to the caller; draw
//	                                           ChallengeDigits digits; say
//	say       challenge_intro and the digits   collect
//	          (challenge_wrong first on a
//	          retry), played to the end: a
//	          caller keys along as it hears
//	          them, and a key must not cut
//	          off the digits still to come
//	collect   ChallengeDigits digits keyed     compare
//	          within ChallengeTime of the end
//	          of the prompt
//	          ChallengeTime passes             compare (what was keyed)
//	compare   equal                            connect (passed)
//	          not equal, tries left            say (same digits)
//	          not equal, ChallengeTries used   challenge_failed; release
//	any       caller hangs up                  end (abandoned)
func (c *call) challenge() ending {
	if err := c.answer(); err != nil {
		return c.mediaEnding(err)
	}
	l := c.caller
	n := c.s.cfg.ChallengeDigits
	want := c.s.challengeDigits(n)
	prompt := [][]byte{c.s.prompts.p[pChallengeIntro]}
	for _, d := range want {
		prompt = append(prompt, c.s.prompts.digits[d])
	}
	for try := 1; ; try++ {
		l.drainDigits()
		say := prompt
		if try > 1 {
			say = append([][]byte{c.s.prompts.p[pChallengeWrong]}, prompt...)
		}
		// No barge-in: the digits keyed meanwhile stay queued and count.
		if err := c.say(l, false, say...); err != nil {
			return c.endedBy(err)
		}
		got, err := c.collect(l, n, c.s.cfg.ChallengeTime)
		if err != nil {
			return c.endedBy(err)
		}
		detail := "try " + strconv.Itoa(try) + " of " + strconv.Itoa(c.s.cfg.ChallengeTries)
		if equalDigits(got, want) {
			c.step("challenge", "passed", detail)
			return c.connect()
		}
		if len(got) < n {
			detail += ", timeout"
		}
		c.step("challenge", "wrong", detail)
		if try >= c.s.cfg.ChallengeTries {
			c.step("challenge", "failed", detail)
			if err := c.say(l, false, c.s.prompts.p[pChallengeFail]); err != nil {
				return c.endedBy(err)
			}
			return endReleased
		}
	}
}

// collect gathers up to n digits from l within d.
func (c *call) collect(l *leg, n int, d time.Duration) ([]rune, error) {
	deadline := time.Now().Add(d)
	var got []rune
	for len(got) < n {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		k, err := c.key(l, left, nil)
		if err != nil {
			return got, err
		}
		if k == 0 {
			break
		}
		got = append(got, k)
	}
	return got, nil
}

func equalDigits(got []rune, want []byte) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != rune('0'+want[i]) {
			return false
		}
	}
	return true
}
