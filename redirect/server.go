package redirect

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"callgate/internal/tlsaccept"
	"callgate/policy"
	"callgate/policy/token"
)

// Server is the SIP redirect server: it answers every INVITE at once with a
// redirect (302) or a rejection (603/608) from one policy decision, and is
// otherwise a well-behaved RFC 3261 UAS (see the package documentation).
// It is safe for concurrent use; build it with New.
type Server struct {
	cfg       Config
	guard     *policy.Guard // the one way to ask the engine (see invite)
	budgets   sync.Pool     // *policy.Budget for decisions on sipgo's goroutines
	log       *slog.Logger
	cont      *template
	overrides map[string]*template
	screen    *template // nil when no ScreeningURI: the engine's no-route fallback applies
	routeTpl  sync.Map  // Decision.Route.SIPURI -> *template (nil when invalid)
	signer    *token.Signer
	seed      maphash.Seed
	now       func() time.Time

	// The tier's own targets for INVITEs to a sips: Request-URI (sips.go):
	// SecureContinueRoute and SecureScreeningURI, else cont and screen
	// when they are sips:; nil when there is none.
	secureCont, secureScreen *template

	// Immutable headers shared by every response that carries them, as
	// sipgo headers and as wire lines ("Name: value\r\n").
	hdrServer  sip.Header
	rawServer  []byte
	fixedSIP   [numFixed]sip.Header
	fixedRaw   [numFixed][]byte
	rejectInfo bool // Call-Info configured for 608

	expiryGrain int64 // seconds, see tokenExpiry
	memo        tokenMemo
	parser      *sip.Parser // lenient sipgo parser for the stateless fallback
	readers     int         // stateless UDP reader goroutines

	ua  *sipgo.UserAgent
	srv *sipgo.Server

	mu       sync.Mutex
	udpConn  *net.UDPConn
	tcpLn    net.Listener
	tlsLn    net.Listener
	tlsConf  *tls.Config
	listened bool

	inflight atomic.Int64
	bucket   bucket
	stats    counters

	// Deferred INVITEs (deferred.go): how many are being decided, their
	// goroutines, and their scratch states.
	deferring       atomic.Int64
	deferWG         sync.WaitGroup
	deferredInvites sync.Pool // *deferredInvite

	reg    prometheus.Registerer // WithRegisterer
	failFn func(error)           // WithFailFunc

	enrolUser  string   // WithEnroller: the enrolment address's user part
	enroller   Enroller // nil: SIP enrolment off (enrol.go)
	enrolSeen  *enrolSeen
	enrolLimit policy.LogLimiter
	life       lifecycle // Start .. Stop (tier.go)

	faultLog, fallbackLog policy.LogLimiter // guarded-path warnings, rate-limited

	stirm   *stirMetrics      // STIR/SHAKEN counters (stir.go)
	stirLog policy.LogLimiter // verification fallbacks, rate-limited
	iamLog  policy.LogLimiter // unreadable ISUP IAMs, rate-limited
	tlsLog  policy.LogLimiter // failed TLS handshakes, rate-limited
}

// Allowed methods (RFC 3261 §20.5): what a redirect server answers itself.
const allowMethods = "INVITE, ACK, CANCEL, OPTIONS"

