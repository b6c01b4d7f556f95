package scp

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counts is one shard of the per-query counters. Each worker (pool
// worker, or the scratch state of an association's reader) adds to the
// shard it was given, so cores answering queries do not write the same
// cache lines; a scrape sums the shards (hotCollector). Two workers may
// share a shard (there are more readers than shards): the adds are
// atomic, so that is only slower, never wrong.
type counts struct {
	queries [numIn][numOut]atomic.Uint64
	safe    [numSafe]atomic.Uint64
	drops   [numDrop]atomic.Uint64
	acg     atomic.Uint64
	// acgRemoved counts acg components that remove a gap (interval 0).
	acgRemoved atomic.Uint64
	fallback   atomic.Uint64
	// latency counts answers per bucket of latencyBounds (not
	// cumulative; the last is +Inf), latencyNanos their total.
	latency      [len(latencyBounds) + 1]atomic.Uint64
	latencyNanos atomic.Uint64
	_            [64]byte // keeps the next shard off this one's last line
}

// latencyBounds are the answer_duration_seconds buckets (upper bounds).
var latencyBounds = [...]time.Duration{25 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond,
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond}

// answered counts a query's answer and its latency.
func (c *counts) answered(in inOp, out outOp, took time.Duration) {
	c.queries[in][out].Add(1)
	i := 0
	for i < len(latencyBounds) && took > latencyBounds[i] {
		i++
	}
	c.latency[i].Add(1)
	c.latencyNanos.Add(uint64(max(took, 0)))
}

// hotCollector exports the sharded counters under the names and labels
// the SCP always had (callgate_scp_queries_total, safe_answers_total,
// dropped_total, acg_sent_total, acg_removed_total, no_route_fallback_total,
// answer_duration_seconds), every label combination from the start.
type hotCollector struct {
	shards []counts
	next   atomic.Uint32

	queries, safe, drops, acg, removed, fallback, latency *prometheus.Desc
}

func newHotCollector(ns, sub string) *hotCollector {
	name := func(n string) string { return prometheus.BuildFQName(ns, sub, n) }
	return &hotCollector{
		// Twice the cores: readers and pool workers rarely share one.
		shards: make([]counts, 2*runtime.GOMAXPROCS(0)),
		queries: prometheus.NewDesc(name("queries_total"),
			"TCAP packages with an AIN invoke received, by operation (terminationAttempt, infoAnalyzed, ...) and answer sent (authorizeTermination, disconnect, forwardCall, sendToResource, continue, reject, abort, udts, none).",
			[]string{"operation", "answer"}, nil),
		safe: prometheus.NewDesc(name("safe_answers_total"),
			"Queries answered with the configured safe answer instead of a decision, by reason.", []string{"reason"}, nil),
		drops: prometheus.NewDesc(name("dropped_total"),
			"Messages dropped without an answer, by reason.", []string{"reason"}, nil),
		acg: prometheus.NewDesc(name("acg_sent_total"),
			"AIN acg (automatic code gapping) components sent that set a gap.", nil, nil),
		removed: prometheus.NewDesc(name("acg_removed_total"),
			"AIN acg components sent that remove a gap (gap interval 0) still running at a switch once the overload was over.", nil, nil),
		fallback: prometheus.NewDesc(name("no_route_fallback_total"),
			"Terminating queries the engine answered with its no-route fallback (engine.no_route_fallback): the subscriber's treatment needed the B2BUA and the provider's egress route has no routing number.", nil, nil),
		latency: prometheus.NewDesc(name("answer_duration_seconds"),
			"Time from reading a query to queueing its answer.", nil, nil),
	}
}

// shard hands out the shards in turn.
func (h *hotCollector) shard() *counts {
	return &h.shards[int(h.next.Add(1)-1)%len(h.shards)]
}

// Describe implements prometheus.Collector.
func (h *hotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{h.queries, h.safe, h.drops, h.acg, h.removed, h.fallback, h.latency} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the sums over the shards.
func (h *hotCollector) Collect(ch chan<- prometheus.Metric) {
	var sum struct {
		queries  [numIn][numOut]uint64
		safe     [numSafe]uint64
		drops    [numDrop]uint64
		acg      uint64
		removed  uint64
		fallback uint64
		latency  [len(latencyBounds) + 1]uint64
		nanos    uint64
	}
	for i := range h.shards {
		c := &h.shards[i]
		for in := range numIn {
			for out := range numOut {
				sum.queries[in][out] += c.queries[in][out].Load()
			}
		}
		for r := range numSafe {
			sum.safe[r] += c.safe[r].Load()
		}
		for r := range numDrop {
			sum.drops[r] += c.drops[r].Load()
		}
		sum.acg += c.acg.Load()
		sum.removed += c.acgRemoved.Load()
		sum.fallback += c.fallback.Load()
		for b := range sum.latency {
			sum.latency[b] += c.latency[b].Load()
		}
		sum.nanos += c.latencyNanos.Load()
	}
	for in := range numIn {
		for out := range numOut {
			ch <- prometheus.MustNewConstMetric(h.queries, prometheus.CounterValue, float64(sum.queries[in][out]), inNames[in], outNames[out])
		}
	}
	for r := safeTimeout; r < numSafe; r++ {
		ch <- prometheus.MustNewConstMetric(h.safe, prometheus.CounterValue, float64(sum.safe[r]), safeNames[r])
	}
	for r := range numDrop {
		ch <- prometheus.MustNewConstMetric(h.drops, prometheus.CounterValue, float64(sum.drops[r]), dropNames[r])
	}
	ch <- prometheus.MustNewConstMetric(h.acg, prometheus.CounterValue, float64(sum.acg))
	ch <- prometheus.MustNewConstMetric(h.removed, prometheus.CounterValue, float64(sum.removed))
	ch <- prometheus.MustNewConstMetric(h.fallback, prometheus.CounterValue, float64(sum.fallback))
	buckets := make(map[float64]uint64, len(latencyBounds))
	var cum uint64
	for i, b := range latencyBounds {
		cum += sum.latency[i]
		buckets[b.Seconds()] = cum
	}
	count := cum + sum.latency[len(latencyBounds)]
	ch <- prometheus.MustNewConstHistogram(h.latency, count, float64(sum.nanos)/1e9, buckets)
}
