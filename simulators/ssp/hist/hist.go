// Package hist is a fixed-memory, lock-free latency histogram in the style of
// HdrHistogram: values are counted in logarithmic buckets, each power of two
// split into 64 linear sub-buckets, so any recorded value is known to within
// 1/64 (1.6 %) of its size from 1 ns to the full range of int64 nanoseconds,
// in 30 KiB that never grow.
//
// Record is safe for concurrent use and does not allocate; it is meant for
// the reply path of a load generator, where several reader goroutines record
// at once. Snapshot copies the counters for reporting.
package hist

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	// subBits sets the precision: 2^subBits exact buckets below 2^subBits,
	// then 2^(subBits-1) sub-buckets per power of two.
	subBits  = 7
	subCount = 1 << subBits          // 128
	halfSub  = subCount / 2          // 64
	nBuckets = subCount + 57*halfSub // values up to 2^64-1
)

// Histogram counts durations. The zero value is ready to use.
type Histogram struct {
	counts [nBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // nanoseconds; wraps after 584 years of latency
	min    atomic.Uint64 // stored as value+1 so that 0 means "none yet"
	max    atomic.Uint64
}

// index maps a value to its bucket.
func index(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits // >= 1
	return subCount + (shift-1)*halfSub + int(v>>uint(shift)) - halfSub
}

// bounds returns the smallest and largest value of bucket i.
func bounds(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	j := i - subCount
	shift := uint(j/halfSub + 1)
	sub := uint64(j%halfSub + halfSub)
	lo = sub << shift
	return lo, lo + (1 << shift) - 1
}

// Record counts one duration (negative durations count as 0).
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[index(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if (m != 0 && v+1 >= m) || h.min.CompareAndSwap(m, v+1) {
			break
		}
	}
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Quantile returns the value at quantile q (0..1) of what has been recorded
// so far: the upper bound of the bucket holding it, clipped to the maximum
// recorded, so the answer is never lower than the true quantile and at most
// 1.6 % above it. 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	s := h.Snapshot()
	return s.Quantile(q)
}

// Reset clears every counter. It is not atomic with respect to concurrent
// Record calls (a value recorded during Reset may be half counted).
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.n.Store(0)
	h.sum.Store(0)
	h.min.Store(0)
	h.max.Store(0)
}

// Snapshot is a copy of a Histogram's counters for reporting.
type Snapshot struct {
	counts   [nBuckets]uint64
	N        uint64
	Sum      time.Duration
	Min, Max time.Duration
}

// Snapshot copies the counters. Concurrent Records may or may not be
// included; N is recomputed from the copied buckets so quantiles stay
// consistent.
func (h *Histogram) Snapshot() *Snapshot {
	s := &Snapshot{}
	var n uint64
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] = c
		n += c
	}
	s.N = n
	s.Sum = time.Duration(h.sum.Load())
	if m := h.min.Load(); m != 0 {
		s.Min = time.Duration(m - 1)
	}
	s.Max = time.Duration(h.max.Load())
	return s
}

// Merge adds o's counts into s.
func (s *Snapshot) Merge(o *Snapshot) {
	for i := range s.counts {
		s.counts[i] += o.counts[i]
	}
	if o.N > 0 && (s.N == 0 || o.Min < s.Min) {
		s.Min = o.Min
	}
	s.N += o.N
	s.Sum += o.Sum
	s.Max = max(s.Max, o.Max)
}

// Quantile returns the value at quantile q (0..1), see Histogram.Quantile.
func (s *Snapshot) Quantile(q float64) time.Duration {
	if s.N == 0 {
		return 0
	}
	if math.IsNaN(q) || q <= 0 {
		return s.Min
	}
	if q >= 1 {
		return s.Max
	}
	// rank is the 1-based position of the quantile value in sorted order.
	rank := uint64(math.Ceil(q * float64(s.N)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range s.counts {
		if c == 0 {
			continue
		}
		seen += c
		if seen >= rank {
			_, hi := bounds(i)
			v := time.Duration(hi)
			if v > s.Max {
				v = s.Max
			}
			if v < s.Min {
				v = s.Min
			}
			return v
		}
	}
	return s.Max
}

// Mean returns the arithmetic mean (0 when empty).
func (s *Snapshot) Mean() time.Duration {
	if s.N == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.N)
}

// Summary is the usual latency report.
type Summary struct {
	Count uint64        `json:"count"`
	Min   time.Duration `json:"-"`
	Mean  time.Duration `json:"-"`
	P50   time.Duration `json:"-"`
	P90   time.Duration `json:"-"`
	P99   time.Duration `json:"-"`
	P999  time.Duration `json:"-"`
	Max   time.Duration `json:"-"`

	// Millisecond renderings for JSON consumers.
	MinMs  float64 `json:"minMs"`
	MeanMs float64 `json:"meanMs"`
	P50Ms  float64 `json:"p50Ms"`
	P90Ms  float64 `json:"p90Ms"`
	P99Ms  float64 `json:"p99Ms"`
	P999Ms float64 `json:"p999Ms"`
	MaxMs  float64 `json:"maxMs"`
}

// Summary computes min, mean, p50, p90, p99, p99.9 and max.
func (s *Snapshot) Summary() Summary {
	r := Summary{Count: s.N, Min: s.Min, Mean: s.Mean(), P50: s.Quantile(0.50), P90: s.Quantile(0.90),
		P99: s.Quantile(0.99), P999: s.Quantile(0.999), Max: s.Max}
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	r.MinMs, r.MeanMs, r.P50Ms, r.P90Ms, r.P99Ms, r.P999Ms, r.MaxMs =
		ms(r.Min), ms(r.Mean), ms(r.P50), ms(r.P90), ms(r.P99), ms(r.P999), ms(r.Max)
	return r
}

// Bucket is one non-empty histogram bucket: the values in [Low, High].
type Bucket struct {
	Low, High time.Duration
	Count     uint64
}

// Buckets returns the non-empty buckets in increasing order.
func (s *Snapshot) Buckets() []Bucket {
	var out []Bucket
	for i, c := range s.counts {
		if c == 0 {
			continue
		}
		lo, hi := bounds(i)
		out = append(out, Bucket{time.Duration(lo), time.Duration(hi), c})
	}
	return out
}
