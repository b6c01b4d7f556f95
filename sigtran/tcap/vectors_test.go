package tcap

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"callgate/internal/vectortest"
)

type vecComp struct {
	Type          string `json:"type"`
	InvokeID      *int   `json:"invokeID"`
	CorrelationID *int   `json:"correlationID"`
	ComponentID   *int   `json:"componentID"`
	Opcode        *struct {
		Class     string `json:"class"`
		Value     int    `json:"value"`
		Hex       string `json:"hex"`
		Family    int    `json:"family"`
		Specifier int    `json:"specifier"`
	} `json:"opcode"`
	ParameterTag  string `json:"parameterTag"`
	ParametersHex string `json:"parametersHex"`
	Problem       *struct {
		Type      int    `json:"type"`
		Specifier int    `json:"specifier"`
		Value     int    `json:"value"`
		Name      string `json:"name"`
	} `json:"problem"`
}

type vecMsg struct {
	ID   string `json:"id"`
	TCAP *struct {
		Package        string    `json:"package"`
		PackageTag     string    `json:"packageTag"`
		TransactionID  string    `json:"transactionID"`
		OriginatingTID string    `json:"originatingTID"`
		RespondingTID  string    `json:"respondingTID"`
		Components     []vecComp `json:"components"`
		PAbortCause    *struct {
			Value int    `json:"value"`
			Name  string `json:"name"`
		} `json:"pAbortCause"`
	} `json:"tcap"`
	Hex struct {
		TCAP string `json:"tcap"`
		SCCP string `json:"sccp"`
	} `json:"hex"`
}

func loadVectors(t testing.TB) []vecMsg {
	t.Helper()
	var out []vecMsg
	for _, v := range vectortest.Messages[vecMsg](t) {
		if v.TCAP != nil {
			out = append(out, v)
		}
	}
	if len(out) < 14 {
		t.Fatalf("manifest has %d TCAP messages", len(out))
	}
	return out
}

