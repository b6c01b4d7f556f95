package scp

import (
	"testing"
	"time"

	"callgate/policy"
	"callgate/sigtran/m3ua"
)

// FuzzHandle feeds arbitrary SCCP user data through the whole receive path
// (SCCP, TCAP transaction layer, AIN decoding, translation, answer
// encoding): it must never panic, and anything it sends must be a message
// the SCCP decoder accepts.
func FuzzHandle(f *testing.F) {
	for _, id := range []string{"P-01Q", "P-02Q", "P-03Q", "P-04Q", "P-05Q", "P-06Q", "P-07Q"} {
		var d m3ua.Data
		if err := d.UnmarshalBinary(vectorM3UA(f, id)); err != nil {
			f.Fatal(err)
		}
		f.Add(d.ProtocolData.Data, uint8(0))
	}
	f.Add([]byte{0x09, 0x80, 0x03, 0x08, 0x0d, 0x05, 0xc3, 0xf7, 0x14, 0x02, 0xf4, 0x05, 0xc3, 0xf9, 0x0a, 0x01, 0xf4, 0x02, 0xe2, 0x00}, uint8(1))
	f.Add([]byte{0x11, 0x81, 0x0f, 0x04, 0x0a, 0x10, 0x00}, uint8(2))
	cfg := testConfig()
	cfg.Overload.Capacity = 10
	h := newHarness(f, cfg, decideFunc(func(_ ctxT, c policy.Call) policy.Decision {
		d := policy.Decision{Action: policy.Action(uint8(c.Called)%7 + 1)}
		d.Route.RoutingNumber = 13035559999
		d.Announcement = uint32(c.Calling % 70000)
		return d
	}))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		pd := m3ua.ProtocolData{OPC: uint32(sspPC), DPC: uint32(scpPC), SI: m3ua.SISCCP, NI: 2, SLS: 1, Data: data}
		why := safeNone
		if mode%3 == 1 {
			why = safeBacklog
		}
		h.s.handle(h.w, h.out, &pd, time.Now(), why)
		h.out.mu.Lock()
		sent := h.out.sent
		h.out.sent = nil
		h.out.mu.Unlock()
		for _, s := range sent {
			decodeAnswerOrUDTS(t, s)
		}
	})
}
