package ssp_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// A switch load-sharing over a mated pair keeps its accounts per SCP: one
// SCP answers, the other keeps every query it gets and then goes away.
// Exactly the queries waiting at the second are counted lost in flight
// with it; the first has every one of its queries answered.
func TestPeersCountWhatEachSCPAnsweredAndLost(t *testing.T) {
	answering := startSCP(t, nil)
	holding := startSCP(t, func(*ain.TerminationAttemptArg) ssptest.Reply { return ssptest.Reply{Drop: true} })
	c := dial(t, answering.Addr(), func(cfg *ssp.Config) {
		cfg.Connect = append(cfg.Connect, holding.Addr())
		cfg.Timeout = 2 * time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Endpoint().WaitActive(ctx, 2); err != nil {
		t.Fatal(err)
	}
	const calls = 64
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.Number(13035550000 + uint64(i))})
			errs <- err
		}()
	}
	for answering.Answered()+holding.Queries() < calls {
		if ctx.Err() != nil {
			t.Fatalf("answered %d, held %d of %d", answering.Answered(), holding.Queries(), calls)
		}
		time.Sleep(time.Millisecond)
	}
	held := holding.Queries()
	if held == 0 || held == calls {
		t.Fatalf("the %d calls were not shared: %d went to the holding SCP", calls, held)
	}
	holding.Close()
	wg.Wait()
	close(errs)
	timeouts := 0
	for err := range errs {
		if errors.Is(err, ssp.ErrTimeout) {
			timeouts++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	peers := map[string]ssp.PeerStats{}
	for _, p := range c.Peers() {
		peers[p.Address] = p
	}
	a, h := peers[answering.Addr()], peers[holding.Addr()]
	t.Logf("answering %+v, holding %+v", a, h)
	if a.Sent != calls-held || a.Answered != a.Sent || a.Timeouts != 0 || a.LostInFlight != 0 || a.AssociationsEnded != 0 {
		t.Errorf("answering SCP: %+v, want %d sent, all answered", a, calls-held)
	}
	if h.Sent != held || h.Answered != 0 || h.LostInFlight != held || h.InFlightAtLoss != held || h.Timeouts != 0 || h.AssociationsEnded != 1 {
		t.Errorf("holding SCP: %+v, want the %d it held lost in flight", h, held)
	}
	if int64(timeouts) != held {
		t.Errorf("%d calls timed out, want the %d held", timeouts, held)
	}
}
