package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"callgate/e164"
	"callgate/store/kv"
)

// PIN lockouts: a subscriber has one PIN (pins/<id>), asked for at two
// prompts of the B2BUA: the subscribers' IVR and a caller's override PIN.
// Each prompt allows a few tries per call, but a caller who fakes the
// calling number can call again, forever; so wrong PINs are counted here,
// across calls and nodes. MaxFailures wrong PINs within Window lock the
// subscriber's PIN for Period: the B2BUA then checks no PIN keyed for it
// (not even the right one) and says so. A right PIN clears the count.
//
// The count is kept per subscriber, for both prompts together, and not per
// calling number: the secret under attack is the subscriber's one PIN
// (CheckPIN answers both prompts from the same hash), and the calling
// number is what the attacker forges, so a count per calling number would
// give a forger a fresh budget on every call, and separate counts per
// prompt would double the guesses per window. The price is that anyone
// can lock a subscriber's PIN for Period by keying wrong ones; that is
// bounded (the lock expires), visible (metric, audit log, `callgate pin
// lockouts`) and clearable by the platform owner or the provider, and a
// caller whose override PIN is refused still gets the ordinary treatment.
// The calling number of the last wrong PIN is kept for the operator.
//
// The record is pinlocks/<id(4)> (JSON pinLockRecord). The index does not
// hold it: it is read from the kv (this node's bbolt file or replica) when
// a PIN has been keyed and written when one was wrong, in the B2BUA's
// media conversation; the decision path never reads it. A write compares
// the record's revision, so wrong PINs counted on two nodes at once both
// count. Over etcd a lock imposed through another node is read here once
// this node's replica has it (the change feed: milliseconds); a wrong PIN
// counted meanwhile still meets it, since its write's comparison fails and
// it plans again on the record as it is. The B2BUA counts and clears in
// the middle of a call, so it bounds these writes (PINFailedContext,
// PINSucceededContext; writebound.go). A lock is audited (subscriber.pin.lockout) in the transaction
// that imposes it, an operator's clear (subscriber.pin.unlock) in its own.
// The record goes with its subscriber, with a right PIN or an operator's
// clear; an expired lock's record stays to show it until then.

// PIN prompts, as PINFailure.Prompt and PINLockout.LastPrompt name them.
const (
	PINPromptIVR      = "ivr"
	PINPromptOverride = "override"
)

// PINLockPolicy is when wrong PINs lock a subscriber's PIN: MaxFailures of
// them within Window lock it for Period.
type PINLockPolicy struct {
	MaxFailures int
	Window      time.Duration
	Period      time.Duration
}

// Check says what is wrong with p.
func (p PINLockPolicy) Check() error {
	var errs []error
	if p.MaxFailures < 1 || p.MaxFailures > 100 {
		errs = append(errs, fmt.Errorf("PIN lockout failures %d: %w (1 to 100 wrong PINs)", p.MaxFailures, ErrInvalid))
	}
	if p.Window <= 0 {
		errs = append(errs, fmt.Errorf("PIN lockout window %s: %w (a positive duration, e.g. 15m)", p.Window, ErrInvalid))
	}
	if p.Period <= 0 {
		errs = append(errs, fmt.Errorf("PIN lockout period %s: %w (a positive duration, e.g. 15m)", p.Period, ErrInvalid))
	}
	return errors.Join(errs...)
}

// PINFailure is one wrong PIN, as PINFailed counts it.
type PINFailure struct {
	Prompt  string      // PINPromptIVR or PINPromptOverride
	Calling e164.Number // the calling number as presented (0: anonymous)
	// Actor is who the audit record of a lock names (the B2BUA's actor
	// for the prompt).
	Actor  Actor
	Policy PINLockPolicy
}

