package scp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/policy"
	"callgate/scp"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
)

// How the daemon runs the SCP as a tier (daemon/scp.go maps the scp:
// configuration section onto this Config): pass the shared Decider
// (already wrapped with the decision log and metrics), the registry and
// the decision log (for safe answers), then Start and, at the end, Drain
// and Stop (Shutdown does both).
func Example() {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := scp.Config{
		Role: m3ua.RoleSG, Network: "tcp", Listen: "127.0.0.1:0",
		PointCode: sccp.ANSIPointCode(244, 2, 20), SSN: 248, Variant: sccp.ANSI,
		RoutingContexts: []uint32{10}, TrafficMode: m3ua.TrafficModeLoadshare,
		TimeBudget: 50 * time.Millisecond, SafeAnswer: scp.SafeForward,
		Logger: quiet,
	}
	// The safe answer "forward" goes to the platform's default route as the
	// live store has it (store.View.EgressRoute); 0 falls back to authorize.
	route := func() e164.Number { return e164.MustParse("+13035559999") }
	var decider policy.Decider = policy.New(nil) // the daemon's wrapped engine
	svc, err := scp.New(c, decider, scp.WithRegisterer(prometheus.NewRegistry()),
		scp.WithSafeForwardRoute(route) /*, scp.WithDecisionLog(dlog) */)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(svc.Name(), c.Role, c.Network, c.PointCode.Format(c.Variant), c.SSN, c.TimeBudget, c.SafeAnswer)
	if err := svc.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	// Output: scp SG tcp 244-2-20 248 50ms forward
}
