// Command logload runs a decision log in a process of its own at a steady
// rate, with records like the SCP load's (an AIN query for one of 100,000
// subscribers from one of 10,000,000 callers, screened through the longest
// path of the chain), so that what the log's writer costs the machine can
// be measured apart from the process that answers the queries: run it
// beside `bench/scp/run.sh` with the decision log off in callgate's
// configuration, at normal priority or under `chrt -i 0`, and compare with
// callgate's own log (bench/scp/README.md).
//
//	go run ./bench/scp/logload -rate 200000 -duration 80s
//	chrt -i 0 go run ./bench/scp/logload -rate 200000 -duration 80s
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

func main() {
	rate := flag.Int("rate", 200_000, "records per second")
	duration := flag.Duration("duration", 60*time.Second, "how long to record")
	dir := flag.String("dir", "", "directory for decisions.db (default: a new temporary one, removed at the end)")
	nice := flag.Int("writer-nice", 0, "the writer's writer_nice (0: a goroutine like any other; the whole process's priority is the caller's)")
	flag.Parse()
	if err := run(*rate, *duration, *dir, *nice); err != nil {
		fmt.Fprintln(os.Stderr, "logload:", err)
		os.Exit(1)
	}
}

func run(rate int, duration time.Duration, dir string, nice int) error {
	if rate <= 0 || duration <= 0 {
		return fmt.Errorf("-rate (%d) and -duration (%s) must be positive", rate, duration)
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "logload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	l, err := decisionlog.Open(filepath.Join(dir, decisionlog.FileName), decisionlog.Options{WriterNice: nice})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var tr policy.Trace
	for _, st := range []struct {
		r policy.Rule
		o policy.Outcome
	}{{policy.RuleSubscriber, policy.OutcomeYes}, {policy.RuleVIP, policy.OutcomeNo}, {policy.RuleBlocked, policy.OutcomeNo},
		{policy.RuleProviderBlocked, policy.OutcomeNo}, {policy.RuleUnknown, policy.OutcomeApply}, {policy.RuleRoute, policy.OutcomeYes}} {
		tr.Add(st.r, st.o)
	}
	r := decisionlog.Record{Origin: policy.OriginAIN, Peer: "1-2-3", Action: policy.ActionScreen,
		Route: store.Route{Name: "b2bua", RoutingNumber: 13035550000}, Trace: tr, Latency: 900 * time.Nanosecond}
	total := int(int64(rate) * int64(duration) / int64(time.Second))
	start := time.Now()
	for n := 0; n < total; {
		due := min(total, int(int64(time.Since(start))*int64(rate)/int64(time.Second)))
		for ; n < due; n++ {
			r.Time = time.Now()
			r.Called = e164.Number(12122000000 + rng.Uint64N(100_000))
			r.Calling = e164.Number(16175550000 + rng.Uint64N(10_000_000))
			r.Subscriber = uint32(r.Called - 12122000000)
			l.Record(r)
		}
		time.Sleep(time.Millisecond)
	}
	if err := l.Flush(); err != nil {
		return err
	}
	s := l.Stats()
	if err := l.Close(); err != nil {
		return err
	}
	fmt.Printf("logload: %d records in %s: %d written, %d dropped\n", total, time.Since(start).Round(time.Millisecond), s.Written, s.Dropped)
	return nil
}
