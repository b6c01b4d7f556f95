package ssp_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// keyRegistrar grants RC 10 (or the RC the key asks for) to keys for the
// default SCP point code carrying SCCP, refuses other DPCs, and records
// the keys it saw.
type keyRegistrar struct {
	mu   sync.Mutex
	keys []m3ua.RoutingKey
}

func (k *keyRegistrar) decide(_ *m3ua.Association, key m3ua.RoutingKey) (uint32, m3ua.RegStatus) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, key)
	if key.DPC != uint32(ssp.DefaultDPC) || len(key.ServiceIndicators) != 1 || key.ServiceIndicators[0] != m3ua.SISCCP {
		return 0, m3ua.RegStatusInvalidDPC
	}
	if key.HasRoutingContext {
		return key.RoutingContext, m3ua.RegStatusSuccess
	}
	return 10, m3ua.RegStatusSuccess
}

func (k *keyRegistrar) seen() []m3ua.RoutingKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]m3ua.RoutingKey(nil), k.keys...)
}

func TestRegister(t *testing.T) {
	var reg keyRegistrar
	scp, err := ssptest.Start(ssptest.Config{Registrar: reg.decide})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scp.Close() })

	// Without a provisioned RC the SCP side grants one (10, the only RC
	// its SG accepts), and calls go through on it.
	c := dial(t, scp.Addr(), func(cfg *ssp.Config) { cfg.RoutingContexts, cfg.Register = nil, true })
	a, err := c.TerminationAttempt(context.Background(), p01)
	if err != nil || a.Operation != "authorizeTermination" {
		t.Fatalf("answer %+v, %v", a, err)
	}
	keys := reg.seen()
	if len(keys) != 1 || keys[0].DPC != uint32(ssp.DefaultDPC) || keys[0].HasRoutingContext || keys[0].LocalRKID == 0 {
		t.Fatalf("registered %+v", keys)
	}
	// A configured RC is asked for in the key, not sent as a provisioned one.
	c2 := dial(t, scp.Addr(), func(cfg *ssp.Config) { cfg.Register = true })
	if _, err := c2.TerminationAttempt(context.Background(), p01); err != nil {
		t.Fatal(err)
	}
	if keys = reg.seen(); len(keys) != 2 || !keys[1].HasRoutingContext || keys[1].RoutingContext != 10 {
		t.Fatalf("registered %+v", keys)
	}

	// A refused key fails Dial at once, naming the status.
	start := time.Now()
	_, err = ssp.Dial(context.Background(), ssp.Config{Connect: []string{scp.Addr()}, Register: true,
		DPC: sccp.ANSIPointCode(1, 2, 3), ConnectTimeout: 10 * time.Second})
	var re *m3ua.RegistrationError
	if !errors.As(err, &re) || re.Status != m3ua.RegStatusInvalidDPC || !strings.Contains(err.Error(), "REG REQ refused: local RK 1: Error - Invalid DPC") {
		t.Fatalf("Dial: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("Dial took %v to report a refused key", time.Since(start))
	}

	if _, err := ssp.Dial(context.Background(), ssp.Config{Connect: []string{scp.Addr()}, Register: true, RoutingContexts: []uint32{1, 2}}); err == nil ||
		!strings.Contains(err.Error(), "one routing context") {
		t.Fatalf("two RCs with Register: %v", err)
	}
}
