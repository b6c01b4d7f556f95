package store_test

import (
	"testing"
	"time"

	"callgate/store"
	"callgate/store/storetest"
)

// What the PIN lockout adds to a PIN keyed at the B2BUA, beside the
// bcrypt check (tens of milliseconds): a read of the record, and for a
// wrong PIN one write (bbolt, NoSync here: a real commit adds its fsync).
//
//	go test -run '^$' -bench 'PIN(LockState|Failed)' -benchmem ./store/

func BenchmarkPINLockState(b *testing.B) {
	s := storetest.Fixture(b)
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	for b.Loop() {
		if _, err := s.PINLockState(alice.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPINFailed(b *testing.B) {
	s := storetest.Fixture(b)
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	f := store.PINFailure{Prompt: store.PINPromptOverride, Actor: store.Operator.By("bench", "b2bua"),
		Policy: store.PINLockPolicy{MaxFailures: 100, Window: time.Nanosecond, Period: time.Minute}}
	for b.Loop() {
		if _, _, err := s.PINFailed(alice.ID, f); err != nil {
			b.Fatal(err)
		}
	}
}
