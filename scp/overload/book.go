package overload

import (
	"sync"
	"sync/atomic"
)

// book remembers, per (code, switch), when the last acg went out (for
// Config.Resend) and until when the switch's gap runs (to remove it once
// the overload is over). Its memory is fixed: bookBuckets buckets of
// bookWays slots, about 100 KB. A pair that finds its bucket full takes
// the slot of the gap that ends first; the pair it replaces loses its
// record: its gap is not removed but runs out at the switch, and the
// eviction is counted (Controller.Evicted), so a carrier sees when more
// (code, switch) pairs are gapped at once than the book holds.
type book struct {
	buckets [bookBuckets]bookBucket
	// latest is the end of the latest gap recorded (unix ns): after it no
	// gap runs, and Remove answers without looking.
	latest  atomic.Int64
	evicted atomic.Uint64
}

const (
	bookBuckets = 1024
	bookWays    = 4
)

// A bucket has its own lock: answers for different pairs rarely meet on
// one, and a lock keeps a slot's three fields and the "removed once"
// decision consistent without a lock-free protocol.
type bookBucket struct {
	mu    sync.Mutex
	slots [bookWays]bookSlot
}

type bookSlot struct {
	key     uint64 // 0: free
	sent    int64  // last acg sent (ns)
	until   int64  // the switch's gap ends (ns)
	removed bool   // the gap was removed: a new one may go at once
}

func bookKey(code, peer uint64) uint64 {
	k := code*0x9E3779B97F4A7C15 ^ (peer+1)*0xC2B2AE3D27D4EB4F
	if k == 0 {
		k = 1
	}
	return k
}

func (b *book) bucket(k uint64) *bookBucket { return &b.buckets[(k>>40)%bookBuckets] }

// send reports whether an acg for (code, peer) may go at now (none went
// within every), and if so records it with its gap running for dur ns.
func (b *book) send(code, peer uint64, now, every, dur int64) bool {
	k := bookKey(code, peer)
	bk := b.bucket(k)
	bk.mu.Lock()
	s := bk.find(k)
	if s != nil {
		if !s.removed && now-s.sent < every {
			bk.mu.Unlock()
			return false
		}
	} else {
		s = bk.victim(now, every)
		if s.key != 0 && !s.removed && s.until > now {
			b.evicted.Add(1)
		}
		s.key = k
	}
	// A new acg replaces the switch's control for the code: its gap runs
	// from now for the new duration.
	s.sent, s.until, s.removed = now, now+dur, false
	bk.mu.Unlock()
	for {
		l := b.latest.Load()
		if now+dur <= l || b.latest.CompareAndSwap(l, now+dur) {
			return true
		}
	}
}

// remove reports whether the gap of (code, peer) still runs at now and
// has not been removed; if so it is marked removed, so it is removed once.
func (b *book) remove(code, peer uint64, now int64) bool {
	if now >= b.latest.Load() {
		return false
	}
	k := bookKey(code, peer)
	bk := b.bucket(k)
	bk.mu.Lock()
	defer bk.mu.Unlock()
	s := bk.find(k)
	if s == nil || s.removed || s.until <= now {
		return false
	}
	s.removed = true
	return true
}

func (bk *bookBucket) find(k uint64) *bookSlot {
	for i := range bk.slots {
		if bk.slots[i].key == k {
			return &bk.slots[i]
		}
	}
	return nil
}

// victim is the slot a new pair takes: a free one, or one whose gap has
// ended and whose resend interval has passed (nothing to remember), or
// else the one whose gap ends first.
func (bk *bookBucket) victim(now, every int64) *bookSlot {
	v := &bk.slots[0]
	for i := range bk.slots {
		s := &bk.slots[i]
		if s.key == 0 || s.removed || (s.until <= now && now-s.sent >= every) {
			return s
		}
		if s.until < v.until { // the one the switch drops first
			v = s
		}
	}
	return v
}
