package ssp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"callgate/scp/ain"
	"callgate/sigtran/tcap"
	"callgate/simulators/ssp/dissect"
)

// Outcomes that are not AIN operations, in Answer.Operation.
const (
	OutcomeGapped   = "gapped" // not queried: an ACG control is in force
	OutcomeReject   = "reject" // the SCP rejected our invoke
	OutcomeError    = "returnError"
	OutcomeAbort    = "abort"    // TCAP Abort (P-Abort or user abort)
	OutcomeReturned = "returned" // the SCCP network returned the query (UDTS)
	OutcomeTimeout  = "timeout"
	OutcomeNone     = "none" // a package without any answering component
)

// ErrTimeout is returned when no answer arrives within the call's timeout.
var ErrTimeout = errors.New("ssp: no answer within the timeout")

// Component is one decoded TCAP component of an answer.
type Component = dissect.Component

// Answer is what the SCP answered to one Termination_Attempt.
type Answer struct {
	// Package is the TCAP package type of the answer (Response,
	// Conversation, Abort); 0 for gapped, returned or timed-out calls.
	Package     tcap.PackageType `json:"-"`
	PackageName string           `json:"package,omitempty"`
	// TID is our transaction ID for the call (hex).
	TID string `json:"tid,omitempty"`
	// Operation is the answer for the call: the first AIN operation
	// invoked other than acg ("authorizeTermination", "disconnect",
	// "forwardCall", "sendToResource", ...), or one of the Outcome values.
	Operation string `json:"operation"`
	// Arg is the decoded argument of that operation (*ain.ForwardCallArg,
	// ...) and Params its parameters as text. Arg aliases Raw.
	Arg    ain.Arg     `json:"-"`
	Params []ain.Field `json:"parameters"`
	// Components lists every component in the package, in order.
	Components []Component `json:"components,omitempty"`
	// ACG lists the acg controls the answer carried (already applied to
	// the Client's gap table).
	ACG []ACG `json:"acg,omitempty"`
	// AbortCause is the P-Abort cause of an Abort package (0 for a user
	// abort, whose information is in UserAbort).
	AbortCause     tcap.PAbortCause `json:"-"`
	AbortCauseName string           `json:"abortCause,omitempty"`
	UserAbort      string           `json:"userAbort,omitempty"` // hex
	// ReturnCause is the SCCP return cause when the network returned the
	// query (Operation "returned").
	ReturnCause string `json:"sccpReturnCause,omitempty"`
	// Problem is set when the package was received but is not a proper
	// answer (bad component, unexpected package): the transaction
	// layer's reason.
	Problem string `json:"problem,omitempty"`
	// Latency is from sending the query to receiving the answer.
	Latency   time.Duration `json:"-"`
	LatencyMs float64       `json:"latencyMs"`
	// Raw is the TCAP package as received.
	Raw []byte `json:"-"`
}

// DecodeAnswer decodes a TCAP package received in answer to a
// terminationAttempt: every component, the AIN arguments of the invokes,
// Reject problems, Return Error codes, Abort causes. raw is kept (and
// aliased by the result). It fails only when raw is not a TCAP package.
func DecodeAnswer(raw []byte) (Answer, error) {
	var m tcap.Message
	if err := m.Decode(raw); err != nil {
		var te *tcap.Error
		// A component error still leaves the package and the components
		// before it readable: report them with the problem.
		if !errors.As(err, &te) || te.Cause != 0 || m.Type == 0 {
			return Answer{Raw: raw, Operation: OutcomeNone, Problem: err.Error()}, fmt.Errorf("ssp: answer is not a valid TCAP package: %w", err)
		}
		a := answerFrom(&m, raw)
		a.Problem = err.Error()
		return a, nil
	}
	return answerFrom(&m, raw), nil
}

func answerFrom(m *tcap.Message, raw []byte) Answer {
	a := Answer{Package: m.Type, PackageName: m.Type.String(), Raw: raw, Params: []ain.Field{}}
	switch {
	case !m.RespTID.IsZero():
		a.TID = m.RespTID.String()
	case !m.OrigTID.IsZero():
		a.TID = m.OrigTID.String()
	}
	if m.Type == tcap.Abort {
		a.Operation = OutcomeAbort
		a.AbortCause = m.AbortCause
		if m.AbortCause != 0 {
			a.AbortCauseName = m.AbortCause.String()
		}
		if m.HasUserAbort {
			a.UserAbort = hex.EncodeToString(m.UserAbort)
		}
		return a
	}
	for i := range m.Components {
		c := dissect.DecodeComponent(&m.Components[i])
		a.Components = append(a.Components, c)
		switch {
		case c.Type.IsInvoke() && c.Op == ain.OpACG:
			if arg, ok := c.Arg.(*ain.AcgArg); ok && c.DecodeError == "" {
				if g, err := ACGFromArg(arg); err == nil {
					a.ACG = append(a.ACG, g)
				}
			}
		case a.Operation != "":
		case c.Type.IsInvoke():
			a.Operation, a.Arg, a.Params = c.Operation, c.Arg, c.Params
		case c.Type == tcap.Reject:
			a.Operation = OutcomeReject
		case c.Type == tcap.ReturnError:
			a.Operation, a.Params = OutcomeError, c.Params
		}
	}
	if a.Operation == "" {
		a.Operation = OutcomeNone
	}
	if a.Params == nil {
		a.Params = []ain.Field{}
	}
	return a
}

// String renders the answer for people: the package and latency, then
// each component with its parameters.
func (a *Answer) String() string {
	var b strings.Builder
	switch a.Operation {
	case OutcomeGapped:
		b.WriteString("gapped: not queried, an ACG control is in force (default call treatment)\n")
		return b.String()
	case OutcomeTimeout:
		b.WriteString("timeout: no answer\n")
		return b.String()
	case OutcomeReturned:
		fmt.Fprintf(&b, "returned by SCCP: %s\n", a.ReturnCause)
		return b.String()
	}
	fmt.Fprintf(&b, "%s", a.PackageName)
	if a.TID != "" {
		fmt.Fprintf(&b, " tid %s", a.TID)
	}
	if a.Latency > 0 {
		fmt.Fprintf(&b, " in %.3f ms", float64(a.Latency)/1e6)
	}
	b.WriteString(": ")
	b.WriteString(a.Operation)
	b.WriteByte('\n')
	if a.Package == tcap.Abort {
		if a.AbortCauseName != "" {
			fmt.Fprintf(&b, "  P-Abort cause: %s (%d)\n", a.AbortCauseName, uint8(a.AbortCause))
		}
		if a.UserAbort != "" {
			fmt.Fprintf(&b, "  user abort information: %s\n", a.UserAbort)
		}
	}
	for _, c := range a.Components {
		writeComponent(&b, &c)
	}
	if a.Problem != "" {
		fmt.Fprintf(&b, "  problem: %s\n", a.Problem)
	}
	return b.String()
}

func writeComponent(b *strings.Builder, c *Component) {
	fmt.Fprintf(b, "  %s\n", c.Summary())
	for _, f := range c.Params {
		fmt.Fprintf(b, "    %s: %s\n", f.Name, f.Value)
	}
	if c.DecodeError != "" {
		fmt.Fprintf(b, "    error: %s\n", c.DecodeError)
	}
}
