package sccp

import (
	"reflect"
	"testing"
)

// FuzzSCCP decodes arbitrary input in both variants; whatever decodes must
// re-encode (unless a field is out of the encoder's range) to something that
// decodes to the same message.
func FuzzSCCP(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(mustHex(f, v.Hex.SCCP))
	}
	for _, v := range []Variant{ANSI, ITU} {
		for _, typ := range []MsgType{UDT, UDTS, XUDT, XUDTS, LUDT, LUDTS} {
			m := sample(v, typ)
			if typ.hasHopCounter() {
				m.Segmentation = Segmentation{Present: true, First: true, Remaining: 1, LocalRef: 9}
				m.HasImportance, m.Importance = true, 2
				m.OtherOptional = []byte{0xfa, 1, 0}
			}
			if b, err := m.MarshalBinary(); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range []Variant{ANSI, ITU} {
			var m Message
			if err := m.Decode(b, v); err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			_ = m.String()
			checkAppendAnswer(t, &m, []byte{0x01, 0x02, 0x03})
			out, err := m.AppendTo(nil)
			if err != nil {
				continue
			}
			if len(out) != m.MarshalLen() {
				t.Fatalf("MarshalLen %d, encoded %d", m.MarshalLen(), len(out))
			}
			var m2 Message
			if err := m2.Decode(out, v); err != nil {
				t.Fatalf("%v: re-encoded %x does not decode: %v", v, out, err)
			}
			if !reflect.DeepEqual(normal(m), normal(m2)) {
				t.Fatalf("%v: round trip changed the message\n%+v\n%+v", v, m, m2)
			}
			var r Message
			if m.Return(&r, CauseUnqualified) {
				if _, err := r.AppendTo(nil); err != nil && r.Type == UDTS && len(out) <= 255 {
					t.Fatalf("UDTS for an encodable UDT failed: %v", err)
				}
			}
		}
	})
}

// normal clears representation-only differences (empty vs nil slices).
func normal(m Message) Message {
	for _, a := range []*Address{&m.Called, &m.Calling} {
		if len(a.GT.Digits) == 0 {
			a.GT.Digits = nil
		}
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	if len(m.OtherOptional) == 0 {
		m.OtherOptional = nil
	}
	return m
}
