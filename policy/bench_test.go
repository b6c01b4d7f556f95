package policy

import (
	"context"
	"testing"
)

// Benchmarks of the engine's own cost against the map-backed fake view
// (the real store's cost is measured by BenchmarkDecideLarge, when the
// store's large fixture is available).
//
//	go test -run '^$' -bench Decide -benchmem ./policy/

var benchSink Decision

var benchCalls = []struct {
	name string
	call Call
}{
	{"allow-vip", Call{Calling: nFriend, Called: nAlice, Origin: OriginAIN}},
	{"block", Call{Calling: nPest, Called: nAlice, Origin: OriginAIN}},
	{"block-announcement", Call{Calling: nPest, Called: nBob, Origin: OriginAIN}},
	{"unknown-screen", Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN}},
	{"anonymous", Call{Called: nBob, Presentation: PresentationRestricted, Origin: OriginSIP}},
	{"not-subscriber", Call{Calling: nStranger, Called: nNobody, Origin: OriginAIN}},
	{"sip-default-route", Call{Calling: nStranger, Called: nHenry, Origin: OriginSIP, DefaultRoute: true}},
	{"no-route-fallback", Call{Calling: nStranger, Called: nCarol, Origin: OriginAIN}},
	{"originating-locked", Call{Calling: nAlice, Called: nStranger, Direction: DirectionOriginating, FraudLocked: true}},
}

func BenchmarkDecide(b *testing.B) {
	e := New(fixture())
	ctx := context.Background()
	for _, bc := range benchCalls {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink = e.Decide(ctx, bc.call)
			}
		})
	}
}

func BenchmarkDecideParallel(b *testing.B) {
	e := New(fixture())
	ctx := context.Background()
	for _, bc := range benchCalls {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var d Decision
				for pb.Next() {
					d = e.Decide(ctx, bc.call)
				}
				_ = d
			})
		})
	}
}
