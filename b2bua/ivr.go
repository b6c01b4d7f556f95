package b2bua

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// IVRStore is what the subscribers' IVR reads and changes (the list store:
// *store.Store). Every change is made as the subscriber's Actor, so the
// store applies the subscriber's permissions and writes the audit record
// in the change's own transaction. The caller hears silence while a
// change is written, so each takes a context that bounds it
// (ivrWriteWait); a change given up is made wholly or not at all.
type IVRStore interface {
	Subscriber(number e164.Number) (store.SubscriberView, bool)
	AddToListContext(ctx context.Context, actor store.Actor, owner string, list store.List, numbers []string, note string) (int, error)
	RemoveFromListContext(ctx context.Context, actor store.Actor, owner string, list store.List, numbers []string) (int, error)
	ListEntries(actor store.Actor, owner string, list store.List, after e164.Number, limit int) (store.ListPage, error)
	SetPINContext(ctx context.Context, actor store.Actor, subscriber, pin string) error
	// InBlocked and InVIP tell whether a number is on a subscriber's
	// list: a removal the subscriber may not make on one list matters
	// only if the number is there.
	InBlocked(subscriber uint32, caller e164.Number) bool
	InVIP(subscriber uint32, caller e164.Number) bool
}

// ivrWriteWait bounds each change the IVR writes (a list add or remove, a
// PIN), which the caller waits for in silence. A write lands in a few
// milliseconds; over etcd, while its leader cannot be reached, the store
// would try for some 16 s. Past the bound the caller hears ivr_not_allowed
// (step ivr=denied, logged) and the menu.
const ivrWriteWait = 2 * time.Second

// errIVRWriteWait is the cause of a change given up after ivrWriteWait.
var errIVRWriteWait = errors.New("the store did not answer within " + ivrWriteWait.String() + " (the IVR caller's bound)")

// ivrWriteCtx bounds one change. It does not end when the caller hangs
// up: a change the caller confirmed is made, or fails, as a whole.
func (c *call) ivrWriteCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(context.WithoutCancel(c.ctx), ivrWriteWait, errIVRWriteWait)
}

// WithIVR is the store behind the subscribers' IVR (Config.IVRNumber,
// Config.IVRUser). PINs are checked with WithPINChecker's checker, on the
// PIN pool.
func WithIVR(st IVRStore) Option { return func(s *Server) { s.ivrStore = st } }

// isIVR says whether an INVITE's Request-URI user is the IVR's number or
// SIP user.
func (s *Server) isIVR(user string) bool {
	if s.ivrStore == nil || user == "" {
		return false
	}
	if s.cfg.IVRUser != "" && user == s.cfg.IVRUser {
		return true
	}
	if s.ivrNumber != 0 {
		if n, err := e164.Parse(user); err == nil && n == s.ivrNumber {
			return true
		}
	}
	return false
}

// ivrAddresses names the Request-URI users that reach the IVR ("" when
// it is off), for the tier's description.
func (s *Server) ivrAddresses() string {
	if s.ivrStore == nil {
		return ""
	}
	var users []string
	if s.cfg.IVRUser != "" {
		users = append(users, s.cfg.IVRUser)
	}
	if s.ivrNumber != 0 {
		users = append(users, s.ivrNumber.String())
	}
	return strings.Join(users, " or ")
}

// admitIVR takes a call to the IVR: its record in the decision log (origin
// sip, called the IVR's number, action none, the subscriber when the
// calling number is one) carries the IVR's steps.
func (s *Server) admitIVR(c *call, call *policy.Call, arrived time.Time) (decision, string, bool) {
	d := decision{ivr: true, calling: call.Calling, called: s.ivrNumber}
	var pd policy.Decision
	if call.Calling != 0 {
		if v, ok := s.ivrStore.Subscriber(call.Calling); ok {
			d.subscriber, d.subName = v.ID, v.Name
			pd.Subscriber = v.ID
		}
	}
	rc := policy.Call{Calling: call.Calling, Called: s.ivrNumber, Presentation: call.Presentation,
		Origin: policy.OriginSIP, Peer: call.Peer}
	s.record(c, &rc, &pd, arrived, 0)
	return d, "ivr", true
}

