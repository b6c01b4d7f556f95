// Package metrics is callgate's Prometheus instrumentation: one registry per
// daemon with the Go and process collectors, decision counts and latency per
// tier, the decision log's counters and the store's sizes, served at
// /metrics by the admin listener.
//
// The hot path only touches pre-resolved counters and a histogram (atomic
// adds, no label lookup, no allocation); everything else is read from its
// owner when Prometheus scrapes.
package metrics

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"callgate/policy"
	"callgate/policy/decisionlog"
)

// Namespace prefixes every callgate metric.
const Namespace = "callgate"

// Origins and actions are small dense enums: counters are resolved once per
// (tier, action) pair so Decide never looks a label up.
const (
	maxOrigin = 3 // policy.Origin values 0 (unknown) .. 2
	maxAction = 7 // policy.Action values 0 (none) .. 6
)

// Metrics holds the registry and the hot-path instruments.
type Metrics struct {
	reg       *prometheus.Registry
	dec       *prometheus.CounterVec
	lat       *prometheus.HistogramVec
	decisions [maxOrigin][maxAction]atomic.Pointer[prometheus.Counter]
	latency   [maxOrigin]atomic.Pointer[observer]
}

// observer wraps prometheus.Observer so it can sit in an atomic.Pointer.
type observer struct{ prometheus.Observer }

// New builds a registry with the Go runtime and process collectors and the
// decision counters and latency histogram.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m := &Metrics{reg: reg}
	dec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "decisions_total",
		Help: "Decisions made by the engine, by asking tier (ain, sip) and action.",
	}, []string{"tier", "action"})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "decide_duration_seconds",
		Help: "Time spent in Decide (engine and signals), by asking tier.",
		// 1 µs to 250 ms: the engine answers in microseconds; the upper
		// buckets catch a signal (reputation look-up) using its whole budget.
		Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
			1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25},
	}, []string{"tier"})
	reg.MustRegister(dec, lat)
	m.dec, m.lat = dec, lat
	// The real tiers and actions are exported from the start (at 0), so
	// rate() and alerts work before the first call of a kind; the
	// "unknown"/"none" slots appear only if ever used.
	for _, o := range []policy.Origin{policy.OriginAIN, policy.OriginSIP} {
		m.latency[o].Store(&observer{m.lat.WithLabelValues(o.String())})
		for a := policy.ActionAllow; a < maxAction; a++ {
			c := m.dec.WithLabelValues(o.String(), a.String())
			m.decisions[o][a].Store(&c)
		}
	}
	return m
}

// Registry returns the registry, for tiers that add their own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format. A
// collector that fails (the store closing during shutdown) loses its own
// series only; the rest of the scrape is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// ObserveDecision counts one decision and its latency. It does not allocate.
func (m *Metrics) ObserveDecision(o policy.Origin, a policy.Action, elapsed time.Duration) {
	oi, ai := int(o), int(a)
	if oi >= maxOrigin {
		oi = 0
	}
	if ai >= maxAction {
		ai = 0
	}
	c := m.decisions[oi][ai].Load()
	if c == nil {
		// First use of a slot not resolved in New (allocates once).
		v := m.dec.WithLabelValues(policy.Origin(oi).String(), policy.Action(ai).String())
		m.decisions[oi][ai].Store(&v)
		c = &v
	}
	(*c).Inc()
	l := m.latency[oi].Load()
	if l == nil {
		l = &observer{m.lat.WithLabelValues(policy.Origin(oi).String())}
		m.latency[oi].Store(l)
	}
	l.Observe(elapsed.Seconds())
}

// Wrap returns a Decider that asks d and observes every decision.
func (m *Metrics) Wrap(d policy.Decider) policy.Decider { return &observed{d: d, m: m} }

type observed struct {
	d policy.Decider
	m *Metrics
}

