package tcap

import (
	"testing"
	"time"
)

// FuzzTCAP decodes arbitrary input; what decodes must re-encode to
// something that decodes to the same message, and the transaction layer
// must classify anything (decoded or not) and build its reply without error.
func FuzzTCAP(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(mustHex(f, v.Hex.TCAP))
	}
	for _, s := range []string{
		"e28123c7020001f909da0103db01019f5000e88111e906d10105f28100ec07cf00d50103f000",
		"e506c70400010002", "f609c70400000106d70106", "f608c70400000106f800",
		"e10fc700e80be909cf0101d1026901f200", "e706c70400000009",
		"e20fc70400000001e807e705cf01070500", "e212c70400000001e80aeb08cf0109d40101f200",
		"e50ac70800000007deadbeef", "e3 08 c7 04 00000001 e8 00"[:0] + "e308c70400000001e800",
	} {
		f.Add(mustHex(f, s))
	}
	tx := NewTransactions(Config{MaxDialogues: 1000, Now: func() time.Time { return time.Unix(0, 0) }})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		err := m.Decode(b)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}
		// The transaction-only decode agrees with the full one on every
		// package the full one accepts.
		var h Message
		if ok := h.DecodeTransaction(b); err == nil &&
			(!ok || h.Type != m.Type || h.OrigTID != m.OrigTID || h.RespTID != m.RespTID) {
			t.Fatalf("DecodeTransaction(%x) = %v %v %v %v, Decode: %v %v %v", b, ok, h.Type, h.OrigTID, h.RespTID, m.Type, m.OrigTID, m.RespTID)
		}
		v := tx.Receive(PeerKey(len(b)), &m, err)
		switch v.Action {
		case SendAbort, SendReject:
			if _, rerr := tx.AppendReply(nil, &v); rerr != nil {
				t.Fatalf("reply to %+v: %v", v, rerr)
			}
		}
		if v.HasDialogue {
			tx.End(v.Dialogue)
		}
		if err != nil {
			return
		}
		out, err := m.AppendTo(nil)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v\n%+v", err, m)
		}
		if len(out) != m.MarshalLen() {
			t.Fatalf("MarshalLen %d, encoded %d", m.MarshalLen(), len(out))
		}
		var m2 Message
		if err := m2.Decode(out); err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", out, err)
		}
		for _, x := range []*Message{&m, &m2} {
			for i := range x.Components {
				x.Components[i].Offset = 0
			}
		}
		if !equalMsg(&m, &m2) {
			t.Fatalf("round trip changed the message\n%+v\n%+v", m, m2)
		}
	})
}
