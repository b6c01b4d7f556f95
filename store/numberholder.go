package store

import (
	"fmt"

	"callgate/e164"
)

// Why a number cannot be given to a subscriber of a provider, in the
// words each actor may read. A tenant learns only that the number is not
// in its provider's allocations: whose allocation or subscriber has it is
// another tenant's business (OWASP API Security Top 10 2023, API1). The
// platform owner sees every tenant and is the one who can move the
// number, so its answer names the allocation (provider and range) and the
// subscriber holding it, with what to undo first. The status is the same
// for both (ErrInvalid): only the detail differs.

// notAllocatedErr is allocatedTo's refusal of n for provider, al being
// the allocation below n (in: n lies in it) and a the actor asking.
func (ix *index) notAllocatedErr(a Actor, n e164.Number, provider uint32, al allocation, in bool) error {
	if a.Role != RoleOperator {
		return fmt.Errorf("number %s: %w (not in any allocation of provider %s; allocate it first)", n, ErrInvalid, ix.providerName(provider))
	}
	where, fix := "not in any allocation of provider "+ix.providerName(provider), "allocate it first"
	if in {
		owner := ix.providerName(al.provider)
		where = fmt.Sprintf("allocated to provider %s in %s, not to %s", owner, al.Range, ix.providerName(provider))
		fix = fmt.Sprintf("release %s from %s first", al.Range, owner)
	}
	if id, ok := ix.byNumber.get(n); ok {
		name := ix.subscriberName(id)
		where += fmt.Sprintf(", held by subscriber %s of provider %s", name, ix.subscriberProvider(id))
		fix = "unassign it from " + name + " and " + fix
	}
	return fmt.Errorf("number %s: %w (%s; %s)", n, ErrInvalid, where, fix)
}

// subscriberProvider names the provider of subscriber id.
func (ix *index) subscriberProvider(id uint32) string {
	if st := ix.sub(id); st != nil {
		return ix.providerName(st.rec.ProviderID)
	}
	return "?"
}
