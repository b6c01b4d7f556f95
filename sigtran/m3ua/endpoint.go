package m3ua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"callgate/sigtran/transport"
)

// Handler receives each DATA message that arrives on an active
// association. It runs on the association's reader goroutine: it must
// return quickly (answer with a.SendData, which does not block, or hand
// the work to another goroutine). What it sends goes out with the answers
// to the rest of the batch the reader read, in one write, when the reader
// is about to wait for more (outbox.go). A Handler stuck for good can be
// given up on with Association.ReleaseReader. d and d.ProtocolData.Data
// alias the read buffer and are only valid until Handler returns; copy
// what must outlive the call.
type Handler func(a *Association, d *Data)

// Registrar decides on one Routing Key of a REG REQ received by an SG or
// IPSP server (RFC 4666 §3.6.1): it returns the routing context assigned
// to the key with RegStatusSuccess, or a failure status (rc is then
// ignored: the Registration Result carries 0). A success with rc 0 is
// answered as RegStatusUnknown, 0 being the "no RC" value of REG RSP. It
// runs on the association's reader goroutine and must return quickly;
// key is the callee's to keep.
type Registrar func(a *Association, key RoutingKey) (rc uint32, status RegStatus)

// Config configures an Endpoint. Zero durations take the defaults noted.
type Config struct {
	Role Role
	// Network is "tcp" or "sctp".
	Network string
	// Connect lists the peers to dial, one association each (ASP, IPSP
	// client). Associations are redialled with exponential back-off.
	Connect []string
	// Listen is the local address to accept associations on (SG, IPSP
	// server).
	Listen string
	// LocalAddress optionally binds dialled associations.
	LocalAddress string
	// Streams is the SCTP stream count requested each way (default 16).
	Streams uint16
	// MaxMessage bounds one M3UA message (default 64 KiB).
	MaxMessage int

	// RoutingContexts are the RCs of the AS this endpoint serves. An ASP
	// sends them in ASP Active and the first one in DATA; the SG side
	// refuses others with ERR Invalid Routing Context. Empty means no RC
	// is used (single AS per association).
	RoutingContexts []uint32
	// NetworkAppearance, when set, is sent in DATA and checked on receipt.
	NetworkAppearance *uint32
	// TrafficMode is override or loadshare (default loadshare).
	TrafficMode TrafficMode
	// ASPIdentifier, when set, is sent in ASP Up.
	ASPIdentifier *uint32
	// Info is sent as INFO String in ASP Up (may be empty).
	Info string

	// HeartbeatInterval is the BEAT period (default 10 s; negative
	// disables BEAT). HeartbeatTimeout is how long a BEAT may go
	// unanswered before the association is declared lost (default: the
	// interval).
	HeartbeatInterval, HeartbeatTimeout time.Duration
	// AckTimeout bounds the wait for ASP Up Ack / ASP Active Ack (default
	// 2 s); the request is repeated AckRetries times (default 3) before the
	// association is dropped.
	AckTimeout time.Duration
	AckRetries int
	// RecoveryTimeout is T(r), how long the SG side keeps an AS pending
	// after its last active ASP went away (default 2 s).
	RecoveryTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the redial back-off (defaults
	// 100 ms and 30 s); the delay doubles after each failure, with 20 %
	// jitter, and starts over once an association reaches ASP-ACTIVE.
	ReconnectMin, ReconnectMax time.Duration
	// SendQueue bounds the DATA messages waiting to be written on one
	// association (default 4096); beyond it SendData returns
	// ErrSendQueueFull. Management messages are never refused.
	SendQueue int

	// Registrar, when set, answers REG REQ and DEREG REQ on the server
	// side (SG, IPSP server): an RC it grants becomes acceptable on that
	// association (ASP Active, DATA) like one of RoutingContexts, until
	// deregistered or the association goes. Nil: RKM messages get ERR
	// Unsupported Message Class, as from an M3UA without RKM.
	Registrar Registrar
	// Register, on the dialling side (ASP, IPSP client), are the Routing
	// Keys registered with one REG REQ on every association after ASP Up
	// Ack (RFC 4666 §4.4.1), before ASP Active: the routing contexts the
	// peer grants then play the part of RoutingContexts for that
	// association (named in ASP Active, carried in DATA, the only RCs
	// accepted in incoming DATA). The REG REQ is repeated like ASP Up
	// (AckTimeout, AckRetries); a key refused fails the association with
	// a *RegistrationError. Keys whose LocalRKID is 0 get a distinct one.
	// Exclusive with RoutingContexts; refused on the accepting side.
	Register []RoutingKey

	// Audit (ASP only) lists the remote point codes this ASP sends to:
	// once an association is ASP-ACTIVE they are audited with one DAUD
	// (RFC 4666 §4.5.3), and the SG's DUNA/DAVA/DRST answers set what
	// Available, Destination and Routes say for that SG: a new
	// association learns what the SG knows at once, not at the SG's next
	// change (audit.go).
	Audit []uint32

	// Handler receives incoming DATA (required to receive traffic; DATA is
	// dropped without it).
	Handler Handler
	// BatchEnd, if set, is called on an association's reader goroutine
	// when it has handled every message one read delivered and is about
	// to write their answers and wait for more: a Handler that holds work
	// back during a batch (to hand it to another goroutine in one go)
	// passes it on here.
	BatchEnd func(a *Association)
	// Tap, if set, sees every M3UA message of every association as it is
	// written (out) or read, management and heartbeats included, on the
	// goroutine doing the I/O: for captures. msg is valid only during the
	// call.
	Tap Tap
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Tap observes the messages of an association (Config.Tap).
type Tap func(a *Association, out bool, stream uint16, msg []byte)

func (c *Config) validate() error {
	switch c.Role {
	case RoleASP:
		if len(c.Connect) == 0 || c.Listen != "" {
			return errors.New("m3ua: an ASP dials: set Connect, not Listen")
		}
	case RoleSG:
		if c.Listen == "" || len(c.Connect) != 0 {
			return errors.New("m3ua: an SG accepts: set Listen, not Connect")
		}
	case RoleIPSP:
		if (c.Listen == "") == (len(c.Connect) == 0) {
			return errors.New("m3ua: an IPSP either dials (Connect) or accepts (Listen)")
		}
	default:
		return fmt.Errorf("m3ua: unknown role %v", c.Role)
	}
	switch c.TrafficMode {
	case TrafficModeNone:
		c.TrafficMode = TrafficModeLoadshare
	case TrafficModeOverride, TrafficModeLoadshare:
	default:
		return fmt.Errorf("m3ua: traffic mode %v not supported (override or loadshare)", c.TrafficMode)
	}
	if err := c.validateRegister(); err != nil {
		return err
	}
	if len(c.Audit) > 0 && c.Role != RoleASP {
		return fmt.Errorf("m3ua: Audit is for an ASP (DAUD goes from an ASP to its SG, RFC 4666 §4.5.3), not an %v: leave it empty", c.Role)
	}
	for _, pc := range c.Audit {
		if pc > 0xffffff {
			return fmt.Errorf("m3ua: Audit point code %#x is over 24 bits", pc)
		}
	}
	if len(c.Info) > 255 {
		return errors.New("m3ua: Info longer than 255 octets")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatInterval, 10*time.Second)
	def(&c.HeartbeatTimeout, c.HeartbeatInterval)
	def(&c.AckTimeout, 2*time.Second)
	def(&c.RecoveryTimeout, 2*time.Second)
	def(&c.ReconnectMin, 100*time.Millisecond)
	def(&c.ReconnectMax, 30*time.Second)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.AckRetries <= 0 {
		c.AckRetries = 3
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 4096
	}
	if c.Streams == 0 {
		c.Streams = transport.DefaultStreams
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = transport.DefaultMaxMessage
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Errors returned by Send and SendData.
var (
	ErrNoActiveAssociation = errors.New("m3ua: no active association")
	ErrSendQueueFull       = errors.New("m3ua: send queue full")
	ErrNotActive           = errors.New("m3ua: association not active")
	ErrClosed              = errors.New("m3ua: endpoint closed")
)

// Endpoint is an M3UA node: one or several associations in one role.
type Endpoint struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ln     transport.Listener
	nextID atomic.Uint64

	mu      sync.Mutex
	assocs  map[uint64]*Association
	asState ASState
	trTimer *time.Timer // T(r) while the AS is pending
	started bool
	closed  bool
	// draining is set by Drain: no ASP goes active any more (drain.go).
	draining atomic.Bool
	lastErr  error // why the last association was lost (LastError)

	// active is the copy-on-write list of ASP-ACTIVE associations, in id
	// order, that Send load-shares over without taking mu.
	active atomic.Pointer[[]*Association]

	dest  destTable
	stats counters
}

// NewEndpoint checks cfg and returns an Endpoint; Start brings it up.
func NewEndpoint(cfg Config) (*Endpoint, error) {
	cfg.RoutingContexts = slices.Clone(cfg.RoutingContexts)
	cfg.Connect = slices.Clone(cfg.Connect)
	cfg.Register = cloneKeys(cfg.Register)
	cfg.Audit = slices.Clone(cfg.Audit)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Endpoint{cfg: cfg, assocs: make(map[uint64]*Association)}
	e.log = cfg.Logger.With("m3ua", cfg.Role.String())
	e.active.Store(new([]*Association))
	return e, nil
}

// serverSide reports whether this endpoint plays the SG side of ASP
// management (accepting ASP Up / ASP Active).
func (e *Endpoint) serverSide() bool { return e.cfg.Listen != "" }

func (e *Endpoint) transportConfig(addr string) transport.Config {
	return transport.Config{
		Network:      e.cfg.Network,
		Address:      addr,
		LocalAddress: e.cfg.LocalAddress,
		OutStreams:   e.cfg.Streams,
		InStreams:    e.cfg.Streams,
		MaxMessage:   e.cfg.MaxMessage,
	}
}

// Start listens (server roles) or starts dialling (client roles). Client
// associations come up in the background; use WaitActive or ASPState to
// follow them. ctx bounds the endpoint's life like Close does.
func (e *Endpoint) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started || e.closed {
		e.mu.Unlock()
		return errors.New("m3ua: endpoint already started or closed")
	}
	e.started = true
	e.ctx, e.cancel = context.WithCancel(ctx)
	e.mu.Unlock()

	if e.serverSide() {
		ln, err := transport.Listen(e.transportConfig(e.cfg.Listen))
		if err != nil {
			e.cancel()
			return err
		}
		e.ln = ln
		e.log.Info("m3ua listening", "network", e.cfg.Network, "addr", ln.Addr().String())
		e.wg.Add(1)
		go e.acceptLoop()
	} else {
		for _, addr := range e.cfg.Connect {
			e.wg.Add(1)
			go e.dialLoop(addr)
		}
	}
	go func() {
		<-e.ctx.Done()
		e.shutdown()
	}()
	return nil
}

// Addr returns the listening address of a server endpoint (nil before
// Start or for client roles).
func (e *Endpoint) Addr() string {
	if e.ln == nil {
		return ""
	}
	return e.ln.Addr().String()
}

func (e *Endpoint) acceptLoop() {
	defer e.wg.Done()
	for {
		conn, err := e.ln.Accept()
		if err != nil {
			if e.ctx.Err() != nil {
				return
			}
			e.log.Warn("m3ua accept failed", "err", err)
			select {
			case <-time.After(50 * time.Millisecond):
			case <-e.ctx.Done():
				return
			}
			continue
		}
		if a := e.attach(conn, false); a == nil {
			conn.Close()
		}
	}
}

func (e *Endpoint) dialLoop(addr string) {
	defer e.wg.Done()
	backoff := e.cfg.ReconnectMin
	for e.ctx.Err() == nil {
		if e.draining.Load() {
			// Out of service: no new association until Close.
			<-e.ctx.Done()
			return
		}
		dctx, cancel := context.WithTimeout(e.ctx, e.cfg.AckTimeout*time.Duration(e.cfg.AckRetries+1))
		conn, err := transport.Dial(dctx, e.transportConfig(addr))
		cancel()
		if err == nil {
			if a := e.attach(conn, true); a != nil {
				<-a.done
				if a.reachedActive.Load() {
					backoff = e.cfg.ReconnectMin
				}
			} else {
				conn.Close()
			}
		} else if e.ctx.Err() == nil {
			e.log.Warn("m3ua dial failed", "peer", addr, "err", err, "retry_in", backoff)
		}
		// 20 % jitter keeps a fleet of ASPs from redialling in step.
		d := backoff + time.Duration(rand.Int64N(int64(backoff)/5+1))
		select {
		case <-time.After(d):
		case <-e.ctx.Done():
			return
		}
		backoff = min(backoff*2, e.cfg.ReconnectMax)
	}
}

// attach registers a new association and starts its goroutines; nil when
// the endpoint is closing.
func (e *Endpoint) attach(conn transport.Conn, client bool) *Association {
	a := newAssociation(e, conn, client)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.assocs[a.id] = a
	e.mu.Unlock()
	e.stats.connects.Add(1)
	e.log.Info("m3ua association up", "assoc", a.id, "network", conn.Network(), "local", conn.LocalAddr().String(),
		"remote", conn.RemoteAddr().String(), "streams", conn.Streams())
	a.start()
	return a
}

// Close brings the endpoint down: client associations send ASP Down
// (best effort, bounded by AckTimeout), then everything is closed.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	started := e.started
	if !started {
		e.closed = true
	}
	e.mu.Unlock()
	if !started {
		return nil
	}
	e.cancel()
	e.shutdown()
	e.wg.Wait()
	return nil
}

func (e *Endpoint) shutdown() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	list := make([]*Association, 0, len(e.assocs))
	for _, a := range e.assocs {
		list = append(list, a)
	}
	if e.trTimer != nil {
		e.trTimer.Stop()
	}
	e.mu.Unlock()
	if e.ln != nil {
		e.ln.Close()
	}
	var wg sync.WaitGroup
	for _, a := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.closeGraceful(e.cfg.AckTimeout)
		}()
	}
	wg.Wait()
}

