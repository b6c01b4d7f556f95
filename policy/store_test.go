package policy

import (
	"context"
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

// TestDecideRealStore runs the engine over the real store's demo fixture,
// so the engine and the store's View agree on what the settings mean.
func TestDecideRealStore(t *testing.T) {
	st := storetest.Fixture(t)
	e := New(st)
	ctx := context.Background()
	num := e164.MustParse
	alice, ok := st.Subscriber(num(storetest.AliceNumber))
	if !ok {
		t.Fatal("alice missing")
	}
	aliceBlock := ActionBlock
	if alice.RejectWithMedia {
		aliceBlock = ActionBlockWithAnnouncement
	}
	bob, _ := st.Subscriber(num(storetest.BobNumber))
	bobRoute, _ := st.EgressRoute(bob.Provider)

	tests := []struct {
		name   string
		call   Call
		action Action
		trace  string
	}{
		{"vip", Call{Calling: num(storetest.VIPCaller), Called: num(storetest.AliceNumber), Origin: OriginAIN},
			ActionAllow, "subscriber=yes provider-vip=no vip=yes"},
		{"vip, second number", Call{Calling: num(storetest.VIPCaller), Called: num(storetest.AliceNumber2), Origin: OriginAIN},
			ActionAllow, "subscriber=yes provider-vip=no vip=yes"},
		{"blocked", Call{Calling: num(storetest.BlockedCaller), Called: num(storetest.AliceNumber), Origin: OriginAIN},
			aliceBlock, "subscriber=yes provider-vip=no vip=no blocked=yes"},
		{"provider blocked", Call{Calling: num(storetest.ProviderBlocked), Called: num(storetest.AliceNumber), Origin: OriginAIN},
			aliceBlock, "subscriber=yes provider-vip=no vip=no blocked=no provider-blocked=yes"},
		{"not a subscriber", Call{Calling: num(storetest.UnknownCaller), Called: num("+13035550199"), Origin: OriginAIN},
			ActionAllow, "subscriber=no"},
		{"bob unknown: block with announcement", Call{Calling: num(storetest.UnknownCaller), Called: num(storetest.BobNumber), Origin: OriginAIN},
			ActionBlockWithAnnouncement, "subscriber=yes provider-vip=no vip=no blocked=no provider-blocked=no anonymous=no unknown=apply"},
		{"bob anonymous: voicemail", Call{Called: num(storetest.BobNumber), Origin: OriginSIP},
			ActionVoicemail, "subscriber=yes anonymous=apply route=yes pin=no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Decide(ctx, tc.call)
			if d.Action != tc.action || d.Trace.String() != tc.trace {
				t.Fatalf("got %s, want %v [%s]", d.String(), tc.action, tc.trace)
			}
		})
	}
	d := e.Decide(ctx, Call{Calling: num(storetest.UnknownCaller), Called: num(storetest.BobNumber)})
	if d.Announcement != storetest.BobAnn {
		t.Errorf("bob's announcement = %d, want %d", d.Announcement, storetest.BobAnn)
	}
	d = e.Decide(ctx, Call{Called: num(storetest.BobNumber), Origin: OriginSIP})
	if d.Voicemail != storetest.BobVM || d.Route != bobRoute || d.Route == (store.Route{}) {
		t.Errorf("bob's voicemail decision = %s", d.String())
	}
}

// BenchmarkDecideLarge measures Decide over the real store with 10,000,000
// Blocked entries over 100,000 subscribers (storetest.Large; built once and
// cached under the temp directory, which takes a while the first time).
//
//	go test -run '^$' -bench DecideLarge -benchmem ./policy/
func BenchmarkDecideLarge(b *testing.B) {
	const subs, perSub = 100_000, 100
	st := storetest.Large(b, subs, perSub)
	e := New(st)
	ctx := context.Background()
	// Walk the subscribers in a scattered order so the benchmark does not
	// hit one hot cache line.
	const stride = 7919
	paths := []struct {
		name string
		call func(i int) Call
	}{
		{"allow-vip", func(i int) Call {
			return Call{Calling: storetest.LargeVIP(i, perSub), Called: storetest.LargeSubscriberNumber(i), Origin: OriginAIN}
		}},
		{"block", func(i int) Call {
			return Call{Calling: storetest.LargeBlocked(i, i%perSub), Called: storetest.LargeSubscriberNumber(i), Origin: OriginAIN}
		}},
		{"provider-block", func(i int) Call {
			return Call{Calling: storetest.LargeProviderBlocked(i % storetest.LargeProviderBlockedRows), Called: storetest.LargeSubscriberNumber(i), Origin: OriginAIN}
		}},
		{"unknown", func(i int) Call {
			return Call{Calling: storetest.LargeUnlisted(i, perSub), Called: storetest.LargeSubscriberNumber(i), Origin: OriginAIN}
		}},
		{"not-subscriber", func(i int) Call {
			return Call{Calling: storetest.LargeUnlisted(i, perSub), Called: storetest.LargeSubscriberNumber(subs + i), Origin: OriginAIN}
		}},
	}
	for _, p := range paths {
		// Precompute the calls so the benchmark times Decide only.
		calls := make([]Call, 4096)
		for k := range calls {
			calls[k] = p.call((k * stride) % subs)
		}
		// Sanity: the fixture holds what the path name says.
		want := map[string]func(Action) bool{
			"allow-vip":      func(a Action) bool { return a == ActionAllow },
			"block":          func(a Action) bool { return a == ActionBlock || a == ActionBlockWithAnnouncement },
			"provider-block": func(a Action) bool { return a == ActionBlock || a == ActionBlockWithAnnouncement },
			"unknown":        func(a Action) bool { return true },
			"not-subscriber": func(a Action) bool { return a == ActionAllow },
		}[p.name]
		if d := e.Decide(ctx, calls[1]); !want(d.Action) {
			b.Fatalf("%s: fixture gives %s", p.name, d.String())
		}
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				benchSink = e.Decide(ctx, calls[i&4095])
				i++
			}
		})
	}
	// unknown/cold walks all subscribers (the paths above cycle through
	// 4,096 of them, whose data stays in cache): every query's store
	// look-ups miss the cache, as in a load run over the whole store. The
	// next call depends on this decision (a zero derived from it), so the
	// CPU cannot overlap one decision's misses with the next one's.
	order := make([]int32, subs)
	for k := range order {
		order[k] = int32((k * stride) % subs)
	}
	b.Run("unknown/cold", func(b *testing.B) {
		b.ReportAllocs()
		k, dep := 0, 0
		for b.Loop() {
			i := int(order[k]) + dep
			benchSink = e.Decide(ctx, Call{Calling: storetest.LargeUnlisted(i, perSub), Called: storetest.LargeSubscriberNumber(i), Origin: OriginAIN})
			dep = int(benchSink.Subscriber >> 31) // always 0
			if k++; k == subs {
				k = 0
			}
		}
	})
}