// New builds a server over any policy.Decider (the engine, or a fake in
// tests). It checks the configuration, compiles the route templates, loads
// the TLS certificate and registers the metrics, but opens no socket (so
// `callgate config check` runs it too): call Start (as a daemon tier), or
// Listen and Serve (or ListenAndServe).
func New(cfg Config, d policy.Decider, opts ...Option) (*Server, error) {
	if d == nil {
		return nil, errors.New("redirect: nil Decider")
	}
	c := cfg.withDefaults()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("redirect: config: %w", err)
	}
	s := &Server{cfg: c, guard: policy.NewGuard(d, c.Logger), log: c.Logger, seed: maphash.MakeSeed(), now: time.Now, memo: newTokenMemo()}
	s.budgets.New = func() any { return new(policy.Budget) }
	s.deferredInvites.New = newDeferredInvite
	for _, o := range opts {
		o(s)
	}
	// Every problem is reported at once (config check lists them all).
	var errs []error
	var err error
	if s.cont, err = compileTemplate("ContinueRoute", c.ContinueRoute); err != nil {
		errs = append(errs, err)
	}
	if c.ScreeningURI != "" {
		if s.screen, err = compileTemplate("ScreeningURI", c.ScreeningURI); err != nil {
			errs = append(errs, err)
		}
	} else {
		c.Logger.Warn("redirect: no ScreeningURI (sip.screening_uri): calls to screen whose egress route has no SIP URI get the engine's no-route fallback (engine.no_route_fallback)")
	}
	s.secureCont, s.secureScreen = secureTemplate(s.cont), secureTemplate(s.screen)
	for _, sec := range []struct {
		what, src string
		tpl       **template
	}{{"SecureContinueRoute", c.SecureContinueRoute, &s.secureCont}, {"SecureScreeningURI", c.SecureScreeningURI, &s.secureScreen}} {
		if sec.src == "" {
			continue
		}
		if !isSIPS(sec.src) {
			errs = append(errs, fmt.Errorf("%s %q is not a sips: URI: it serves INVITEs to a sips: Request-URI, which must not be sent on without TLS (RFC 5630); write it sips:, or leave it empty", sec.what, sec.src))
			continue
		}
		if *sec.tpl, err = compileTemplate(sec.what, sec.src); err != nil {
			errs = append(errs, err)
		}
	}
	s.overrides = make(map[string]*template, len(c.RouteOverrides))
	for name, src := range c.RouteOverrides {
		t, err := compileTemplate("RouteOverrides["+name+"]", src)
		if err != nil {
			errs = append(errs, err)
		}
		s.overrides[name] = t
	}
	var signKey *token.Key
	for i := range c.TokenKeys {
		if c.TokenKeys[i].ID == c.TokenKeyID {
			signKey = &c.TokenKeys[i]
		}
	}
	if signKey == nil {
		errs = append(errs, fmt.Errorf("no token key with ID %d among %d TokenKeys", c.TokenKeyID, len(c.TokenKeys)))
	} else if s.signer, err = token.NewSigner(*signKey); err != nil {
		errs = append(errs, err)
	}
	if c.TLS != "" {
		s.tlsConf = c.TLSConfig
		if s.tlsConf == nil {
			cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("TLS certificate %s / key %s: %w", c.TLSCertFile, c.TLSKeyFile, err))
			} else {
				s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
				if c.TLSClientCAFile != "" {
					if err := tlsaccept.RequireClients(s.tlsConf, c.TLSClientCAFile); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("redirect: config: %w", err)
	}
	if c.ServerName != "-" {
		s.hdrServer = sip.NewHeader("Server", c.ServerName)
		s.rawServer = []byte("Server: " + c.ServerName + "\r\n")
	}
	secs := int64((c.RetryAfter + time.Second - 1) / time.Second)
	fixed := [numFixed]sip.Header{
		hdrAllow:      sip.NewHeader("Allow", allowMethods),
		hdrAccept:     sip.NewHeader("Accept", "application/sdp"),
		hdrRetryAfter: sip.NewHeader("Retry-After", fmt.Sprint(secs)),
		hdrCallInfo:   sip.NewHeader("Call-Info", "<"+c.RejectInfoURL+">;purpose=jwscard"),
		hdrWarnSIPS:   sip.NewHeader("Warning", "380 "+warnAgent(c.ServerName)+` "SIPS Not Allowed"`),
	}
	s.rejectInfo = c.RejectInfoURL != ""
	for i, h := range fixed {
		s.fixedSIP[i] = h
		s.fixedRaw[i] = []byte(h.Name() + ": " + h.Value() + "\r\n")
	}
	s.expiryGrain = expiryGrainFor(c.TokenLifetime)
	s.parser = newLenientParser()
	s.readers = c.UDPReaders
	if s.readers == 0 {
		s.readers = max(runtime.GOMAXPROCS(0), minUDPReaders)
	}
	if c.MaxRate > 0 {
		s.bucket.init(c.MaxRate, c.RateBurst)
	}

	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(c.ServerName),
		sipgo.WithUserAgentParser(newLenientParser()),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(s.log),
			sip.WithTransportLayerReadFilter(s.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(s.log)),
		sipgo.WithUserAgenTLSConfig(s.tlsConf),
	)
	if err != nil {
		return nil, fmt.Errorf("redirect: sipgo user agent: %w", err)
	}
	s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		return nil, fmt.Errorf("redirect: sipgo server: %w", err)
	}
	// One handler for every method: the answer depends on the request only.
	s.srv.OnInvite(s.handle)
	s.srv.OnAck(s.handle)
	s.srv.OnCancel(s.handle)
	s.srv.OnOptions(s.handle)
	s.srv.OnNoRoute(s.handle)
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	if err := s.reg.Register(newCollector(s)); err != nil {
		return nil, fmt.Errorf("redirect: registering metrics: %w", err)
	}
	s.stirm = newStirMetrics()
	if err := s.stirm.register(s.reg); err != nil {
		return nil, fmt.Errorf("redirect: registering metrics: %w", err)
	}
	if v := cfg.Verifier; v != nil && v.Cache() != nil {
		if err := s.reg.Register(newStirCacheCollector(v.Cache())); err != nil {
			return nil, fmt.Errorf("redirect: registering metrics: %w", err)
		}
	}
	return s, nil
}

