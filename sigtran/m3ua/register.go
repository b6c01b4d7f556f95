package m3ua

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// The dialling side of Routing Key Management (RFC 4666 §4.4.1): an ASP
// or IPSP client with Config.Register sends one REG REQ after ASP Up Ack
// and goes ASP Active only for the routing contexts the peer granted.
// Registration belongs to the association, so a new association (after a
// loss) registers again.

// RegistrationError is why an association failed when the peer refused a
// Routing Key of Config.Register. Endpoint.LastError returns it and the
// error of a WaitActive that times out wraps it (find it with errors.As).
type RegistrationError struct {
	// Key is the refused Routing Key, with the LocalRKID it was sent with.
	Key RoutingKey
	// Status is the peer's Registration Status (never RegStatusSuccess).
	Status RegStatus
}

func (e *RegistrationError) Error() string {
	return fmt.Sprintf("REG REQ refused: local RK %d: %s", e.Key.LocalRKID, e.Status)
}

// validateRegister checks Config.Register and numbers the keys whose
// LocalRKID is 0, so that every Registration Result can be matched to its
// key.
func (c *Config) validateRegister() error {
	if len(c.Register) == 0 {
		return nil
	}
	if c.Listen != "" {
		return errors.New("m3ua: register is for the dialling side (ASP, IPSP client); the accepting side answers REG REQ with Registrar")
	}
	if len(c.RoutingContexts) > 0 {
		return errors.New("m3ua: routing_contexts and register are exclusive: the routing contexts of registered keys are the ones the peer grants")
	}
	used := make(map[uint32]int, len(c.Register))
	for i, k := range c.Register {
		if k.LocalRKID == 0 {
			continue
		}
		if j, dup := used[k.LocalRKID]; dup {
			return fmt.Errorf("m3ua: register: keys %d and %d both use local RK %d", j+1, i+1, k.LocalRKID)
		}
		used[k.LocalRKID] = i
	}
	next := uint32(1)
	for i := range c.Register {
		if c.Register[i].LocalRKID != 0 {
			continue
		}
		for {
			if _, taken := used[next]; !taken {
				break
			}
			next++
		}
		c.Register[i].LocalRKID = next
		used[next] = i
	}
	// Encoding the request now turns a key that can never be sent (a
	// point code over 24 bits, a key too long for one parameter) into a
	// configuration error instead of an association that never comes up.
	if _, err := (&RegReq{Keys: c.Register}).MarshalBinary(); err != nil {
		return fmt.Errorf("m3ua: register: %w", err)
	}
	return nil
}

// cloneKeys copies keys deeply so that the caller's slices are not shared
// with the endpoint.
func cloneKeys(keys []RoutingKey) []RoutingKey {
	if keys == nil {
		return nil
	}
	out := slices.Clone(keys)
	for i := range out {
		out[i].ServiceIndicators = slices.Clone(out[i].ServiceIndicators)
		out[i].OPCs = slices.Clone(out[i].OPCs)
	}
	return out
}

// regReq is the REG REQ of Config.Register (validated at NewEndpoint).
func (a *Association) regReq() *RegReq { return &RegReq{Keys: a.ep.cfg.Register} }

// onRegRsp handles REG RSP on the dialling side. It reports false when no
// REG RSP was awaited (nor is the late answer to a repeated REG REQ),
// which the caller answers with ERR Unexpected Message.
func (a *Association) onRegRsp(m *RegRsp) bool {
	a.mu.Lock()
	if a.client && a.awaiting != awaitRegRsp && a.regRepeats > 0 {
		// The answer to a REG REQ we repeated: already handled.
		a.regRepeats--
		a.mu.Unlock()
		a.ep.log.Debug("m3ua duplicate REG RSP ignored", "assoc", a.id)
		return true
	}
	if !a.client || a.awaiting != awaitRegRsp {
		a.mu.Unlock()
		return false
	}
	// Whatever the outcome, this REG REQ is answered: stop repeating it.
	a.awaiting = awaitNone
	a.mu.Unlock()

	granted, err := a.matchResults(m)
	if err != nil {
		a.fail(err)
		return true
	}
	next := granted
	a.mu.Lock()
	a.registered.Store(&next)
	draining := a.ep.draining.Load()
	if !draining {
		a.awaiting, a.sentAt, a.retries = awaitActiveAck, time.Now(), 0
	}
	a.mu.Unlock()
	a.setRC(granted[0])
	if !draining { // registered, but not to take traffic while draining
		a.sendMgmt(a.aspActive())
	}
	return true
}

// matchResults pairs each key of Config.Register with its Registration
// Result and returns the granted RCs in key order, or why the
// registration failed (every refusal is logged, the first one returned).
func (a *Association) matchResults(m *RegRsp) ([]uint32, error) {
	e := a.ep
	var (
		granted  []uint32
		firstErr error
	)
	for _, k := range e.cfg.Register {
		i := slices.IndexFunc(m.Results, func(r RegResult) bool { return r.LocalRKID == k.LocalRKID })
		var err error
		switch {
		case i < 0:
			err = fmt.Errorf("REG RSP has no Registration Result for local RK %d", k.LocalRKID)
			e.log.Error("m3ua registration failed", "assoc", a.id, "local_rk_id", k.LocalRKID, "err", err)
		case m.Results[i].Status != RegStatusSuccess:
			st := m.Results[i].Status
			err = &RegistrationError{Key: k, Status: st}
			e.log.Error("m3ua registration refused", "assoc", a.id, "local_rk_id", k.LocalRKID, "dpc", k.DPC, "status", st.String())
		case m.Results[i].RoutingContext == 0:
			// RC 0 is the "no RC" of a failed registration (RFC 4666
			// §3.6.2); a success without an RC cannot be used.
			err = fmt.Errorf("REG RSP granted local RK %d routing context 0", k.LocalRKID)
			e.log.Error("m3ua registration failed", "assoc", a.id, "local_rk_id", k.LocalRKID, "err", err)
		default:
			rc := m.Results[i].RoutingContext
			e.log.Info("m3ua registered", "assoc", a.id, "local_rk_id", k.LocalRKID, "dpc", k.DPC, "rc", rc)
			if !slices.Contains(granted, rc) {
				granted = append(granted, rc)
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, r := range m.Results {
		if !slices.ContainsFunc(e.cfg.Register, func(k RoutingKey) bool { return k.LocalRKID == r.LocalRKID }) {
			e.log.Warn("m3ua REG RSP result for a key not requested", "assoc", a.id, "local_rk_id", r.LocalRKID, "status", r.Status.String())
		}
	}
	return granted, firstErr
}