// Send transmits pd on an active association chosen by its SLS (so one
// transaction, which keeps its SLS, stays on one association and one
// stream). An association that has just left ASP-ACTIVE, or whose SG has
// since announced the AS inactive or pending (NTFY: the SG no longer
// serves it, e.g. it drains), is passed over for the next one; answers
// still arrive on it. So is one whose SG reported pd.DPC unavailable
// (DUNA), and one that reported it restricted (DRST) while another SG
// reaches it unrestricted (RFC 4666 §4.5.1: the state of a destination is
// learnt per SG). ErrDestinationUnavailable: every active SG reported
// pd.DPC unavailable. It never blocks on the network.
func (e *Endpoint) Send(pd ProtocolData) error {
	_, err := e.SendVia(pd)
	return err
}

// ErrDestinationUnavailable is returned by Send when every SG with an
// active association reported the destination point code unavailable.
var ErrDestinationUnavailable = errors.New("m3ua: destination point code reported unavailable (DUNA) by every SG")

// SendVia is Send that also says which association took pd (nil when
// none did), for a caller that keeps its accounts per peer: a switch
// load-sharing over a mated pair counts what each SCP answered and what
// was lost with an association that went down.
func (e *Endpoint) SendVia(pd ProtocolData) (*Association, error) {
	act := *e.active.Load()
	n := len(act)
	first := 0
	if n > 0 {
		first = int(pd.SLS) % n
	}
	// The first pass takes the SGs that reported nothing against pd.DPC;
	// the second, only when there were restricted ones, those.
	unreachable, restricted := false, false
	for pass := range 2 {
		for k := range n {
			// The list is republished just after a state change: skip an
			// association that has left ASP-ACTIVE meanwhile.
			a := act[(first+k)%n]
			if a.State() != ASPStateActive || a.asOut.Load() {
				continue
			}
			switch a.dest.reach(pd.DPC) {
			case reachNone:
				unreachable = true
				continue
			case reachRestricted:
				restricted = true
				if pass == 0 {
					continue
				}
			case reachOK:
				if pass == 1 {
					continue // tried in the first pass
				}
			}
			err := a.SendData(pd)
			if errors.Is(err, ErrNotActive) {
				continue // it went down between the check and the queue
			}
			if err != nil {
				return nil, err
			}
			return a, nil
		}
		if !restricted {
			break
		}
	}
	e.stats.drop.Add(1)
	if unreachable {
		return nil, ErrDestinationUnavailable
	}
	return nil, ErrNoActiveAssociation
}

