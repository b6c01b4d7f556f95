package b2bua

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/internal/tlsaccept"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/policy/token"
	"callgate/sipcall"
)

// Server is the B2BUA tier. It implements the daemon's Tier contract
// (Name, Start, Ready, Drain, Stop, Describe) without importing it.
type Server struct {
	cfg   Config
	allow string // the Allow header's value (methods.go)
	guard *policy.Guard
	keys  []token.Key
	pins  PINChecker
	// The subscribers' IVR (ivr.go): nil when not configured.
	ivrStore  IVRStore
	ivrNumber e164.Number
	isRoute   func(e164.Number) bool
	dlog      *decisionlog.Log
	reg       prometheus.Registerer
	log       *slog.Logger
	fail      func(error)

	prompts *promptSet
	cont    *sipcall.Template
	vmRoute *sipcall.Template
	m       *metrics

	rngMu sync.Mutex
	rng   *mrand.Rand // nil: crypto/rand (ChallengeSeed 0)

	// Built by Start.
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	dg      *diago.Diago
	udpConn net.PacketConn
	tcpLn   net.Listener
	tlsLn   net.Listener
	tlsConf *tls.Config // the TLS listener's, and the outbound TLS legs' (nil: no TLS)
	pinPool *pinPool
	steps   *stepLog
	pacer   *pacer
	desc    string

	mu    sync.Mutex
	calls map[*call]struct{}
	legs  map[string]*leg // by the SIP Call-ID of the leg's dialog

	active    atomic.Int64
	started   atomic.Bool
	draining  atomic.Bool
	stopped   atomic.Bool
	callWG    sync.WaitGroup
	serveWG   sync.WaitGroup
	watchStop chan struct{}
	limit     logLimiter
	badLog    logLimiter  // unparsable datagrams (udpfilter.go)
	iams      sync.Map    // Call-ID|branch -> *isup.IAM: new INVITEs' IAMs, middleware to admit (sipt.go)
	origins   sync.Map    // Call-ID|branch -> *sip.Request: new INVITEs as their transactions hold them (totag.go)
	reliables sync.Map    // Call-ID|From tag -> *reliableTx: INVITEs sending reliable provisionals (prack.go)
	parser    *sip.Parser // readFilter's
	lockLog   logLimiter  // PIN locks and lockout failures (pinlock.go)
	tlsLog    logLimiter  // failed TLS handshakes (tls.go)
}

// Option configures a Server.
type Option func(*Server)

// WithGuard is the guarded decision path, asked for gateway calls (an
// INVITE to a routing number after an AIN forwardCall). The decision is
// logged by the Guard's Decider as every decision is (the daemon's is
// wrapped with decisionlog.Wrap); the B2BUA adds a record of its own for
// each call it carries out (see WithDecisionLog).
func WithGuard(g *policy.Guard) Option { return func(s *Server) { s.guard = g } }

// WithTokenKeys are the keys screening tokens are verified with (the
// redirect tier's signing keys; several during a rotation).
func WithTokenKeys(keys []token.Key) Option {
	return func(s *Server) { s.keys = append([]token.Key(nil), keys...) }
}

// WithPINChecker checks PINs, at the override PIN prompt and in the IVR,
// and keeps their lockout (the list store).
func WithPINChecker(p PINChecker) Option { return func(s *Server) { s.pins = p } }

// WithRoutingNumbers tells which numbers are egress routes' routing
// numbers: a gateway INVITE is screened only when its Request-URI is one.
// f is called once per INVITE without a token; it must not block.
func WithRoutingNumbers(f func(e164.Number) bool) Option { return func(s *Server) { s.isRoute = f } }

// WithDecisionLog records, for each call the B2BUA carries out, a record
// of its own (origin sip, the caller's address as peer, the decision as
// the token carries it or the engine gave it) and adds the treatment's
// steps to it; the deciding tier's record of the same call stands beside
// it with the engine's trace.
func WithDecisionLog(l *decisionlog.Log) Option { return func(s *Server) { s.dlog = l } }

// WithRegisterer registers the B2BUA's metrics (callgate_b2bua_*) on r;
// by default they are kept on a private registry.
func WithRegisterer(r prometheus.Registerer) Option { return func(s *Server) { s.reg = r } }

