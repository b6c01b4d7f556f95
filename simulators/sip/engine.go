package sip

import (
	"context"
	"strings"
	"sync"
	"time"
)

// engine runs a call's script: triggers find their cue, delayed cues wait
// on a timer, and one goroutine carries out fired cues' steps in order.
type engine struct {
	s *session

	mu        sync.Mutex
	cues      []cueState
	fired     bool // any cue fired (fallbacks then stay quiet)
	pending   int  // cues queued, delayed or running
	started   bool // fallbacks started
	stopped   bool
	timers    []*time.Timer
	work      chan work
	runOnce   sync.Once
	done      chan struct{}
	prompts   []promptSeen // for echo-digits
	hangingUp bool
}

type cueState struct {
	Cue
	left int // occurrences still to fire on; -1 every one
	used bool
}

type work struct {
	label string
	steps []Step
	at    time.Time
}

type promptSeen struct {
	name  string
	digit rune
	end   time.Time
	seen  time.Time
}

func newEngine(s *session) *engine {
	e := &engine{s: s, work: make(chan work, 64), done: make(chan struct{})}
	for _, c := range s.b.Script.Cues {
		left := c.Times
		if left == 0 {
			left = -1
		}
		e.cues = append(e.cues, cueState{Cue: c, left: left})
	}
	return e
}

// start runs the step goroutine (once).
func (e *engine) start() {
	e.runOnce.Do(func() {
		e.s.spawn(e.run)
	})
}

// trigger fires the next cue waiting for trigger, if any.
func (e *engine) trigger(trigger string, at time.Time) {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	var c *cueState
	for i := range e.cues {
		if e.cues[i].Trigger == trigger && e.cues[i].left != 0 {
			c = &e.cues[i]
			break
		}
	}
	if c == nil {
		e.mu.Unlock()
		return
	}
	if c.left > 0 {
		c.left--
	}
	c.used = true
	e.fired = true
	e.pending++
	w := work{label: c.Text, steps: c.Steps, at: at}
	delay := c.Delay
	if delay > 0 {
		e.timers = append(e.timers, time.AfterFunc(delay, func() { e.enqueue(w) }))
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	e.enqueue(w)
}

func (e *engine) enqueue(w work) {
	e.start()
	select {
	case e.work <- w:
	case <-e.done:
	}
}

// startFallbacks arms the fallbacks when media starts (once).
func (e *engine) startFallbacks() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.stopped {
		return
	}
	e.started = true
	for _, f := range e.s.b.Script.Fallbacks {
		f := f
		e.pending++
		e.timers = append(e.timers, time.AfterFunc(f.After, func() {
			e.mu.Lock()
			fire := !e.fired
			if !fire {
				e.pending--
			}
			e.mu.Unlock()
			if fire {
				e.enqueue(work{label: "fallback " + f.Text, steps: f.Steps, at: time.Now()})
			}
		}))
	}
}

// sawPrompt remembers a recognised prompt for echo-digits.
func (e *engine) sawPrompt(h heard) {
	e.mu.Lock()
	e.prompts = append(e.prompts, promptSeen{name: h.prompt, digit: h.digit, end: h.end, seen: time.Now()})
	e.mu.Unlock()
}

// idle reports whether the script has nothing left to do before the
// probe exchange: nothing queued, delayed or running, and every cue that
// fires a set number of times used up (a cue for every occurrence counts
// once it has fired), cues on @tone aside (they answer the exchange).
func (e *engine) idle() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pending > 0 {
		return false
	}
	for _, c := range e.cues {
		if c.Trigger == EventTone {
			continue
		}
		if c.left > 0 || (c.left < 0 && !c.used) {
			return false
		}
	}
	return true
}

func (e *engine) stop() {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	for _, t := range e.timers {
		t.Stop()
	}
	e.mu.Unlock()
	close(e.done)
}

func (e *engine) run() {
	for {
		select {
		case w := <-e.work:
			e.s.tl.add(time.Now(), Event{Kind: KindCue, Detail: w.label})
			e.exec(w)
			e.mu.Lock()
			e.pending--
			e.mu.Unlock()
		case <-e.done:
			return
		case <-e.s.ctx.Done():
			return
		}
	}
}

func (e *engine) exec(w work) {
	s := e.s
	ctx := s.ctx
	for _, st := range w.steps {
		if ctx.Err() != nil {
			return
		}
		switch st.Kind {
		case StepDigits:
			if s.keyDigits(ctx, st.Digits, st.Mode) != nil {
				return
			}
		case StepPlay, StepSay:
			pcm, what := s.b.Name, "the name"
			if st.Kind == StepPlay {
				pcm, what = s.b.files[st.File], st.File
			}
			snd := s.sender()
			if snd == nil {
				s.tl.note("play %s: no media yet, not played", what)
				continue
			}
			s.tl.add(time.Now(), Event{Kind: KindPlay, Dir: "out", Detail: what, Dur: time.Duration(len(pcm)) * time.Second / SampleRate})
			if snd.Play(ctx, pcm) != nil {
				return
			}
		case StepWait:
			if !sleep(ctx, st.Wait) {
				return
			}
		case StepProbe:
			if s.sendProbe(ctx, "by the script") != nil {
				return
			}
		case StepEchoDigits:
			digits := e.collectDigits(ctx, w.at)
			if digits == "" {
				s.tl.note("echo-digits: no digit prompt heard")
				continue
			}
			if s.keyDigits(ctx, digits, "") != nil {
				return
			}
		case StepRTPOff, StepRTPOn:
			if snd := s.sender(); snd != nil {
				snd.setStopped(st.Kind == StepRTPOff)
			}
			what := "RTP sending resumed"
			if st.Kind == StepRTPOff {
				what = "RTP sending stopped (rtp-off)"
			}
			s.tl.add(time.Now(), Event{Kind: KindRTP, Detail: what})
		case StepHangup:
			e.mu.Lock()
			e.hangingUp = true
			e.mu.Unlock()
			s.hangup()
			return
		}
	}
}

// echoQuiet is how long the line must be quiet after a digit prompt for
// the announcement of digits to count as over.
const echoQuiet = 1500 * time.Millisecond

// collectDigits waits for the digit prompts announced after since and
// returns them once the announcement is over: a non-digit prompt follows
// a digit, or the line has been quiet for echoQuiet after the last digit.
// It gives up after 20 seconds.
func (e *engine) collectDigits(ctx context.Context, since time.Time) string {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var digits strings.Builder
		over := false
		e.mu.Lock()
		for _, p := range e.prompts {
			if p.seen.Before(since) {
				continue
			}
			if p.digit != 0 {
				digits.WriteRune(p.digit)
			} else if digits.Len() > 0 {
				over = true
				break
			}
		}
		e.mu.Unlock()
		if digits.Len() > 0 && (over || e.s.quietFor() >= echoQuiet) {
			return digits.String()
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return ""
		}
	}
	return ""
}