func vector(t testing.TB, id string) vecMsg {
	for _, v := range loadVectors(t) {
		if v.ID == id {
			return v
		}
	}
	t.Fatalf("vector %s not found", id)
	return vecMsg{}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func TestGoldenVectors(t *testing.T) {
	var m Message
	for _, v := range loadVectors(t) {
		raw := mustHex(t, v.Hex.TCAP)
		if err := m.Decode(raw); err != nil {
			t.Errorf("%s: decode: %v", v.ID, err)
			continue
		}
		w := v.TCAP
		if m.Type.String() != w.Package || hex.EncodeToString([]byte{byte(m.Type)}) != strings.ToLower(w.PackageTag) {
			t.Errorf("%s: package %v, want %s (%s)", v.ID, m.Type, w.Package, w.PackageTag)
		}
		if w.OriginatingTID != "" && m.OrigTID.String() != w.OriginatingTID {
			t.Errorf("%s: originating TID %v, want %s", v.ID, m.OrigTID, w.OriginatingTID)
		}
		if w.RespondingTID != "" && m.RespTID.String() != w.RespondingTID {
			t.Errorf("%s: responding TID %v, want %s", v.ID, m.RespTID, w.RespondingTID)
		}
		if w.PAbortCause != nil {
			if int(m.AbortCause) != w.PAbortCause.Value || m.AbortCause.String() != w.PAbortCause.Name {
				t.Errorf("%s: abort cause %v, want %+v", v.ID, m.AbortCause, *w.PAbortCause)
			}
		}
		if len(m.Components) != len(w.Components) {
			t.Errorf("%s: %d components, want %d", v.ID, len(m.Components), len(w.Components))
			continue
		}
		for i, wc := range w.Components {
			c := &m.Components[i]
			if c.Type.String() != wc.Type {
				t.Errorf("%s/%d: type %v, want %s", v.ID, i, c.Type, wc.Type)
			}
			if wc.InvokeID != nil && (!c.HasInvokeID || int(c.InvokeID) != *wc.InvokeID) {
				t.Errorf("%s/%d: invoke ID %v/%d, want %d", v.ID, i, c.HasInvokeID, c.InvokeID, *wc.InvokeID)
			}
			if c.Type.IsInvoke() {
				if (wc.CorrelationID == nil) == c.HasCorrelationID || (wc.CorrelationID != nil && int(c.CorrelationID) != *wc.CorrelationID) {
					t.Errorf("%s/%d: correlation %v/%d, want %v", v.ID, i, c.HasCorrelationID, c.CorrelationID, wc.CorrelationID)
				}
			}
			if wc.ComponentID != nil && (!c.HasCorrelationID || int(c.CorrelationID) != *wc.ComponentID) {
				t.Errorf("%s/%d: component ID %v/%d, want %d", v.ID, i, c.HasCorrelationID, c.CorrelationID, *wc.ComponentID)
			}
			if op := wc.Opcode; op != nil {
				if c.Op.Class.String() != op.Class || int(c.Op.Code) != op.Value || int(c.Op.Code>>8) != op.Family || int(c.Op.Specifier()) != op.Specifier {
					t.Errorf("%s/%d: op %v, want %+v", v.ID, i, c.Op, *op)
				}
			}
			if p := wc.Problem; p != nil {
				if int(c.Problem) != p.Value || int(c.Problem.Type()) != p.Type || int(c.Problem.Specifier()) != p.Specifier {
					t.Errorf("%s/%d: problem %v, want %+v", v.ID, i, c.Problem, *p)
				}
				if !strings.EqualFold(strings.ReplaceAll(c.Problem.String(), "ID", "Id"), strings.ReplaceAll(p.Name, "ID", "Id")) {
					t.Errorf("%s/%d: problem name %q, want %q", v.ID, i, c.Problem, p.Name)
				}
			}
			if wc.ParameterTag != "" {
				if !strings.HasPrefix(strings.ToLower(wc.ParameterTag), hex.EncodeToString([]byte{byte(c.ParamTag)})) {
					t.Errorf("%s/%d: param tag %02x, want %s", v.ID, i, byte(c.ParamTag), wc.ParameterTag)
				}
			}
			if c.Type != Reject && hex.EncodeToString(c.Params) != wc.ParametersHex {
				t.Errorf("%s/%d: params %x, want %s", v.ID, i, c.Params, wc.ParametersHex)
			}
			if len(c.Params) > 0 && !aliases(raw, c.Params) {
				t.Errorf("%s/%d: params do not alias the input", v.ID, i)
			}
		}
		if n := m.MarshalLen(); n != len(raw) {
			t.Errorf("%s: MarshalLen %d, want %d", v.ID, n, len(raw))
		}
		out, err := m.AppendTo(nil)
		if err != nil || !bytes.Equal(out, raw) {
			t.Errorf("%s: re-encode\n got %x (%v)\nwant %x", v.ID, out, err, raw)
		}
	}
}

func aliases(buf, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := range buf {
		if &buf[i] == &sub[0] {
			return true
		}
	}
	return false
}

// TestBuildVectorResponses encodes the SCP answers from scratch, the way the
// SCP builds them, and compares with the golden bytes.
func TestBuildVectorResponses(t *testing.T) {
	params := func(id string, i int) []byte {
		var m Message
		if err := m.Decode(mustHex(t, vector(t, id).Hex.TCAP)); err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), m.Components[i].Params...)
	}
	tid := NewTID(0x101)
	cases := []struct {
		id  string
		msg Message
	}{
		{"P-01R", Message{Type: Response, RespTID: NewTID(0x101), Components: []Component{
			{Type: InvokeLast, HasInvokeID: true, InvokeID: 2, HasCorrelationID: true, CorrelationID: 1, Op: PrivateOp(0x6502), ParamTag: ParamSet, Params: params("P-01R", 0)}}}},
		{"P-02R", Message{Type: Response, RespTID: NewTID(0x102), Components: []Component{
			{Type: InvokeLast, HasInvokeID: true, InvokeID: 2, HasCorrelationID: true, CorrelationID: 1, Op: PrivateOp(0x6503), ParamTag: ParamSet}}}},
		{"P-05R", Message{Type: Response, RespTID: NewTID(0x105), Components: []Component{
			{Type: InvokeLast, HasInvokeID: true, InvokeID: 2, Op: PrivateOp(0x6901), Params: params("P-05R", 0)},
			{Type: InvokeLast, HasInvokeID: true, InvokeID: 3, HasCorrelationID: true, CorrelationID: 1, Op: PrivateOp(0x6502), ParamTag: ParamSet}}}},
		{"P-06R", Message{Type: Abort, RespTID: NewTID(0x106), AbortCause: ResourceUnavailable}},
		{"P-07R", Message{Type: Response, RespTID: NewTID(0x107), Components: []Component{
			{Type: Reject, HasCorrelationID: true, CorrelationID: 1, Problem: InvokeUnrecognisedOperation}}}},
		{"P-01Q", Message{Type: QueryWithPermission, OrigTID: tid, Components: []Component{
			{Type: InvokeLast, HasInvokeID: true, InvokeID: 1, Op: PrivateOp(0x6405), Params: params("P-01Q", 0)}}}},
	}
	for _, c := range cases {
		want := mustHex(t, vector(t, c.id).Hex.TCAP)
		got, err := c.msg.AppendTo(make([]byte, 0, 8))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x (%v)\nwant %x", c.id, got, err, want)
		}
		if c.msg.MarshalLen() != len(want) {
			t.Errorf("%s: MarshalLen %d, want %d", c.id, c.msg.MarshalLen(), len(want))
		}
	}
}
