package sccp

import "testing"

func vectorSCCP(b testing.TB, id string) []byte {
	for _, v := range loadVectors(b) {
		if v.ID == id {
			return mustHex(b, v.Hex.SCCP)
		}
	}
	b.Fatalf("vector %s not found", id)
	return nil
}

func BenchmarkDecodeUDT(b *testing.B) {
	raw := vectorSCCP(b, "P-01Q")
	var m Message
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Decode(raw, ANSI); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeUDT(b *testing.B) {
	raw := vectorSCCP(b, "P-01R")
	var m Message
	if err := m.Decode(raw, ANSI); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = m.AppendTo(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnswerUDT is the SCCP answer the SCP sends to P-01Q: built with
// Answer and encoded with AppendTo ("message"), encoded straight from the
// query ("direct"), or through an AnswerCache that saw the same switch
// before ("cached").
func BenchmarkAnswerUDT(b *testing.B) {
	var q Message
	if err := q.Decode(vectorSCCP(b, "P-01Q"), ANSI); err != nil {
		b.Fatal(err)
	}
	want := vectorSCCP(b, "P-01R")
	var r Message
	if err := r.Decode(want, ANSI); err != nil {
		b.Fatal(err)
	}
	data := r.Data
	buf := make([]byte, 0, 512)
	check := func(b *testing.B) {
		if string(buf) != string(want) {
			b.Fatalf("encoded %x", buf)
		}
	}
	b.Run("message", func(b *testing.B) {
		var a Message
		b.ReportAllocs()
		for b.Loop() {
			q.Answer(&a, data)
			buf, _ = a.AppendTo(buf[:0])
		}
		check(b)
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = q.AppendAnswer(buf[:0], data)
		}
		check(b)
	})
	b.Run("cached", func(b *testing.B) {
		var c AnswerCache
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = c.AppendAnswer(buf[:0], &q, data)
		}
		check(b)
	})
}
