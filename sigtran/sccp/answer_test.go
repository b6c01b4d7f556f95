package sccp

import (
	"bytes"
	"testing"
)

// checkAppendAnswer checks that AppendAnswer encodes exactly what Answer
// followed by AppendTo does (the bytes, or the error), appending after
// what dst holds.
func checkAppendAnswer(t *testing.T, m *Message, data []byte) {
	t.Helper()
	var r Message
	ok := m.Answer(&r, data)
	prefix := []byte{0xaa, 0xbb}
	got, err := m.AppendAnswer(append([]byte(nil), prefix...), data)
	if !ok {
		if err != ErrNotAnswerable || !bytes.Equal(got, prefix) {
			t.Fatalf("%v %v: Answer refuses, AppendAnswer gives %x, %v", m.Variant, m.Type, got, err)
		}
		return
	}
	want, werr := r.AppendTo(append([]byte(nil), prefix...))
	if (err == nil) != (werr == nil) || err == nil && !bytes.Equal(got, want) {
		t.Fatalf("%v %v: AppendAnswer\n got %x (%v)\nwant %x (%v)", m.Variant, m.Type, got, err, want, werr)
	}
	if err != nil && err.Error() != werr.Error() {
		t.Fatalf("%v %v: AppendAnswer error %q, Answer+AppendTo %q", m.Variant, m.Type, err, werr)
	}
}

// AppendAnswer is Answer + AppendTo in one step: same bytes for every
// message type and variant, with and without an optional part on the
// query (the answer carries none), for data of every size class, and
// the same refusal for service messages.
func TestAppendAnswerMatchesAnswer(t *testing.T) {
	long := bytes.Repeat([]byte{0x5a}, 300) // too long for UDT/XUDT: the same error
	for _, v := range []Variant{ANSI, ITU} {
		for _, typ := range []MsgType{UDT, UDTS, XUDT, XUDTS, LUDT, LUDTS} {
			for _, opt := range []bool{false, true} {
				m := sample(v, typ)
				if opt && typ.hasHopCounter() {
					m.Segmentation = Segmentation{Present: true, First: true, Remaining: 1, LocalRef: 9}
					m.HasImportance, m.Importance = true, 2
					m.OtherOptional = []byte{0xfa, 1, 0}
				}
				for _, data := range [][]byte{nil, {0xe4, 0x00}, long} {
					checkAppendAnswer(t, &m, data)
				}
			}
		}
	}
	for _, vec := range loadVectors(t) {
		var m Message
		if err := m.Decode(mustHex(t, vec.Hex.SCCP), ANSI); err != nil {
			t.Fatalf("%s: %v", vec.ID, err)
		}
		checkAppendAnswer(t, &m, mustHex(t, vec.Hex.TCAP))
	}
	var q Message
	if err := q.Decode(vectorSCCP(t, "P-01Q"), ANSI); err != nil {
		t.Fatal(err)
	}
	var tc []byte
	for _, vec := range loadVectors(t) {
		if vec.ID == "P-01R" {
			tc = mustHex(t, vec.Hex.TCAP)
		}
	}
	got, err := q.AppendAnswer(nil, tc)
	if want := vectorSCCP(t, "P-01R"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("answer to P-01Q\n got %x (%v)\nwant %x", got, err, want)
	}
}
