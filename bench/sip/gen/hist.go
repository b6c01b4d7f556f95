package main

import "time"

// hist counts response times: 10 µs buckets up to 10 ms, then 1 ms buckets
// up to 60 s. A percentile is the upper bound of its bucket, so it is never
// lower than the true value and at most one bucket higher.
type hist []uint64

const (
	fineStep   = 10 * time.Microsecond
	fineLimit  = 10 * time.Millisecond
	coarseStep = time.Millisecond
	histLimit  = 60 * time.Second
	fineN      = int(fineLimit / fineStep)
	histN      = fineN + int((histLimit-fineLimit)/coarseStep) + 1
)

func newHist() hist { return make(hist, histN) }

func (h hist) add(d time.Duration) {
	h[bucket(d)]++
}

func bucket(d time.Duration) int {
	switch {
	case d < 0:
		return 0
	case d < fineLimit:
		return int(d / fineStep)
	case d < histLimit:
		return fineN + int((d-fineLimit)/coarseStep)
	}
	return histN - 1
}

// upper is the upper bound of bucket i.
func upper(i int) time.Duration {
	if i < fineN {
		return time.Duration(i+1) * fineStep
	}
	return fineLimit + time.Duration(i-fineN+1)*coarseStep
}

func (h hist) merge(o hist) {
	for i, v := range o {
		if i < len(h) {
			h[i] += v
		}
	}
}

func (h hist) count() uint64 {
	var n uint64
	for _, v := range h {
		n += v
	}
	return n
}

// quantile returns the q-quantile (0 < q <= 1) of the recorded times, 0
// when there are none.
func (h hist) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, v := range h {
		seen += v
		if seen >= rank {
			return upper(i)
		}
	}
	return upper(len(h) - 1)
}

// maximum is the upper bound of the highest non-empty bucket.
func (h hist) maximum() time.Duration {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i] != 0 {
			return upper(i)
		}
	}
	return 0
}
