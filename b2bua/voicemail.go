package b2bua

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
)

// voicemail is the Voicemail treatment (announce-then-voicemail): the
// caller goes straight to the voicemail target.
//
//	state     event                         next
//	start     -                             183 + SDP (early media; the
//	                                        caller is answered only when
//	                                        voicemail answers)
//	announce  the decision's announcement   divert (unconditional)
//	          (if any) played
//	divert    see toVoicemail
func (c *call) voicemail() ending {
	if !c.answered {
		if err := c.earlyMedia(); err != nil {
			return c.mediaEnding(err)
		}
	}
	if c.d.announcement != 0 {
		pcm, ok := c.s.prompts.announcement(c.d.announcement)
		if !ok {
			c.s.m.fallbacks.Inc()
			pcm = nil // no "goodbye" before a voicemail: skip it
		}
		if pcm != nil {
			if err := c.say(c.caller, false, pcm); err != nil {
				return c.endedBy(err)
			}
		}
	}
	return c.toVoicemail("unconditional")
}

// toVoicemail diverts the call to the decision's voicemail target.
//
//	state     event                         next
//	start     no voicemail target           not_available; release
//	          a target                      voicemail_transfer played;
//	                                        ring (ringback to the caller)
//	ring      INVITE to the target with     bridge on 200 (an early-media
//	          the caller's identity and     caller is answered first)
//	          Diversion / History-Info
//	          naming the subscriber
//	          no answer, busy, failure      not_available; release
//	bridge    as in screen
func (c *call) toVoicemail(reason string) ending {
	c.stopRingback()
	uri, ok := c.voicemailURI(reason)
	if !ok {
		c.step("voicemail", "none", reason)
		if err := c.say(c.caller, false, c.s.prompts.p[pNotAvailable]); err != nil {
			return c.endedBy(err)
		}
		return endReleased
	}
	if err := c.say(c.caller, false, c.s.prompts.p[pVoicemail]); err != nil {
		return c.endedBy(err)
	}
	c.startRingback()
	res, detail := c.dial("voicemail", uri, c.diversionHeaders(reason))
	switch res {
	case dialAnswered:
		c.step("voicemail", "connected", reason)
		if !c.answered {
			c.stopRingback()
			if err := c.answer(); err != nil {
				return c.endedBy(err)
			}
		}
		return c.bridge()
	case dialAbandoned:
		c.step("voicemail", "abandoned", reason)
		return c.endedBy(errLegEnded)
	}
	c.step("voicemail", res.String(), detail)
	c.stopRingback()
	if err := c.say(c.caller, false, c.s.prompts.p[pNotAvailable]); err != nil {
		return c.endedBy(err)
	}
	return endReleased
}

// rfc4458Cause maps a Diversion reason to the cause URI parameter of RFC
// 4458 (voicemail URIs).
var rfc4458Cause = map[string]int{
	"unconditional": 302, "user-busy": 486, "no-answer": 408, "deflection": 487, "unavailable": 480,
}

// voicemailURI is the Request-URI of the voicemail leg: the decision's
// target (a sip: or sips: URI as it is, a number through VoicemailRoute),
// with the RFC 4458 parameters target (the subscriber) and cause.
func (c *call) voicemailURI(reason string) (sip.Uri, bool) {
	v := strings.TrimSpace(c.d.voicemail)
	if v == "" {
		return sip.Uri{}, false
	}
	var u sip.Uri
	lv := strings.ToLower(v)
	if strings.HasPrefix(lv, "sip:") || strings.HasPrefix(lv, "sips:") {
		if err := sip.ParseUri(v, &u); err != nil {
			c.s.log.Warn("b2bua: voicemail target is not a SIP URI", "voicemail", v, "error", err)
			return u, false
		}
	} else {
		n, err := e164.Parse(v)
		if err != nil {
			c.s.log.Warn("b2bua: voicemail target is neither a number nor a SIP URI", "voicemail", v, "error", err)
			return u, false
		}
		if u, err = c.s.vmRoute.Expand(n, c.d.calling, c.d.called); err != nil {
			c.s.log.Warn("b2bua: voicemail route", "error", err)
			return u, false
		}
	}
	if u.Scheme == "sip" || u.Scheme == "sips" {
		if u.UriParams == nil {
			u.UriParams = sip.NewParams()
		}
		u.UriParams.Add("target", c.d.called.String())
		u.UriParams.Add("cause", strconv.Itoa(rfc4458Cause[reason]))
	}
	return u, true
}

// diversionHeaders name the subscriber as the party the call was diverted
// from, so the voicemail platform picks the mailbox:
//
//	Diversion: <SUB>;reason=REASON;counter=1                  (RFC 5806)
//	History-Info: <SUB?Reason=SIP%3Bcause%3DCAUSE>;index=1,
//	              <VOICEMAIL>;index=1.1;mp=1                  (RFC 7044)
//
// SUB is the subscriber's number through the continue route.
func (c *call) diversionHeaders(reason string) []sip.Header {
	sub, err := c.s.cont.Expand(c.d.called, c.d.calling, c.d.original)
	if err != nil {
		return nil
	}
	subURI := sub.String()
	cause := strconv.Itoa(rfc4458Cause[reason])
	vm, _ := c.voicemailURI(reason)
	return []sip.Header{
		sip.NewHeader("Diversion", "<"+subURI+">;reason="+reason+";counter=1"),
		sip.NewHeader("History-Info", "<"+subURI+"?Reason=SIP%3Bcause%3D"+cause+">;index=1, <"+vm.String()+">;index=1.1;mp=1"),
	}
}
