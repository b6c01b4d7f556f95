package b2bua

import (
	"errors"
	"strconv"
	"time"
)

// screen is the name-capture treatment (Call Intercept).
//
//	state      event                           next
//	start      -                               200 to the caller; name
//	name       name_record played; recording   hold (name recorded, or empty
//	           ends on '#', NameSilence after  when nobody spoke or '#' was
//	           speech, or NameMax              keyed during the prompt)
//	hold       please_hold played              ring (the caller hears
//	                                           ringback from now on)
//	ring       INVITE to the continue route    announce on 200
//	           (caller's From, PAI, Privacy)
//	           no answer within RingTimeout    CANCEL; voicemail (no-answer)
//	           486/600                         voicemail (user-busy)
//	           other failure                   voicemail (unavailable)
//	announce   subscriber hears                decide
//	           screen_call_from, the name (or
//	           screen_unknown_caller),
//	           screen_menu (a digit ends it)
//	decide     1                               bridge (accept)
//	           2                               BYE subscriber; caller hears
//	                                           screen_refused; BYE caller
//	           3                               BYE subscriber; voicemail
//	                                           (deflection)
//	           no digit within DecisionTimeout announce again, once; then
//	                                           BYE subscriber; voicemail
//	                                           (no-answer)
//	           another key                     announce again, without
//	                                           using up a round; the
//	                                           menuKeys-th such key: as
//	                                           no digit (voicemail,
//	                                           no-answer)
//	           subscriber hangs up             voicemail (unavailable)
//	bridge     RTP both ways, DTMF relayed     until either side hangs up
//	                                           (BYE to the other) or RTP
//	                                           stops (BYE to both)
//	any        caller hangs up                 CANCEL a ringing subscriber,
//	                                           BYE an answered one; end
//	                                           (abandoned)
//
// The name is kept in memory only, for as long as the call lasts.
func (c *call) screen() ending {
	// menuKeys bounds the keys not on the menu: a subscriber's device that
	// sends stray digits (a fax tone detector, a stuck key) would otherwise
	// keep the caller in ringback for as long as it goes on, since no ring
	// time-out runs once the subscriber has answered.
	const menuKeys = 3
	if err := c.answer(); err != nil {
		return c.mediaEnding(err)
	}
	start := time.Now()
	name, err := c.recordName()
	if err != nil {
		return c.endedBy(err)
	}
	c.name = name
	if len(name) > 0 {
		c.step("name", "recorded", samplesDur(uint32(len(name)/2)).Round(100*time.Millisecond).String())
	} else {
		c.step("name", "empty", time.Since(start).Round(100*time.Millisecond).String())
	}
	if err := c.say(c.caller, false, c.s.prompts.p[pPleaseHold]); err != nil {
		return c.endedBy(err)
	}
	uri, err := c.s.cont.Expand(c.d.called, c.d.calling, c.d.original)
	if err != nil {
		return c.endedBy(err)
	}
	c.startRingback()
	res, detail := c.dial("subscriber", uri, nil)
	c.step("subscriber", res.String(), detail)
	switch res {
	case dialAnswered:
	case dialAbandoned:
		return c.endedBy(errLegEnded)
	default:
		return c.toVoicemail(res.divertReason())
	}

	c.mu.Lock()
	sub, subDlg := c.out, c.outDlg
	c.mu.Unlock()
	who := c.s.prompts.p[pUnknownCaller]
	if len(c.name) > 0 {
		who = c.name
	}
	stray := 0
	for round := 1; round <= 2; round++ {
		sub.drainDigits()
		err := c.say(sub, true, c.s.prompts.p[pCallFrom], who, c.s.prompts.p[pScreenMenu])
		var k rune
		if err == nil {
			k, err = c.key(sub, c.s.cfg.DecisionTimeout, sub.ctx.Done())
		}
		if err != nil {
			if c.ctx.Err() == nil && (errors.Is(err, errLegEnded) || sub.ctx.Err() != nil) {
				c.step("screen", "hangup", "round "+strconv.Itoa(round))
				c.hangupOut(subDlg, sub)
				return c.toVoicemail("unavailable")
			}
			return c.endedBy(err)
		}
		switch k {
		case '1':
			c.step("screen", "accept", "")
			return c.bridge()
		case '2':
			c.step("screen", "refuse", "")
			c.hangupOut(subDlg, sub)
			c.stopRingback()
			if err := c.say(c.caller, false, c.s.prompts.p[pScreenRefused]); err != nil {
				return c.endedBy(err)
			}
			return endReleased
		case '3':
			c.step("screen", "voicemail", "")
			c.hangupOut(subDlg, sub)
			return c.toVoicemail("deflection")
		case 0:
			continue
		default:
			if stray++; stray < menuKeys {
				round-- // ask again, without using up a round
				continue
			}
			c.step("screen", "stray-keys", strconv.Itoa(stray)+" keys not on the menu, the last "+string(k))
			c.hangupOut(subDlg, sub)
			return c.toVoicemail("no-answer")
		}
	}
	c.step("screen", "timeout", c.s.cfg.DecisionTimeout.String()+" x2")
	c.hangupOut(subDlg, sub)
	return c.toVoicemail("no-answer")
}