// Listen opens the configured sockets, so the caller learns of a bad or
// busy address before serving, and (with port 0) which port it got.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listened {
		return errors.New("redirect: already listening")
	}
	var err error
	closeAll := func() {
		if s.udpConn != nil {
			s.udpConn.Close()
		}
		if s.tcpLn != nil {
			s.tcpLn.Close()
		}
	}
	if a := s.cfg.UDP; a != "" {
		ua, rerr := net.ResolveUDPAddr("udp", a)
		if rerr != nil {
			return fmt.Errorf("redirect: UDP address %q: %w", a, rerr)
		}
		if s.udpConn, err = net.ListenUDP("udp", ua); err != nil {
			return fmt.Errorf("redirect: listen UDP %s: %w", a, err)
		}
		// A burst of INVITEs must queue in the kernel, not be dropped.
		_ = s.udpConn.SetReadBuffer(4 << 20)
	}
	if a := s.cfg.TCP; a != "" {
		if s.tcpLn, err = net.Listen("tcp", a); err != nil {
			closeAll()
			return fmt.Errorf("redirect: listen TCP %s: %w", a, err)
		}
	}
	if a := s.cfg.TLS; a != "" {
		ln, lerr := net.Listen("tcp", a)
		if lerr != nil {
			closeAll()
			return fmt.Errorf("redirect: listen TLS %s: %w", a, lerr)
		}
		s.tlsLn = tlsaccept.Listener(ln, s.tlsConf, tlsHandshakeTimeout, s.tlsFailed)
	}
	s.listened = true
	return nil
}

// Addr returns the bound address of the "udp", "tcp" or "tls" listener, or
// nil when there is none (call after Listen).
func (s *Server) Addr(network string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch network {
	case "udp":
		if s.udpConn != nil {
			return s.udpConn.LocalAddr()
		}
	case "tcp":
		if s.tcpLn != nil {
			return s.tcpLn.Addr()
		}
	case "tls":
		if s.tlsLn != nil {
			return s.tlsLn.Addr()
		}
	}
	return nil
}

