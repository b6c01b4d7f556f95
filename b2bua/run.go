package b2bua

import (
	"errors"
	"strconv"

	"callgate/policy"
)

// run carries out the call's decision (see the package documentation for
// each treatment's states) and returns how the call ended.
func (c *call) run() ending {
	if c.d.ivr {
		return c.ivr()
	}
	switch c.d.action {
	case policy.ActionAllow:
		return c.connect()
	case policy.ActionBlock:
		c.step("reject", "plain", "")
		return ending{why: "rejected", code: 603, phrase: "Decline"}
	case policy.ActionBlockWithAnnouncement:
		return c.reject()
	case policy.ActionScreen, policy.ActionChallenge, policy.ActionVoicemail:
		if c.d.pinAllowed {
			if e, done := c.pin(); done {
				return e
			}
		}
		switch c.d.action {
		case policy.ActionScreen:
			return c.screen()
		case policy.ActionChallenge:
			return c.challenge()
		}
		return c.voicemail()
	}
	c.s.log.Error("b2bua: decision without a usable action", "call_id", c.id, "action", uint8(c.d.action))
	return endFailed
}

// mediaEnding is the ending of a call whose media could not be set up: no
// RTP port (503 with Retry-After), the caller gone, or a failure.
func (c *call) mediaEnding(err error) ending {
	if errors.Is(err, errNoPorts) {
		c.s.m.overload.WithLabelValues("ports").Inc()
		return ending{why: "failed", code: 503, phrase: "Service Unavailable", retryAfter: true}
	}
	return c.endedBy(err)
}

// connect calls the subscriber over the continue route and bridges the
// call when they answer (allow, PIN right, challenge passed).
//
//	caller not answered (allow): 180 to the caller while the subscriber
//	    rings; answer -> 200 to the caller, bridge; busy -> 486; no answer
//	    or failure -> 480
//	caller answered (after PIN or challenge): ringback while the
//	    subscriber rings; answer -> bridge; busy, no answer, failure ->
//	    the voicemail target, or "not available" and release
func (c *call) connect() ending {
	uri, err := c.s.cont.Expand(c.d.called, c.d.calling, c.d.original)
	if err != nil {
		return c.endedBy(err)
	}
	if !c.answered && !c.early {
		_ = c.in.Ringing()
		res, detail := c.dial("subscriber", uri, nil)
		c.step("subscriber", res.String(), detail)
		switch res {
		case dialAnswered:
			if err := c.answer(); err != nil {
				return c.mediaEnding(err)
			}
			return c.bridge()
		case dialAbandoned:
			return c.endedBy(errLegEnded)
		case dialBusy:
			return ending{why: "released", code: 486, phrase: "Busy Here"}
		}
		return endReleased
	}
	if err := c.say(c.caller, false, c.s.prompts.p[pPleaseHold]); err != nil {
		return c.endedBy(err)
	}
	c.startRingback()
	res, detail := c.dial("subscriber", uri, nil)
	c.step("subscriber", res.String(), detail)
	switch res {
	case dialAnswered:
		return c.bridge()
	case dialAbandoned:
		return c.endedBy(errLegEnded)
	}
	return c.toVoicemail(res.divertReason())
}

func (r dialResult) String() string {
	switch r {
	case dialAnswered:
		return "answered"
	case dialNoAnswer:
		return "no-answer"
	case dialBusy:
		return "busy"
	case dialAbandoned:
		return "abandoned"
	}
	return "failed"
}

// divertReason is the Diversion reason (RFC 5806) for a call that goes to
// voicemail because of r.
func (r dialResult) divertReason() string {
	switch r {
	case dialNoAnswer:
		return "no-answer"
	case dialBusy:
		return "user-busy"
	}
	return "unavailable"
}

// reject is Reject with Media.
//
//	state     event                       next
//	start     RejectMode early            183 + SDP; announce
//	          RejectMode answer           200, ACK; announce
//	announce  announcement played         early: 603 Decline; answer: BYE
//	          caller CANCEL / BYE         end (abandoned)
//
// The announcement is the decision's (Config.Announcements maps its ID to
// a file); an ID without a file plays call_rejected, counted and logged.
func (c *call) reject() ending {
	pcm, ok := c.s.prompts.announcement(c.d.announcement)
	detail := strconv.FormatUint(uint64(c.d.announcement), 10)
	if !ok {
		c.s.m.fallbacks.Inc()
		detail += " (no file: call_rejected played)"
		if c.s.limit.allow() {
			c.s.log.Warn("b2bua: announcement has no file in b2bua.announcements; playing call_rejected", "announcement", c.d.announcement)
		}
	}
	var err error
	if c.s.cfg.RejectMode == RejectAnswer {
		err = c.answer()
	} else {
		err = c.earlyMedia()
	}
	if err != nil {
		return c.mediaEnding(err)
	}
	if err := c.say(c.caller, false, pcm); err != nil {
		return c.endedBy(err)
	}
	c.step("reject", "announced", detail)
	return ending{why: "rejected", code: 603, phrase: "Decline"}
}
