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