// ivr is the subscribers' IVR (issue 12 §5). Waits for a menu key last
// DecisionTimeout, between keyed digits DigitTimeout.
//
//	state      event                             next
//	start      -                                 200 to the caller; recognise
//	recognise  calling number is no subscriber's ivr_not_subscriber; release
//	           (or anonymous)                    (step ivr refused)
//	           a subscriber's                    pin
//	pin        ivr_welcome; digits until '#',    lock
//	           PINMaxDigits or DigitTimeout
//	lock       the subscriber's PIN locked       pin_locked; release (PIN not
//	           (pinlock.go)                      checked); else check
//	check      bcrypt on the PIN pool            right: menu; wrong and it
//	                                             locks the PIN: pin_locked,
//	                                             release; wrong, tries left:
//	                                             pin_wrong, pin; PINTries
//	                                             used: pin_failed, release
//	menu       ivr_menu (barge-in); a key        1/2: last; 3: enter (add);
//	                                             4: enter (remove); 5: counts;
//	                                             6: newpin; 9 or another key:
//	                                             menu; '*': ivr_goodbye, end
//	           no key twice                      ivr_goodbye; release
//	last       newest call to the subscriber in  none: ivr_no_last_caller, menu;
//	           the decision log (not from its    else ivr_last_caller + digits,
//	           own number, not to the IVR)       ivr_confirm: 1 add; else menu
//	enter      ivr_enter_number; digits to '#'   invalid: ivr_invalid_number,
//	           (dialled form: 10 NANP digits,    menu; else ivr_you_entered +
//	           1+10, 011+CC...)                  digits; add: ivr_choose_list
//	                                             (1 Blocked, 2 VIP, else menu);
//	                                             remove: ivr_confirm
//	add/remove the store, as the subscriber      ivr_added / ivr_removed /
//	                                             ivr_not_on_lists; refused by
//	                                             permissions: ivr_not_allowed;
//	                                             menu
//	counts     ivr_blocked_count + digits,       menu
//	           ivr_vip_count + digits
//	newpin     ivr_new_pin, ivr_new_pin_again    same: set, ivr_pin_changed;
//	                                             else ivr_pin_mismatch; menu
//	any        caller hangs up                   end (abandoned)
//
// PIN digits are never logged. Steps (name ivr): refused, pin-right,
// pin-wrong, pin-failed, pin-locked (not checked: locked), pin-lockout
// (this wrong PIN locked it), blocked-added, vip-added, removed,
// not-found, counts, pin-changed, pin-mismatch, denied, invalid-number,
// no-last-caller, goodbye, timeout.
func (c *call) ivr() ending {
	if err := c.answer(); err != nil {
		return c.mediaEnding(err)
	}
	l := c.caller
	p := c.s.prompts.p
	if c.d.subscriber == 0 {
		c.step("ivr", "refused", "calling number "+numberOr(c.d.calling)+" is no subscriber's")
		if err := c.say(l, false, p[pIVRNotSubscriber]); err != nil {
			return c.endedBy(err)
		}
		return endReleased
	}
	for tries := 1; ; tries++ {
		l.drainDigits()
		if err := c.say(l, true, p[pIVRWelcome]); err != nil {
			return c.endedBy(err)
		}
		pin, err := c.keyed(l, c.s.cfg.PINFirstDigit, c.s.cfg.PINMaxDigits)
		if err != nil {
			return c.endedBy(err)
		}
		ok := false
		if pin != "" {
			if refused, why := c.pinRefused(store.PINPromptIVR); refused {
				c.step("ivr", "pin-locked", why)
				return c.ivrPINLocked()
			}
			if ok, err = c.s.pinPool.check(c.ctx, c.d.subscriber, pin); err != nil {
				return c.endedBy(err)
			}
		}
		detail := "try " + strconv.Itoa(tries) + " of " + strconv.Itoa(c.s.cfg.PINTries)
		if ok {
			c.pinRight(store.PINPromptIVR)
			c.step("ivr", "pin-right", detail)
			break
		}
		c.step("ivr", "pin-wrong", detail)
		if pin != "" {
			if locked, why := c.pinWrong(store.PINPromptIVR); locked {
				c.step("ivr", "pin-lockout", why)
				return c.ivrPINLocked()
			}
		}
		if tries >= c.s.cfg.PINTries {
			c.step("ivr", "pin-failed", detail)
			if err := c.say(l, false, p[pPINFailed]); err != nil {
				return c.endedBy(err)
			}
			return endReleased
		}
		if err := c.say(l, false, p[pPINWrong]); err != nil {
			return c.endedBy(err)
		}
	}
	actor := store.SubscriberActor(c.d.subName).By("ivr "+c.d.calling.String(), "ivr")
	silent := 0
	for {
		l.drainDigits()
		if err := c.say(l, true, p[pIVRMenu]); err != nil {
			return c.endedBy(err)
		}
		k, err := c.waitKey(l, c.s.cfg.DecisionTimeout)
		if err != nil {
			return c.endedBy(err)
		}
		if k == 0 {
			if silent++; silent < 2 {
				continue
			}
			c.step("ivr", "timeout", "no key after the menu twice")
			if err := c.say(l, false, p[pIVRGoodbye]); err != nil {
				return c.endedBy(err)
			}
			return endReleased
		}
		silent = 0
		switch k {
		case '1', '2':
			err = c.ivrLastCaller(actor, k)
		case '3':
			err = c.ivrAddKeyed(actor)
		case '4':
			err = c.ivrRemoveKeyed(actor)
		case '5':
			err = c.ivrCounts(actor)
		case '6':
			err = c.ivrChangePIN(actor)
		case '*':
			c.step("ivr", "goodbye", "")
			if err := c.say(l, false, p[pIVRGoodbye]); err != nil {
				return c.endedBy(err)
			}
			return endCompleted
		}
		if err != nil {
			return c.endedBy(err)
		}
	}
}

