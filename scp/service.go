package scp

import (
	"callgate/e164"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/scp/overload"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/sigtran/tcap"
)

// sender is where an answer goes: the association the query came on
// (*m3ua.Association), or a test double.
type sender interface {
	SendData(pd m3ua.ProtocolData) error
}

// Option configures a Service.
type Option func(*Service)

// WithRegisterer registers the SCP's metrics (callgate_scp_*) on r; by
// default they are kept on a private registry.
func WithRegisterer(r prometheus.Registerer) Option { return func(s *Service) { s.reg = r } }

// WithDecisionLog records in l the queries the SCP answers without a
// decision from the engine (safe answers: time budget spent, engine
// failure, overload shedding), with the trace step cancelled=yes. Decided
// queries are recorded by the Decider itself: the daemon wraps the engine
// with decisionlog.Wrap, so every AIN query reaches the log exactly once
// (a Decide that returns after the budget is recorded twice: the engine's
// late decision by the wrapper, the safe answer actually sent here).
func WithDecisionLog(l *decisionlog.Log) Option { return func(s *Service) { s.dlog = l } }

// WithSafeForwardRoute makes the safe answer "forward" use the routing
// number route returns at the time of each safe answer (the daemon reads
// the platform's default egress route from the live store), instead of the
// Config.SafeForwardNumber fixed at start-up; a zero number falls back to
// it. route is called on the query path: it must not block.
func WithSafeForwardRoute(route func() e164.Number) Option {
	return func(s *Service) { s.safeRoute = route }
}

// Prefetcher starts loading what the engine's look-up of a call will
// read, without waiting for it (store.Store): PrefetchCall the called
// number's entry, PrefetchLookup what that entry leads to.
type Prefetcher interface {
	PrefetchCall(called e164.Number)
	PrefetchLookup(called, caller e164.Number)
}

// WithPrefetch has the SCP tell p about each terminating query early: its
// called number as soon as it is decoded, and the call again just before
// the decision chain runs, so that the decoding and the chain's stages
// overlap the engine's memory accesses (bench/store/README.md). p's
// methods must not block; they only hint.
func WithPrefetch(p Prefetcher) Option { return func(s *Service) { s.prefetch = p } }

// safeForwardNumber is where the safe answer "forward" sends calls.
func (s *Service) safeForwardNumber() e164.Number {
	if s.safeRoute != nil {
		if n := s.safeRoute(); n != 0 {
			return n
		}
	}
	return s.cfg.SafeForwardNumber
}

// Service is the AIN SCP: it serves Termination_Attempt (and the
// originating triggers) over M3UA in the configured role, asking the
// decision engine for each call through a policy.Guard. Create it with
// New, then Start; Drain and Stop (or Shutdown, both) end it. It is a
// daemon tier (lifecycle.go).
type Service struct {
	cfg   Config
	guard *policy.Guard
	log   *slog.Logger
	reg   prometheus.Registerer
	dlog  *decisionlog.Log

	prefetch Prefetcher // WithPrefetch; nil: none

	met *metrics
	tx  *tcap.Transactions
	ovl *overload.Controller
	ep  *m3ua.Endpoint

	workers  []*worker
	queues   []chan *job
	busy     []atomic.Int64 // per worker: when its current job started (unix ns), 0 when idle
	pending  atomic.Int64   // queued or being processed by a worker
	deferred atomic.Int64   // queries deferred to goroutines of their own (deferred.go)
	deferWG  sync.WaitGroup
	scratch  sync.Pool // *worker, for the ticker's rescue
	jobs     sync.Pool // *job

	// readers are the scratch states of the associations' reader
	// goroutines (inline.go), slowUntil the time (unix ns) until which
	// queries go to the workers because decisions were slow, inlineLog
	// rate-limits saying so.
	readersMu sync.Mutex
	readers   []*worker
	slowUntil atomic.Int64
	inlineLog policy.LogLimiter

	wg      sync.WaitGroup
	stopTic chan struct{}
	state   atomic.Int32 // stateNew ... stateStopped (lifecycle.go)

	safeLog, dropLog, fallbackLog policy.LogLimiter
	numLog                        policy.LogLimiter  // noteUnreadable
	ovfLog                        policy.LogLimiter  // acgOverflow
	safeRoute                     func() e164.Number // WithSafeForwardRoute
	capture                       atomic.Pointer[captureBuf]
}