// Available reports whether point code pc is reachable. On the dialling
// side that is according to the DUNA/DAVA each SG sent on its association
// (RFC 4666 §4.5.1): pc is available while some ASP-ACTIVE association's
// SG has not reported it unavailable, and also when no association is
// active (what is missing then is an association, see Send). On the SG
// side it is as set by SetAvailable. Destinations never reported are
// available.
func (e *Endpoint) Available(pc uint32) bool {
	if e.serverSide() {
		s, _ := e.dest.lookup(pc)
		return s.Available
	}
	usable := false
	for _, a := range *e.active.Load() {
		if a.State() != ASPStateActive || a.asOut.Load() {
			continue
		}
		if a.dest.reach(pc) != reachNone {
			return true
		}
		usable = true
	}
	return !usable
}

// Destination returns what SSNM messages reported about pc, and whether
// anything was reported. On the dialling side it is the report of the SG
// that reaches pc best (available before unavailable, unrestricted before
// restricted), among the ASP-ACTIVE associations; Routes has each SG's.
func (e *Endpoint) Destination(pc uint32) (DestinationState, bool) {
	if e.serverSide() {
		return e.dest.lookup(pc)
	}
	best, known, rank := DestinationState{Available: true}, false, -1
	for _, r := range e.Routes(pc) {
		known = known || r.Reported
		if k := destRank(r.State); k > rank {
			best, rank = r.State, k
		}
	}
	return best, known
}

