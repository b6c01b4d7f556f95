package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/simulators/sip"
)

func (e *env) loadCmd() *cobra.Command {
	var (
		pf                 phoneFlags
		tf                 targetFlags
		bf                 behaviourFlags
		calls, concurrency int
		rate               float64
		duration, hold     time.Duration
		identify           bool
		answerListen       string
		answerRing         time.Duration
		answerCues         []string
		answerMode         string
		answerSilence      bool
		cpuProfile         string
	)
	cmd := &cobra.Command{
		Use:   "load (--called NUMBER [--server HOST:PORT] | --target URI) --concurrency N [--calls N | --duration D] [flags]",
		Short: "Run many concurrent media calls and report RTP jitter, loss, and sipsim's CPU and memory",
		Long: `load places calls from one phone, at most --concurrency at once (starting
--rate per second, or as fast as slots free), each like 'sipsim call' with
the same target, headers and script, holds each answered call for --hold
and hangs up. While it runs on a terminal it shows a live line. At the end
it reports the calls started, completed (answered) and failed by outcome and
status; the RTP the callers received: packets, loss, and the inter-packet
jitter distribution (each packet's arrival spacing against its timestamp
spacing: p50, p90, p99, max) over every call, twice: by sipsim's clock when
its goroutine got each packet (its own scheduling included), and on Linux
by the kernel's receive times (SO_TIMESTAMPNS; on loopback, when the sender
sent: its pacing alone); and sipsim's own CPU time,
CPU share, CPU per call-second and memory (peak RSS, growth per concurrent
call), since a loaded generator measures itself too.

--answer-listen also runs the answering side (the subscriber's phone the
B2BUA calls, or the continue route) in this process and reports its RTP.
Prompt recognition is off unless --identify (it costs CPU); jitter and loss
are always measured.`,
		Example: `  # 500 concurrent screening calls through callgate, each saying its name
  sipsim load --called +13035550100 --calling +17195551212 --concurrency 500 --rate 50 \
      --calls 2000 --hold 20s --prompts prompts/ --identify --on-prompt 'say-name=wait:300ms say'

  # sipsim against itself (no --called: the calls go to the in-process answering side)
  sipsim load --answer-listen 127.0.0.1:5080 --concurrency 100 --duration 30s --hold 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg sip.LoadConfig
			if tf.target != "" || tf.called != "" || answerListen == "" {
				if err := tf.config(&cfg.Call); err != nil {
					return err
				}
			}
			b, err := bf.behaviour()
			if err != nil {
				return err
			}
			b.Identify = identify
			if identify && b.Prompts == nil {
				return usagef("--identify needs --prompts")
			}
			pc, err := pf.config(e)
			if err != nil {
				return err
			}
			if concurrency < 1 {
				return usagef("--concurrency must be at least 1")
			}
			if calls <= 0 && duration <= 0 {
				return usagef("give --calls or --duration")
			}
			if rate < 0 {
				return usagef("--rate must not be negative")
			}
			cfg.Call.Behaviour, cfg.Phone = b, pc
			cfg.Calls, cfg.Concurrency, cfg.Rate, cfg.Duration, cfg.Hold = calls, concurrency, rate, duration, hold
			if answerListen != "" {
				ab := sip.Behaviour{Probe: sip.Probe{Off: !bf.probe}, Prompts: b.Prompts, Identify: identify, NoSilence: !answerSilence}
				for _, s := range answerCues {
					c, err := sip.ParseCue(s)
					if err != nil {
						return usagef("--answer-on-prompt: %v", err)
					}
					ab.Script.Cues = append(ab.Script.Cues, c)
				}
				cfg.Answer = &sip.AnswerConfig{Mode: sip.AnswerMode(answerMode), RingFor: answerRing, Behaviour: ab, MaxDuration: hold + time.Minute}
				// The answering side is set up as the calling one (transport,
				// codecs, TLS and SRTP), on its own address.
				cfg.AnswerPhone = pc
				cfg.AnswerPhone.Listen = answerListen
			}
			live := e.isTTY(e.stderr) && !e.jsonOut
			if live {
				cfg.ProgressEvery = 500 * time.Millisecond
				cfg.Progress = func(p sip.LoadProgress) {
					fmt.Fprintf(e.stderr, "\r\033[K%6.1fs  started %d  active %d  completed %d  failed %d  jitter p99 %.2f ms",
						p.Elapsed.Seconds(), p.Started, p.Active, p.Completed, p.Failed, float64(p.JitterP99)/1e6)
					if p.KernelJitterP99 > 0 {
						fmt.Fprintf(e.stderr, " (kernel %.2f ms)", float64(p.KernelJitterP99)/1e6)
					}
				}
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return usagef("--cpuprofile: %v", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			sum, err := sip.Load(cmd.Context(), cfg)
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
				writeLoad(e.stdout, sum)
			}
			if sum.Completed == 0 {
				fmt.Fprintln(e.stderr, "sipsim: no call was answered")
				return exitError{Code: 1}
			}
			return nil
		},
	}
	pf.add(cmd, "127.0.0.1:0")
	tf.add(cmd)
	bf.add(cmd, true)
	fl := cmd.Flags()
	fl.IntVar(&calls, "calls", 0, "calls to place in all (0: until --duration)")
	fl.IntVar(&concurrency, "concurrency", 10, "most calls in progress at once")
	fl.Float64Var(&rate, "rate", 0, "calls started per second (0: as fast as --concurrency allows)")
	fl.DurationVar(&duration, "duration", 0, "stop starting calls after this long")
	fl.DurationVar(&hold, "hold", 10*time.Second, "hang each answered call up this long after the answer")
	fl.BoolVar(&identify, "identify", false, "recognise prompts too (needs --prompts; costs CPU)")
	fl.StringVar(&answerListen, "answer-listen", "", "also run the answering side in this process, on this IP:PORT")
	fl.DurationVar(&answerRing, "answer-ring", 0, "the in-process answering side rings this long first")
	fl.StringArrayVar(&answerCues, "answer-on-prompt", nil, "a cue for the in-process answering side (e.g. press-1=1; repeatable)")
	fl.StringVar(&answerMode, "answer-mode", "phone", "the in-process answering side: phone or voicemail")
	fl.BoolVar(&answerSilence, "answer-silence", true, "the in-process answering side sends silence every 20 ms (--answer-silence=false: only what it says)")
	fl.StringVar(&cpuProfile, "cpuprofile", "", "write sipsim's CPU profile of the run to this file (go tool pprof)")
	return cmd
}

func writeLoad(w io.Writer, s *sip.LoadSummary) {
	fmt.Fprintf(w, "duration %.1f s, concurrency %d (reached %d)\n", s.DurationS, s.Concurrency, s.MaxActive)
	fmt.Fprintf(w, "calls: started %d, completed %d, failed %d\n", s.Started, s.Completed, s.Failed)
	writeCounts(w, "outcomes", s.Outcomes)
	writeCounts(w, "statuses", s.Statuses)
	writeCounts(w, "prompts", s.Prompts)
	writeRTP(w, "rtp received by the callers", s.RTP)
	if s.AnswerRTP != nil {
		fmt.Fprintf(w, "answering side: %d calls answered\n", s.Answered)
		writeRTP(w, "rtp received by the answering side", *s.AnswerRTP)
	}
	r := s.Resources
	fmt.Fprintf(w, "sipsim: cpu %.2f s user + %.2f s sys = %.1f %% of one core; %.3f ms cpu per call-second\n", r.CPUUserS, r.CPUSysS, r.CPUPct, r.CPUMsPerCallS)
	fmt.Fprintf(w, "sipsim: rss %.1f MiB at start, %.1f MiB peak, %.1f KiB per concurrent call; %d goroutines at peak\n", r.StartRSSMiB, r.PeakRSSMiB, r.PerCallKiB, r.Goroutines)
	for _, m := range s.ErrorSamples {
		fmt.Fprintf(w, "error: %s\n", m)
	}
}

func writeRTP(w io.Writer, what string, r sip.LoadRTP) {
	j := r.Jitter
	fmt.Fprintf(w, "%s: %d packets, %d lost (%.2f %%), %d late\n", what, r.Packets, r.Lost, r.LossPct, r.Late)
	fmt.Fprintf(w, "  jitter ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (%d packet pairs)\n", j.P50Ms, j.P90Ms, j.P99Ms, j.P999Ms, j.MaxMs, j.Count)
	if k := r.KernelJitter; k.Count > 0 {
		fmt.Fprintf(w, "  jitter ms by kernel receive times: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (%d packet pairs)\n", k.P50Ms, k.P90Ms, k.P99Ms, k.P999Ms, k.MaxMs, k.Count)
	}
}

func writeCounts(w io.Writer, what string, m map[string]int64) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	fmt.Fprintf(w, "%s: %s\n", what, strings.Join(parts, ", "))
}
