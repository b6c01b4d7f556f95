package scp

import (
	"github.com/prometheus/client_golang/prometheus"

	"callgate/sigtran/tcap"
)

// Query operations (the in label) and answers (the out label) counted by
// callgate_scp_queries_total. Dense indices so the hot path indexes an
// array of pre-resolved counters instead of looking labels up.
type inOp uint8

const (
	inTerminationAttempt inOp = iota
	inInfoAnalyzed
	inInfoCollected
	inResourceClear
	inClose
	inOther // an operation we do not serve, or not an AIN operation
	inNone  // no invoke (transaction-level problem, empty package)
	numIn
)

var inNames = [numIn]string{"terminationAttempt", "infoAnalyzed", "infoCollected", "resourceClear", "close", "other", "none"}

type outOp uint8

const (
	outAuthorizeTermination outOp = iota
	outDisconnect
	outForwardCall
	outSendToResource
	outContinue
	outReject
	outAbort
	outUDTS
	outNone // nothing sent (discarded, or the package needs no answer)
	numOut
)

var outNames = [numOut]string{"authorizeTermination", "disconnect", "forwardCall", "sendToResource", "continue", "reject", "abort", "udts", "none"}

// Reasons for a safe answer.
type safeReason uint8

const (
	safeNone      safeReason = iota
	safeTimeout              // Decide returned after the time budget
	safePanic                // Decide panicked
	safeInvalid              // Decide returned no usable action
	safeStale                // waited longer than the budget for a worker
	safeBacklog              // the backlog was full
	safeUnencoded            // the decision could not be put on the wire
	safeOverload             // over capacity, for a controlled (gapped) code
	safeNumber               // a number of the query cannot be read (callFromTA)
	numSafe

	// safeDeferred is no safe answer: the decision was deferred
	// (deferred.go) and the query is answered elsewhere. Never counted.
	safeDeferred safeReason = 255
)

// load reports whether the safe answer is the SCP's own load speaking:
// over capacity for a gapped code, a full backlog, a query that waited or
// was decided past the time budget. Only those call for automatic code
// gapping: ACG is an overload control (GR-1299 acg), and gapping a code
// because the engine panicked on it, gave no usable decision, or because
// the switch sent a number we cannot read would make the switches hold
// back that subscriber's calls while the SCP has capacity to spare.
func (r safeReason) load() bool {
	switch r {
	case safeTimeout, safeStale, safeBacklog, safeOverload:
		return true
	}
	return false
}

var safeNames = [numSafe]string{"", "timeout", "panic", "invalid_decision", "stale", "backlog_full", "unencodable", "overload", "unreadable_number"}

// Why a message was dropped without an answer.
type dropReason uint8

const (
	dropNotSCCP    dropReason = iota // M3UA DATA for another MTP3 user
	dropBadSCCP                      // undecodable SCCP
	dropServiceMsg                   // UDTS/XUDTS received
	dropForeignDPC                   // DATA for another point code
	dropNoReturn                     // undeliverable, no return option
	dropTCAP                         // the transaction layer discarded it
	dropSendFailed                   // the M3UA send queue refused the answer
	dropEncode                       // answer encoding failed
	numDrop
)

var dropNames = [numDrop]string{"not_sccp", "bad_sccp", "service_message", "foreign_dpc", "no_return_option", "tcap_discard", "send_failed", "encode_failed"}

// metrics holds the SCP's instruments. The per-query ones (queries,
// safe answers, drops, acg, fallbacks, answer latency) are sharded
// counters (counts, hotCollector): each worker adds to its own shard
// without touching a cache line another core writes, and a scrape sums
// the shards. The rest are ordinary collectors, used off the query path
// or on rare paths (rejects, aborts, returned messages).
type metrics struct {
	hot     *hotCollector
	rejects *prometheus.CounterVec
	aborts  *prometheus.CounterVec
	udts    *prometheus.CounterVec
	expired prometheus.Counter
	// acgOverflow counts acgOverflow reports: acg controls a switch
	// could not place (acgoverflow.go).
	acgOverflow prometheus.Counter
	// acgEvicted counts gaps the SCP gave up remembering (its fixed
	// record of gaps was full), so that it could not remove them when the
	// overload ended (scp/overload book.go); the ticker adds to it.
	acgEvicted prometheus.Counter
	offered    prometheus.Gauge
	overload   prometheus.Gauge
	backlog    prometheus.Gauge
	dialogues  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "callgate", "scp"
	m := &metrics{hot: newHotCollector(ns, sub)}
	m.rejects = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rejects_total",
		Help: "TCAP Reject components sent, by problem code."}, []string{"problem"})
	m.aborts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "aborts_total",
		Help: "TCAP Abort packages sent, by P-Abort cause."}, []string{"cause"})
	m.udts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "udts_total",
		Help: "SCCP messages returned (UDTS/XUDTS), by return cause."}, []string{"cause"})
	m.expired = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dialogues_expired_total",
		Help: "TCAP dialogues the switch left open until they timed out."})
	m.acgOverflow = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "acg_overflow_total",
		Help: "acgOverflow reports received: acg controls a switch could not place because its table of controls was full."})
	m.acgEvicted = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "acg_records_evicted_total",
		Help: "Gaps still running at a switch that the SCP stopped remembering because its fixed record of gaps was full: they were not removed when the overload ended but ran their duration."})
	m.offered = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "offered_load_qps",
		Help: "Queries per second offered over the last second."})
	m.overload = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "overload_ratio",
		Help: "Offered load divided by the configured capacity (0 when ACG is off)."})
	m.backlog = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "backlog",
		Help: "Queries waiting for a worker."})
	m.dialogues = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "open_dialogues",
		Help: "TCAP dialogues open (queries being answered, conversations the switch keeps open)."})
	for _, c := range []prometheus.Collector{m.hot, m.rejects, m.aborts, m.udts, m.expired, m.acgOverflow,
		m.acgEvicted, m.offered, m.overload, m.backlog, m.dialogues} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Pre-resolve the common labels so that they show from the start.
	for _, p := range []tcap.Problem{tcap.InvokeUnrecognisedOperation, tcap.InvokeIncorrectParameter} {
		m.rejects.WithLabelValues(p.String())
	}
	m.aborts.WithLabelValues(tcap.ResourceUnavailable.String())
	return m, nil
}