// destRank orders destination states from worst to best path.
func destRank(s DestinationState) int {
	switch {
	case !s.Available:
		return 0
	case s.Restricted:
		return 1
	}
	return 2
}

// Route is what the SG at the end of one association reported about a
// destination (Endpoint.Routes).
type Route struct {
	Association uint64
	Remote      string
	State       DestinationState
	// Reported is false when the SG said nothing about the destination
	// (State is then available).
	Reported bool
}

// Routes returns, for each ASP-ACTIVE association of a dialling endpoint
// in id order, what its SG reported about pc: which SGs a query to pc
// can take (status pages, a switch's report).
func (e *Endpoint) Routes(pc uint32) []Route {
	act := *e.active.Load()
	out := make([]Route, 0, len(act))
	for _, a := range act {
		if a.State() != ASPStateActive || a.asOut.Load() {
			continue
		}
		st, known := a.dest.lookup(pc)
		out = append(out, Route{Association: a.id, Remote: a.conn.RemoteAddr().String(), State: st, Reported: known})
	}
	return out
}

// SetAvailable records pc's availability on the SG side and announces it
// to every active ASP with DAVA or DUNA. It is how an SG (or a test SG)
// reports its SS7 network's state; DAUD queries are answered from it.
func (e *Endpoint) SetAvailable(pc uint32, available bool) {
	apc := []AffectedPC{{PC: pc & 0xffffff}}
	e.dest.update(apc, func(s *DestinationState) { s.Available = available })
	for _, a := range *e.active.Load() {
		if available {
			a.sendMgmt(&DAVA{RoutingContexts: a.rcList(), AffectedPCs: apc})
		} else {
			a.sendMgmt(&DUNA{RoutingContexts: a.rcList(), AffectedPCs: apc})
		}
	}
}