// ivrPINLocked tells the caller PIN entry is locked and releases the call.
func (c *call) ivrPINLocked() ending {
	c.caller.drainDigits()
	if err := c.say(c.caller, false, c.s.prompts.p[pPINLocked]); err != nil {
		return c.endedBy(err)
	}
	return endReleased
}

// keyed collects digits until '#', n digits, or d without one (the first
// digit may take d too). '*' clears what was keyed.
func (c *call) keyed(l *leg, d time.Duration, n int) (string, error) {
	var b []byte
	for len(b) < n {
		k, err := c.waitKey(l, d)
		switch {
		case err != nil:
			return "", err
		case k == 0, k == '#':
			return string(b), nil
		case k == '*':
			b = b[:0]
		case k >= '0' && k <= '9':
			b = append(b, byte(k))
		}
		d = c.s.cfg.DigitTimeout
	}
	return string(b), nil
}

// ivrSilence is one second of silence (8 kHz 16-bit PCM).
var ivrSilence = make([]byte, 16000)

// waitKey is key for the IVR: while it waits it sends silence, as a phone
// does, so RTP keeps flowing (NAT bindings, the peer's RTP timeout, and a
// listener that times what it hears by the audio it receives).
func (c *call) waitKey(l *leg, d time.Duration) (rune, error) {
	deadline := time.Now().Add(d)
	for {
		select {
		case k := <-l.dtmf:
			return k, nil
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, nil
		}
		n := min(len(ivrSilence), max(frameBytes, int(left/(20*time.Millisecond))*frameBytes))
		if err := l.playPCM(c.ctx, ivrSilence[:n], true); err != nil {
			return 0, err
		}
	}
}

// digitsOf is the digit prompts that read out s's digits.
func (c *call) digitsOf(s string) [][]byte {
	var out [][]byte
	for _, r := range s {
		if r >= '0' && r <= '9' {
			out = append(out, c.s.prompts.digits[r-'0'])
		}
	}
	return out
}

// ask plays pcms (a key ends them), then waits DecisionTimeout for a
// key: the key, or 0.
func (c *call) ask(pcms ...[]byte) (rune, error) {
	l := c.caller
	l.drainDigits()
	if err := c.say(l, true, pcms...); err != nil {
		return 0, err
	}
	return c.waitKey(l, c.s.cfg.DecisionTimeout)
}