// Serve answers requests on the listeners opened by Listen (it calls Listen
// itself if needed) until ctx is done, then closes them and returns nil; it
// returns an error when a listener fails.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	listened := s.listened
	s.mu.Unlock()
	if !listened {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	udpConn, tcpLn, tlsLn := s.udpConn, s.tcpLn, s.tlsLn
	s.mu.Unlock()
	if s.cfg.Verifier != nil {
		// The verification service's CRLs are refreshed while we serve.
		go s.cfg.Verifier.Cache().Run(ctx)
	}

	errc := make(chan error, 3)
	n := 0
	serve := func(what string, f func() error) {
		n++
		go func() {
			err := f()
			if err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				errc <- fmt.Errorf("redirect: %s listener: %w", what, err)
				return
			}
			errc <- nil
		}()
	}
	if udpConn != nil {
		if s.cfg.Stateful {
			serve("UDP", func() error { return s.srv.ServeUDP(udpConn) })
		} else {
			serve("UDP", func() error { return s.serveStatelessUDP(udpConn) })
		}
	}
	// Streams are framed before sipgo reads them, to answer messages over
	// its size limit (streamlimit.go).
	if tcpLn != nil {
		serve("TCP", func() error { return s.srv.ServeTCP(s.limitStream(tcpLn, "TCP")) })
	}
	if tlsLn != nil {
		serve("TLS", func() error { return s.srv.ServeTLS(s.limitStream(tlsLn, "TLS")) })
	}

	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
		n--
	}
	s.closeListeners()
	for ; n > 0; n-- {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	s.ua.Close()
	return first
}

// ListenAndServe is Listen then Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	return s.Serve(ctx)
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
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

// handle is the sipgo handler for every method. sipgo has matched the
// request to a server transaction (retransmissions of the INVITE, its ACK and
// a CANCEL of it never get here); the response goes through the transaction,
// which retransmits 3xx-6xx over UDP until the ACK (RFC 3261 §17.2.1) and
// sends 100 Trying only if the decision takes longer than 200 ms.
func (s *Server) handle(req *sip.Request, tx sip.ServerTransaction) {
	res := s.respond(req)
	if res == nil {
		return
	}
	if tx.Err() != nil {
		// Cancelled while deciding: sipgo has sent 487, which must stay
		// the transaction's answer to retransmissions.
		return
	}
	if err := tx.Respond(res); err != nil {
		s.stats.sendErrors.Add(1)
		s.log.Warn("redirect: sending response failed", "status", res.StatusCode, "method", string(req.Method), "peer", req.Source(), "error", err)
	}
}

// bucket is a token-bucket rate limiter, and the gate Drain closes: a
// closed bucket refuses every INVITE (503 with Retry-After, as overload).
type bucket struct {
	closed atomic.Bool
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	on     bool
}

func (b *bucket) init(rate float64, burst int) {
	b.rate, b.burst, b.tokens, b.on = rate, float64(burst), float64(burst), true
}

