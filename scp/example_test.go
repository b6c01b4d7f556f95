package scp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/internal/config"
	"callgate/policy"
	"callgate/scp"
)

// How the daemon runs the SCP as a tier: map the scp: section, pass the
// shared Decider (already wrapped with the decision log and metrics), the
// registry and the decision log (for safe answers), then Start and, at
// the end, Shutdown. *scp.Service has the Tier methods Name, Start,
// Shutdown (and Describe for the start-up summary).
func Example() {
	cfg := config.Default().SCP
	cfg.Enabled = true
	cfg.Listen = []string{"127.0.0.1:0"}

	// The safe answer "forward" goes to the platform's default route
	// (store.View.EgressRoute); 0 falls back to authorize.
	safeForward := e164.MustParse("+13035559999")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := scp.FromConfig(&cfg, safeForward, quiet)
	if err != nil {
		fmt.Println(err)
		return
	}
	var decider policy.Decider = policy.New(nil) // the daemon's wrapped engine
	svc, err := scp.New(c, decider, scp.WithRegisterer(prometheus.NewRegistry()) /*, scp.WithDecisionLog(dlog) */)
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
	fmt.Println(svc.Name(), c.Role, c.Network, c.PointCode, c.SSN, c.TimeBudget, c.SafeAnswer)
	if err := svc.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	// Output: scp SG tcp 244-2-20 248 50ms authorize
}