// job is one DATA message handed from an association's reader to a
// worker: the routing label, a copy of the SCCP message and when it was
// read.
type job struct {
	snd   sender
	pd    m3ua.ProtocolData
	buf   []byte
	at    time.Time
	queue int // the worker it goes to
}

// New checks cfg and builds the service. Every query is decided by
// decider through a policy.Guard (time budget, panic recovery, late and
// invalid answers turned into the safe answer).
func New(cfg Config, decider policy.Decider, opts ...Option) (*Service, error) {
	if decider == nil {
		return nil, errors.New("scp: a Decider is required")
	}
	cfg.RoutingContexts = append([]uint32(nil), cfg.RoutingContexts...)
	cfg.Connect = append([]string(nil), cfg.Connect...)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	s := &Service{cfg: cfg, log: cfg.Logger.With("tier", "scp")}
	s.guard = policy.NewGuard(decider, s.log)
	for _, o := range opts {
		o(s)
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	var err error
	if s.met, err = newMetrics(s.reg); err != nil {
		return nil, fmt.Errorf("scp: registering metrics: %w", err)
	}
	nw := cfg.Workers
	if cfg.Inline {
		nw = 0
	}
	s.tx = tcap.NewTransactions(tcap.Config{Timeout: cfg.DialogueTimeout, MaxDialogues: cfg.MaxDialogues,
		Shards: max(16, 4*nw)})
	// One heavy-hitter sketch per pool worker, one for the readers.
	s.ovl = overload.New(overload.Config{
		Capacity: float64(cfg.Overload.Capacity), GapDuration: cfg.Overload.GapDuration,
		GapInterval: cfg.Overload.GapInterval, Sketches: nw + 1, RemoveAfter: cfg.Overload.RemoveAfter,
	})
	s.scratch.New = func() any { return newWorker(-1) }
	s.jobs.New = func() any { return &job{buf: make([]byte, 0, 512)} }
	per := max(16, (cfg.Overload.Backlog+max(nw, 1)-1)/max(nw, 1))
	s.busy = make([]atomic.Int64, nw)
	for i := range nw {
		w := newWorker(i)
		w.cnt = s.met.hot.shard()
		s.workers = append(s.workers, w)
		s.queues = append(s.queues, make(chan *job, per))
	}
	mc := m3ua.Config{
		Role: cfg.Role, Network: cfg.Network, Listen: cfg.Listen, Connect: cfg.Connect,
		RoutingContexts: cfg.RoutingContexts, NetworkAppearance: cfg.NetworkAppearance,
		TrafficMode: cfg.TrafficMode, HeartbeatInterval: cfg.HeartbeatInterval, HeartbeatTimeout: cfg.HeartbeatTimeout,
		Info: "callgate SCP", Handler: s.onData, BatchEnd: s.batchEnd, Logger: s.log, Tap: s.tap,
		Registrar: s.registrar(),
	}
	if cfg.Register {
		// The SG grants the routing context: it is not also configured
		// on the endpoint (m3ua keeps the two exclusive).
		mc.Register, mc.RoutingContexts = []m3ua.RoutingKey{cfg.routingKey()}, nil
	}
	if s.ep, err = m3ua.NewEndpoint(mc); err != nil {
		return nil, fmt.Errorf("scp: %w", err)
	}
	if cfg.Role == m3ua.RoleSG && cfg.PointCode != 0 {
		// As the SG, the destination our switches reach through us is
		// ourselves: a DAUD auditing our point code (RFC 4666 §4.5.3) is
		// answered DAVA, not ERR Destination Status Unknown.
		s.ep.SetAvailable(uint32(cfg.PointCode), true)
	}
	return s, nil
}

// ticker drives the transaction timers, the overload control and the
// gauges.
func (s *Service) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var evicted uint64 // s.ovl.Evicted() as last added to the metric
	for {
		select {
		case <-s.stopTic:
			return
		case <-t.C:
		}
		if n := s.tx.Sweep(nil); n > 0 {
			s.met.expired.Add(float64(n))
		}
		s.ovl.Tick()
		now := time.Now()
		s.rescue(now)
		s.releaseStuckReaders(now)
		s.met.offered.Set(s.ovl.Rate())
		if n := s.ovl.Evicted(); n != evicted {
			s.met.acgEvicted.Add(float64(n - evicted))
			evicted = n
		}
		if _, r := s.ovl.Overloaded(); s.ovl.Enabled() {
			s.met.overload.Set(r)
		}
		s.met.backlog.Set(float64(s.pending.Load()))
		s.met.dialogues.Set(float64(s.tx.Len()))
	}
}

