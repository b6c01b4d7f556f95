package admin

import (
	"net/http"

	"callgate/store"
)

// PIN lockouts (store/pinlock.go): wrong PINs keyed at the B2BUA's PIN
// prompts, counted per subscriber across calls and nodes, and the locks
// they impose. `callgate pin lockouts`, `pin lockout` and `pin unlock` are
// these operations. The store scopes them: the platform owner and the
// subscriber's provider may see and clear, the subscriber may see its own.

func listPINLockouts(c *call) (int, any, error) {
	ls, err := c.t.st.PINLockouts(c.actor)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, page[store.PINLockout]{Items: append([]store.PINLockout{}, ls...), Total: len(ls)}, nil
}

func getPINLockout(c *call) (int, any, error) {
	l, err := c.t.st.PINLockoutOf(c.actor, c.r.PathValue("subscriber"))
	if err != nil {
		return 0, nil, fieldErr("subscriber", err)
	}
	return http.StatusOK, l, nil
}

// clearPINLockout answers the lockout as it was before the clear.
func clearPINLockout(c *call) (int, any, error) {
	l, err := c.t.st.ClearPINLockout(c.actor, c.r.PathValue("subscriber"))
	if err != nil {
		return 0, nil, fieldErr("subscriber", err)
	}
	return http.StatusOK, l, nil
}