// lastCaller is the calling number of the newest call to the subscriber's
// number in the decision log: not from that number itself, not a call to
// the IVR, not anonymous.
func (c *call) lastCaller() e164.Number {
	if c.s.dlog == nil {
		return 0
	}
	_ = c.s.dlog.Flush()
	recs, err := c.s.dlog.Search(decisionlog.Query{Number: c.d.calling, Limit: 50})
	if err != nil {
		return 0
	}
	for i := range recs {
		r := &recs[i]
		if r.Calling == 0 || r.Calling == c.d.calling {
			continue
		}
		if r.Called == c.d.calling || r.OriginalCalled == c.d.calling {
			return r.Calling
		}
	}
	return 0
}

// ivrLastCaller offers the last caller for the Blocked ('1') or VIP ('2')
// list.
func (c *call) ivrLastCaller(actor store.Actor, k rune) error {
	p := c.s.prompts.p
	n := c.lastCaller()
	if n == 0 {
		c.step("ivr", "no-last-caller", "")
		return c.say(c.caller, false, p[pIVRNoLastCaller])
	}
	list := store.ListBlocked
	if k == '2' {
		list = store.ListVIP
	}
	say := append([][]byte{p[pIVRLastCaller]}, c.digitsOf(n.Digits())...)
	got, err := c.ask(append(say, p[pIVRConfirm])...)
	if err != nil || got != '1' {
		return err
	}
	return c.ivrAdd(actor, list, n, "last caller")
}

// ivrNumber asks for a number and reads it back; 0 when none valid.
func (c *call) ivrNumber() (e164.Number, error) {
	p := c.s.prompts.p
	l := c.caller
	l.drainDigits()
	if err := c.say(l, true, p[pIVREnterNumber]); err != nil {
		return 0, err
	}
	s, err := c.keyed(l, c.s.cfg.DecisionTimeout, 18)
	if err != nil {
		return 0, err
	}
	d := make([]byte, len(s))
	for i := range s {
		d[i] = s[i] - '0'
	}
	n, perr := e164.FromDigits(d, false)
	if s == "" || perr != nil {
		c.step("ivr", "invalid-number", strconv.Itoa(len(s))+" digits")
		return 0, c.say(l, false, p[pIVRInvalidNumber])
	}
	return n, nil
}

func (c *call) ivrAddKeyed(actor store.Actor) error {
	n, err := c.ivrNumber()
	if err != nil || n == 0 {
		return err
	}
	p := c.s.prompts.p
	say := append([][]byte{p[pIVRYouEntered]}, c.digitsOf(n.Digits())...)
	k, err := c.ask(append(say, p[pIVRChooseList])...)
	switch {
	case err != nil:
		return err
	case k == '1':
		return c.ivrAdd(actor, store.ListBlocked, n, "keyed in")
	case k == '2':
		return c.ivrAdd(actor, store.ListVIP, n, "keyed in")
	}
	return nil
}

func (c *call) ivrAdd(actor store.Actor, list store.List, n e164.Number, note string) error {
	ctx, cancel := c.ivrWriteCtx()
	_, err := c.s.ivrStore.AddToListContext(ctx, actor, c.d.subName, list, []string{n.String()}, "by phone (IVR), "+note)
	cancel()
	if err != nil {
		return c.ivrDenied(err)
	}
	outcome := "blocked-added"
	if list == store.ListVIP {
		outcome = "vip-added"
	}
	c.step("ivr", outcome, n.String())
	return c.say(c.caller, false, c.s.prompts.p[pIVRAdded])
}