// onData is the M3UA handler: it runs on the association's reader
// goroutine, and d aliases the read buffer. It counts the offered load,
// then decides the query right here (inline.go) or hands it to the worker
// that owns its transaction (tcap.Transactions.ShardOf), copying it; when
// that worker's backlog is full the query is answered right here with the
// safe answer and an ACG, without asking the engine.
func (s *Service) onData(a *m3ua.Association, d *m3ua.Data) {
	now := d.Received // when its batch was read
	if now.IsZero() {
		now = time.Now()
	}
	s.ovl.Arrive()
	pd := &d.ProtocolData
	w := s.readerWorker(a)
	if s.decideInline(now) {
		s.handleInline(w, a, pd, now)
		return
	}
	w.lastDone = 0 // the next query decided here waits for this one's hand-off too
	j := s.jobs.Get().(*job)
	j.snd, j.at, j.queue = a, now, s.shardOf(w, pd)%len(s.queues)
	j.buf = append(j.buf[:0], pd.Data...)
	j.pd = *pd
	j.pd.Data = j.buf
	s.hold(w, j)
}

// shardOf returns the transaction shard of a message (0 when it is not a
// TCAP message we could read: the worker that gets it will say why).
func (s *Service) shardOf(w *worker, pd *m3ua.ProtocolData) int {
	if pd.SI != m3ua.SISCCP || w.udt.Decode(pd.Data, s.cfg.Variant) != nil || w.udt.Type.IsService() {
		return 0
	}
	// The package type and TIDs are enough to pick the worker, which
	// decodes (and checks) the whole package.
	if !w.pkg.DecodeTransaction(w.udt.Data) {
		return 0
	}
	return s.tx.ShardOf(s.peerKey(&w.udt, pd), &w.pkg)
}

// peerKey identifies the remote TCAP user: its point code and SSN.
func (s *Service) peerKey(m *sccp.Message, pd *m3ua.ProtocolData) tcap.PeerKey {
	pc := uint64(pd.OPC)
	if m.Calling.HasPC {
		pc = uint64(m.Calling.PC)
	}
	return tcap.PeerKey(pc<<8 | uint64(m.Calling.SSN))
}

func (s *Service) runWorker(w *worker, q chan *job, busy *atomic.Int64) {
	for j := range q {
		now := time.Now()
		busy.Store(now.UnixNano())
		why := safeNone
		if now.Sub(j.at) >= s.cfg.TimeBudget {
			why = safeStale
		}
		s.handle(w, j.snd, &j.pd, j.at, why)
		busy.Store(0)
		s.release(j)
	}
}

func (s *Service) release(j *job) {
	j.snd, j.pd = nil, m3ua.ProtocolData{}
	s.jobs.Put(j)
	s.pending.Add(-1)
}

// rescue answers, with the safe answer, the queries waiting behind a
// worker that has been busy with one query for longer than the time
// budget (a Decide that does not return): without it they would wait as
// long as it does. The stuck query itself is answered when Decide returns
// (with the safe answer, being late).
func (s *Service) rescue(now time.Time) {
	w := s.scratch.Get().(*worker)
	defer s.scratch.Put(w)
	for i := range s.busy {
		since := s.busy[i].Load()
		if since == 0 || now.UnixNano()-since < int64(s.cfg.TimeBudget) {
			continue
		}
		for n := len(s.queues[i]); n > 0; n-- {
			var j *job
			select {
			case j = <-s.queues[i]:
			default:
			}
			if j == nil {
				break
			}
			s.handle(w, j.snd, &j.pd, j.at, safeStale)
			s.release(j)
		}
	}
}
