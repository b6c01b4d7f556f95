package m3ua

import (
	"testing"
	"time"
)

// SendVia names the association that took the DATA: the one to the SG
// that then receives it, so a switch can keep its accounts per SCP.
func TestSendViaNamesTheAssociation(t *testing.T) {
	d1, d2 := make(chan received, 16), make(chan received, 16)
	sg1 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Handler: collector(d1)}))
	sg2 := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Handler: collector(d2)}))
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg1.Addr(), sg2.Addr()}}))
	waitActive(t, asp, 2)
	for sls := range uint8(8) {
		a, err := asp.SendVia(ProtocolData{SI: 3, SLS: sls})
		if err != nil || a == nil {
			t.Fatalf("SendVia: %v, %v", a, err)
		}
		want := map[string]chan received{sg1.Addr(): d1, sg2.Addr(): d2}[a.RemoteAddr().String()]
		if want == nil {
			t.Fatalf("SendVia names an association to %v, not to either SG", a.RemoteAddr())
		}
		select {
		case <-want:
		case <-time.After(3 * time.Second):
			t.Fatalf("DATA with SLS %d did not reach %v, the SG SendVia named", sls, a.RemoteAddr())
		}
	}
	sg1.Close()
	sg2.Close()
	waitFor(t, "no association left", 2*time.Second, func() bool { return asp.ActiveCount() == 0 })
	if a, err := asp.SendVia(ProtocolData{SI: 3}); a != nil || err != ErrNoActiveAssociation {
		t.Fatalf("SendVia without an association: %v, %v", a, err)
	}
}
