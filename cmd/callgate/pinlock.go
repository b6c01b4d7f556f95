package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"callgate/store"
)

// callgate pin lockouts | lockout | unlock: the PIN lockout the B2BUA
// keeps in the store (store/pinlock.go): wrong PINs keyed at its PIN
// prompts, counted per subscriber across calls and nodes, and the locks
// they impose. Through the daemon they are /api/v1/pin-lockouts and
// /api/v1/subscribers/{subscriber}/pin/lockout.

func (e *env) pinLockoutCmds() []*cobra.Command {
	list := &cobra.Command{
		Use:   "lockouts",
		Short: "Subscribers whose PIN is locked after wrong PINs, or has wrong PINs counted",
		Long: `Lists every subscriber with a PIN lock (current or expired) or wrong PINs counted towards
the next one. Wrong PINs keyed at the B2BUA's PIN prompts (the IVR's and the override PIN:
one PIN) are counted per subscriber across calls and nodes; b2bua.pin_lock_failures of them
within b2bua.pin_lock_window lock the PIN for b2bua.pin_lock_period, during which no PIN keyed
for the subscriber is checked. A right PIN clears the count.`,
		Example: "  callgate pin lockouts\n  callgate pin lockouts --json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(true, func(b backend) error {
				ls, err := b.PINLockouts()
				if err != nil {
					return err
				}
				if ls == nil {
					ls = []store.PINLockout{}
				}
				return e.emit(ls, func(w io.Writer) {
					if len(ls) == 0 {
						fmt.Fprintln(w, "No PIN is locked and no wrong PIN is counted.")
						return
					}
					rows := make([][]string, 0, len(ls))
					for _, l := range ls {
						rows = append(rows, []string{l.Subscriber, l.Provider, lockState(l), strconv.Itoa(l.Failures), lastWrongPIN(l), strconv.Itoa(l.Lockouts)})
					}
					table(w, "SUBSCRIBER\tPROVIDER\tPIN\tWRONG PINS\tLAST WRONG PIN\tLOCKS", rows)
				})
			})
		},
	}
	show := &cobra.Command{
		Use:     "lockout SUBSCRIBER",
		Short:   "A subscriber's PIN lockout: locked or not, wrong PINs counted, the last one",
		Example: "  callgate pin lockout alice\n  callgate pin lockout +13035550100 --json",
		Args:    exactArgs(1, "a subscriber name or number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(true, func(b backend) error {
				l, err := b.PINLockout(args[0])
				if err != nil {
					return err
				}
				return e.emit(l, func(w io.Writer) {
					fmt.Fprintf(w, "Subscriber:     %s (provider %s)\n", l.Subscriber, l.Provider)
					fmt.Fprintf(w, "PIN:            %s\n", lockState(l))
					if !l.LockedAt.IsZero() {
						fmt.Fprintf(w, "Last lock:      %s to %s (locks: %d)\n", fmtTime(l.LockedAt), fmtTime(l.LockedUntil), l.Lockouts)
					}
					fmt.Fprintf(w, "Wrong PINs:     %d counted towards the next lock\n", l.Failures)
					if !l.LastFailure.IsZero() {
						fmt.Fprintf(w, "Last wrong PIN: %s\n", lastWrongPIN(l))
					}
				})
			})
		},
	}
	unlock := &cobra.Command{
		Use:   "unlock SUBSCRIBER",
		Short: "Lift a subscriber's PIN lock and clear its wrong-PIN count (audited)",
		Long: `Lifts the lock the B2BUA put on a subscriber's PIN after too many wrong PINs, and clears the
count, on every node. Audited as subscriber.pin.unlock. A subscriber with nothing to clear is
no error. Check first who keyed the wrong PINs (callgate pin lockout, callgate log search):
the lock exists to stop a caller guessing the PIN.`,
		Example: "  callgate pin unlock alice",
		Args:    exactArgs(1, "a subscriber name or number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(false, func(b backend) error {
				was, err := b.ClearPINLockout(args[0])
				if err != nil {
					return err
				}
				return e.emit(was, func(w io.Writer) {
					switch {
					case was.Locked:
						fmt.Fprintf(w, "Lifted the PIN lock of %s (it was locked until %s); its wrong-PIN count is cleared.\n", was.Subscriber, fmtTime(was.LockedUntil))
					case was.Revision != 0:
						fmt.Fprintf(w, "The PIN of %s was not locked; cleared its record (wrong PINs counted: %d).\n", was.Subscriber, was.Failures)
					default:
						fmt.Fprintf(w, "The PIN of %s is not locked and has no wrong PIN counted: nothing to clear.\n", was.Subscriber)
					}
				})
			})
		},
	}
	return []*cobra.Command{list, show, unlock}
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// lockState is a lockout's state in a word or a few.
func lockState(l store.PINLockout) string {
	if l.Locked {
		return "locked until " + fmtTime(l.LockedUntil)
	}
	return "not locked"
}

// lastWrongPIN describes the newest wrong PIN counted.
func lastWrongPIN(l store.PINLockout) string {
	if l.LastFailure.IsZero() {
		return "-"
	}
	from := "a withheld number"
	if l.LastCalling != 0 {
		from = l.LastCalling.String()
	}
	return fmtTime(l.LastFailure) + " at the " + l.LastPrompt + " prompt from " + from
}

// ---- backends ----

func (b *localBackend) PINLockouts() ([]store.PINLockout, error) { return b.st.PINLockouts(b.actor) }

func (b *localBackend) PINLockout(subscriber string) (store.PINLockout, error) {
	return b.st.PINLockoutOf(b.actor, subscriber)
}

func (b *localBackend) ClearPINLockout(subscriber string) (store.PINLockout, error) {
	return b.st.ClearPINLockout(b.actor, subscriber)
}

func (b *apiBackend) PINLockouts() ([]store.PINLockout, error) {
	var pg apiPage[store.PINLockout]
	if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("pin-lockouts")}, &pg); err != nil {
		return nil, err
	}
	return pg.Items, nil
}

func (b *apiBackend) PINLockout(subscriber string) (store.PINLockout, error) {
	var l store.PINLockout
	_, err := b.c.do(request{method: http.MethodGet, path: apiPath("subscribers", subscriber, "pin", "lockout")}, &l)
	return l, err
}

func (b *apiBackend) ClearPINLockout(subscriber string) (store.PINLockout, error) {
	var l store.PINLockout
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("subscribers", subscriber, "pin", "lockout")}, &l)
	return l, err
}