// The named result receives the next stage's Decision in place: returning
// a local would copy the Decision once more at every stage of the chain.
func (w *observed) Decide(ctx context.Context, c policy.Call) (dec policy.Decision) {
	start, ok := policy.Started(ctx)
	if !ok {
		start = time.Now()
	}
	dec = w.d.Decide(ctx, c)
	if policy.Deferred(ctx) {
		return dec // not made: asked again elsewhere, observed there
	}
	w.m.ObserveDecision(c.Origin, dec.Action, policy.Elapsed(ctx, start))
	return dec
}

// WatchDecisionLog exports the decision log's counters, read at scrape time.
func (m *Metrics) WatchDecisionLog(stats func() decisionlog.Stats) {
	m.reg.MustRegister(&dlogCollector{stats: stats})
}

var (
	dlRecorded      = desc("decision_log_recorded_total", "Decisions accepted into the decision log's queue.")
	dlWritten       = desc("decision_log_written_total", "Decisions committed to the decision log file.")
	dlDropped       = desc("decision_log_dropped_total", "Decisions not logged because the queue was full or the log closed.")
	dlFailed        = desc("decision_log_failed_total", "Decisions lost because their batch's commit failed.")
	dlWriteErr      = desc("decision_log_write_failures_total", "Decision log commits that failed (disk full, I/O error); each loses its batch.")
	dlFailing       = desc("decision_log_failing", "1 while the decision log's last commit failed (decisions are being lost; calls are still answered), else 0.")
	dlPruned        = desc("decision_log_pruned_total", "Records removed by the size and age bounds.")
	dlQueued        = desc("decision_log_queued", "Decisions waiting for the writer now.")
	dlStored        = desc("decision_log_stored", "Records in the decision log file now.")
	dlIdle          = desc("decision_log_writer_idle", "1 while the decision log's writer runs under SCHED_IDLE (decision_log.writer_idle), else 0.")
	dlRaised        = desc("decision_log_writer_raised_total", "Times the decision log's writer fell behind (a quarter of the queue waiting), got no CPU for two flush intervals with records waiting, or found the CPUs crowded by other work (CPU pressure at half or more), and was raised from SCHED_IDLE to writer_nice.")
	dlPauses        = desc("decision_log_writer_pauses_total", "Pauses the decision log's writer took after a slice of work (decision_log.writer_slice), letting its CPU go idle so the kernel moves queued threads onto it.")
	dlSearchDamaged = desc("decision_log_search_damaged_total", "Parts of the decision log searches found damaged (a file damaged in place after start: a torn page, a bad sector), by part: segment (its records were not read), index_block (its records were read from the segments instead), record. Each search counts what it met.", "part")
	dlSetAside      = desc("decision_log_set_aside", "1 when the decision log file was found damaged at start and renamed aside (decisions.db.damaged-<time>, named in the ERROR line) for a new one, else 0.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

type dlogCollector struct{ stats func() decisionlog.Stats }

func (c *dlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dlRecorded, dlWritten, dlDropped, dlFailed, dlWriteErr, dlFailing, dlPruned, dlQueued, dlStored, dlIdle, dlRaised, dlPauses, dlSetAside, dlSearchDamaged} {
		ch <- d
	}
}

func (c *dlogCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(dlRecorded, prometheus.CounterValue, float64(s.Recorded))
	ch <- prometheus.MustNewConstMetric(dlWritten, prometheus.CounterValue, float64(s.Written))
	ch <- prometheus.MustNewConstMetric(dlDropped, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(dlFailed, prometheus.CounterValue, float64(s.Failed))
	ch <- prometheus.MustNewConstMetric(dlWriteErr, prometheus.CounterValue, float64(s.WriteFailures))
	failing := 0.0
	if s.Failing {
		failing = 1
	}
	ch <- prometheus.MustNewConstMetric(dlFailing, prometheus.GaugeValue, failing)
	ch <- prometheus.MustNewConstMetric(dlPruned, prometheus.CounterValue, float64(s.Pruned))
	ch <- prometheus.MustNewConstMetric(dlQueued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(dlStored, prometheus.GaugeValue, float64(s.Stored))
	idle := 0.0
	if s.WriterIdle {
		idle = 1
	}
	ch <- prometheus.MustNewConstMetric(dlIdle, prometheus.GaugeValue, idle)
	ch <- prometheus.MustNewConstMetric(dlRaised, prometheus.CounterValue, float64(s.WriterRaised))
	ch <- prometheus.MustNewConstMetric(dlPauses, prometheus.CounterValue, float64(s.WriterPauses))
	aside := 0.0
	if s.SetAside {
		aside = 1
	}
	ch <- prometheus.MustNewConstMetric(dlSetAside, prometheus.GaugeValue, aside)
	dmg := s.SearchDamaged
	ch <- prometheus.MustNewConstMetric(dlSearchDamaged, prometheus.CounterValue, float64(dmg.Segments), "segment")
	ch <- prometheus.MustNewConstMetric(dlSearchDamaged, prometheus.CounterValue, float64(dmg.Blocks), "index_block")
	ch <- prometheus.MustNewConstMetric(dlSearchDamaged, prometheus.CounterValue, float64(dmg.Records), "record")
}

// StoreSizes are the store's sizes as exported.
type StoreSizes struct {
	Providers   int
	Subscribers int
	Enterprises int
	ListEntries int // VIP and Blocked rows of every subscriber and provider
	FileBytes   int64
}

// WatchStore exports the store's sizes. Computing them may walk every
// tenant, so a result is reused for up to maxAge between scrapes.
func (m *Metrics) WatchStore(sizes func() (StoreSizes, error), maxAge time.Duration) {
	m.reg.MustRegister(&storeCollector{sizes: sizes, maxAge: maxAge})
}

var (
	stProviders   = desc("store_providers", "Service providers in the store.")
	stSubscribers = desc("store_subscribers", "Subscribers in the store.")
	stEnterprises = desc("store_enterprises", "Enterprise tenants in the store.")
	stEntries     = desc("store_list_entries", "VIP and Blocked list rows in the store (subscribers and providers).")
	stFileBytes   = desc("store_file_bytes", "Size of the store file in bytes.")
)

type storeCollector struct {
	sizes  func() (StoreSizes, error)
	maxAge time.Duration

	mu   sync.Mutex
	last StoreSizes
	at   time.Time
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{stProviders, stSubscribers, stEnterprises, stEntries, stFileBytes} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.at.IsZero() || time.Since(c.at) >= c.maxAge {
		s, err := c.sizes()
		if err != nil {
			c.mu.Unlock()
			ch <- prometheus.NewInvalidMetric(stSubscribers, err)
			return
		}
		c.last, c.at = s, time.Now()
	}
	s := c.last
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(stProviders, prometheus.GaugeValue, float64(s.Providers))
	ch <- prometheus.MustNewConstMetric(stSubscribers, prometheus.GaugeValue, float64(s.Subscribers))
	ch <- prometheus.MustNewConstMetric(stEnterprises, prometheus.GaugeValue, float64(s.Enterprises))
	ch <- prometheus.MustNewConstMetric(stEntries, prometheus.GaugeValue, float64(s.ListEntries))
	ch <- prometheus.MustNewConstMetric(stFileBytes, prometheus.GaugeValue, float64(s.FileBytes))
}

// CounterFunc registers a counter read from f at scrape time (a tier's own
// totals, e.g. the SIP server's responses by kind).
func (m *Metrics) CounterFunc(name, help string, labels prometheus.Labels, f func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: Namespace, Name: name, Help: help, ConstLabels: labels,
	}, f))
}

// GaugeFunc registers a gauge read from f at scrape time.
func (m *Metrics) GaugeFunc(name, help string, labels prometheus.Labels, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: name, Help: help, ConstLabels: labels,
	}, f))
}