// WithLogger sets the process log (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithFail is called with a failure after Start returned (a listener
// that stopped serving).
func WithFail(f func(error)) Option { return func(s *Server) { s.fail = f } }

// New validates cfg, loads the prompts and announcements (a missing or
// unreadable file is an error naming it) and returns a Server ready to
// Start.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, calls: map[*call]struct{}{}, legs: map[string]*leg{}}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.fail == nil {
		s.fail = func(err error) { s.log.Error("b2bua failed", "error", err) }
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	for _, k := range s.keys {
		if len(k.Secret) < token.MinSecretLen {
			return nil, fmt.Errorf("b2bua: token key %d: %w", k.ID, token.ErrShortSecret)
		}
	}
	var err error
	if s.prompts, err = loadPrompts(cfg.PromptDir, cfg.Announcements); err != nil {
		return nil, err
	}
	if s.cont, err = sipcall.CompileTemplate("ContinueRoute", cfg.ContinueRoute); err != nil {
		return nil, fmt.Errorf("b2bua: %w", err)
	}
	s.vmRoute = s.cont
	if cfg.VoicemailRoute != "" {
		if s.vmRoute, err = sipcall.CompileTemplate("VoicemailRoute", cfg.VoicemailRoute); err != nil {
			return nil, fmt.Errorf("b2bua: %w", err)
		}
	}
	if cfg.IVRNumber != "" {
		s.ivrNumber, _ = e164.Parse(cfg.IVRNumber) // Validate checked it
	}
	if (cfg.IVRNumber != "" || cfg.IVRUser != "") && s.ivrStore == nil {
		return nil, errors.New("b2bua: IVRNumber or IVRUser is set but no store was given (WithIVR)")
	}
	if cfg.ChallengeSeed != 0 {
		s.rng = challengeRNG(cfg.ChallengeSeed)
	}
	if s.tlsConf, err = loadTLS(&cfg); err != nil {
		return nil, err
	}
	if s.m, err = newMetrics(s.reg, func() float64 { return float64(s.active.Load()) }); err != nil {
		return nil, fmt.Errorf("b2bua: metrics: %w", err)
	}
	return s, nil
}

// Name implements the Tier contract.
func (s *Server) Name() string { return "b2bua" }