// ASState returns the AS state as the SG side sees it. Client roles
// report the state last announced by the peer's NTFY.
func (e *Endpoint) ASState() ASState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.asState
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() Stats { return e.stats.snapshot() }

// AssociationInfo describes one association, for status pages and metrics.
type AssociationInfo struct {
	ID               uint64
	Network          string
	Local, Remote    string
	Streams          uint16
	State            ASPState
	PeerASPID        uint32
	HasPeerASPID     bool
	Client           bool
	QueuedForSending int
}

// Associations lists the current associations in id order.
func (e *Endpoint) Associations() []AssociationInfo {
	e.mu.Lock()
	list := make([]AssociationInfo, 0, len(e.assocs))
	for _, a := range e.assocs {
		list = append(list, a.info())
	}
	e.mu.Unlock()
	slices.SortFunc(list, func(x, y AssociationInfo) int { return int(x.ID) - int(y.ID) })
	return list
}

// LastError returns why the endpoint's most recently lost association
// went (a *RegistrationError when the peer refused a Routing Key of
// Config.Register), or nil if none was lost. An orderly close by this end
// does not count.
func (e *Endpoint) LastError() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastErr
}

// ActiveCount returns the number of ASP-ACTIVE associations.
func (e *Endpoint) ActiveCount() int { return len(*e.active.Load()) }

