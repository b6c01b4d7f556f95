package b2bua

import (
	"strconv"

	"callgate/store"
)

// pin offers the override PIN before the treatment, when the decision
// allows it (the subscriber has a PIN). done is false when the treatment
// is to go on (no PIN entered, or PIN entry locked).
//
//	state     event                          next
//	start     -                              200 to the caller; prompt
//	prompt    pin_enter played (a digit      first
//	          ends it)
//	first     '*', '#' or no digit within    treatment (pin skipped)
//	          PINFirstDigit
//	          a digit                        collect
//	collect   digits until '#', PINMaxDigits lock
//	          or DigitTimeout between them
//	lock      the subscriber's PIN locked    pin_locked; treatment (pin
//	          (pinlock.go)                   locked: the PIN is not checked)
//	          not locked                     check
//	check     bcrypt, on the PIN pool        right: connect (as if VIP)
//	          (never a SIP or RTP goroutine) wrong, and it locks the PIN:
//	                                         pin_locked; treatment (pin
//	                                         lockout); else try < PINTries:
//	                                         pin_wrong, first; else
//	                                         pin_failed, release
//	any       caller hangs up                end (abandoned)
//
// The digits of a PIN are never logged: the steps say right, wrong (try n
// of N), failed, skipped, locked or lockout.
func (c *call) pin() (ending, bool) {
	if err := c.answer(); err != nil {
		return c.mediaEnding(err), true
	}
	l := c.caller
	l.drainDigits()
	if err := c.say(l, true, c.s.prompts.p[pPINEnter]); err != nil {
		return c.endedBy(err), true
	}
	for tries := 1; ; tries++ {
		k, err := c.key(l, c.s.cfg.PINFirstDigit, nil)
		if err != nil {
			return c.endedBy(err), true
		}
		switch k {
		case 0, '*', '#':
			why := "no digit"
			if k != 0 {
				why = "'" + string(k) + "'"
			}
			c.step("pin", "skipped", why)
			return ending{}, false
		}
		pin := []byte{byte(k)}
	collect:
		for len(pin) < c.s.cfg.PINMaxDigits {
			k, err := c.key(l, c.s.cfg.DigitTimeout, nil)
			switch {
			case err != nil:
				return c.endedBy(err), true
			case k == 0, k == '#':
				break collect
			case k >= '0' && k <= '9':
				pin = append(pin, byte(k))
			}
		}
		if refused, why := c.pinRefused(store.PINPromptOverride); refused {
			c.step("pin", "locked", why)
			return c.pinLockedGoOn()
		}
		ok, err := c.s.pinPool.check(c.ctx, c.d.subscriber, string(pin))
		if err != nil {
			return c.endedBy(err), true
		}
		if ok {
			c.pinRight(store.PINPromptOverride)
			c.step("pin", "right", "")
			return c.connect(), true
		}
		detail := "try " + strconv.Itoa(tries) + " of " + strconv.Itoa(c.s.cfg.PINTries)
		c.step("pin", "wrong", detail)
		if locked, why := c.pinWrong(store.PINPromptOverride); locked {
			c.step("pin", "lockout", why)
			return c.pinLockedGoOn()
		}
		l.drainDigits()
		if tries >= c.s.cfg.PINTries {
			c.step("pin", "failed", detail)
			if err := c.say(l, false, c.s.prompts.p[pPINFailed]); err != nil {
				return c.endedBy(err), true
			}
			return endReleased, true
		}
		if err := c.say(l, true, c.s.prompts.p[pPINWrong]); err != nil {
			return c.endedBy(err), true
		}
	}
}

// pinLockedGoOn tells the caller PIN entry is locked; the treatment goes
// on as for a caller who keys no PIN.
func (c *call) pinLockedGoOn() (ending, bool) {
	l := c.caller
	l.drainDigits()
	if err := c.say(l, false, c.s.prompts.p[pPINLocked]); err != nil {
		return c.endedBy(err), true
	}
	l.drainDigits()
	return ending{}, false
}
