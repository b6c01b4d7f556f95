package m3ua

import (
	"context"
	"log/slog"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// clearUnknown zeroes the Unknown counter, which a re-encoding cannot
// reproduce (unknown parameters are skipped, not kept).
func clearUnknown(m Message) {
	v := reflect.ValueOf(m).Elem().FieldByName("Unknown")
	if v.IsValid() {
		v.SetInt(0)
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(mustHex(f, v.Hex.M3UA))
	}
	for _, m := range sampleMessages() {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range rkmSeeds() {
		f.Add(b)
	}
	f.Add([]byte{1, 0, 3, 1, 0, 0, 0, 36, 0, 0x11, 0, 8, 0, 0, 0, 5, 0x77, 0x77, 0, 9, 1, 2, 3, 4, 5, 0, 0, 0, 0, 4, 0, 6, 'a', 'b', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if _, ok := CodeOf(err); !ok {
				t.Fatalf("decode error without an ERR code: %v", err)
			}
			return
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode of a decoded %T: %v", m, err)
		}
		if len(enc) != m.MarshalLen() {
			t.Fatalf("MarshalLen %d, encoded %d", m.MarshalLen(), len(enc))
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("decode of our own encoding %x: %v", enc, err)
		}
		clearUnknown(m)
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip differs\n got %+v\nwant %+v", m2, m)
		}
	})
}

func p01q(b testing.TB) []byte {
	for _, v := range loadVectors(b) {
		if v.ID == "P-01Q" {
			return mustHex(b, v.Hex.M3UA)
		}
	}
	b.Fatal("P-01Q not in the manifest")
	return nil
}

func BenchmarkDecodeDATA(b *testing.B) {
	wire := p01q(b)
	var d Data
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if err := d.UnmarshalBinary(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDATA(b *testing.B) {
	var d Data
	if err := d.UnmarshalBinary(p01q(b)); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(d.MarshalLen()))
	for b.Loop() {
		var err error
		if buf, err = d.AppendTo(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalBinaryDATA(b *testing.B) {
	var d Data
	if err := d.UnmarshalBinary(p01q(b)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeGeneric(b *testing.B) {
	wire := p01q(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEndpointSend measures Endpoint.Send of the P-01Q routing label
// and payload on an active TCP loopback association: encoding, queueing
// and the writer's hand-off (the socket write runs on the writer).
func BenchmarkEndpointSend(b *testing.B) {
	var q Data
	if err := q.UnmarshalBinary(p01q(b)); err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	sg, err := NewEndpoint(Config{Role: RoleSG, Network: "tcp", Listen: "127.0.0.1:0", RoutingContexts: []uint32{10},
		Logger: slog.New(slog.DiscardHandler), Handler: func(*Association, *Data) { got.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	if err := sg.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer sg.Close()
	asp, err := NewEndpoint(Config{Role: RoleASP, Network: "tcp", Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10},
		Logger: slog.New(slog.DiscardHandler), SendQueue: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	if err := asp.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer asp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := asp.WaitActive(ctx, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	sent := 0
	for b.Loop() {
		for asp.Send(q.ProtocolData) == ErrSendQueueFull {
			runtime.Gosched()
		}
		sent++
	}
	b.StopTimer()
	for got.Load() < int64(sent) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
}