// ivrRemoveKeyed removes a keyed-in number from both lists.
func (c *call) ivrRemoveKeyed(actor store.Actor) error {
	n, err := c.ivrNumber()
	if err != nil || n == 0 {
		return err
	}
	p := c.s.prompts.p
	say := append([][]byte{p[pIVRYouEntered]}, c.digitsOf(n.Digits())...)
	k, err := c.ask(append(say, p[pIVRConfirm])...)
	if err != nil || k != '1' {
		return err
	}
	// Each list on its own: a subscriber may be allowed to change one and
	// not the other, and a list it may not change where the number is
	// not on it takes nothing from the removal from the other. A store
	// that fails (or does not answer in time) ends the removal: the
	// caller hears what was removed before it, then ivr_not_allowed.
	removed := 0
	var refused, failed error
	for _, list := range []store.List{store.ListBlocked, store.ListVIP} {
		ctx, cancel := c.ivrWriteCtx()
		r, err := c.s.ivrStore.RemoveFromListContext(ctx, actor, c.d.subName, list, []string{n.String()})
		cancel()
		switch {
		case err == nil:
			removed += r
		case !errors.Is(err, store.ErrForbidden) && !errors.Is(err, store.ErrLocked):
			failed = err
		case c.onList(list, n):
			refused = err // the number stays on a list the subscriber may not change
		}
		if failed != nil {
			break
		}
	}
	if removed > 0 {
		c.step("ivr", "removed", n.String())
		if err := c.say(c.caller, false, p[pIVRRemoved]); err != nil {
			return err
		}
	}
	switch {
	case failed != nil:
		return c.ivrDenied(failed)
	case refused != nil:
		return c.ivrDenied(refused)
	case removed == 0:
		c.step("ivr", "not-found", n.String())
		return c.say(c.caller, false, p[pIVRNotOnLists])
	}
	return nil
}

// onList says whether n is on the caller's list.
func (c *call) onList(list store.List, n e164.Number) bool {
	if list == store.ListVIP {
		return c.s.ivrStore.InVIP(c.d.subscriber, n)
	}
	return c.s.ivrStore.InBlocked(c.d.subscriber, n)
}

// ivrCounts reads out how many entries each list has.
func (c *call) ivrCounts(actor store.Actor) error {
	p := c.s.prompts.p
	var say [][]byte
	var detail []string
	for _, x := range []struct {
		list   store.List
		prompt string
	}{{store.ListBlocked, pIVRBlockedCount}, {store.ListVIP, pIVRVIPCount}} {
		pg, err := c.s.ivrStore.ListEntries(actor, c.d.subName, x.list, 0, 1)
		if err != nil {
			return c.ivrDenied(err)
		}
		n := strconv.Itoa(pg.Total)
		say = append(append(say, p[x.prompt]), c.digitsOf(n)...)
		detail = append(detail, x.list.String()+" "+n)
	}
	c.step("ivr", "counts", strings.Join(detail, ", "))
	return c.say(c.caller, true, say...)
}

// ivrChangePIN asks for the new PIN twice and sets it.
func (c *call) ivrChangePIN(actor store.Actor) error {
	p := c.s.prompts.p
	l := c.caller
	var pins [2]string
	for i, prompt := range []string{pIVRNewPIN, pIVRNewPINAgain} {
		l.drainDigits()
		if err := c.say(l, true, p[prompt]); err != nil {
			return err
		}
		var err error
		if pins[i], err = c.keyed(l, c.s.cfg.DecisionTimeout, store.MaxPINLen+1); err != nil {
			return err
		}
	}
	if pins[0] != pins[1] {
		c.step("ivr", "pin-mismatch", "")
		return c.say(l, false, p[pIVRPINMismatch])
	}
	ctx, cancel := c.ivrWriteCtx()
	err := c.s.ivrStore.SetPINContext(ctx, actor, c.d.subName, pins[0])
	cancel()
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			c.step("ivr", "pin-mismatch", "not "+strconv.Itoa(store.MinPINLen)+"-"+strconv.Itoa(store.MaxPINLen)+" digits")
			return c.say(l, false, p[pIVRPINMismatch])
		}
		return c.ivrDenied(err)
	}
	c.step("ivr", "pin-changed", "")
	return c.say(l, false, p[pIVRPINChanged])
}

// ivrDenied tells the caller a change was refused (permissions, or the
// store failing), logs why and goes back to the menu.
func (c *call) ivrDenied(err error) error {
	c.step("ivr", "denied", err.Error())
	if !errors.Is(err, store.ErrForbidden) && !errors.Is(err, store.ErrLocked) && c.s.limit.allow() {
		c.s.log.Warn("b2bua: IVR change failed", "call_id", c.id, "subscriber", c.d.subName, "error", err)
	}
	return c.say(c.caller, false, c.s.prompts.p[pIVRNotAllowed])
}

func numberOr(n e164.Number) string {
	if n == 0 {
		return "anonymous"
	}
	return n.String()
}
