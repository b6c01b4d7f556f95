package m3ua

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Taking an endpoint out of service without losing traffic (a graceful
// shutdown): Drain tells every peer to send its traffic elsewhere (the
// mate SCP) and waits until each has confirmed; the associations stay open
// so that answers to what was received still go out; Flush then waits
// until those answers have reached the peers; Close ends the associations.
//
// The dialling side (ASP, IPSP client) sends ASP Inactive (RFC 4666
// §4.3.4.4) and waits for the ASP Inactive Ack: the SG stops routing to it
// before it acknowledges. The accepting side (SG, IPSP server) declares
// the AS inactive and says so to every ASP with NTFY (AS State Change,
// AS-INACTIVE): the AS is no longer served here, and an ASP with a mate
// sends its traffic there (Endpoint.Send does, on the dialling side). The
// ASPs stay ASP-ACTIVE, so that the answers still due to them are DATA to
// an active ASP as RFC 4666 §4.3.1 wants; while the endpoint drains the AS
// is announced inactive whatever its ASPs do, and an ASP Active is refused
// with ERR "Refused - Management Blocking".
//
// The confirmation is a fence: a BEAT sent after the ASP Inactive or NTFY,
// whose BEAT Ack the peer writes after everything it sent before it read
// them. Once it is back, every query the peer sent while it still routed
// here has been read. On TCP that is exact; on SCTP, whose streams are
// ordered independently, a DATA sent on a data stream just before can
// arrive after the fence; it is delivered and answered like the others as
// long as the association is open. Flush uses the same round trip the
// other way: the BEAT follows the queued answers, so its Ack means the
// peer has read them.
//
// While the endpoint drains, dialling associations are not redialled, one
// that comes up stays ASP-INACTIVE, and DATA still arriving on an
// association in ASP-INACTIVE is delivered to the Handler and may be
// answered with Association.SendData (the peer sent it before it knew).

// fenceMagic starts the Heartbeat Data of a fence BEAT; the periodic
// heartbeat's data is 16 octets, a fence's 20.
const fenceMagic = "fnce"

// Drain takes the endpoint out of service as described above and returns
// once every association's peer has confirmed, or ctx ends (the error then
// says how many did not). Traffic already received is not affected: the
// associations stay open until Close.
func (e *Endpoint) Drain(ctx context.Context) error {
	if !e.draining.Swap(true) {
		e.log.Info("m3ua draining: telling every peer to route elsewhere")
		if e.serverSide() {
			e.mu.Lock()
			ns := e.updateASLocked() // AS-INACTIVE, announced to every ASP up
			e.mu.Unlock()
			flush(ns)
		}
	}
	return e.eachAssociation(ctx, "not confirmed the deactivation", (*Association).drain)
}

// Draining reports whether Drain was called.
func (e *Endpoint) Draining() bool { return e.draining.Load() }

// Flush waits until everything queued on every association so far has
// been written and read by the peer (a BEAT round trip behind it), or ctx
// ends.
func (e *Endpoint) Flush(ctx context.Context) error {
	return e.eachAssociation(ctx, "not confirmed receipt of the answers", (*Association).roundTrip)
}

// eachAssociation runs f on every open association at once and reports
// those for which it failed.
func (e *Endpoint) eachAssociation(ctx context.Context, what string, f func(*Association, context.Context) error) error {
	e.mu.Lock()
	list := make([]*Association, 0, len(e.assocs))
	for _, a := range e.assocs {
		list = append(list, a)
	}
	e.mu.Unlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, a := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(a, ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("association %d (%s): %w", a.id, a.conn.RemoteAddr(), err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("m3ua: %d of %d associations have %s: %w", len(errs), len(list), what, errors.Join(errs...))
	}
	return nil
}

// drain deactivates one association (dialling side; the accepting side
// announced the AS inactive already) and waits for the fence.
func (a *Association) drain(ctx context.Context) error {
	if a.client {
		if err := a.deactivate(ctx); err != nil {
			return err
		}
	}
	if a.State() == ASPStateDown {
		return nil // no traffic is accepted before ASP Up: nothing to wait for
	}
	return a.roundTrip(ctx)
}

// deactivate sends ASP Inactive (dialling side) and waits for its Ack,
// repeated like ASP Active (AckTimeout, AckRetries); an SG that never
// answers is given up on (the fence still follows).
func (a *Association) deactivate(ctx context.Context) error {
	a.mu.Lock()
	if a.State() != ASPStateActive && a.awaiting != awaitActiveAck && a.awaiting != awaitInactiveAck {
		// Not active, and not about to be: the ASP Up Ack and REG RSP
		// handlers see the endpoint draining and stop there.
		a.mu.Unlock()
		return nil
	}
	send := a.awaiting != awaitInactiveAck // else a Drain before is waiting too
	if send {
		a.awaiting, a.sentAt, a.retries = awaitInactiveAck, time.Now(), 0
		a.inactiveAcked = make(chan struct{})
	}
	// Taken now: the Ack may arrive (and clear the field) before the wait.
	acked := a.inactiveAcked
	a.mu.Unlock()
	if send {
		a.ep.log.Info("m3ua sending ASP Inactive", "assoc", a.id, "remote", a.conn.RemoteAddr().String())
		a.sendMgmt(a.aspInactive())
	}
	select {
	case <-acked:
		return nil
	case <-a.done:
		return nil // gone: nothing more arrives on it
	case <-ctx.Done():
		return fmt.Errorf("no ASP Inactive Ack: %w", ctx.Err())
	}
}

func (a *Association) aspInactive() *ASPInactive {
	return &ASPInactive{RoutingContexts: a.aspActive().RoutingContexts}
}

// inactiveAckReceived ends a deactivate wait (or its repetition giving up).
// a.mu must be held.
func (a *Association) inactiveAckReceivedLocked() {
	a.awaiting = awaitNone
	if a.inactiveAcked != nil {
		close(a.inactiveAcked)
		a.inactiveAcked = nil
	}
}

// roundTrip sends a fence BEAT behind whatever is queued and waits for its
// Ack. An association that goes meanwhile ends the wait without error:
// nothing more can be received or delivered on it.
func (a *Association) roundTrip(ctx context.Context) error {
	a.mu.Lock()
	a.fenceSeq++
	seq := a.fenceSeq
	ch := make(chan struct{})
	if a.fences == nil {
		a.fences = make(map[uint64]chan struct{})
	}
	a.fences[seq] = ch
	a.mu.Unlock()
	data := make([]byte, 20)
	copy(data, fenceMagic)
	binary.BigEndian.PutUint64(data[4:], a.id)
	binary.BigEndian.PutUint64(data[12:], seq)
	a.sendMgmt(&Beat{Data: data})
	defer func() {
		a.mu.Lock()
		delete(a.fences, seq)
		a.mu.Unlock()
	}()
	select {
	case <-ch:
		return nil
	case <-a.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no BEAT Ack to the fence: %w", ctx.Err())
	}
}

// fenceAcked reports whether a BEAT Ack answers one of our fences, and
// releases its waiter.
func (a *Association) fenceAcked(data []byte) bool {
	if len(data) != 20 || string(data[:4]) != fenceMagic || binary.BigEndian.Uint64(data[4:]) != a.id {
		return false
	}
	seq := binary.BigEndian.Uint64(data[12:])
	a.mu.Lock()
	if ch, ok := a.fences[seq]; ok {
		close(ch)
		delete(a.fences, seq)
	}
	a.mu.Unlock()
	return true
}
