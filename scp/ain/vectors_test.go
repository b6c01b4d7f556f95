package ain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"callgate/internal/vectortest"
)

type manifestComponent struct {
	Type   string `json:"type"`
	Opcode *struct {
		Class string `json:"class"`
		Value int    `json:"value"`
		Name  string `json:"name"`
	} `json:"opcode"`
	Parameters    json.RawMessage `json:"parameters"`
	ParametersHex *string         `json:"parametersHex"`
}

type manifestMessage struct {
	ID   string `json:"id"`
	TCAP *struct {
		Components []manifestComponent `json:"components"`
	} `json:"tcap"`
}

type vector struct {
	id     string
	op     OpCode
	name   string
	params []byte
	want   json.RawMessage
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	var out []vector
	for _, msg := range vectortest.Messages[manifestMessage](tb) {
		if msg.TCAP == nil {
			continue
		}
		for i, c := range msg.TCAP.Components {
			if c.Opcode == nil || c.Opcode.Class != "private" || c.ParametersHex == nil {
				continue
			}
			b, err := hex.DecodeString(*c.ParametersHex)
			if err != nil {
				tb.Fatalf("%s component %d: %v", msg.ID, i, err)
			}
			id := msg.ID
			if len(msg.TCAP.Components) > 1 {
				id += "/" + string(rune('a'+i))
			}
			out = append(out, vector{id: id, op: OpCode(c.Opcode.Value), name: c.Opcode.Name, params: b, want: c.Parameters})
		}
	}
	if len(out) < 12 {
		tb.Fatalf("only %d AIN components in the manifest", len(out))
	}
	return out
}

// TestVectors decodes every AIN component of the golden vectors to the
// documented parameters and re-encodes it byte for byte.
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.id, func(t *testing.T) {
			if got := OpName(v.op); v.name != "" && got != v.name {
				t.Errorf("OpName(%#x) = %q, manifest says %q", uint16(v.op), got, v.name)
			}
			arg, err := Decode(v.op, v.params)
			if v.name == "" { // P-07Q: 0x64FF is no AIN operation
				if !errors.Is(err, ErrUnknownOperation) {
					t.Fatalf("Decode(%#x) error = %v, want ErrUnknownOperation", uint16(v.op), err)
				}
			} else if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if out := arg.Marshal(nil); !bytes.Equal(out, v.params) {
				t.Errorf("re-encoded\n got %x\nwant %x", out, v.params)
			}
			if v.want == nil {
				return
			}
			got, err := json.Marshal(manifestView(t, arg))
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(v.want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("decoded\n got %s\nwant %s", got, v.want)
			}
		})
	}
}

// TestApplicationErrorVector is the digest's Return Error example
// (eb 0f cf 01 01 d4 01 01 f2 07 bf 37 04 9f 38 01 06).
func TestApplicationErrorVector(t *testing.T) {
	params, _ := hex.DecodeString("bf37049f380106")
	p, err := DecodeError(ErrCodeApplicationError, params)
	if err != nil {
		t.Fatal(err)
	}
	ae := p.(*ApplicationError)
	if ae.Cause != CauseUnexpectedParameterSequence || ae.FailedMessage.Set || ae.UserID.Set || ae.Other.Len() != 0 {
		t.Errorf("decoded %+v", ae)
	}
	if out := ae.Marshal(nil); !bytes.Equal(out, params) {
		t.Errorf("re-encoded %x, want %x", out, params)
	}
	if d := DescribeError(ErrCodeApplicationError, params); d.Error != "" || len(d.Params) != 1 ||
		d.Params[0].Value != "errorCause unexpectedParameterSequence" {
		t.Errorf("DescribeError = %+v", d)
	}
}

