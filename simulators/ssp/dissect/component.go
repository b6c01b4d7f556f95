package dissect

import (
	"encoding/hex"
	"fmt"

	"callgate/scp/ain"
	"callgate/sigtran/tcap"
)

// Component is one TCAP component decoded down to AIN.
type Component struct {
	Type          tcap.ComponentType `json:"-"`
	TypeName      string             `json:"type"`
	InvokeID      *uint8             `json:"invokeID,omitempty"`
	CorrelationID *uint8             `json:"correlationID,omitempty"`
	// Offset of the component in the TCAP package.
	Offset int `json:"offset"`

	// Invoke: the operation code, its AIN name, the decoded argument and
	// its parameters as text (ain.Describe).
	Op        ain.OpCode  `json:"-"`
	OpCode    string      `json:"opcode,omitempty"` // "0x6502"
	OpClass   string      `json:"opClass,omitempty"`
	Operation string      `json:"operation,omitempty"`
	Arg       ain.Arg     `json:"-"`
	Params    []ain.Field `json:"parameters,omitempty"`
	// DecodeError says why the argument (or error parameter) did not
	// decode; Params still shows what could be read.
	DecodeError string `json:"decodeError,omitempty"`

	// Reject: the problem code.
	Problem     tcap.Problem `json:"-"`
	ProblemName string       `json:"problem,omitempty"`
	ProblemCode string       `json:"problemCode,omitempty"` // "2/2"

	// Return Error: the error code (AIN: 1 applicationError, 2
	// failureReport) and its decoded parameter.
	Error     *tcap.ErrorCode `json:"-"`
	ErrorName string          `json:"error,omitempty"`
	ErrorArg  ain.ErrorParam  `json:"-"`
}

func u8p(v uint8) *uint8 { return &v }

// DecodeComponent decodes a TCAP component's AIN content. The result's
// Arg aliases tc.Params.
func DecodeComponent(tc *tcap.Component) Component {
	c := Component{Type: tc.Type, TypeName: tc.Type.String(), Offset: tc.Offset}
	if tc.HasInvokeID {
		c.InvokeID = u8p(tc.InvokeID)
	}
	if tc.HasCorrelationID {
		c.CorrelationID = u8p(tc.CorrelationID)
	}
	switch {
	case tc.Type.IsInvoke():
		op := ain.OpCode(tc.Op.Code)
		c.Op, c.OpCode, c.OpClass = op, fmt.Sprintf("0x%04x", tc.Op.Code), tc.Op.Class.String()
		if tc.Op.Class != tcap.Private {
			c.Operation = "national operation " + c.OpCode
			c.DecodeError = "not an AIN (private) operation code"
			if len(tc.Params) > 0 {
				c.Params = []ain.Field{{Name: "parameters", Value: hex.EncodeToString(tc.Params)}}
			}
			return c
		}
		c.Operation = op.String()
		arg, err := ain.Decode(op, tc.Params)
		if err != nil {
			c.DecodeError = err.Error()
		}
		c.Arg = arg
		c.Params = ain.Describe(op, tc.Params).Params
	case tc.Type.IsReturnResult():
		if len(tc.Params) > 0 {
			c.Params = []ain.Field{{Name: "parameters", Value: hex.EncodeToString(tc.Params)}}
		}
	case tc.Type == tcap.ReturnError:
		ec := tc.Error
		c.Error = &ec
		if ec.Class == tcap.Private {
			code := ain.ErrorCode(ec.Code)
			c.ErrorName = code.String()
			d := ain.DescribeError(code, tc.Params)
			c.Params, c.DecodeError = d.Params, d.Error
			c.ErrorArg, _ = ain.DecodeError(code, tc.Params)
		} else {
			c.ErrorName = ec.String()
			if len(tc.Params) > 0 {
				c.Params = []ain.Field{{Name: "parameters", Value: hex.EncodeToString(tc.Params)}}
			}
		}
	case tc.Type == tcap.Reject:
		c.Problem, c.ProblemName = tc.Problem, tc.Problem.String()
		c.ProblemCode = fmt.Sprintf("%d/%d", tc.Problem.Type(), tc.Problem.Specifier())
	}
	return c
}

// Summary is the component's one-line heading ("invokeLast id 2 corr 1
// authorizeTermination (0x6502)").
func (c *Component) Summary() string {
	s := c.TypeName
	if c.InvokeID != nil {
		s += fmt.Sprintf(" id %d", *c.InvokeID)
	}
	if c.CorrelationID != nil {
		s += fmt.Sprintf(" corr %d", *c.CorrelationID)
	}
	switch {
	case c.Type.IsInvoke():
		s += fmt.Sprintf(" %s (%s)", c.Operation, c.OpCode)
	case c.Type == tcap.Reject:
		s += fmt.Sprintf(" problem %s (%s)", c.ProblemName, c.ProblemCode)
	case c.Type == tcap.ReturnError:
		s += " " + c.ErrorName
	}
	return s
}
