package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"callgate/internal/cli"
	"callgate/scp/ain"
	"callgate/sigtran/pcap"
	"callgate/sigtran/tcap"
	"callgate/simulators/ssp"
)

// replayed is one query of a capture with the answer in the capture and
// the live one.
type replayed struct {
	Frame     int         `json:"frame"`
	Query     string      `json:"query"`
	QueryTID  string      `json:"queryTID"`
	Params    []ain.Field `json:"parameters"`
	Captured  *ssp.Answer `json:"captured,omitempty"` // nil: no answer in the capture
	AnswerAt  int         `json:"capturedFrame,omitempty"`
	Live      ssp.Answer  `json:"live"`
	LiveError string      `json:"liveError,omitempty"`
	Same      bool        `json:"same"`
}

func sameAnswer(a, b *ssp.Answer) bool {
	if a.Operation != b.Operation || len(a.Params) != len(b.Params) || len(a.ACG) != len(b.ACG) {
		return false
	}
	for i := range a.Params {
		if a.Params[i] != b.Params[i] {
			return false
		}
	}
	return true
}

func (e *env) replayCmd() *cobra.Command {
	var cf connFlags
	cmd := &cobra.Command{
		Use:   "replay FILE.pcap --connect HOST:PORT",
		Short: "Replay a capture's AIN queries against a live SCP and compare the answers",
		Long: `replay reads a pcap or pcapng capture, takes every AIN query in it (a TCAP
Query package with an AIN invoke, e.g. terminationAttempt) in capture order,
sends each one with its original parameters — under a new transaction ID —
to the SCP given by --connect, and prints the answer found in the capture
next to the live one, marking differences. A captured answer belongs to
the query of its transaction: the one with the same switch point code and
transaction ID on the same association (transport ports) that came last
before it, so a capture of several calls that reuse a TID (two runs of
'sspsim call', a switch restarting) pairs each query with its own answer. Queries are sent one at a time;
ACG controls the live SCP sends are recorded but do not gap the replay.

What the capture holds but cannot be read (frames cut by the snap length,
an interface of another link type, IP fragments without the rest of their
datagram, a file cut short, bytes a TCP flow lacks or that were skipped to
the next message start) is named, by frame, in a warning on standard
error; the rest is replayed. A TCP flow that lost a segment, or whose
capture starts inside a message, is read on from the next message start.

A live answer differs when its operation or parameters do, when the SCP
did not answer within --timeout, or when the capture has no answer to the
query. A query that could not be sent (no association left, the SCP's
point code reported unavailable by every SG) is trouble, not a difference.

` + cli.ReplayHelp,
		Example: `  # Does today's callgate answer the golden vectors like the reference?
  sspsim replay testdata/vectors/public_all.pcap --connect 127.0.0.1:2905

  # Machine-readable comparison
  sspsim replay capture.pcapng --connect 10.0.0.5:2905 --transport sctp --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.Trouble(e.replay(cmd.Context(), &cf, args[0]))
		},
	}
	cf.add(cmd)
	return cmd
}

// replay runs one replay; an error returned is trouble (exit status 2),
// a difference is ExitError 1 (cli.ReplayStatus).
func (e *env) replay(ctx context.Context, cf *connFlags, file string) error {
	msgs, err := pcap.ReadFile(file)
	if err != nil && len(msgs) == 0 {
		return err
	}
	if err != nil { // what could not be read: the replay is of the rest
		fmt.Fprintln(e.stderr, "sspsim: warning:", err)
	}
	qs := queriesOf(msgs)
	if len(qs) == 0 {
		return fmt.Errorf("%s: no AIN query in the capture", file)
	}
	cfg, err := cf.config(e, true)
	if err != nil {
		return err
	}
	cfg.IgnoreACG = true
	c, err := ssp.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	var results []replayed
	var trouble error
	for _, q := range qs {
		r := replayed{Frame: q.frame, Query: q.op.String(), QueryTID: q.tid.String(),
			Params: ain.Describe(q.op, q.params).Params}
		r.Captured, r.AnswerAt = q.answer, q.answerFrame
		live, err := c.Invoke(ctx, q.op, q.params)
		r.Live = live
		if err != nil {
			r.LiveError = err.Error()
		}
		r.Same = err == nil && r.Captured != nil && sameAnswer(r.Captured, &live)
		results = append(results, r)
		if err != nil && !errors.Is(err, ssp.ErrTimeout) {
			// Not an answer of the SCP's (no answer in time is one): the
			// query could not be made, nor can the rest.
			trouble = fmt.Errorf("frame %d: %w; %d of %d queries replayed", q.frame, err, len(results), len(qs))
			break
		}
	}
	differ, err := cli.WriteReplay(e.stdout, e.jsonOut, "queries", results,
		func(r *replayed) bool { return r.Same }, writeReplayed)
	if err != nil {
		return err
	}
	if err := cf.writeCapture(e, c); err != nil {
		return err
	}
	return cli.ReplayStatus(differ, trouble)
}

// answerLines renders an answer compactly for the side-by-side view.
func answerLines(a *ssp.Answer) []string {
	if a == nil {
		return []string{"(no answer in the capture)"}
	}
	head := a.Operation
	if a.PackageName != "" {
		head = a.PackageName + ": " + head
	}
	if a.AbortCauseName != "" {
		head += " " + a.AbortCauseName
	}
	lines := []string{head}
	for _, c := range a.Components {
		if c.Type == tcap.Reject {
			lines = append(lines, "  reject "+c.ProblemName)
		}
	}
	for _, g := range a.ACG {
		lines = append(lines, fmt.Sprintf("  acg %s gap %s for %s", g.Code, g.IntervalText, g.DurationText))
	}
	for _, f := range a.Params {
		lines = append(lines, "  "+f.Name+": "+f.Value)
	}
	return lines
}

func writeReplayed(w io.Writer, r *replayed) {
	mark := "SAME"
	if !r.Same {
		mark = "DIFFERENT"
	}
	fmt.Fprintf(w, "frame %d %s tid %s: %s\n", r.Frame, r.Query, r.QueryTID, mark)
	left, right := answerLines(r.Captured), answerLines(&r.Live)
	if r.LiveError != "" {
		right = append(right, "  error: "+r.LiveError)
	}
	width := 38
	for _, l := range left {
		width = max(width, min(len(l), 60))
	}
	fmt.Fprintf(w, "  %-*s | %s\n", width, "captured", "live")
	for i := 0; i < max(len(left), len(right)); i++ {
		var l, rr string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			rr = right[i]
		}
		fmt.Fprintf(w, "  %-*s | %s\n", width, strings.TrimRight(l, " "), rr)
	}
}
