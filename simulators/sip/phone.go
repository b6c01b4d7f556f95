package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// PhoneConfig is a phone's SIP and RTP set-up.
type PhoneConfig struct {
	// Listen is the SIP address, host:port; port 0 picks a free one.
	// Default "127.0.0.1:0". RTP uses the same host, on free ports.
	Listen string
	// Transport is "udp" (default), "tcp" or "tls".
	Transport string
	// TLSCertFile and TLSKeyFile (PEM) are the phone's certificate over
	// TLS; without them it makes a self-signed one for its IP. TLSCAFile
	// holds the authorities a peer's certificate is checked against
	// ("" = the system's); TLSInsecure checks none.
	TLSCertFile, TLSKeyFile, TLSCAFile string
	TLSInsecure                        bool
	// SRTP offers SRTP (RTP/SAVP with an SDES key, RFC 4568) on the
	// calls the phone places and takes it on those it answers. SDES keys
	// belong on TLS; on UDP or TCP it is for checking that a peer
	// refuses them.
	SRTP bool
	// Codecs are the audio codecs offered and accepted, in preference
	// order: "PCMU", "PCMA" (default both, PCMU first). telephone-event
	// is always offered.
	Codecs []string
	// UserAgent is the user part of the phone's Contact and the
	// User-Agent header ("sipsim").
	UserAgent string
	// Logger gets diago's and sipgo's logs (default: none).
	Logger *slog.Logger
}

// Phone is one SIP user agent on one address: it places calls (Call) and
// answers them (Answer), any number at once. A test may run several
// phones in one process (a caller, a subscriber, a voicemail platform).
type Phone struct {
	cfg       PhoneConfig
	ua        *sipgo.UserAgent
	dg        *diago.Diago
	host      string
	port      int
	transport string
	codecs    []media.Codec // what diago offers; the phone's own INVITEs too (offer.go)

	ctx    context.Context
	cancel context.CancelFunc

	// sessions maps Call-ID to the session of a call in progress, for the
	// in-dialog requests diago handles (BYE, INFO, re-INVITE).
	sessions sync.Map
	answerer atomic.Pointer[Answerer]
	// users maps a Request-URI user to the answerer of its calls
	// (AnswerUser), ahead of answerer.
	users  sync.Map
	closed sync.Once
}

// ParseCodecs checks codec names (PCMU, PCMA; case-insensitive).
func ParseCodecs(names []string) ([]media.Codec, error) {
	var out []media.Codec
	for _, n := range names {
		switch strings.ToUpper(strings.TrimSpace(n)) {
		case "PCMU", "G711U", "ULAW":
			out = append(out, media.CodecAudioUlaw)
		case "PCMA", "G711A", "ALAW":
			out = append(out, media.CodecAudioAlaw)
		default:
			return nil, fmt.Errorf("codec %q: want PCMU or PCMA", n)
		}
	}
	if len(out) == 0 {
		out = []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw}
	}
	return append(out, media.CodecTelephoneEvent8000), nil
}

