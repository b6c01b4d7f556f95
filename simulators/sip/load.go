package sip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"callgate/simulators/ssp/hist"
)

// LoadConfig is a load run: many concurrent calls placed from one phone,
// each like CallConfig describes, held for a while and hung up.
type LoadConfig struct {
	// Call is every call's template (Target, From, Behaviour, ...); its
	// Phone field is ignored (see Phone). Call.Identify turns prompt
	// recognition on (it costs CPU; jitter and loss are always measured).
	Call CallConfig
	// Calls is how many calls to place in all (0: until Duration).
	Calls int
	// Concurrency is the most calls in progress at once (default 10).
	Concurrency int
	// Rate is how many calls to start per second (0: as fast as
	// Concurrency allows).
	Rate float64
	// Duration stops starting calls after this long (0: Calls decides).
	Duration time.Duration
	// Hold hangs each answered call up this long after the answer
	// (default 10 s), unless the far end does first.
	Hold time.Duration
	// Phone is the calling phone.
	Phone PhoneConfig
	// Answer, when set, also runs the answering side in this process on
	// its own phone (AnswerPhone), e.g. the subscriber the B2BUA calls.
	// With no Call.Target the calls go to it (sipsim measuring itself).
	Answer      *AnswerConfig
	AnswerPhone PhoneConfig
	// Progress, when set, is called every ProgressEvery (default 1 s).
	Progress      func(LoadProgress)
	ProgressEvery time.Duration
}

// LoadProgress is a load run's state while it runs.
type LoadProgress struct {
	Elapsed   time.Duration
	Started   int64
	Active    int64
	Completed int64
	Failed    int64
	// JitterP99 by sipsim's clock, KernelJitterP99 by kernel receive times.
	JitterP99, KernelJitterP99 time.Duration
}

// LoadSummary is a load run's report.
type LoadSummary struct {
	DurationS   float64 `json:"durationS"`
	Concurrency int     `json:"concurrency"`
	// MaxActive is the most calls in progress at once.
	MaxActive int64 `json:"maxActive"`
	Started   int64 `json:"started"`
	// Completed counts answered calls; Failed every other outcome, which
	// Outcomes and Statuses break down (final status of unanswered calls).
	Completed int64            `json:"completed"`
	Failed    int64            `json:"failed"`
	Outcomes  map[string]int64 `json:"outcomes"`
	Statuses  map[string]int64 `json:"statuses,omitempty"`
	// Prompts counts the prompts recognised (with Call.Identify).
	Prompts map[string]int64 `json:"prompts,omitempty"`
	// RTP is the audio the callers received: packets, loss and the
	// inter-packet jitter distribution over every call.
	RTP LoadRTP `json:"rtp"`
	// AnswerRTP is the same for the in-process answering side.
	AnswerRTP *LoadRTP `json:"answerRtp,omitempty"`
	Answered  int64    `json:"answeredByAnswerSide,omitempty"`
	// Resources is sipsim's own CPU and memory during the run.
	Resources    Resources `json:"resources"`
	ErrorSamples []string  `json:"errorSamples,omitempty"`
	// Jitter is the callers' jitter histogram (for finer reports).
	Jitter *hist.Snapshot `json:"-"`
}

// LoadRTP is received RTP over a run. Jitter is by sipsim's clock when
// its receiving goroutine got each packet (sipsim's scheduling included);
// KernelJitter by the kernel's receive times (SO_TIMESTAMPNS; on loopback
// the sender's send times), so the two split the jitter between the
// sender and the receiver.
type LoadRTP struct {
	Packets      uint64       `json:"packets"`
	Lost         int64        `json:"lost"`
	LossPct      float64      `json:"lossPct"`
	Late         uint64       `json:"late"`
	Jitter       hist.Summary `json:"jitter"`
	KernelJitter hist.Summary `json:"kernelJitter"`
}

// Resources is the simulator's own use of the machine.
type Resources struct {
	CPUUserS float64 `json:"cpuUserS"`
	CPUSysS  float64 `json:"cpuSysS"`
	// CPUPct is CPU time over wall time (100 = one core busy).
	CPUPct float64 `json:"cpuPct"`
	// CPUPerCallS is CPU time per call-second of media (both sides when
	// the answering side runs here too).
	CPUMsPerCallS float64 `json:"cpuMsPerCallSecond"`
	// PeakRSSMiB is the largest resident size seen; PerCallKiB the growth
	// over the start divided by the most calls at once.
	StartRSSMiB float64 `json:"startRssMiB"`
	PeakRSSMiB  float64 `json:"peakRssMiB"`
	PerCallKiB  float64 `json:"perCallKiB"`
	Goroutines  int     `json:"peakGoroutines"`
}