// WaitActive waits until at least n associations are ASP-ACTIVE.
func (e *Endpoint) WaitActive(ctx context.Context, n int) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for e.ActiveCount() < n {
		select {
		case <-ctx.Done():
			if last := e.LastError(); last != nil {
				// The cause is what a caller needs to act on (a refused
				// registration, a peer that never answered ASP Up).
				return fmt.Errorf("m3ua: %d of %d associations active (last association lost: %w): %w", e.ActiveCount(), n, last, ctx.Err())
			}
			return fmt.Errorf("m3ua: %d of %d associations active: %w", e.ActiveCount(), n, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// rebuildActiveLocked republishes the active list; e.mu must be held.
func (e *Endpoint) rebuildActiveLocked() {
	act := make([]*Association, 0, len(e.assocs))
	for _, a := range e.assocs {
		if a.State() == ASPStateActive {
			act = append(act, a)
		}
	}
	slices.SortFunc(act, func(x, y *Association) int { return int(x.id) - int(y.id) })
	e.active.Store(&act)
}

// notice is a message to send once e.mu is released.
type notice struct {
	a *Association
	m Message
}

func flush(ns []notice) {
	for _, n := range ns {
		n.a.sendMgmt(n.m)
	}
}

// updateASLocked recomputes the AS state on the SG side after an ASP state
// change and returns the NTFYs to send (RFC 4666 §4.3.4.x: every ASP of
// the AS that is up hears about AS state changes).
func (e *Endpoint) updateASLocked() []notice {
	e.rebuildActiveLocked()
	if !e.serverSide() {
		return nil
	}
	if e.draining.Load() {
		// Out of service (drain.go): the AS is announced inactive whatever
		// its ASPs do, so that they keep their traffic away.
		if e.trTimer != nil {
			e.trTimer.Stop()
			e.trTimer = nil
		}
		for _, a := range e.assocs {
			if a.State() != ASPStateDown {
				return e.setASLocked(ASStateInactive)
			}
		}
		return e.setASLocked(ASStateDown)
	}
	up, active := 0, 0
	for _, a := range e.assocs {
		switch a.State() {
		case ASPStateActive:
			active++
			up++
		case ASPStateInactive:
			up++
		}
	}
	old := e.asState
	next := old
	switch {
	case active > 0:
		next = ASStateActive
		if e.trTimer != nil {
			e.trTimer.Stop()
			e.trTimer = nil
		}
	case old == ASStateActive:
		// Last active ASP gone: hold the AS pending for T(r) so that a
		// standby ASP can take over without the AS flapping.
		next = ASStatePending
		e.trTimer = time.AfterFunc(e.cfg.RecoveryTimeout, e.recoveryExpired)
	case old == ASStatePending:
	case up > 0:
		next = ASStateInactive
	default:
		next = ASStateDown
	}
	return e.setASLocked(next)
}

func (e *Endpoint) setASLocked(next ASState) []notice {
	old := e.asState
	if next == old {
		return nil
	}
	e.asState = next
	e.log.Info("m3ua AS state", "from", old.String(), "to", next.String())
	var info uint16
	switch next {
	case ASStateActive:
		info = StatusASActive
	case ASStateInactive:
		info = StatusASInactive
	case ASStatePending:
		info = StatusASPending
	default:
		return nil
	}
	var ns []notice
	for _, a := range e.assocs {
		if a.State() != ASPStateDown {
			ns = append(ns, notice{a, &Notify{Status: Status{StatusTypeASStateChange, info}, RoutingContexts: e.cfg.RoutingContexts}})
		}
	}
	return ns
}

func (e *Endpoint) recoveryExpired() {
	e.mu.Lock()
	var ns []notice
	if e.asState == ASStatePending && !e.closed {
		e.trTimer = nil
		up := 0
		for _, a := range e.assocs {
			if a.State() != ASPStateDown {
				up++
			}
		}
		if up > 0 {
			ns = e.setASLocked(ASStateInactive)
		} else {
			ns = e.setASLocked(ASStateDown)
		}
	}
	e.mu.Unlock()
	flush(ns)
}

// detach removes a closed association.
func (e *Endpoint) detach(a *Association) {
	e.mu.Lock()
	delete(e.assocs, a.id)
	ns := e.updateASLocked()
	e.mu.Unlock()
	flush(ns)
}

// rcAllowed reports whether rc is one of the configured RCs (any RC when
// none is configured). Association.rcAllowed adds the registered ones.
func (e *Endpoint) rcAllowed(rc uint32) bool {
	return len(e.cfg.RoutingContexts) == 0 || slices.Contains(e.cfg.RoutingContexts, rc)
}
