package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/pcap"
	"callgate/sigtran/sccp"
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

// captureQuery is a query found in a capture.
type captureQuery struct {
	frame  int
	op     ain.OpCode
	tid    tcap.TID
	params []byte
}

// queriesOf finds the AIN queries (Query packages with a private-op
// Invoke) of a capture and the answers to them (packages whose responding
// TID is the query's originating TID, from the query's destination).
func queriesOf(msgs []pcap.Message) ([]captureQuery, map[string]*ssp.Answer, map[string]int) {
	var qs []captureQuery
	answers := map[string]*ssp.Answer{}
	answerFrame := map[string]int{}
	var d m3ua.Data
	var udt sccp.Message
	var t tcap.Message
	for _, pm := range msgs {
		if d.UnmarshalBinary(pm.Payload) != nil || d.ProtocolData.SI != m3ua.SISCCP {
			continue
		}
		if udt.Decode(d.ProtocolData.Data, sccp.ANSI) != nil || udt.Type.IsService() {
			continue
		}
		err := t.Decode(udt.Data)
		switch {
		case t.Type.IsQuery() && err == nil:
			for _, c := range t.Components {
				if c.Type.IsInvoke() && c.Op.Class == tcap.Private {
					qs = append(qs, captureQuery{frame: pm.Frame, op: ain.OpCode(c.Op.Code), tid: t.OrigTID,
						params: append([]byte(nil), c.Params...)})
					break
				}
			}
		case t.Type != 0 && !t.RespTID.IsZero():
			key := t.RespTID.String()
			if _, seen := answers[key]; seen {
				continue
			}
			a, derr := ssp.DecodeAnswer(append([]byte(nil), udt.Data...))
			if derr != nil {
				continue
			}
			answers[key] = &a
			answerFrame[key] = pm.Frame
		}
	}
	return qs, answers, answerFrame
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
next to the live one, marking differences. Queries are sent one at a time;
ACG controls the live SCP sends are recorded but do not gap the replay.

It exits with status 1 when a live answer differs from the captured one
(operation or parameters), or a query got no live answer.`,
		Example: `  # Does today's callgate answer the golden vectors like the reference?
  sspsim replay testdata/vectors/public_all.pcap --connect 127.0.0.1:2905

  # Machine-readable comparison
  sspsim replay capture.pcapng --connect 10.0.0.5:2905 --transport sctp --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			msgs, err := pcap.ReadFile(args[0])
			if err != nil && len(msgs) == 0 {
				return err
			}
			qs, answers, answerFrame := queriesOf(msgs)
			if len(qs) == 0 {
				return fmt.Errorf("%s: no AIN query in the capture", args[0])
			}
			cfg, err := cf.config(e, true)
			if err != nil {
				return err
			}
			cfg.IgnoreACG = true
			c, err := ssp.Dial(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer c.Close()
			var results []replayed
			differ := false
			for _, q := range qs {
				r := replayed{Frame: q.frame, Query: q.op.String(), QueryTID: q.tid.String(),
					Params: ain.Describe(q.op, q.params).Params}
				if a, ok := answers[q.tid.String()]; ok {
					r.Captured, r.AnswerAt = a, answerFrame[q.tid.String()]
				}
				live, err := c.Invoke(cmd.Context(), q.op, q.params)
				r.Live = live
				if err != nil {
					r.LiveError = err.Error()
				}
				r.Same = err == nil && r.Captured != nil && sameAnswer(r.Captured, &live)
				differ = differ || !r.Same
				results = append(results, r)
				if cmd.Context().Err() != nil {
					break
				}
			}
			if e.jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(results); err != nil {
					return err
				}
			} else {
				for i := range results {
					writeReplayed(e.stdout, &results[i])
				}
				same := 0
				for _, r := range results {
					if r.Same {
						same++
					}
				}
				fmt.Fprintf(e.stdout, "%d queries replayed, %d answered as in the capture, %d differ\n", len(results), same, len(results)-same)
			}
			if err := cf.writeCapture(e, c); err != nil {
				return err
			}
			if differ {
				return exitError{1}
			}
			return nil
		},
	}
	cf.add(cmd)
	return cmd
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
