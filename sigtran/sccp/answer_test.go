package sccp

import (
	"bytes"
	"math/rand/v2"
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

// The answer cache writes what AppendAnswer writes, whatever sequence of
// messages it sees: the same sender again (a hit), another address, type,
// class or variant (a miss), data too long for the type (the error), and
// a message decoded into the same buffer with other GT digits (the cache
// keeps its own copy of the digits, not the aliased input).
func TestAnswerCacheMatchesAppendAnswer(t *testing.T) {
	var msgs []Message
	for _, v := range []Variant{ANSI, ITU} {
		for _, typ := range []MsgType{UDT, UDTS, XUDT, XUDTS, LUDT, LUDTS} {
			m := sample(v, typ)
			msgs = append(msgs, m)
			m2 := sample(v, typ)
			m2.Calling.SSN++
			msgs = append(msgs, m2)
			m3 := sample(v, typ)
			_ = m3.Calling.GT.SetDigits("3035550199")
			msgs = append(msgs, m3)
			m4 := sample(v, typ)
			m4.Class = Class0
			msgs = append(msgs, m4)
			m5 := sample(v, typ)
			m5.Called.GT.Odd = !m5.Called.GT.Odd
			msgs = append(msgs, m5)
		}
	}
	for _, vec := range loadVectors(t) {
		var m Message
		if err := m.Decode(mustHex(t, vec.Hex.SCCP), ANSI); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	var c AnswerCache
	r := rand.New(rand.NewPCG(1, 2))
	data := bytes.Repeat([]byte{0x42}, 300)
	var buf []byte
	for i := range 5000 {
		m := &msgs[r.IntN(len(msgs))]
		if r.IntN(3) > 0 && i > 0 { // runs of the same sender
			m = &msgs[(i*7)%len(msgs)]
		}
		d := data[:r.IntN(len(data)+1)]
		want, werr := m.AppendAnswer([]byte{0xaa}, d)
		got, err := c.AppendAnswer(append(buf[:0], 0xaa), m, d)
		buf = got
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("message %d (%v %v), %d octets of data:\n got %x (%v)\nwant %x (%v)", i, m.Variant, m.Type, len(d), got, err, want, werr)
		}
	}

	// Same Message, same buffer, other digits: a miss, not a stale hit.
	sm := sample(ANSI, UDT) // its calling address has a global title
	raw, err := sm.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q Message
	if err := q.Decode(raw, ANSI); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendAnswer(nil, &q, []byte{1}); err != nil {
		t.Fatal(err)
	}
	q.Calling.GT.Digits[0] ^= 0x11 // in raw, which q aliases
	if err := q.Decode(raw, ANSI); err != nil {
		t.Fatal(err)
	}
	want, _ := q.AppendAnswer(nil, []byte{1})
	got, _ := c.AppendAnswer(nil, &q, []byte{1})
	if !bytes.Equal(got, want) {
		t.Fatalf("after the digits changed in place:\n got %x\nwant %x", got, want)
	}
}
