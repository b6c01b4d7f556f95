package m3ua

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"

	"callgate/internal/vectortest"
)

// manifestMessage is the part of testdata/vectors/manifest.json this
// package checks.
type manifestMessage struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	SCTPStream  int    `json:"sctpStream"`
	M3UA        struct {
		Class           int             `json:"class"`
		Type            int             `json:"type"`
		Name            string          `json:"name"`
		ASPIdentifier   *uint32         `json:"aspIdentifier"`
		TrafficModeType string          `json:"trafficModeType"`
		RoutingContext  json.RawMessage `json:"routingContext"`
		Status          *struct {
			Type uint16 `json:"type"`
			Info uint16 `json:"info"`
		} `json:"status"`
		HeartbeatData string `json:"heartbeatData"`
		OPCInt        uint32 `json:"opcInt"`
		DPCInt        uint32 `json:"dpcInt"`
		SI, NI, MP    uint8
		SLS           uint8 `json:"sls"`
		Parameters    []struct {
			Tag      string `json:"tag"`
			Length   int    `json:"length"`
			ValueHex string `json:"valueHex"`
		} `json:"parameters"`
	} `json:"m3ua"`
	Hex struct {
		M3UA string `json:"m3ua"`
		SCCP string `json:"sccp"`
	} `json:"hex"`
}

func loadVectors(t testing.TB) []manifestMessage {
	t.Helper()
	var out []manifestMessage
	for _, x := range vectortest.Messages[manifestMessage](t) {
		if x.Hex.M3UA != "" {
			out = append(out, x)
		}
	}
	if len(out) != 21 {
		t.Fatalf("manifest has %d messages with M3UA hex, want 21", len(out))
	}
	return out
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			wire := mustHex(t, v.Hex.M3UA)
			m, err := Decode(wire)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if int(m.MessageClass()) != v.M3UA.Class || int(m.MessageType()) != v.M3UA.Type {
				t.Fatalf("class/type %d/%d, manifest %d/%d", m.MessageClass(), m.MessageType(), v.M3UA.Class, v.M3UA.Type)
			}
			if got := MessageName(m.MessageClass(), m.MessageType()); got != v.M3UA.Name {
				t.Errorf("name %q, manifest %q", got, v.M3UA.Name)
			}
			checkVectorFields(t, v, m)

			// The parameter list as the manifest spells it.
			body := wire[HeaderLen:]
			for i, p := range v.M3UA.Parameters {
				if len(body) < 4 {
					t.Fatalf("parameter %d missing", i)
				}
				tag := hex.EncodeToString(body[:2])
				l := int(body[2])<<8 | int(body[3])
				if "0x"+tag != p.Tag || l != p.Length || hex.EncodeToString(body[4:l]) != p.ValueHex {
					t.Errorf("parameter %d: 0x%s len %d, manifest %s len %d", i, tag, l, p.Tag, p.Length)
				}
				body = body[pad4(l):]
			}

			again, err := m.MarshalBinary()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !bytes.Equal(again, wire) {
				t.Fatalf("re-encoding differs\n got %x\nwant %x", again, wire)
			}
			if m.MarshalLen() != len(wire) {
				t.Errorf("MarshalLen %d, wire %d", m.MarshalLen(), len(wire))
			}
			// DATA belongs on a data stream, management on stream 0.
			if (m.MessageClass() == ClassTransfer) != (v.SCTPStream != 0) {
				t.Errorf("%s sent on SCTP stream %d", v.M3UA.Name, v.SCTPStream)
			}
		})
	}
}

func wantRC(t *testing.T, raw json.RawMessage, got []uint32) {
	t.Helper()
	if len(raw) == 0 {
		if len(got) != 0 {
			t.Errorf("routing contexts %v, manifest none", got)
		}
		return
	}
	var list []uint32
	if err := json.Unmarshal(raw, &list); err != nil {
		var one uint32
		if err := json.Unmarshal(raw, &one); err != nil {
			t.Fatalf("routingContext %s: %v", raw, err)
		}
		list = []uint32{one}
	}
	if len(list) != len(got) {
		t.Fatalf("routing contexts %v, manifest %v", got, list)
	}
	for i := range list {
		if list[i] != got[i] {
			t.Errorf("routing contexts %v, manifest %v", got, list)
		}
	}
}

func checkVectorFields(t *testing.T, v manifestMessage, m Message) {
	want := v.M3UA
	switch m := m.(type) {
	case *ASPUp:
		if want.ASPIdentifier == nil || !m.HasASPIdentifier || m.ASPIdentifier != *want.ASPIdentifier {
			t.Errorf("ASP Identifier %v/%d, manifest %v", m.HasASPIdentifier, m.ASPIdentifier, want.ASPIdentifier)
		}
	case *ASPUpAck:
		if m.HasASPIdentifier != (want.ASPIdentifier != nil) {
			t.Errorf("ASP Identifier presence %v", m.HasASPIdentifier)
		}
	case *ASPActive:
		if m.TrafficMode.String() != want.TrafficModeType {
			t.Errorf("traffic mode %s, manifest %s", m.TrafficMode, want.TrafficModeType)
		}
		wantRC(t, want.RoutingContext, m.RoutingContexts)
	case *ASPActiveAck:
		if m.TrafficMode.String() != want.TrafficModeType {
			t.Errorf("traffic mode %s, manifest %s", m.TrafficMode, want.TrafficModeType)
		}
		wantRC(t, want.RoutingContext, m.RoutingContexts)
	case *Notify:
		if want.Status == nil || m.Status.Type != want.Status.Type || m.Status.Info != want.Status.Info {
			t.Errorf("status %+v, manifest %+v", m.Status, want.Status)
		}
		if m.Status.String() != "AS-ACTIVE" {
			t.Errorf("status %s", m.Status)
		}
		wantRC(t, want.RoutingContext, m.RoutingContexts)
	case *Beat:
		if hex.EncodeToString(m.Data) != want.HeartbeatData {
			t.Errorf("heartbeat data %x, manifest %s", m.Data, want.HeartbeatData)
		}
	case *BeatAck:
		if hex.EncodeToString(m.Data) != want.HeartbeatData {
			t.Errorf("heartbeat data %x, manifest %s", m.Data, want.HeartbeatData)
		}
	case *Data:
		pd := m.ProtocolData
		if pd.OPC != want.OPCInt || pd.DPC != want.DPCInt || pd.SI != want.SI || pd.NI != want.NI || pd.MP != want.MP || pd.SLS != want.SLS {
			t.Errorf("protocol data %s, manifest OPC=%d DPC=%d SI=%d NI=%d MP=%d SLS=%d", &pd, want.OPCInt, want.DPCInt, want.SI, want.NI, want.MP, want.SLS)
		}
		var rc []uint32
		if m.HasRoutingContext {
			rc = []uint32{m.RoutingContext}
		}
		wantRC(t, want.RoutingContext, rc)
		if hex.EncodeToString(pd.Data) != v.Hex.SCCP {
			t.Errorf("user data %x, manifest SCCP %s", pd.Data, v.Hex.SCCP)
		}
	case *ASPDown, *ASPDownAck, *ASPInactive, *ASPInactiveAck:
	default:
		t.Fatalf("unexpected message type %T in the vectors", m)
	}
}
