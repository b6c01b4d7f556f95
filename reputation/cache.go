package reputation

import (
	"sync"

	"callgate/e164"
	"callgate/policy"
)

// cache holds the bands found, bounded: shards of maps, each holding at
// most its share of Config.CacheSize. A full shard drops an arbitrary
// entry (Go's map iteration starts at a random place) to make room:
// cheaper than keeping an LRU order on every hit, and a dropped number
// only costs one look-up later. A hit takes a read lock and allocates
// nothing.
type cache struct {
	shards [cacheShards]cacheShard
	per    int
}

const cacheShards = 64

type cacheShard struct {
	mu sync.RWMutex
	m  map[e164.Number]entry
	_  [32]byte
}

type entry struct {
	band policy.Reputation
	at   int64 // unix ns of the answer
}

func newCache(size int) *cache {
	c := &cache{per: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[e164.Number]entry)
	}
	return c
}

func (c *cache) shard(n e164.Number) *cacheShard {
	h := uint64(n) * 0x9E3779B97F4A7C15
	return &c.shards[h>>(64-6)]
}

func (c *cache) get(n e164.Number) (entry, bool) {
	s := c.shard(n)
	s.mu.RLock()
	e, ok := s.m[n]
	s.mu.RUnlock()
	return e, ok
}

func (c *cache) put(n e164.Number, band policy.Reputation, at int64) {
	s := c.shard(n)
	s.mu.Lock()
	if _, ok := s.m[n]; !ok && len(s.m) >= c.per {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[n] = entry{band: band, at: at}
	s.mu.Unlock()
}

func (c *cache) drop(n e164.Number) {
	s := c.shard(n)
	s.mu.Lock()
	delete(s.m, n)
	s.mu.Unlock()
}

func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