type loadRun struct {
	cfg      LoadConfig
	jitter   jitterSinks
	ajitter  jitterSinks
	started  atomic.Int64
	active   atomic.Int64
	maxAct   atomic.Int64
	complete atomic.Int64
	failed   atomic.Int64
	callSecs atomic.Int64 // answered-call milliseconds

	mu       sync.Mutex
	outcomes map[string]int64
	statuses map[string]int64
	prompts  map[string]int64
	rtp      LoadRTP
	arpt     LoadRTP
	answered int64
	errors   []string
}

// maxAnswerDrain bounds how long a load run waits, once its calls are
// done, for the in-process answering side's last results; they normally
// arrive within milliseconds.
const maxAnswerDrain = 10 * time.Second

// Load runs a load test and reports it. It stops early, with what it has,
// when ctx ends.
func Load(ctx context.Context, cfg LoadConfig) (*LoadSummary, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if cfg.Calls <= 0 && cfg.Duration <= 0 {
		return nil, errors.New("load: give Calls or Duration")
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 10 * time.Second
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	cfg.Call.MaxDuration = cfg.Hold
	if _, err := cfg.Call.Behaviour.resolve(true); err != nil {
		return nil, err
	}
	if cfg.Call.Target == "" && cfg.Answer == nil {
		return nil, errors.New("load: no target (Call.Target), and no answering side to call")
	}
	r := &loadRun{cfg: cfg, jitter: jitterSinks{new(hist.Histogram), new(hist.Histogram)}, outcomes: map[string]int64{}, statuses: map[string]int64{}, prompts: map[string]int64{}}

	startRSS := rssBytes()
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)

	phone, err := NewPhone(ctx, cfg.Phone)
	if err != nil {
		return nil, err
	}
	defer phone.Close()
	var answerer *Answerer
	if cfg.Answer != nil {
		ac := *cfg.Answer
		r.ajitter = jitterSinks{new(hist.Histogram), new(hist.Histogram)}
		ac.jitter = &r.ajitter
		ac.onResult = r.answerResult
		answerer, err = Answer(ctx, cfg.AnswerPhone, ac)
		if err != nil {
			return nil, err
		}
		defer answerer.Close()
		if cfg.Call.Target == "" {
			cfg.Call.Target = answerer.URI("load")
			r.cfg.Call.Target = cfg.Call.Target
		}
	}

	start := time.Now()
	var peakRSS atomic.Int64
	var peakG atomic.Int64
	peakRSS.Store(int64(startRSS))
	sample := func() {
		if v := int64(rssBytes()); v > peakRSS.Load() {
			peakRSS.Store(v)
		}
		if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
			peakG.Store(g)
		}
	}
	monCtx, monCancel := context.WithCancel(ctx)
	var monWG sync.WaitGroup
	monWG.Add(1)
	go func() {
		defer monWG.Done()
		t := time.NewTicker(cfg.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-monCtx.Done():
				return
			case <-t.C:
				sample()
				if cfg.Progress != nil {
					cfg.Progress(LoadProgress{Elapsed: time.Since(start), Started: r.started.Load(), Active: r.active.Load(),
						Completed: r.complete.Load(), Failed: r.failed.Load(), JitterP99: r.jitter.user.Quantile(0.99), KernelJitterP99: r.jitter.kernel.Quantile(0.99)})
				}
			}
		}
	}()

	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	var tick <-chan time.Time
	if cfg.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
		defer t.Stop()
		tick = t.C
	}
	var stopAt <-chan time.Time
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		stopAt = t.C
	}
