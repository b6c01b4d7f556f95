package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary is one run's result (or several runs' merged). It is written as
// JSON with -out, so the results of several instances can be merged (-merge).
type Summary struct {
	Instances int     `json:"instances"`
	Rate      float64 `json:"rate"` // offered calls/s, summed over instances
	Calls     int     `json:"calls"`
	Sent      int     `json:"sent"`     // INVITEs sent (first transmissions)
	Answered  int     `json:"answered"` // calls with a final answer
	Right     int     `json:"right"`    // ... the one the injection file expects
	Wrong     int     `json:"wrong"`
	TimedOut  int     `json:"timed_out"`
	Late      int     `json:"late"`       // final answers after the call timed out
	Dups      int     `json:"duplicates"` // answers to retransmitted INVITEs
	Retrans   int     `json:"retransmissions"`
	Decline   int     `json:"answer_603"`
	Continue  int     `json:"answer_302_continue"`
	Screen    int     `json:"answer_302_screen"`
	Classes   [7]int  `json:"classes"` // responses by code/100 (1xx..6xx), duplicates included
	// OtherCodes counts the wrong answers by status code.
	OtherCodes map[string]int `json:"other_codes,omitempty"`
	Errors     int            `json:"errors"` // send and read errors, foreign datagrams

	// Times are Unix nanoseconds, so instances merge.
	Start       int64 `json:"start"`
	LastSend    int64 `json:"last_send"`
	FirstAnswer int64 `json:"first_answer"`
	LastAnswer  int64 `json:"last_answer"`
	// CPU is the generator's CPU time (user+system) in seconds; Wall the
	// run's length; LagMax how late the sender's pacing ran at worst (a
	// generator short of CPU falls behind: its offered rate is not met).
	CPU    float64 `json:"cpu_s"`
	Wall   float64 `json:"wall_s"`
	LagMax float64 `json:"lag_max_ms"`
	// Slip is how far the sender slid its schedule after falling behind
	// (the largest of the instances).
	Slip float64 `json:"slip_ms"`
	// Hist holds the response times, [bucket, count] for non-empty buckets.
	Hist [][2]uint64 `json:"hist"`
}

func (g *gen) summarize(st senderTally, ts []tally, wall, cpu time.Duration) Summary {
	start := g.start.UnixNano()
	s := Summary{Instances: 1, Rate: g.cfg.rate, Calls: g.cfg.calls, Sent: st.sent, TimedOut: st.timedOut,
		Retrans: st.retrans, Errors: st.sendErrs, Start: start, LastSend: start + st.lastSend,
		CPU: cpu.Seconds(), Wall: wall.Seconds(), LagMax: float64(st.lagMax) / 1e6, Slip: float64(st.slip) / 1e6}
	h := newHist()
	first, last := int64(-1), int64(-1)
	for i := range ts {
		t := &ts[i]
		s.Answered += t.answered
		s.Right += t.right
		s.Wrong += t.wrong
		s.Late += t.late
		s.Dups += t.dups
		s.Errors += t.foreign + t.readErrs + t.ackErrs
		s.Decline += t.byWant[wantDecline]
		s.Continue += t.byWant[wantContinue]
		s.Screen += t.byWant[wantScreen]
		for c, n := range t.classes {
			s.Classes[c] += n
		}
		for code, n := range t.other {
			if s.OtherCodes == nil {
				s.OtherCodes = map[string]int{}
			}
			s.OtherCodes[strconv.Itoa(code)] += n
		}
		if t.first >= 0 && (first < 0 || t.first < first) {
			first = t.first
		}
		last = max(last, t.last)
		h.merge(t.h)
	}
	if first >= 0 {
		s.FirstAnswer, s.LastAnswer = start+first, start+last
	}
	s.Hist = sparse(h)
	return s
}

func sparse(h hist) [][2]uint64 {
	var out [][2]uint64
	for i, v := range h {
		if v != 0 {
			out = append(out, [2]uint64{uint64(i), v})
		}
	}
	return out
}

func (s *Summary) hist() hist {
	h := newHist()
	for _, e := range s.Hist {
		if e[0] < uint64(len(h)) {
			h[e[0]] += e[1]
		}
	}
	return h
}

