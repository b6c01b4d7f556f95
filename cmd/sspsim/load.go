package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/simulators/ssp"
)

func (e *env) loadCmd() *cobra.Command {
	var cf connFlags
	var call callFlags
	var (
		rate                      float64
		concurrency               int
		duration                  time.Duration
		calls                     int64
		calledRange, callingRange string
		callsFile                 string
		mixes                     []string
		maxErrors                 float64
		trigger                   string
		associations              int
		pace                      time.Duration
		timelineFile              string
		timelineStep, slowAnswer  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "load --rate N --duration D [--trigger T] [--called-range R --calling-range R | --calls-file F | --mix M...]",
		Short: "Drive Termination_Attempt (or originating-trigger) load at a target rate and report latency",
		Long: `load sends terminationAttempt queries at --rate calls per second (0: as fast as
--concurrency allows) with at most --concurrency outstanding, for --duration
(or --calls calls). While it runs on a terminal it shows a live line: calls
sent, answered, answers per second, p99 latency so far, timeouts, errors and
gapped calls. At the end it prints the latency distribution (p50, p90, p99,
p99.9, max), the answers per AIN operation, the calls gapped by ACG, the
timeouts and errors; --json prints that summary as JSON.

The calls come from one of:
  --called/--calling (one fixed call), --called-range/--calling-range
  (number blocks walked in order: "+1303555xxxx" or "+13035550000-+13035559999",
  all numbers of a block with the same digit count), --calls-file (CSV lines
  "calling,called[,presentation[,charge[,original-called]]]", '#' comments),
  or --mix, repeatable, one scenario each:
  "name=vip,weight=3,calling=+1719555xxxx,called=+13035550100,presentation=restricted,charge=..."

--trigger chooses the query (a mix's trigger= key wins for its scenario):
termination (terminationAttempt: a call to the subscriber --called, the
default), or an originating trigger, where --calling is the switch's line
placing the call (its UserID directory number, unless --user-dn) and
--called the number it dialled: info-analyzed (infoAnalyzed, the dialled
number in CalledPartyID) or info-collected (infoCollected, in
CollectedAddressInfo). The SCP answers originating queries with continue
or disconnect (a toll-fraud lockdown's refusal).

The generator is built to leave the CPU to the SCP it measures: queries are
encoded once per scenario and only their transaction ID and digits are
patched per call; there is no goroutine per call; the latency histogram has
fixed memory (1.6 % resolution). Latency is measured from the moment a query
is handed to M3UA, so when the SCP cannot keep up and all --concurrency
slots are busy the achieved rate drops below the target (see sendRate).

With several --connect addresses (a mated pair of SCPs, or SCPs behind one
point code) the switch keeps one association to each and load-shares its
queries over them by SLS, as M3UA does; the summary then has a line per SCP:
queries sent, answered, timed out, and lost in flight (waiting at an SCP, or
on the way to it, when its association went down). When one SCP goes, the
others take the traffic at once. --associations N opens N associations to
each address (one SCP served over several links, as a switch with several
signalling links to it): the queries are load-shared over them by SLS, and
the run starts once all are active. --pace sets the pacing quantum of a
rated load: the generator sleeps only when the next call is due more than
that ahead and then sends every call due since in one burst (default
100 µs; 1ms costs both ends fewer wake-ups per call). --timeline FILE
writes, per --timeline-step of the run (10 ms), the answers received, those
slower than --slow (2 ms) and the slowest, as CSV: whether a latency tail is
spread over the run or comes in stalls (a garbage collection, a commit, the
core given to another process), which the percentiles cannot tell.

It exits with status 1, saying why on standard error, when the run does not
measure a working SCP: an association was lost during it (the SCP died or
the network broke: calls then fail to be sent until it is back), errors
(calls not sent, returned or answered wrongly; timeouts are a measurement,
not an error) exceed --max-errors percent of the calls, no call was
answered, or one of several --connect addresses never had an association up
(that SCP down or unreachable throughout: the others took its share; the
summary names it "not reached").`,
		Example: `  # 10 s at 5000 calls/s to a block of 10000 subscribers
  sspsim load --connect 127.0.0.1:2905 --rate 5000 --duration 10s \
      --called-range +1303555xxxx --calling-range +1719555xxxx

  # A mix: 90 % ordinary callers, 10 % anonymous
  sspsim load --rate 20000 --duration 30s \
      --mix 'name=known,weight=9,calling=+1719555xxxx,called=+1303555xxxx' \
      --mix 'name=anonymous,weight=1,calling=+17195551212,presentation=restricted,called=+1303555xxxx'

  # A mated pair: one switch load-sharing over two SCPs, counted per SCP
  sspsim load --connect 127.0.0.1:2905,127.0.0.1:2906 --rate 5000 --duration 30s \
      --called-range +1303555xxxx --calling-range +1719555xxxx

  # Originating calls: lines of 100,000 subscribers dialling London,
  # as the toll-fraud monitor sees them
  sspsim load --trigger info-analyzed --rate 10000 --duration 20s \
      --calling-range +12122000000-+12122099999 --called-range +44207946xxxx

  # Saturation: as fast as 512 outstanding queries allow, JSON summary
  sspsim load --rate 0 --concurrency 512 --duration 20s --called +13035550100 \
      --calling +17195551212 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rate < 0 {
				return usagef("--rate must not be negative")
			}
			if duration <= 0 && calls <= 0 {
				return usagef("give --duration or --calls")
			}
			tr, err := ssp.ParseTrigger(trigger)
			if err != nil {
				return usagef("--trigger: %v", err)
			}
			scen, err := scenarios(&call, calledRange, callingRange, callsFile, mixes, tr)
			if err != nil {
				return err
			}
			if associations < 1 {
				return usagef("--associations must be at least 1")
			}
			cfg, err := cf.config(e, true)
			if err != nil {
				return err
			}
			cfg.Connect = repeatAddresses(cfg.Connect, associations)
			c, err := ssp.Dial(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer c.Close()
			if associations > 1 {
				wctx, cancel := context.WithTimeout(cmd.Context(), cfg.ConnectTimeout)
				err := c.Endpoint().WaitActive(wctx, len(cfg.Connect))
				cancel()
				if err != nil {
					return fmt.Errorf("--associations %d: %w", associations, err)
				}
			}
			if pace < 0 {
				return usagef("--pace must not be negative")
			}
			lc := ssp.LoadConfig{Rate: rate, Concurrency: concurrency, Duration: duration, Calls: calls, Scenarios: scen, Pace: pace}
			if timelineFile != "" {
				if timelineStep <= 0 || slowAnswer <= 0 {
					return usagef("--timeline-step and --slow must be positive")
				}
				lc.TimelineStep, lc.TimelineSlow = timelineStep, slowAnswer
			}
			live := e.isTTY(e.stderr) && !e.jsonOut
			if live {
				lc.ProgressEvery = 250 * time.Millisecond
				lc.Progress = func(p ssp.Progress) { fmt.Fprintf(e.stderr, "\r\033[K%s", progressLine(p)) }
			}
			sum, err := c.Load(cmd.Context(), lc)
			if live {
				fmt.Fprint(e.stderr, "\r\033[K")
			}
			if sum == nil {
				return err
			}
			if e.jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(sum); err != nil {
					return err
				}
			} else {
				writeSummary(e.stdout, sum)
			}
			if err := cf.writeCapture(e, c); err != nil {
				return err
			}
			if timelineFile != "" {
				if err := writeTimeline(timelineFile, sum.Timeline); err != nil {
					return err
				}
			}
			if msg := loadFailure(sum, maxErrors); msg != "" {
				fmt.Fprintln(e.stderr, "sspsim:", msg)
				return exitError{Code: 1}
			}
			return nil
		},
	}
	cf.add(cmd)
	call.add(cmd)
	fl := cmd.Flags()
	fl.Float64Var(&rate, "rate", 1000, "target calls per second (0: as fast as --concurrency allows)")
	fl.IntVar(&concurrency, "concurrency", 256, "most queries outstanding at once")
	fl.DurationVar(&duration, "duration", 10*time.Second, "how long to send")
	fl.Int64Var(&calls, "calls", 0, "stop after this many calls (0: --duration decides)")
	fl.StringVar(&calledRange, "called-range", "", `called numbers: "+1303555xxxx" or "FIRST-LAST"`)
	fl.StringVar(&callingRange, "calling-range", "", `calling numbers: "+1719555xxxx" or "FIRST-LAST"`)
	fl.StringVar(&callsFile, "calls-file", "", `CSV of calls "calling,called[,presentation[,charge[,original-called]]]"`)
	fl.IntVar(&associations, "associations", 1, "M3UA associations to each --connect address, load-shared by SLS")
	fl.DurationVar(&pace, "pace", ssp.DefaultPace, "pacing quantum: sleep only when the next call is due more than this ahead, then send all calls due (bigger bursts, fewer wake-ups)")
	fl.StringVar(&timelineFile, "timeline", "", "write the run's timeline to this CSV file: per --timeline-step, answers, answers over --slow, slowest (ms)")
	fl.DurationVar(&timelineStep, "timeline-step", 10*time.Millisecond, "the timeline's slice")
	fl.DurationVar(&slowAnswer, "slow", 2*time.Millisecond, "an answer slower than this counts as slow in the timeline")
	fl.Float64Var(&maxErrors, "max-errors", 1, "exit 1 when errors exceed this percentage of the calls")
	fl.StringArrayVar(&mixes, "mix", nil, `a scenario "name=N,weight=W,trigger=T,calling=NUM|RANGE,called=NUM|RANGE,presentation=P,charge=NUM,original-called=NUM" (repeatable)`)
	fl.StringVar(&trigger, "trigger", "termination", "the query: termination (terminationAttempt), info-analyzed or info-collected (originating: --calling is the line, --called what it dialled)")
	return cmd
}

// repeatAddresses lists each address n times, in order: one M3UA
// association per entry.
func repeatAddresses(addrs []string, n int) []string {
	out := make([]string, 0, len(addrs)*n)
	for _, a := range addrs {
		for range n {
			out = append(out, a)
		}
	}
	return out
}

// loadFailure says why a run does not measure a working SCP ("" if it
// does): an association lost, errors over maxErrors percent of the calls,
// or nothing answered.
func loadFailure(s *ssp.Summary, maxErrors float64) string {
	switch {
	case s.AssociationLosses > 0:
		var lost int64
		for _, p := range s.Peers {
			lost += p.LostInFlight
		}
		return fmt.Sprintf("the association to the SCP was lost %d time(s) during the run (the SCP died or the network broke): %d of %d calls could not be sent, %d were lost in flight with the association and %d more timed out; the results do not measure a working SCP",
			s.AssociationLosses, s.NotSent, s.Calls, lost, s.Timeouts-lost)
	case s.Calls > 0 && float64(s.Errors)*100 > maxErrors*float64(s.Calls):
		return fmt.Sprintf("%d errors in %d calls (%.2f %%), over --max-errors %g %% (see the errors in the summary)",
			s.Errors, s.Calls, float64(s.Errors)*100/float64(s.Calls), maxErrors)
	case s.Answered == 0 && s.Gapped == 0:
		return "no call was answered"
	case len(s.NotReached) > 0:
		return fmt.Sprintf("%s never had an association up during the run (that SCP down or unreachable): the load went to the other SCP(s) only, so the run does not measure the pair",
			strings.Join(s.NotReached, ", "))
	}
	return ""
}

func progressLine(p ssp.Progress) string {
	return fmt.Sprintf("%6.1fs  sent %d  answered %d  %.0f q/s  p99 %.3f ms  outstanding %d  timeouts %d  errors %d  gapped %d",
		p.Elapsed.Seconds(), p.Sent, p.Answered, p.Rate, float64(p.P99)/1e6, p.Outstanding, p.Timeouts, p.Errors, p.Gapped)
}

func msf(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }

func writeSummary(w io.Writer, s *ssp.Summary) {
	target := "as fast as possible"
	if s.TargetRate > 0 {
		target = fmt.Sprintf("%.0f calls/s", s.TargetRate)
	}
	fmt.Fprintf(w, "duration %.2f s, target %s, concurrency %d\n", s.DurationS, target, s.Concurrency)
	fmt.Fprintf(w, "calls %d  sent %d  answered %d  gapped %d  timeouts %d  errors %d\n",
		s.Calls, s.Sent, s.Answered, s.Gapped, s.Timeouts, s.Errors)
	if s.AssociationLosses > 0 || s.NotSent > 0 {
		fmt.Fprintf(w, "associations lost %d  calls not sent %d\n", s.AssociationLosses, s.NotSent)
	}
	if len(s.Peers) > 1 || s.AssociationLosses > 0 || len(s.NotReached) > 0 {
		// A mated pair (several --connect), or an SCP lost: who answered
		// what, and which queries went down with an association.
		fmt.Fprintln(w, "per SCP:")
		for _, p := range s.Peers {
			fmt.Fprintf(w, "  %-21s sent %d  answered %d  timeouts %d  lost in flight %d", p.Address, p.Sent, p.Answered, p.Timeouts, p.LostInFlight)
			if p.AssociationsEnded > 0 {
				fmt.Fprintf(w, "  (association down %d time(s), %d queries waiting then)", p.AssociationsEnded, p.InFlightAtLoss)
			}
			fmt.Fprintln(w)
		}
		for _, a := range s.NotReached {
			fmt.Fprintf(w, "  %-21s not reached: no association up during the run (the others took its share)\n", a)
		}
	}
	if len(s.UnavailableVia) > 0 {
		// One STP of a pair cannot reach the SCP: the other carried its
		// share, so the per-SCP counts above are lopsided on purpose.
		fmt.Fprintf(w, "SCP point code reported unavailable (DUNA) by %s: queries went through the other SG(s)\n", strings.Join(s.UnavailableVia, ", "))
	}
	fmt.Fprintf(w, "send rate %.1f/s  answer rate %.1f/s\n", s.SendRate, s.AnswerRate)
	l := s.Latency
	fmt.Fprintf(w, "latency ms  min %s  mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%d answers)\n",
		msf(l.Min), msf(l.Mean), msf(l.P50), msf(l.P90), msf(l.P99), msf(l.P999), msf(l.Max), l.Count)
	if s.Histogram != nil && l.Count > 0 {
		// A coarse view of the distribution: one line per power of two.
		fmt.Fprintln(w, "latency histogram:")
		type row struct {
			hi    time.Duration
			count uint64
		}
		var rows []row
		for _, b := range s.Histogram.Buckets() {
			hi := time.Duration(1)
			for hi <= b.High {
				hi <<= 1
			}
			if len(rows) > 0 && rows[len(rows)-1].hi == hi {
				rows[len(rows)-1].count += b.Count
			} else {
				rows = append(rows, row{hi, b.Count})
			}
		}
		for _, r := range rows {
			bar := strings.Repeat("#", int(1+49*r.count/l.Count))
			fmt.Fprintf(w, "  < %10s ms %9d %s\n", msf(r.hi), r.count, bar)
		}
	}
	fmt.Fprintln(w, "answers per operation:")
	names := make([]string, 0, len(s.Operations))
	for n := range s.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %d\n", n, s.Operations[n])
	}
	if len(s.ACG) > 0 {
		fmt.Fprintln(w, "ACG controls in force:")
		for _, g := range s.ACG {
			fmt.Fprintf(w, "  code %s  gap %s  duration %s  gapped %d  let through %d\n", g.Code, g.IntervalText, g.DurationText, g.Gapped, g.Allowed)
		}
	}
	for _, m := range s.ErrorSamples {
		fmt.Fprintf(w, "error: %s\n", m)
	}
}

// scenarios builds the load mix from the flags; tr is the trigger of every
// scenario that does not name its own.
func scenarios(call *callFlags, calledRange, callingRange, callsFile string, mixes []string, tr ssp.Trigger) ([]ssp.Scenario, error) {
	sources := 0
	for _, s := range []bool{calledRange != "" || call.called != "", callsFile != "", len(mixes) > 0} {
		if s {
			sources++
		}
	}
	if sources == 0 {
		return nil, usagef("say what to call: --called/--called-range, --calls-file or --mix")
	}
	if sources > 1 {
		return nil, usagef("use one of --called/--called-range, --calls-file and --mix")
	}
	switch {
	case callsFile != "":
		return readCallsFile(callsFile, tr)
	case len(mixes) > 0:
		var out []ssp.Scenario
		for i, m := range mixes {
			sc, err := parseMix(m, tr)
			if err != nil {
				return nil, usagef("--mix %d: %v", i+1, err)
			}
			out = append(out, sc)
		}
		return out, nil
	}
	if calledRange != "" && call.called != "" {
		return nil, usagef("give --called or --called-range, not both")
	}
	if callingRange != "" && call.calling != "" {
		return nil, usagef("give --calling or --calling-range, not both")
	}
	if calledRange != "" {
		call.called = "" // ta() needs some called number: set below
	}
	sc := ssp.Scenario{Name: "calls", Trigger: tr}
	if calledRange != "" {
		r, err := ssp.ParseRange(calledRange)
		if err != nil {
			return nil, usagef("--called-range: %v", err)
		}
		sc.Called = &r
		call.called = r.First.String()
	}
	if callingRange != "" {
		r, err := ssp.ParseRange(callingRange)
		if err != nil {
			return nil, usagef("--calling-range: %v", err)
		}
		sc.Calling = &r
		call.calling = r.First.String() // an originating trigger's UserID
	}
	ta, err := call.ta(tr)
	if err != nil {
		return nil, err
	}
	sc.TA = ta
	return []ssp.Scenario{sc}, nil
}

func parseMix(s string, tr ssp.Trigger) (ssp.Scenario, error) {
	sc := ssp.Scenario{Trigger: tr}
	var cf callFlags
	cf.presentation, cf.bearer = "allowed", "speech"
	var calledR, callingR string
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return sc, fmt.Errorf("%q: want key=value", kv)
		}
		switch strings.ToLower(k) {
		case "name":
			sc.Name = v
		case "weight":
			w, err := strconv.Atoi(v)
			if err != nil || w < 1 {
				return sc, fmt.Errorf("weight %q: want a positive integer", v)
			}
			sc.Weight = w
		case "trigger":
			t, err := ssp.ParseTrigger(v)
			if err != nil {
				return sc, err
			}
			sc.Trigger = t
		case "calling":
			callingR = v
		case "called":
			calledR = v
		case "presentation":
			cf.presentation = v
		case "charge":
			cf.charge = v
		case "original-called":
			cf.originalCalled = v
		case "redirecting":
			cf.redirecting = v
		case "bearer":
			cf.bearer = v
		case "user-dn":
			cf.userDN = v
		default:
			return sc, fmt.Errorf("unknown key %q (name, weight, trigger, calling, called, presentation, charge, original-called, redirecting, bearer, user-dn)", k)
		}
	}
	if calledR == "" {
		return sc, fmt.Errorf("no called number")
	}
	r, err := ssp.ParseRange(calledR)
	if err != nil {
		return sc, err
	}
	sc.Called = &r
	cf.called = r.First.String()
	if callingR != "" {
		r, err := ssp.ParseRange(callingR)
		if err != nil {
			return sc, err
		}
		sc.Calling = &r
		cf.calling = r.First.String() // an originating trigger's UserID
	}
	if sc.TA, err = cf.ta(sc.Trigger); err != nil {
		return sc, err
	}
	return sc, nil
}

func readCallsFile(path string, tr ssp.Trigger) ([]ssp.Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []ssp.Scenario
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if len(out) == 0 && strings.EqualFold(fields[0], "calling") {
			continue // header
		}
		if len(fields) < 2 || len(fields) > 5 {
			return nil, fmt.Errorf("%s:%d: want calling,called[,presentation[,charge[,original-called]]]", path, line)
		}
		cf := callFlags{calling: fields[0], called: fields[1], presentation: "allowed", bearer: "speech"}
		if len(fields) > 2 && fields[2] != "" {
			cf.presentation = fields[2]
		}
		if len(fields) > 3 {
			cf.charge = fields[3]
		}
		if len(fields) > 4 {
			cf.originalCalled = fields[4]
		}
		ta, err := cf.ta(tr)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		out = append(out, ssp.Scenario{Name: fmt.Sprintf("%s:%d", path, line), TA: ta, Trigger: tr})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no calls", path)
	}
	return out, nil
}
