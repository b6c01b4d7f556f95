package scp

import (
	"context"
	"slices"
	"sync"
	"testing"

	"callgate/e164"
	"callgate/policy"
	"callgate/simulators/ssp"
)

// TestPrefetchBeforeDecision: WithPrefetch's Prefetcher gets each query's
// called number, as the engine will see it, then the call's numbers, both
// before the decision chain runs, on the reader and on the workers alike.
func TestPrefetchBeforeDecision(t *testing.T) {
	for _, inline := range []bool{false, true} {
		name := "workers"
		if inline {
			name = "inline"
		}
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			d := decideFunc(func(_ context.Context, c policy.Call) policy.Decision {
				mu.Lock()
				seen = append(seen, "decide "+c.Called.String())
				mu.Unlock()
				return policy.Decision{Action: policy.ActionAllow}
			})
			cfg := testConfig()
			cfg.Inline = inline
			_, cl, _ := startSCP(t, cfg, d, WithPrefetch(recordPrefetch{mu: &mu, seen: &seen}))
			ctx := context.Background()
			// A national number: the SCP completes it to E.164 before both.
			ans, err := cl.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100")})
			if err != nil || ans.Operation != "authorizeTermination" {
				t.Fatalf("answer %s %v", ans.Operation, err)
			}
			mu.Lock()
			defer mu.Unlock()
			want := []string{"call +13035550100", "lookup +13035550100 +17195551212", "decide +13035550100"}
			if !slices.Equal(seen, want) {
				t.Errorf("calls %q, want %q", seen, want)
			}
		})
	}
}

// recordPrefetch is a Prefetcher that notes what it is told.
type recordPrefetch struct {
	mu   *sync.Mutex
	seen *[]string
}

func (r recordPrefetch) PrefetchCall(called e164.Number) {
	r.mu.Lock()
	*r.seen = append(*r.seen, "call "+called.String())
	r.mu.Unlock()
}

func (r recordPrefetch) PrefetchLookup(called, caller e164.Number) {
	r.mu.Lock()
	*r.seen = append(*r.seen, "lookup "+called.String()+" "+caller.String())
	r.mu.Unlock()
}