// merge adds o (another instance's run, at the same time) to s; the zero
// Summary is the start.
func (s *Summary) merge(o *Summary) {
	h := s.hist()
	h.merge(o.hist())
	s.Instances += o.Instances
	s.Rate += o.Rate
	s.Calls += o.Calls
	s.Sent += o.Sent
	s.Answered += o.Answered
	s.Right += o.Right
	s.Wrong += o.Wrong
	s.TimedOut += o.TimedOut
	s.Late += o.Late
	s.Dups += o.Dups
	s.Retrans += o.Retrans
	s.Decline += o.Decline
	s.Continue += o.Continue
	s.Screen += o.Screen
	s.Errors += o.Errors
	for i := range s.Classes {
		s.Classes[i] += o.Classes[i]
	}
	for code, n := range o.OtherCodes {
		if s.OtherCodes == nil {
			s.OtherCodes = map[string]int{}
		}
		s.OtherCodes[code] += n
	}
	s.Start = minNonZero(s.Start, o.Start)
	s.LastSend = max(s.LastSend, o.LastSend)
	s.FirstAnswer = minNonZero(s.FirstAnswer, o.FirstAnswer)
	s.LastAnswer = max(s.LastAnswer, o.LastAnswer)
	s.CPU += o.CPU
	s.Wall = max(s.Wall, o.Wall)
	s.LagMax = max(s.LagMax, o.LagMax)
	s.Slip = max(s.Slip, o.Slip)
	s.Hist = sparse(h)
}

func minNonZero(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// Failed is what sipp counts as failed calls: wrong answers and calls
// without an answer.
func (s *Summary) Failed() int { return s.Wrong + s.TimedOut }

// Achieved is the rate of first final answers between the first and the
// last one (what bench/sip/run.sh computes from sipp's -trace_rtt).
func (s *Summary) Achieved() float64 {
	if s.Answered < 2 || s.LastAnswer <= s.FirstAnswer {
		return 0
	}
	return float64(s.Answered-1) / (float64(s.LastAnswer-s.FirstAnswer) / 1e9)
}

// SendRate is the rate at which the INVITEs went out.
func (s *Summary) SendRate() float64 {
	if s.Sent < 2 || s.LastSend <= s.Start {
		return 0
	}
	return float64(s.Sent-1) / (float64(s.LastSend-s.Start) / 1e9)
}

// line is the one-line key=value report (bench/sip/run.sh reads it).
func (s *Summary) line() string {
	h := s.hist()
	ms := func(q float64) string { return strconv.FormatFloat(float64(h.quantile(q))/1e6, 'f', 2, 64) }
	cpu := 0.0
	if s.Wall > 0 {
		cpu = s.CPU / s.Wall * 100
	}
	f := []string{
		fmt.Sprintf("instances=%d", s.Instances),
		fmt.Sprintf("offered=%.0f", s.Rate),
		fmt.Sprintf("calls=%d", s.Calls),
		fmt.Sprintf("sent=%d", s.Sent),
		fmt.Sprintf("send_rate=%.0f", s.SendRate()),
		fmt.Sprintf("achieved=%.0f", s.Achieved()),
		fmt.Sprintf("ok=%d", s.Right),
		fmt.Sprintf("failed=%d", s.Failed()),
		fmt.Sprintf("wrong=%d", s.Wrong),
		fmt.Sprintf("timed_out=%d", s.TimedOut),
		fmt.Sprintf("retrans=%d", s.Retrans),
		fmt.Sprintf("dups=%d", s.Dups),
		fmt.Sprintf("late=%d", s.Late),
		fmt.Sprintf("3xx=%d", s.Classes[3]),
		fmt.Sprintf("6xx=%d", s.Classes[6]),
		fmt.Sprintf("603=%d", s.Decline),
		fmt.Sprintf("302_continue=%d", s.Continue),
		fmt.Sprintf("302_screen=%d", s.Screen),
		fmt.Sprintf("other=%s", otherCodes(s.OtherCodes)),
		fmt.Sprintf("errors=%d", s.Errors),
		"p50_ms=" + ms(0.50), "p90_ms=" + ms(0.90), "p99_ms=" + ms(0.99),
		fmt.Sprintf("max_ms=%.2f", float64(h.maximum())/1e6),
		fmt.Sprintf("gen_cpu=%.0f%%", cpu),
		fmt.Sprintf("lag_max_ms=%.1f", s.LagMax),
		fmt.Sprintf("slip_ms=%.1f", s.Slip),
	}
	return strings.Join(f, " ")
}

func otherCodes(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for c, n := range m {
		parts = append(parts, c+":"+strconv.Itoa(n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func writeSummary(path string, s *Summary) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func readSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

func mergeFiles(w io.Writer, paths []string) error {
	var all Summary
	for _, p := range paths {
		s, err := readSummary(p)
		if err != nil {
			return err
		}
		all.merge(s)
	}
	_, err := fmt.Fprintln(w, all.line())
	return err
}