// Start opens the SIP listeners and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	if s.started.Swap(true) {
		return errors.New("b2bua: already started")
	}
	var err error
	undo := func() {
		if s.udpConn != nil {
			s.udpConn.Close()
		}
		if s.tcpLn != nil {
			s.tcpLn.Close()
		}
		if s.tlsLn != nil {
			s.tlsLn.Close()
		}
	}
	if s.cfg.UDP != "" {
		if s.udpConn, err = net.ListenPacket("udp", s.cfg.UDP); err != nil {
			return fmt.Errorf("b2bua: SIP UDP listener: %w", err)
		}
	}
	if s.cfg.TCP != "" {
		if s.tcpLn, err = net.Listen("tcp", s.cfg.TCP); err != nil {
			undo()
			return fmt.Errorf("b2bua: SIP TCP listener: %w", err)
		}
	}
	if s.cfg.TLS != "" {
		ln, err := net.Listen("tcp", s.cfg.TLS)
		if err != nil {
			undo()
			return fmt.Errorf("b2bua: SIP TLS listener: %w", err)
		}
		s.tlsLn = tlsaccept.Listener(ln, s.tlsConf, tlsHandshakeTimeout, s.tlsFailed)
	}
	if s.cfg.RTPPortMin != 0 {
		// diago keeps the RTP range in package variables (one per process)
		// and takes RTP ports from Start upwards in steps of two, wrapping
		// by the range's length: an even length keeps every RTP port even
		// (were it odd, an old RTCP port would become a new RTP port, and
		// a late RTCP report would be latched onto as the peer's RTP).
		media.RTPPortStart = s.cfg.RTPPortMin
		media.RTPPortEnd = s.cfg.RTPPortMin + 2*((s.cfg.RTPPortMax-s.cfg.RTPPortMin+1)/2)
	}
	// diago's media layer logs through one process-wide logger.
	media.SetDefaultLogger(s.log)
	s.parser = sip.NewParser()
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent("callgate-b2bua"),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(s.log),
			sip.WithTransportLayerReadFilter(s.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(s.log)),
	}
	if s.tlsConf != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(s.tlsConf))
	}
	if s.ua, err = sipgo.NewUA(uaOpts...); err != nil {
		undo()
		return fmt.Errorf("b2bua: %w", err)
	}
	if s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(s.log)); err != nil {
		undo()
		s.ua.Close()
		return fmt.Errorf("b2bua: %w", err)
	}
	dopts := []diago.DiagoOption{
		diago.WithLogger(s.log),
		diago.WithServer(s.srv),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000}}),
		diago.WithServerRequestMiddleware(s.middleware),
	}
	var parts []string
	for _, l := range []struct {
		network string
		addr    net.Addr
	}{{"udp", addrOf(s.udpConn)}, {"tcp", addrOf(s.tcpLn)}, {"tls", addrOf(s.tlsLn)}} {
		if l.addr == nil {
			continue
		}
		host, port, _ := net.SplitHostPort(l.addr.String())
		p, _ := strconv.Atoi(port)
		t := diago.Transport{ID: l.network, Transport: l.network, BindHost: host, BindPort: p}
		if l.network == "tls" {
			// SDES-SRTP (RFC 4568): answered when offered, offered on
			// outbound legs; the keys are safe only on this transport.
			t.TLSConf = s.tlsConf
			if !s.cfg.TLSNoSRTP {
				t.MediaSRTP = 1
			}
			// Contact sip:...;transport=tls, not sips: (RFC 5630 §3.3: a
			// sip: request gets a sip: Contact; libre's phones end such a
			// call with ENOSYS). A sips: request's is made sips (sipsTx).
			t.TLSURINoSIPS = true
		}
		if s.cfg.Advertise != "" {
			t.ExternalHost, t.ExternalPort = s.cfg.Advertise, p
			t.MediaExternalIP = net.ParseIP(s.cfg.Advertise)
		}
		dopts = append(dopts, diago.WithTransport(t))
		parts = append(parts, l.network+" "+l.addr.String())
	}
	s.dg = diago.NewDiago(s.ua, dopts...)
	s.dg.HandleFunc(s.handle)
	// diago answers INFO and REFER with 406 and has no UPDATE or PRACK:
	// those are ours (dialogs.go, prack.go).
	s.srv.OnInfo(s.onInfo)
	s.srv.OnUpdate(s.onUpdate)
	s.srv.OnRefer(s.onRefer)
	s.srv.OnPrack(s.onPrack)     // prack.go
	s.srv.OnOptions(s.onOptions) // methods.go
	s.srv.OnNoRoute(s.onOtherMethod)
	s.allow = allowed(s.srv.RegisteredMethods())

	rtp := "kernel-chosen ports"
	if s.cfg.RTPPortMin != 0 {
		rtp = fmt.Sprintf("ports %d-%d", s.cfg.RTPPortMin, s.cfg.RTPPortMax)
	}
	s.desc = fmt.Sprintf("SIP %s, RTP %s, at most %d calls", strings.Join(parts, ", "), rtp, s.cfg.MaxSessions)
	if ivr := s.ivrAddresses(); ivr != "" {
		s.desc += ", subscribers' IVR at Request-URI user " + ivr
	}

	s.pinPool = newPINPool(s.pins, s.cfg.PINWorkers, s.cfg.PINQueue)
	s.pacer = newPacer(s.m.lateness, s.m.stalls)
	s.steps = newStepLog(s.dlog, s.m.dropped.Inc)
	s.watchStop = make(chan struct{})
	s.serveWG.Add(1)
	go s.watchRTP()
	if s.udpConn != nil {
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			if err := s.srv.ServeUDP(s.udpConn); err != nil && !s.stopped.Load() {
				s.fail(fmt.Errorf("b2bua: SIP UDP listener stopped: %w", err))
			}
		}()
	}
	if s.tcpLn != nil {
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			if err := s.srv.ServeTCP(s.tcpLn); err != nil && !s.stopped.Load() {
				s.fail(fmt.Errorf("b2bua: SIP TCP listener stopped: %w", err))
			}
		}()
	}
	if s.tlsLn != nil {
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			if err := s.srv.ServeTLS(s.tlsLn); err != nil && !s.stopped.Load() {
				s.fail(fmt.Errorf("b2bua: SIP TLS listener stopped: %w", err))
			}
		}()
	}
	// Outbound legs send from the listening sockets, which the transport
	// layer holds once the serving goroutines have registered them.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		tl := s.ua.TransportLayer()
		if (s.udpConn == nil || len(tl.ListenPorts("udp")) > 0) && (s.tcpLn == nil || len(tl.ListenPorts("tcp")) > 0) &&
			(s.tlsLn == nil || len(tl.ListenPorts("tls")) > 0) {
			break
		}
	}
	_ = ctx
	return nil
}

