package scp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The SCP as a daemon tier (daemon.Tier): Name, Start, Ready, Drain, Stop,
// Describe; Shutdown is Drain then Stop.
//
// A graceful shutdown loses no query the switches sent before they learnt
// that this SCP is leaving:
//
//  1. Drain tells the switches to move their queries to the mate SCP
//     (m3ua.Endpoint.Drain): as an ASP (or IPSP dialling out) with ASP
//     Inactive to the SG; as an SG (or IPSP accepting) with NTFY
//     AS-INACTIVE to every switch, whose ASP stays ASP-ACTIVE for the
//     answers still due, a new ASP Active being refused. Each switch
//     confirms (the ASP Inactive Ack, then a BEAT round trip as a fence):
//     every query it sent before it knew has then been read.
//  2. Drain waits until every query read is answered: those queued for
//     the workers (the backlog) and those being decided. Answers still go
//     out (an ASP may send them in ASP-INACTIVE while it drains), and a
//     query that arrives anyway is answered the same way until Stop.
//  3. Drain waits until the answers have reached the switches (another
//     BEAT round trip behind them), then returns.
//  4. Stop closes the associations in order (an ASP says ASP Down; an SG
//     tells each switch with an ASP Down Ack) and stops the workers.
const (
	stateNew int32 = iota
	stateStarted
	stateDraining // Drain called; the associations are still open
	stateStopped
)

// Name is the tier's name for the daemon's logs.
func (s *Service) Name() string { return "scp" }

// Start starts the workers and the M3UA endpoint (listening, or dialling
// in the background). It returns once the endpoint listens or dials. The
// service runs until Drain and Stop; ctx only bounds start-up.
func (s *Service) Start(ctx context.Context) error {
	if !s.state.CompareAndSwap(stateNew, stateStarted) {
		return errors.New("scp: already started")
	}
	if err := ctx.Err(); err != nil {
		s.state.Store(stateStopped)
		return err
	}
	for i, w := range s.workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runWorker(w, s.queues[i], &s.busy[i])
		}()
	}
	s.stopTic = make(chan struct{})
	s.wg.Add(1)
	go s.ticker()
	// The endpoint gets its own context: Drain and Stop, not the daemon's
	// signal, decide when it stops, after in-flight queries are answered.
	if err := s.ep.Start(context.WithoutCancel(ctx)); err != nil {
		s.state.Store(stateStopped) // Stop has nothing left to do
		s.stopBackground()
		return fmt.Errorf("scp: %w", err)
	}
	s.log.Info("scp started", "role", s.cfg.Role.String(), "network", s.cfg.Network, "listen", s.ep.Addr(),
		"connect", s.cfg.Connect, "point_code", s.cfg.PointCode.Format(s.cfg.Variant), "ssn", s.cfg.SSN,
		"variant", s.cfg.Variant.String(), "workers", len(s.workers), "time_budget", s.cfg.TimeBudget.String(),
		"capacity", s.cfg.Overload.Capacity, "home_area", s.cfg.HomeArea.String(), "home_npa", s.cfg.HomeNPA.String())
	return nil
}

// dials reports whether the SCP reaches its switches by dialling an SG or
// peer (ASP, IPSP client) rather than accepting them.
func (s *Service) dials() bool { return s.cfg.Listen == "" }

// Ready reports whether the SCP serves: nil, or why not.
//
// Dialling (ASP, IPSP client): ready only with at least one association
// ASP-ACTIVE, since until then no query can reach it (the error names the
// peers and why the last association went). Accepting (SG, IPSP server):
// ready while it listens, with or without a switch attached: switches
// connect to a ready SCP, so requiring one first would keep an SCP behind
// a health-checked address from ever becoming ready, and a listening SG
// serves the first switch that comes. Never ready before Start or once
// Drain began.
func (s *Service) Ready() error {
	switch s.state.Load() {
	case stateNew:
		return errors.New("scp: not started")
	case stateDraining:
		return errors.New("scp: draining: the switches are told to use the mate SCP")
	case stateStopped:
		return errors.New("scp: stopped")
	}
	if !s.dials() {
		return nil
	}
	if n := s.ep.ActiveCount(); n > 0 {
		return nil
	}
	err := fmt.Errorf("scp: no M3UA association active towards %v", s.cfg.Connect)
	if last := s.ep.LastError(); last != nil {
		err = fmt.Errorf("%w (last association lost: %w)", err, last)
	}
	return err
}

