package reputation

import (
	"context"
	"errors"
	"fmt"

	"callgate/e164"
	"callgate/policy"
)

// Provider is a reputation service: the risk band of a calling number.
// Lookup must honour ctx (the Checker gives it its own time-out, not the
// call's: an answer that comes too late for one call still serves the
// next). It returns ReputationLow, ReputationMedium or ReputationHigh, or
// an error.
type Provider interface {
	Lookup(ctx context.Context, n e164.Number) (policy.Reputation, error)
}

// ProviderFunc adapts a function to Provider.
type ProviderFunc func(ctx context.Context, n e164.Number) (policy.Reputation, error)

// Lookup implements Provider.
func (f ProviderFunc) Lookup(ctx context.Context, n e164.Number) (policy.Reputation, error) {
	return f(ctx, n)
}

// ErrBadAnswer is wrapped by errors for answers the provider should not
// have given (an unknown band, a malformed body).
var ErrBadAnswer = errors.New("reputation: bad answer from the provider")

// ParseBand reads "low", "medium" or "high".
func ParseBand(s string) (policy.Reputation, error) {
	switch s {
	case "low":
		return policy.ReputationLow, nil
	case "medium":
		return policy.ReputationMedium, nil
	case "high":
		return policy.ReputationHigh, nil
	}
	return 0, fmt.Errorf("%w: band %q (want low, medium or high)", ErrBadAnswer, s)
}

// BandName is the inverse of ParseBand ("" for a value that is not a band).
func BandName(r policy.Reputation) string {
	switch r {
	case policy.ReputationLow:
		return "low"
	case policy.ReputationMedium:
		return "medium"
	case policy.ReputationHigh:
		return "high"
	}
	return ""
}