func (b *bucket) take(now time.Time) bool {
	if b.closed.Load() {
		return false
	}
	if !b.on {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type counters struct {
	invites, redirects, screened, declined, overload, malformed, options, other, sendErrors, decideErrors atomic.Uint64
	decidePanics, decideLate, noRouteFallback                                                             atomic.Uint64
	fastPath, fallback                                                                                    atomic.Uint64
	udpReads, udpDatagrams                                                                                atomic.Uint64
	deferred                                                                                              atomic.Uint64
	enrolRepeats                                                                                          atomic.Uint64
	iamsMapped, iamsUnused, iamsMalformed                                                                 atomic.Uint64
	tlsFailures                                                                                           atomic.Uint64
	sipsRefused                                                                                           atomic.Uint64
}

// tlsHandshakeTimeout bounds a TLS handshake on the listener: a peer that
// connects and says nothing holds a reader no longer.
const tlsHandshakeTimeout = 10 * time.Second

// tlsFailed counts a failed handshake on the TLS listener and logs it
// (one line a minute at most, with the count since): a trunk that does
// not trust our certificate would otherwise show only as calls that
// never come.
func (s *Server) tlsFailed(remote net.Addr, err error) {
	s.stats.tlsFailures.Add(1)
	if ok, n := s.tlsLog.Allow(time.Now(), time.Minute); ok {
		s.log.Warn("redirect: TLS handshake failed", "peer", remote.String(), "error", err.Error(), "suppressed_since_last", n)
	}
}

// Stats is a snapshot of the server's counters since it was built.
type Stats struct {
	Invites      uint64 // INVITEs answered (any status)
	Redirects    uint64 // 302 to the continue route (Allow)
	Screened     uint64 // 302 to the B2BUA (screen, challenge, announcement, voicemail)
	Declined     uint64 // 603 or 608 (Block)
	Overload     uint64 // 503 because of MaxInFlight or MaxRate
	Malformed    uint64 // 400/505/416 for malformed requests, 513 for ones too large, and malformed datagrams dropped
	Options      uint64 // OPTIONS answered
	Other        uint64 // other methods answered (405, 481)
	SendErrors   uint64 // responses the transport failed to send
	DecideErrors uint64 // INVITEs answered 500 because the decision was unusable (no action, token not signed)
	DecidePanics uint64 // INVITEs answered 500 because the engine or a signal panicked (recovered)
	DecideLate   uint64 // INVITEs answered 503 + Retry-After because the decision missed DecideTimeout
	// NoRouteFallback counts INVITEs the engine answered with its no-route
	// fallback: the treatment needed the B2BUA, the provider's route has no
	// SIP URI and there is no ScreeningURI.
	NoRouteFallback uint64
	// Stateless UDP path: datagrams answered (or absorbed, ACK) by the
	// fast scanner, and datagrams it handed to sipgo's parser instead
	// (unusual syntax, malformed requests).
	FastPath uint64
	Fallback uint64
	// UDPReads counts the system calls that read datagrams on the
	// stateless path, UDPDatagrams the datagrams they read: their ratio is
	// the mean batch (udpbatch.go).
	UDPReads     uint64
	UDPDatagrams uint64
	// Deferred counts the INVITEs whose decision would have waited for a
	// signal on a stateless UDP reader and was deferred to a goroutine of
	// their own (deferred.go); Deferring is how many are being decided now.
	Deferred  uint64
	Deferring int64
	// EnrolRepeats counts retransmitted enrolment INVITEs answered with
	// their first 302 and no second key (enrolseen.go).
	EnrolRepeats uint64
	// IAMs* count INVITEs carrying an ISUP IAM (SIP-T, SIP-I): those it
	// gave something the headers lacked, those it gave nothing, and those
	// whose IAM did not read (ignored).
	IAMsMapped, IAMsUnused, IAMsMalformed uint64
	// TLSFailures counts TLS connections whose handshake failed or did
	// not end within tlsHandshakeTimeout.
	TLSFailures uint64
	// SIPSRefused counts INVITEs to a sips: Request-URI answered 480 with
	// Warning 380 because their target was not sips: (sips.go).
	SIPSRefused uint64
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Invites: c.invites.Load(), Redirects: c.redirects.Load(), Screened: c.screened.Load(),
		Declined: c.declined.Load(), Overload: c.overload.Load(), Malformed: c.malformed.Load(),
		Options: c.options.Load(), Other: c.other.Load(), SendErrors: c.sendErrors.Load(),
		DecideErrors: c.decideErrors.Load(), DecidePanics: c.decidePanics.Load(), DecideLate: c.decideLate.Load(),
		NoRouteFallback: c.noRouteFallback.Load(), FastPath: c.fastPath.Load(), Fallback: c.fallback.Load(),
		UDPReads: c.udpReads.Load(), UDPDatagrams: c.udpDatagrams.Load(),
		Deferred: c.deferred.Load(), Deferring: s.deferring.Load(), EnrolRepeats: c.enrolRepeats.Load(),
		IAMsMapped: c.iamsMapped.Load(), IAMsUnused: c.iamsUnused.Load(), IAMsMalformed: c.iamsMalformed.Load(),
		TLSFailures: c.tlsFailures.Load(), SIPSRefused: c.sipsRefused.Load(),
	}
}
