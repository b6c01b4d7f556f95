package sccp

import (
	"bytes"
	"encoding/hex"
	"testing"

	"callgate/internal/vectortest"
)

type vecAddr struct {
	Format            string `json:"format"`
	NationalIndicator int    `json:"nationalIndicator"`
	RoutingIndicator  string `json:"routingIndicator"`
	SSN               int    `json:"ssn"`
	PointCode         string `json:"pointCode"`
	PointCodeInt      uint32 `json:"pointCodeInt"`
	Hex               string `json:"hex"`
	AddressIndicator  string `json:"addressIndicator"`
}

type vecMsg struct {
	ID   string `json:"id"`
	SCCP *struct {
		MessageType        string  `json:"messageType"`
		Called             vecAddr `json:"called"`
		Calling            vecAddr `json:"calling"`
		ProtocolClass      int     `json:"protocolClass"`
		ReturnOnError      bool    `json:"returnOnError"`
		ProtocolClassOctet string  `json:"protocolClassOctet"`
	} `json:"sccp"`
	Hex struct {
		TCAP string `json:"tcap"`
		SCCP string `json:"sccp"`
	} `json:"hex"`
}

func loadVectors(t testing.TB) []vecMsg {
	t.Helper()
	var out []vecMsg
	for _, v := range vectortest.Messages[vecMsg](t) {
		if v.SCCP != nil {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		t.Fatal("manifest has no SCCP messages")
	}
	return out
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func checkAddr(t *testing.T, id, which string, got *Address, want vecAddr) {
	t.Helper()
	if want.Format != "ANSI T1.112" {
		t.Fatalf("%s %s: unexpected format %q", id, which, want.Format)
	}
	if got.National != (want.NationalIndicator == 1) {
		t.Errorf("%s %s: national %v, want %d", id, which, got.National, want.NationalIndicator)
	}
	if got.Routing.String() != want.RoutingIndicator {
		t.Errorf("%s %s: routing %v, want %s", id, which, got.Routing, want.RoutingIndicator)
	}
	if !got.HasSSN || int(got.SSN) != want.SSN {
		t.Errorf("%s %s: ssn %v/%d, want %d", id, which, got.HasSSN, got.SSN, want.SSN)
	}
	if !got.HasPC || uint32(got.PC) != want.PointCodeInt || got.PC.Format(ANSI) != want.PointCode {
		t.Errorf("%s %s: pc %v/%s, want %s (%d)", id, which, got.HasPC, got.PC, want.PointCode, want.PointCodeInt)
	}
	if got.GT.Indicator != GTINone {
		t.Errorf("%s %s: unexpected GT %+v", id, which, got.GT)
	}
	enc, err := got.Append(nil, ANSI)
	if err != nil || hex.EncodeToString(enc) != want.Hex {
		t.Errorf("%s %s: re-encoded %x (%v), want %s", id, which, enc, err, want.Hex)
	}
	if hex.EncodeToString(enc[:1]) != want.AddressIndicator {
		t.Errorf("%s %s: AI %x, want %s", id, which, enc[0], want.AddressIndicator)
	}
}

func TestGoldenVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		raw := mustHex(t, v.Hex.SCCP)
		var m Message
		if err := m.Decode(raw, ANSI); err != nil {
			t.Errorf("%s: decode: %v", v.ID, err)
			continue
		}
		if m.Type.String() != v.SCCP.MessageType {
			t.Errorf("%s: type %v, want %s", v.ID, m.Type, v.SCCP.MessageType)
		}
		if int(m.Class.Class()) != v.SCCP.ProtocolClass || m.Class.ReturnOnError() != v.SCCP.ReturnOnError {
			t.Errorf("%s: class %v, want %d return=%v", v.ID, m.Class, v.SCCP.ProtocolClass, v.SCCP.ReturnOnError)
		}
		if hex.EncodeToString([]byte{byte(m.Class)}) != v.SCCP.ProtocolClassOctet {
			t.Errorf("%s: class octet %02x, want %s", v.ID, byte(m.Class), v.SCCP.ProtocolClassOctet)
		}
		checkAddr(t, v.ID, "called", &m.Called, v.SCCP.Called)
		checkAddr(t, v.ID, "calling", &m.Calling, v.SCCP.Calling)
		if !bytes.Equal(m.Data, mustHex(t, v.Hex.TCAP)) {
			t.Errorf("%s: data %x, want the TCAP layer %s", v.ID, m.Data, v.Hex.TCAP)
		}
		// Decoding aliases: Data points into raw.
		if len(m.Data) > 0 && &m.Data[0] != &raw[len(raw)-len(m.Data)] {
			t.Errorf("%s: Data does not alias the input", v.ID)
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

// TestVectorResponseAddressing checks that a response built from a query by
// swapping addresses is byte-exact with the vector response (P-01Q -> P-01R).
func TestVectorResponseAddressing(t *testing.T) {
	vs := loadVectors(t)
	byID := map[string]vecMsg{}
	for _, v := range vs {
		byID[v.ID] = v
	}
	q, r := byID["P-01Q"], byID["P-01R"]
	var qm Message
	if err := qm.Decode(mustHex(t, q.Hex.SCCP), ANSI); err != nil {
		t.Fatal(err)
	}
	rm := Message{Variant: ANSI, Type: UDT, Class: qm.Class, Called: qm.Calling, Calling: qm.Called, Data: mustHex(t, r.Hex.TCAP)}
	out, err := rm.AppendTo(nil)
	if err != nil || hex.EncodeToString(out) != r.Hex.SCCP {
		t.Fatalf("response\n got %x (%v)\nwant %s", out, err, r.Hex.SCCP)
	}
}

// Answer builds P-01R's SCCP layer from P-01Q's.
func TestAnswerVector(t *testing.T) {
	vs := loadVectors(t)
	var q, r Message
	if err := q.Decode(mustHex(t, vs[0].Hex.SCCP), ANSI); err != nil || vs[0].ID != "P-01Q" || vs[1].ID != "P-01R" {
		t.Fatal(err, vs[0].ID)
	}
	if !q.Answer(&r, mustHex(t, vs[1].Hex.TCAP)) {
		t.Fatal("UDT not answerable")
	}
	out, err := r.AppendTo(nil)
	if err != nil || hex.EncodeToString(out) != vs[1].Hex.SCCP {
		t.Fatalf("answer %x %v", out, err)
	}
	var s Message
	if s.Type = UDTS; s.Answer(&r, nil) {
		t.Fatal("UDTS answered")
	}
	x := sample(ITU, XUDT)
	if !x.Answer(&r, []byte{1}) || r.Type != XUDT || r.HopCounter != DefaultHopCounter || r.Called.SSN != x.Calling.SSN {
		t.Fatalf("XUDT answer %+v", r)
	}
}
