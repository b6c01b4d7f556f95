package redirect

import (
	"context"
	"net/netip"
	"testing"

	"callgate/e164"
	"callgate/policy"
)

// blockOutgoing refuses originating calls to one number and lets the rest
// through, like the engine's originating chain for a locked line.
type blockOutgoing struct {
	*fakeDecider
	barred e164.Number
}

func (b blockOutgoing) Decide(ctx context.Context, c policy.Call) policy.Decision {
	dec := b.fakeDecider.Decide(ctx, c)
	if c.Direction == policy.DirectionOriginating {
		if c.Called == b.barred {
			return policy.Decision{Action: policy.ActionBlock}
		}
		return policy.Decision{Action: policy.ActionAllow}
	}
	return dec
}

// An INVITE from an originating trunk is asked as an outgoing call (its
// calling line, the dialled number) and gets 302 or 603; the same INVITE
// from elsewhere is an incoming call.
func TestOriginatingTrunks(t *testing.T) {
	eachMode(t, func(t *testing.T, m testMode) {
		london := e164.MustParse("+442079460000")
		d := blockOutgoing{fakeDecider: newFakeDecider(), barred: london}
		cfg := m.config()
		cfg.OriginatingSources = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		s := startServer(t, cfg, d)
		c := newUDPClient(t, s)
		from := "<sip:+13035550100@pbx.example;user=phone>;tag=o1"

		res := c.exchange(req{ruri: "sip:+442079460000@callgate.example;user=phone", from: from}.String())
		if res.StatusCode != 603 {
			t.Fatalf("barred outgoing call: %d, want 603", res.StatusCode)
		}
		got := d.lastCall()
		if got.Direction != policy.DirectionOriginating || got.Calling != subscriber || got.Called != london {
			t.Fatalf("engine asked %+v", got)
		}
		// Abroad as the line dialled it: operator-assisted (01 + CC) and
		// through a carrier access code (101XXXX + 011 + CC).
		for _, dialled := range []string{"01442079460000", "1010288011442079460000", "tel:101-0288-01-44-20-7946-0000"} {
			ruri := "sip:" + dialled + "@callgate.example;user=phone"
			if dialled[0] == 't' {
				ruri = dialled
			}
			if res := c.exchange(req{ruri: ruri, from: from}.String()); res.StatusCode != 603 {
				t.Fatalf("barred outgoing call dialled %s: %d, want 603", dialled, res.StatusCode)
			}
		}
		res = c.exchange(req{ruri: "sip:+17205550123@callgate.example;user=phone", from: from}.String())
		if res.StatusCode != 302 || contactURI(t, res).User != "+17205550123" {
			t.Fatalf("allowed outgoing call: %d %s", res.StatusCode, res)
		}
	})
	// Not from a trunk: an incoming call, whatever it looks like.
	d := newFakeDecider()
	cfg := testConfig()
	cfg.OriginatingSources = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	s := startServer(t, cfg, d)
	newUDPClient(t, s).exchange(req{ruri: "sip:+442079460000@callgate.example;user=phone"}.String())
	if got := d.lastCall(); got.Direction != policy.DirectionTerminating {
		t.Fatalf("INVITE from a non-trunk asked as %v", got.Direction)
	}
	// An incoming call's Request-URI is a number, not a dialling string.
	if res := newUDPClient(t, s).exchange(req{ruri: "sip:01442079460000@callgate.example;user=phone"}.String()); res.StatusCode != 404 {
		t.Fatalf("incoming call to a dialling string: %d, want 404", res.StatusCode)
	}
	if n := testing.AllocsPerRun(100, func() { s.originating("127.0.0.1:5099") }); n != 0 {
		t.Fatalf("originating allocates %v", n)
	}
}