func addrOf(x any) net.Addr {
	switch v := x.(type) {
	case net.PacketConn:
		if v != nil {
			return v.LocalAddr()
		}
	case net.Listener:
		if v != nil {
			return v.Addr()
		}
	}
	return nil
}

// Ready reports whether the B2BUA serves new calls.
func (s *Server) Ready() error {
	switch {
	case !s.started.Load():
		return errors.New("b2bua: not started")
	case s.stopped.Load():
		return errors.New("b2bua: stopped")
	case s.draining.Load():
		return errors.New("b2bua: draining (new INVITEs get 503)")
	}
	return nil
}

// Drain answers new INVITEs 503 with Retry-After and waits until the calls
// in progress have ended, or ctx ends.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	done := make(chan struct{})
	go func() { s.callWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("b2bua: drain: %d calls still in progress: %w", s.active.Load(), ctx.Err())
	}
}

// Stop releases every call still in progress (BYE or CANCEL to each leg,
// a final response to unanswered callers), then closes the listeners.
func (s *Server) Stop(ctx context.Context) error {
	if !s.started.Load() || s.stopped.Swap(true) {
		return nil
	}
	if s.watchStop == nil {
		return nil // Start failed and released what it had opened
	}
	s.draining.Store(true)
	s.mu.Lock()
	for c := range s.calls {
		c.cancel(errShutdown)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.callWG.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("b2bua: stop: %d calls did not end: %w", s.active.Load(), ctx.Err())
	}
	close(s.watchStop)
	if s.udpConn != nil {
		s.udpConn.Close()
	}
	if s.tcpLn != nil {
		s.tcpLn.Close()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	s.ua.Close()
	s.serveWG.Wait()
	s.pinPool.close()
	s.pacer.close()
	s.steps.close(2 * time.Second)
	return err
}

// Describe says where the B2BUA listens.
func (s *Server) Describe() string {
	if s.desc == "" {
		return "b2bua (not started)"
	}
	return s.desc
}

// Addr returns the bound address of the UDP listener, else the TCP one,
// else the TLS one ("" before Start): for tests that listen on port 0.
func (s *Server) Addr() string {
	for _, a := range []net.Addr{addrOf(s.udpConn), addrOf(s.tcpLn), addrOf(s.tlsLn)} {
		if a != nil {
			return a.String()
		}
	}
	return ""
}

// TLSAddr returns the bound address of the TLS listener ("" without one,
// or before Start).
func (s *Server) TLSAddr() string {
	if a := addrOf(s.tlsLn); a != nil {
		return a.String()
	}
	return ""
}

// Active returns the number of calls being handled.
func (s *Server) Active() int { return int(s.active.Load()) }

// challengeRNG is the generator of a ChallengeSeed: the digits of the
// successive challenges of a run are PCG(seed, seed^0x9e3779b97f4a7c15)'s
// IntN(10), in order.
func challengeRNG(seed int64) *mrand.Rand {
	return mrand.New(mrand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}

// challengeDigits draws n digits (see Config.ChallengeSeed).
func (s *Server) challengeDigits(n int) []byte {
	d := make([]byte, n)
	if s.rng != nil {
		s.rngMu.Lock()
		for i := range d {
			d[i] = byte(s.rng.IntN(10))
		}
		s.rngMu.Unlock()
		return d
	}
	var b [8]byte
	for i := range d {
		// Rejection sampling keeps the digits uniform.
		for {
			_, _ = rand.Read(b[:1])
			if b[0] < 250 {
				d[i] = b[0] % 10
				break
			}
		}
	}
	return d
}

// logLimiter lets one log line through per interval.
type logLimiter struct{ next atomic.Int64 }

func (l *logLimiter) allow() bool {
	now := time.Now().UnixNano()
	n := l.next.Load()
	return now >= n && l.next.CompareAndSwap(n, now+int64(time.Second))
}
