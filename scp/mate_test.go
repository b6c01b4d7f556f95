package scp

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/sigtran/m3ua"
	"callgate/simulators/ssp"
)

// TestDrainMovesTrafficToTheMate: a switch (the SSP simulator) load-shares
// its queries over a mate pair of SCPs; one shuts down gracefully while 16
// calls at a time are under way. The switch moves its traffic to the mate
// and no call goes unanswered: no time-out, no error but the few sends the
// simulator refused itself because the association had just left
// ASP-ACTIVE (never sent, retried on the mate as a switch would).
func TestDrainMovesTrafficToTheMate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var answeredBy [2]atomic.Int64
	svcs := make([]*Service, 2)
	for i := range svcs {
		cfg := testConfig()
		cfg.Workers = 2
		h := newHarness(t, cfg, decideFunc(func(context.Context, policy.Call) policy.Decision {
			answeredBy[i].Add(1)
			time.Sleep(100 * time.Microsecond)
			return policy.Decision{Action: policy.ActionAllow}
		}))
		svcs[i] = h.s
		if err := h.s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer h.s.Shutdown(context.Background())
	}
	cl, err := ssp.Dial(ctx, ssp.Config{Network: "tcp", Connect: []string{svcs[0].Addr(), svcs[1].Addr()}, RoutingContexts: []uint32{10}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Endpoint().WaitActive(ctx, 2); err != nil {
		t.Fatal(err)
	}

	var (
		stop                      atomic.Bool
		answered, refused, failed atomic.Int64
		mu                        sync.Mutex
		firstErr                  error
		wg                        sync.WaitGroup
	)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				ta := ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.Number(13035550000 + uint64(g*1000+i%1000))}
				_, err := cl.TerminationAttempt(ctx, ta)
				switch {
				case err == nil:
					answered.Add(1)
				case errors.Is(err, m3ua.ErrNotActive) || errors.Is(err, m3ua.ErrNoActiveAssociation):
					refused.Add(1) // not sent: the switch retries on the mate
				default:
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	waitCount := func(what string, c *atomic.Int64, n int64) {
		for c.Load() < n {
			if ctx.Err() != nil {
				t.Fatalf("waiting for %s: %d of %d", what, c.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitCount("answers from the first SCP", &answeredBy[0], 300)
	if err := svcs[0].Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	byMate := answeredBy[1].Load()
	waitCount("the mate to take the traffic", &answeredBy[1], byMate+500)
	stop.Store(true)
	wg.Wait()
	st := cl.Stats()
	t.Logf("answered %d (first SCP %d, mate %d), refused at send %d, failed %d; simulator: %+v",
		answered.Load(), answeredBy[0].Load(), answeredBy[1].Load(), refused.Load(), failed.Load(), st)
	if failed.Load() != 0 || st.Timeouts != 0 {
		t.Fatalf("%d calls failed (%d time-outs), the first: %v", failed.Load(), st.Timeouts, firstErr)
	}
}
