package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/e164"
	repsim "callgate/simulators/reputation"
)

func (e *env) reputationCmd() *cobra.Command {
	var (
		listen, key, def string
		latency, jitter  time.Duration
		fail             float64
		bands            []string
	)
	cmd := &cobra.Command{
		Use:   "reputation [--listen 127.0.0.1:8089] [--latency 5ms] [--fail 0.1] [--band +NUMBER=high ...]",
		Short: "Run a reputation-service simulator (the HTTP API callgate's reputation provider asks)",
		Long: `reputation serves GET /v1/reputation/{digits} with {"number","band","score"} as
callgate's HTTP reputation provider expects (package simulators/reputation):
every number has the band --default unless --band gives it another. --latency
(plus up to --jitter) delays every answer and --fail answers that share of
requests 503, to see callgate's budget, cache and circuit breaker at work. With
--key, requests must carry "Authorization: Bearer KEY". It runs until
interrupted.`,
		Example: `  sspsim reputation --listen 127.0.0.1:8089 --key demo --band +19005550111=high --band +16175550142=medium
  curl -H 'Authorization: Bearer demo' http://127.0.0.1:8089/v1/reputation/19005550111`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := repsim.Config{APIKey: key, Latency: latency, Jitter: jitter, FailRate: fail, DefaultBand: def,
				Bands: map[e164.Number]string{}}
			for _, b := range bands {
				num, band, ok := strings.Cut(b, "=")
				if !ok {
					return usagef("--band %q: want +NUMBER=low|medium|high", b)
				}
				n, err := e164.Parse(num)
				if err != nil {
					return usagef("--band %q: %v", b, err)
				}
				cfg.Bands[n] = band
			}
			sim, err := repsim.New(cfg)
			if err != nil {
				return usagef("%v", err)
			}
			if err := sim.Start(listen); err != nil {
				return err
			}
			defer sim.Close()
			fmt.Fprintf(e.stderr, "reputation simulator on %s (default band %s, latency %s, fail rate %g)\n", sim.URL(), def, latency, fail)
			<-cmd.Context().Done()
			fmt.Fprintf(e.stderr, "served %d requests\n", sim.Total())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:8089", "address to serve on")
	fl.StringVar(&key, "key", "", "API key requests must carry as a bearer token (none: any)")
	fl.StringVar(&def, "default", "low", "band of numbers --band does not name: low, medium or high")
	fl.DurationVar(&latency, "latency", 0, "delay added to every answer")
	fl.DurationVar(&jitter, "jitter", 0, "up to this much more delay, at random")
	fl.Float64Var(&fail, "fail", 0, "share of requests answered 503 (0..1)")
	fl.StringArrayVar(&bands, "band", nil, "+NUMBER=BAND; repeat for more numbers")
	return cmd
}