launch:
	for n := 0; cfg.Calls <= 0 || n < cfg.Calls; n++ {
		if tick != nil {
			select {
			case <-tick:
			case <-stopAt:
				break launch
			case <-ctx.Done():
				break launch
			}
		}
		select {
		case sem <- struct{}{}:
		case <-stopAt:
			break launch
		case <-ctx.Done():
			break launch
		}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			defer func() { <-sem }()
			r.one(ctx, phone, n)
		}(n)
	}
	wg.Wait()
	if answerer != nil {
		// The answering side's last results arrive as its calls end,
		// just after their callers' (each is bounded by its own timers).
		t := time.NewTimer(maxAnswerDrain)
		select {
		case <-answerer.idle():
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	monCancel()
	monWG.Wait()
	sample()
	wall := time.Since(start)
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)

	sum := &LoadSummary{DurationS: round3(wall.Seconds()), Concurrency: cfg.Concurrency, MaxActive: r.maxAct.Load(),
		Started: r.started.Load(), Completed: r.complete.Load(), Failed: r.failed.Load()}
	r.mu.Lock()
	sum.Outcomes, sum.Statuses = r.outcomes, r.statuses
	if len(r.prompts) > 0 {
		sum.Prompts = r.prompts
	}
	sum.RTP = r.rtp
	sum.ErrorSamples = r.errors
	if cfg.Answer != nil {
		a := r.arpt
		sum.AnswerRTP = &a
		sum.Answered = r.answered
	}
	r.mu.Unlock()
	snap := r.jitter.user.Snapshot()
	sum.Jitter = snap
	sum.RTP.Jitter = snap.Summary()
	sum.RTP.KernelJitter = r.jitter.kernel.Snapshot().Summary()
	sum.RTP.LossPct = lossPct(sum.RTP.Lost, sum.RTP.Packets)
	if sum.AnswerRTP != nil {
		sum.AnswerRTP.Jitter = r.ajitter.user.Snapshot().Summary()
		sum.AnswerRTP.KernelJitter = r.ajitter.kernel.Snapshot().Summary()
		sum.AnswerRTP.LossPct = lossPct(sum.AnswerRTP.Lost, sum.AnswerRTP.Packets)
	}
	user := tvSeconds(ru1.Utime) - tvSeconds(ru0.Utime)
	sys := tvSeconds(ru1.Stime) - tvSeconds(ru0.Stime)
	res := Resources{CPUUserS: round3(user), CPUSysS: round3(sys), CPUPct: round3(100 * (user + sys) / wall.Seconds()),
		StartRSSMiB: round3(float64(startRSS) / (1 << 20)), PeakRSSMiB: round3(float64(peakRSS.Load()) / (1 << 20)),
		Goroutines: int(peakG.Load())}
	if cs := float64(r.callSecs.Load()) / 1000; cs > 0 {
		res.CPUMsPerCallS = round3(1000 * (user + sys) / cs)
	}
	if m := sum.MaxActive; m > 0 {
		res.PerCallKiB = round3(float64(peakRSS.Load()-int64(startRSS)) / 1024 / float64(m))
	}
	sum.Resources = res
	return sum, ctx.Err()
}

func lossPct(lost int64, packets uint64) float64 {
	if exp := float64(lost) + float64(packets); exp > 0 {
		return math.Round(1e4*float64(lost)/exp) / 100
	}
	return 0
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// rssBytes is the process's resident size now (Linux; 0 elsewhere).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// one places call n.
func (r *loadRun) one(ctx context.Context, phone *Phone, n int) {
	r.started.Add(1)
	act := r.active.Add(1)
	for {
		m := r.maxAct.Load()
		if act <= m || r.maxAct.CompareAndSwap(m, act) {
			break
		}
	}
	defer r.active.Add(-1)
	res, err := phone.call(ctx, r.cfg.Call, &r.jitter)
	if err != nil {
		r.failed.Add(1)
		r.sample(err.Error())
		return
	}
	if res.Answered {
		r.complete.Add(1)
		for _, e := range res.Timeline {
			if e.Kind == KindSIP && e.Method == "ACK" {
				r.callSecs.Add(int64(res.Duration-e.At) / 1e6)
				break
			}
		}
	} else {
		r.failed.Add(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[string(res.Outcome)]++
	if res.Status != 0 && !res.Answered {
		r.statuses[fmt.Sprintf("%d %s", res.Status, res.Reason)]++
	}
	for _, p := range res.Prompts {
		r.prompts[p]++
	}
	r.rtp.Packets += res.RTP.Packets
	r.rtp.Lost += res.RTP.Lost
	r.rtp.Late += res.RTP.Late
	if res.Error != "" && len(r.errors) < 10 {
		r.errors = append(r.errors, res.Error)
	}
}

func (r *loadRun) sample(msg string) {
	r.mu.Lock()
	if len(r.errors) < 10 {
		r.errors = append(r.errors, msg)
	}
	r.mu.Unlock()
}

func (r *loadRun) answerResult(res *AnswerResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if res.Outcome == OutcomeAnswered {
		r.answered++
		// Both sides' media count as call time for the CPU figure.
		r.callSecs.Add(int64(res.Duration) / 1e6)
	}
	r.arpt.Packets += res.RTP.Packets
	r.arpt.Lost += res.RTP.Lost
	r.arpt.Late += res.RTP.Late
}