// manifestView renders a decoded argument in the manifest's vocabulary. It
// reports fields it cannot render so that unexpected decodes fail the test.
func manifestView(t *testing.T, a Arg) map[string]any {
	m := map[string]any{}
	digits := func(name string, o Opt[Digits]) {
		if !o.Set {
			return
		}
		d := o.V
		odd := 0
		if d.Odd() {
			odd = 1
		}
		m[name] = map[string]any{
			"digits": d.String(), "oddEven": odd, "natureOfAddress": int(d.NatureOfAddress),
			"numberingPlan": int(d.NumberingPlan), "presentationRestriction": int(d.Presentation),
			"screening": int(d.Screening), "contentHex": hex.EncodeToString(d.appendContent(nil)),
		}
	}
	genericName := func(o Opt[GenericName]) {
		if !o.Set {
			return
		}
		g := o.V
		m["genericName"] = map[string]any{"typeOfName": int(g.TypeOfName), "available": !g.Unavailable,
			"presentation": int(g.Presentation), "name": string(g.Name),
			"contentHex": hex.EncodeToString(append([]byte{g.firstOctet()}, g.Name...))}
	}
	billing := func(b *Billing) {
		if b.AMAslpID.Set {
			m["aMAslpID"] = b.AMAslpID.V.String()
		}
		if b.Amp1 != nil || b.Amp2 != nil || b.AMASequenceNumber.Set || b.ExtensionParameter != nil {
			m["unexpectedBilling"] = true
		}
	}
	other := func(r *RawParams) {
		if r.Len() != 0 {
			m["unexpectedOther"] = r.Len()
		}
	}
	switch a := a.(type) {
	case *TerminationAttemptArg:
		if a.UserID.Kind != UserIDDN {
			t.Fatalf("userID kind %d", a.UserID.Kind)
		}
		m["userID"] = map[string]any{"dn": a.UserID.DN.String(), "dnHex": hex.EncodeToString(a.UserID.DN[:])}
		m["bearerCapability"] = int(a.BearerCapability)
		digits("calledPartyID", a.CalledPartyID)
		digits("callingPartyID", a.CallingPartyID)
		digits("chargeNumber", a.ChargeNumber)
		digits("lata", a.Lata)
		digits("originalCalledPartyID", a.OriginalCalledPartyID)
		digits("redirectingPartyID", a.RedirectingPartyID)
		genericName(a.GenericName)
		if a.TriggerCriteriaType.Set || a.CalledPartyStationType.Set || a.ChargePartyStationType.Set ||
			a.RedirectionInformation != nil || a.ACGEncountered.Set || a.Amp1 != nil || a.Amp2 != nil ||
			a.STRConnection.Set || a.AMASequenceNumber.Set || a.ExtensionParameter != nil || a.CTRConnection.Set {
			m["unexpected"] = true
		}
		other(&a.Other)
	case *AuthorizeTerminationArg:
		digits("callingPartyID", a.CallingPartyID)
		genericName(a.GenericName)
		billing(&a.Billing)
		if a.ControllingLegTreatment.Set || a.DisplayText.Set {
			m["unexpected"] = true
		}
		other(&a.Other)
	case *DisconnectArg:
		billing(&a.Billing)
		other(&a.Other)
	case *ForwardCallArg:
		digits("calledPartyID", a.CalledPartyID)
		digits("callingPartyID", a.CallingPartyID)
		digits("chargeNumber", a.ChargeNumber)
		digits("outpulseNumber", a.OutpulseNumber)
		digits("redirectingPartyID", a.RedirectingPartyID)
		genericName(a.GenericName)
		billing(&a.Billing)
		other(&a.Other)
	case *SendToResourceArg:
		m["resourceType"] = int(a.ResourceType)
		list := func(l *AnnouncementList) []string {
			s := []string{}
			for i := 0; i < l.Len(); i++ {
				s = append(s, hex.EncodeToString(l.At(i)))
			}
			return s
		}
		if a.StrParameterBlock.Kind != StrAnnouncementBlock {
			t.Fatalf("strParameterBlock kind %d", a.StrParameterBlock.Kind)
		}
		m["strParameterBlock"] = map[string]any{"announcementBlock": map[string]any{
			"uninterAnnounceBlock": list(&a.StrParameterBlock.Uninterruptible),
			"interAnnounceBlock":   list(&a.StrParameterBlock.Interruptible)}}
		if a.DisconnectFlag {
			m["disconnectFlag"] = true
		}
		billing(&a.Billing)
		other(&a.Other)
	case *AcgArg:
		m["controlCauseIndicator"] = hex.EncodeToString([]byte{a.ControlCauseIndicator})
		m["gapDuration"] = int(a.GapDuration)
		key := "nationalGapInterval"
		if a.GapInterval.Private {
			key = "privateGapInterval"
		}
		m["gapInterval"] = map[string]any{key: int(a.GapInterval.Value)}
		m["translationType"] = int(a.TranslationType)
		m["globalTitleAddress"] = hex.EncodeToString(a.GlobalTitleAddress)
		other(&a.Other)
	default:
		t.Fatalf("no manifest view for %T", a)
	}
	return m
}