// NewPhone starts a phone listening on cfg.Listen. It runs until Close (or
// ctx ends).
func NewPhone(ctx context.Context, cfg PhoneConfig) (*Phone, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Transport == "" {
		cfg.Transport = "udp"
	}
	cfg.Transport = strings.ToLower(cfg.Transport)
	if cfg.Transport != "udp" && cfg.Transport != "tcp" && cfg.Transport != "tls" {
		return nil, fmt.Errorf("transport %q: want udp, tcp or tls", cfg.Transport)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "sipsim"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	codecs, err := ParseCodecs(cfg.Codecs)
	if err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w (want host:port, e.g. 127.0.0.1:5080)", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("listen address %q: bad port", cfg.Listen)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return nil, fmt.Errorf("listen address %q: give the IP address to use (it goes into Contact and SDP), e.g. 127.0.0.1", cfg.Listen)
	}
	tran := diago.Transport{Transport: cfg.Transport, BindHost: host, BindPort: port}
	if cfg.SRTP {
		tran.MediaSRTP = 1
	}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransactionLayerOptions(
			gosip.WithTransactionLayerLogger(cfg.Logger),
			// A response no transaction waits for: a retransmission, or
			// one that arrived as the phone closed (sipgo handles each
			// message on a goroutine of its own, so a 100 can come after
			// the final answer). sipgo logs these to slog's default.
			gosip.WithTransactionLayerUnhandledResponseHandler(func(r *gosip.Response) {
				cfg.Logger.Debug("SIP response for no transaction", "response", r.Short(), "source", r.Source())
			}),
		),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(cfg.Logger)),
	}
	if cfg.Transport == "tls" {
		if tran.TLSConf, err = tlsConfig(&cfg, host); err != nil {
			return nil, err
		}
		// Contact sip:...;transport=tls, as most phones take (RFC 5630).
		tran.TLSURINoSIPS = true
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(tran.TLSConf))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, err
	}
	p := &Phone{cfg: cfg, ua: ua, host: host, transport: cfg.Transport, codecs: codecs}
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.dg = diago.NewDiago(ua,
		diago.WithLogger(cfg.Logger),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: codecs}),
		diago.WithTransport(tran),
		diago.WithServerRequestMiddleware(p.middleware),
	)
	if err := p.dg.ServeBackground(p.ctx, p.serve); err != nil {
		p.cancel()
		ua.Close()
		return nil, fmt.Errorf("listen on %s/%s: %w", cfg.Listen, cfg.Transport, err)
	}
	p.port = port
	if port == 0 {
		// diago learns the port it was given when it starts listening;
		// a dialog's Contact shows it.
		d, err := p.dg.NewDialog(gosip.Uri{Scheme: "sip", Host: host}, diago.NewDialogOptions{Transport: cfg.Transport})
		if err != nil {
			p.Close()
			return nil, err
		}
		p.port = d.UA.ContactHDR.Address.Port
		d.Close()
	}
	if cfg.Transport == "udp" {
		// A TCP request dials from a port of its own; a UDP one is sent
		// from the listener, which must be serving first.
		if err := awaitServing(p.ctx, ua, p.Addr()); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Addr is the phone's SIP address, host:port.
func (p *Phone) Addr() string { return net.JoinHostPort(p.host, strconv.Itoa(p.port)) }

// URI returns a SIP URI with user at the phone's address
// ("sip:user@127.0.0.1:5070").
func (p *Phone) URI(user string) string {
	u := "sip:"
	if user != "" {
		u += user + "@"
	}
	u += p.Addr()
	if p.transport != "udp" {
		u += ";transport=" + p.transport
	}
	return u
}

// Close stops the phone (calls in progress end).
func (p *Phone) Close() error {
	p.closed.Do(func() {
		if a := p.answerer.Load(); a != nil {
			a.stop()
		}
		p.users.Range(func(_, a any) bool { a.(*Answerer).stop(); return true })
		p.cancel()
		p.ua.Close()
	})
	return nil
}

// serve handles a new incoming INVITE with the answerer of its
// Request-URI user, else the phone's answerer, if any; without one the
// phone is busy.
func (p *Phone) serve(d *diago.DialogServerSession) {
	a := p.answerer.Load()
	if u, ok := p.users.Load(d.InviteRequest.Recipient.User); ok {
		a = u.(*Answerer)
	}
	if a == nil {
		_ = d.Respond(gosip.StatusBusyHere, "Busy Here (not answering)", nil)
		return
	}
	a.handle(d)
}

// middleware sees every incoming request before diago: it records the
// in-dialog ones in their call's timeline and takes INFO DTMF itself
// (diago answers those 406).
func (p *Phone) middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *gosip.Request, tx gosip.ServerTransaction) {
		id := req.CallID()
		if id == nil || req.IsInvite() && !inDialog(req) {
			next(req, tx)
			return
		}
		v, ok := p.sessions.Load(id.Value())
		if !ok {
			next(req, tx)
			return
		}
		s := v.(*session)
		method := req.Method.String()
		if req.IsInvite() {
			method = "INVITE (re-INVITE)"
		}
		if req.Method == gosip.ACK {
			next(req, tx)
			return
		}
		s.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "in", Method: method})
		if req.Method == gosip.INFO {
			ct := ""
			if h := req.ContentType(); h != nil {
				ct = h.Value()
			}
			d, err := ParseDTMFInfo(ct, req.Body())
			if err != nil {
				s.tl.note("INFO refused: %v", err)
				_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusUnsupportedMediaType, "Unsupported Media Type", nil))
				return
			}
			_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusOK, "OK", nil))
			s.infoIn(d, ct)
			return
		}
		if req.Method == gosip.BYE {
			s.byeArrived()
			defer s.answeredBye()
		}
		next(req, tx)
	}
}

func inDialog(req *gosip.Request) bool {
	to := req.To()
	if to == nil {
		return false
	}
	_, ok := to.Params.Get("tag")
	return ok
}

// register makes a session findable by its Call-ID.
func (p *Phone) register(callID string, s *session) func() {
	p.sessions.Store(callID, s)
	return func() { p.sessions.Delete(callID) }
}