// PINLockout is a subscriber's PIN lockout as it stands.
type PINLockout struct {
	SubscriberID uint32 `json:"subscriber_id"`
	Subscriber   string `json:"subscriber"`
	Provider     string `json:"provider,omitempty"`
	// Locked: no PIN keyed for the subscriber is checked until LockedUntil.
	Locked bool `json:"locked"`
	// LockedAt and LockedUntil are the last lock's (LockedUntil past: it
	// has expired).
	LockedAt    time.Time `json:"locked_at,omitzero"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	// Failures is the wrong PINs counted towards the next lock (within the
	// window, since the last lock); LastFailure, LastPrompt and
	// LastCalling describe the newest.
	Failures    int         `json:"failures"`
	LastFailure time.Time   `json:"last_failure,omitzero"`
	LastPrompt  string      `json:"last_prompt,omitempty"`
	LastCalling e164.Number `json:"last_calling,omitempty"`
	// Lockouts counts the locks since the record was last cleared (by a
	// right PIN or an operator).
	Lockouts int `json:"lockouts"`
	// Revision is the record's (0: none).
	Revision int64 `json:"revision"`
}

// pinLockRecord is the stored record.
type pinLockRecord struct {
	// Failures are the times of the wrong PINs counted, oldest first: at
	// most the policy's MaxFailures, none older than Window.
	Failures    []time.Time   `json:"failures,omitempty"`
	Window      time.Duration `json:"window"`
	LockedAt    time.Time     `json:"locked_at,omitzero"`
	LockedUntil time.Time     `json:"locked_until,omitzero"`
	Lockouts    int           `json:"lockouts,omitempty"`
	LastFailure time.Time     `json:"last_failure,omitzero"`
	LastPrompt  string        `json:"last_prompt,omitempty"`
	LastCalling e164.Number   `json:"last_calling,omitempty"`
}

func pinLockKey(id uint32) []byte { return idKey(bPINLocks, id) }

// pinLockAudit is a lock as the audit log shows it.
type pinLockAudit struct {
	LockedUntil time.Time   `json:"locked_until"`
	Failures    int         `json:"failures"`
	Window      string      `json:"window"`
	Prompt      string      `json:"prompt"`
	Calling     e164.Number `json:"calling,omitempty"`
}

// readPINLock reads subscriber id's record (mod 0: none).
func (s *Store) readPINLock(id uint32) (pinLockRecord, int64, error) {
	var rec pinLockRecord
	var mod int64
	err := s.kv.View(func(r kv.Reader) error {
		v, m, err := r.Get(pinLockKey(id))
		if err != nil || v == nil {
			return err
		}
		mod = m
		return json.Unmarshal(v, &rec)
	})
	if err != nil {
		return pinLockRecord{}, 0, fmt.Errorf("PIN lockout of subscriber %d: %w", id, err)
	}
	return rec, mod, nil
}

// view is rec as it stands at now.
func (rec *pinLockRecord) view(now time.Time, mod int64) PINLockout {
	v := PINLockout{Locked: now.Before(rec.LockedUntil), LockedAt: rec.LockedAt, LockedUntil: rec.LockedUntil,
		LastFailure: rec.LastFailure, LastPrompt: rec.LastPrompt, LastCalling: rec.LastCalling,
		Lockouts: rec.Lockouts, Revision: mod}
	for _, t := range rec.Failures {
		if now.Sub(t) < rec.Window {
			v.Failures++
		}
	}
	return v
}

// named fills v's subscriber from the index.
func (s *Store) named(v *PINLockout, id uint32) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	v.SubscriberID = id
	if st := s.ix.sub(id); st != nil {
		v.Subscriber, v.Provider = st.rec.Name, st.rec.Provider
	}
}

// PINLockState is subscriber's lockout as it stands: the B2BUA asks it
// before it checks a PIN keyed for the subscriber (ID from a
// SubscriberView or a decision). No record: not locked.
func (s *Store) PINLockState(subscriber uint32) (PINLockout, error) {
	rec, mod, err := s.readPINLock(subscriber)
	if err != nil {
		return PINLockout{}, err
	}
	v := rec.view(s.opts.Now(), mod)
	s.named(&v, subscriber)
	return v, nil
}

// PINFailed counts one wrong PIN keyed for subscriber. When it makes
// f.Policy.MaxFailures within Window, the PIN is locked for Period and
// the lock's audit record (subscriber.pin.lockout, by f.Actor) is written
// in the same transaction; the count starts again after the lock. A wrong
// PIN while the PIN is locked (another node locked it meanwhile) is not
// counted. It returns the lockout after the failure (Locked: this failure
// locked the PIN or it was locked already) and whether this failure
// locked it.
func (s *Store) PINFailed(subscriber uint32, f PINFailure) (PINLockout, bool, error) {
	return s.PINFailedContext(context.Background(), subscriber, f)
}

// PINFailedContext is PINFailed given up once ctx ends (an error: the
// wrong PIN may not be counted).
func (s *Store) PINFailedContext(ctx context.Context, subscriber uint32, f PINFailure) (PINLockout, bool, error) {
	if err := f.Policy.Check(); err != nil {
		return PINLockout{}, false, err
	}
	now := s.opts.Now()
	var out PINLockout
	var locked bool
	err := s.writeCtx(ctx, func(t *txn) error {
		locked = false
		st := s.ix.sub(subscriber)
		if st == nil {
			return fmt.Errorf("subscriber %d: %w", subscriber, ErrNotFound)
		}
		rec, mod, err := s.readPINLock(subscriber)
		if err != nil {
			return err
		}
		if now.Before(rec.LockedUntil) {
			out = rec.view(now, mod)
			return nil
		}
		kept := rec.Failures[:0]
		for _, at := range rec.Failures {
			if now.Sub(at) < f.Policy.Window {
				kept = append(kept, at)
			}
		}
		rec.Failures = append(kept, now.UTC())
		if n := len(rec.Failures) - f.Policy.MaxFailures; n > 0 {
			rec.Failures = rec.Failures[n:]
		}
		rec.Window, rec.LastFailure, rec.LastPrompt, rec.LastCalling = f.Policy.Window, now.UTC(), f.Prompt, f.Calling
		t.cmp(pinLockKey(subscriber), mod)
		if len(rec.Failures) >= f.Policy.MaxFailures {
			rec.LockedAt, rec.LockedUntil = now.UTC(), now.Add(f.Policy.Period).UTC()
			rec.Lockouts++
			locked = true
			if err := t.audit(f.Actor, "subscriber.pin.lockout", "subscriber/"+st.rec.Name+"/pin", subScope(st.rec), nil,
				pinLockAudit{LockedUntil: rec.LockedUntil, Failures: len(rec.Failures), Window: f.Policy.Window.String(),
					Prompt: f.Prompt, Calling: f.Calling}); err != nil {
				return err
			}
			rec.Failures = nil
		}
		out = rec.view(now, 0)
		return t.putJSON(pinLockKey(subscriber), &rec)
	})
	if err != nil {
		return PINLockout{}, false, fmt.Errorf("count a wrong PIN of subscriber %d: %w", subscriber, err)
	}
	s.named(&out, subscriber)
	return out, locked, nil
}

// PINSucceeded clears subscriber's count after a right PIN; with nothing
// counted it writes nothing. A lock imposed meanwhile (by another node,
// after this PIN was found right) stays: only time or an operator lifts a
// lock.
func (s *Store) PINSucceeded(subscriber uint32) error {
	return s.PINSucceededContext(context.Background(), subscriber)
}

// PINSucceededContext is PINSucceeded given up once ctx ends.
func (s *Store) PINSucceededContext(ctx context.Context, subscriber uint32) error {
	_, mod, err := s.readPINLock(subscriber)
	if err != nil || mod == 0 {
		return err // the common case: nothing counted, nothing to write
	}
	err = s.writeCtx(ctx, func(t *txn) error {
		rec, mod, err := s.readPINLock(subscriber)
		if err != nil || mod == 0 || s.opts.Now().Before(rec.LockedUntil) {
			return err
		}
		t.cmp(pinLockKey(subscriber), mod)
		t.del(pinLockKey(subscriber))
		return nil
	})
	if err != nil {
		return fmt.Errorf("clear the wrong-PIN count of subscriber %d: %w", subscriber, err)
	}
	return nil
}

// PINLockoutOf is the PIN lockout of subscriber ref (name or number) as
// actor may read it: the platform owner, the subscriber's provider and
// the subscriber itself.
func (s *Store) PINLockoutOf(actor Actor, ref string) (PINLockout, error) {
	s.ix.mu.RLock()
	st, err := s.ix.findSubscriberAs(actor, ref)
	var id uint32
	if err == nil {
		id = st.rec.ID
	}
	s.ix.mu.RUnlock()
	if err != nil {
		return PINLockout{}, err
	}
	return s.PINLockState(id)
}

// PINLockouts are the lockouts actor may read (see PINLockoutOf) of every
// subscriber with a PIN lock, current or expired, or wrong PINs counted,
// by subscriber name.
func (s *Store) PINLockouts(actor Actor) ([]PINLockout, error) {
	now := s.opts.Now()
	var out []PINLockout
	p := bucketPrefix(bPINLocks)
	err := s.kv.View(func(r kv.Reader) error {
		return r.Range(p, prefixEnd(p), func(k, v []byte, mod int64) error {
			if len(k) != len(p)+4 {
				return nil
			}
			id := uint32(k[len(p)])<<24 | uint32(k[len(p)+1])<<16 | uint32(k[len(p)+2])<<8 | uint32(k[len(p)+3])
			var rec pinLockRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("PIN lockout of subscriber %d: %w", id, err)
			}
			out = append(out, rec.view(now, mod))
			out[len(out)-1].SubscriberID = id
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("PIN lockouts: %w", err)
	}
	s.ix.mu.RLock()
	kept := out[:0]
	for _, v := range out {
		st := s.ix.sub(v.SubscriberID)
		if st == nil || s.ix.mayRead(actor, kindSubscriber, v.SubscriberID, "") != nil {
			continue
		}
		v.Subscriber, v.Provider = st.rec.Name, st.rec.Provider
		kept = append(kept, v)
	}
	s.ix.mu.RUnlock()
	sort.Slice(kept, func(i, j int) bool { return kept[i].Subscriber < kept[j].Subscriber })
	return kept, nil
}

// ClearPINLockout lifts subscriber ref's PIN lock and clears its count
// (the platform owner or the subscriber's provider; audited as
// subscriber.pin.unlock). It returns the lockout as it was; a subscriber
// with nothing to clear is no error, and writes nothing.
func (s *Store) ClearPINLockout(actor Actor, ref string) (PINLockout, error) {
	now := s.opts.Now()
	var was PINLockout
	err := s.write(func(t *txn) error {
		st, err := s.ix.findSubscriberAs(actor, ref)
		if err == nil {
			err = s.ix.mayManageSubscriber(actor, st)
		}
		if err != nil {
			return err
		}
		id := st.rec.ID
		rec, mod, err := s.readPINLock(id)
		if err != nil {
			return err
		}
		was = rec.view(now, mod)
		was.SubscriberID, was.Subscriber, was.Provider = id, st.rec.Name, st.rec.Provider
		if mod == 0 {
			return nil
		}
		t.cmp(pinLockKey(id), mod)
		t.del(pinLockKey(id))
		return t.audit(actor, "subscriber.pin.unlock", "subscriber/"+st.rec.Name+"/pin", subScope(st.rec), was, nil)
	})
	if err != nil {
		return PINLockout{}, fmt.Errorf("clear the PIN lockout of %s: %w", ref, err)
	}
	return was, nil
}