// Addr returns the listening address (server roles, after Start).
func (s *Service) Addr() string { return s.ep.Addr() }

// Describe says where the SCP listens or which peers it dials, for the
// daemon's start-up summary.
func (s *Service) Describe() string {
	if a := s.ep.Addr(); a != "" {
		return fmt.Sprintf("m3ua %s/%s %s", s.cfg.Network, a, s.cfg.Role)
	}
	return fmt.Sprintf("m3ua %s -> %v %s", s.cfg.Network, s.cfg.Connect, s.cfg.Role)
}

// ActiveAssociations returns the number of ASP-active associations.
func (s *Service) ActiveAssociations() int { return s.ep.ActiveCount() }

// WaitActive waits until n associations are ASP-active.
func (s *Service) WaitActive(ctx context.Context, n int) error { return s.ep.WaitActive(ctx, n) }

// Drain stops taking new queries, has the switches move them to the mate
// SCP, and returns once every query received has been answered and the
// answers have reached the switches (steps 1-3 above), or ctx ends (the
// error says what was left). The associations stay open until Stop.
// Calling it again, or before Start, does nothing.
func (s *Service) Drain(ctx context.Context) error {
	if !s.state.CompareAndSwap(stateStarted, stateDraining) {
		return nil
	}
	start := time.Now()
	s.log.Info("scp draining: taking the M3UA associations out of service", "associations", len(s.ep.Associations()),
		"pending", s.pending.Load())
	var errs []error
	if err := s.ep.Drain(ctx); err != nil {
		errs = append(errs, fmt.Errorf("scp: %w", err))
	}
	if err := s.waitAnswered(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.ep.Flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("scp: %w", err))
	}
	s.log.Info("scp drained", "took", time.Since(start).Round(time.Millisecond).String(), "complete", len(errs) == 0)
	return errors.Join(errs...)
}

// waitAnswered waits until no query is queued for or held by a worker, nor
// being decided by a reader. (What the readers decide inline is answered
// before they read the fence of Drain, except a query a reader was
// released from, inline.go: that one is waited for here.)
func (s *Service) waitAnswered(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for s.pending.Load() > 0 || s.inlineBusy() > 0 || s.deferred.Load() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("scp: %d queries still waiting when the shutdown timeout expired", s.pending.Load()+int64(s.inlineBusy())+s.deferred.Load())
		}
	}
	return nil
}

// Stop closes the M3UA associations (an ASP sends ASP Down first) and
// stops the workers; without Drain, queries in flight may go unanswered.
// ctx bounds it; on expiry the rest is abandoned and the error says so.
func (s *Service) Stop(ctx context.Context) error {
	switch s.state.Swap(stateStopped) {
	case stateNew:
		s.ep.Close() // nothing started; keep New's endpoint from being started later
		return nil
	case stateStopped:
		return nil
	}
	closed := make(chan struct{})
	go func() {
		s.ep.Close()
		close(closed)
	}()
	var err error
	select {
	case <-closed:
		// No reader runs any more: nothing can queue a job now.
		s.stopBackground()
	case <-ctx.Done():
		err = errors.New("scp: M3UA associations not closed within the shutdown timeout")
	}
	s.log.Info("scp stopped", "open_dialogues", s.tx.Len())
	return err
}

// Shutdown is Drain then Stop, for callers that do both at once.
func (s *Service) Shutdown(ctx context.Context) error {
	return errors.Join(s.Drain(ctx), s.Stop(ctx))
}

func (s *Service) stopBackground() {
	for _, q := range s.queues {
		close(q)
	}
	close(s.stopTic)
	s.wg.Wait()
	s.deferWG.Wait() // readers and workers, which defer queries, have returned
}
