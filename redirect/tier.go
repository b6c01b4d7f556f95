package redirect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Option lends a Server what its Config cannot hold: the daemon's
// metrics registry and where to report a failure after Start.
type Option func(*Server)

// WithRegisterer registers the server's metrics (callgate_sip_*) on r; by
// default they go to a private registry.
func WithRegisterer(r prometheus.Registerer) Option { return func(s *Server) { s.reg = r } }

// WithFailFunc makes a listener that fails after Start (not on Stop) call
// fail, so the daemon can shut down; by default it is only logged.
func WithFailFunc(fail func(error)) Option { return func(s *Server) { s.failFn = fail } }

// lifecycle is the state of a Server run as a daemon tier (Start .. Stop).
type lifecycle struct {
	mu       sync.Mutex
	cancel   context.CancelFunc
	done     chan struct{}
	err      error // what Serve returned
	serving  atomic.Bool
	draining atomic.Bool
}

// The methods below make *Server a daemon tier (daemon.Tier): Name,
// Start, Ready, Drain, Stop and Describe. Listen, Serve and
// ListenAndServe remain for running the server on its own.

// Name is the tier's name in logs, metrics and /readyz.
func (s *Server) Name() string { return "sip" }

// Start opens the listeners and serves them in the background until Stop.
// A bad or busy address is returned here; a listener failing later is
// reported to the WithFailFunc function. ctx only bounds start-up: Stop,
// not the daemon's signal, ends the server, after Drain.
func (s *Server) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.Listen(); err != nil {
		return err
	}
	l := &s.life
	l.mu.Lock()
	defer l.mu.Unlock()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel, l.done = cancel, make(chan struct{})
	l.serving.Store(true)
	go func() {
		err := s.Serve(sctx)
		l.serving.Store(false)
		if err != nil && sctx.Err() == nil {
			s.log.Error("redirect: a SIP listener failed", "error", err)
			if s.failFn != nil {
				s.failFn(err)
			}
		}
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
		close(l.done)
	}()
	return nil
}

// Ready is nil while the listeners serve and the server is not draining.
func (s *Server) Ready() error {
	l := &s.life
	if l.serving.Load() {
		if l.draining.Load() {
			return errors.New("draining: new INVITEs are answered 503")
		}
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return fmt.Errorf("a SIP listener failed: %w", l.err)
	}
	if l.done == nil {
		return errors.New("not started")
	}
	return errors.New("stopped")
}

// Drain makes every new INVITE get 503 Service Unavailable with
// Retry-After (the upstream proxy tries its next server) and waits until
// the INVITEs already being decided have been answered (those deferred to
// goroutines of their own too, deferred.go), or ctx ends. The
// listeners stay open, so those answers, and retransmissions' answers, go
// out.
func (s *Server) Drain(ctx context.Context) error {
	s.life.draining.Store(true)
	s.bucket.closed.Store(true)
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for s.inflight.Load() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("redirect: %d INVITEs still being decided when the drain time ran out", s.inflight.Load())
		}
	}
	return nil
}

// Stop closes the listeners and waits for the serving goroutines to end
// or ctx to end.
func (s *Server) Stop(ctx context.Context) error {
	l := &s.life
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel == nil {
		s.closeListeners() // Listen without Start
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.New("redirect: SIP listeners did not close within the shutdown timeout")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil && !errors.Is(l.err, context.Canceled) {
		return l.err
	}
	return nil
}

// Describe lists the bound addresses (ports resolved when configured as
// :0), for the daemon's start-up summary.
func (s *Server) Describe() string {
	var parts []string
	for _, n := range []string{"udp", "tcp", "tls"} {
		if a := s.Addr(n); a != nil {
			parts = append(parts, n+"/"+a.String())
		}
	}
	return strings.Join(parts, " ")
}
