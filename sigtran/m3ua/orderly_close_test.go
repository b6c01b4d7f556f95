package m3ua

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log destination read while the endpoint writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestOrderlyCloseLogsNoWarning: an ASP that says ASP Down and then closes
// its transport (what every clean `sspsim call` does, and a switch taking
// a link out of service) ends the association in order: the SG logs it at
// Info, not as a lost association at Warn.
func TestOrderlyCloseLogsNoWarning(t *testing.T) {
	logs := &lockedBuffer{}
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10},
		Logger: slog.New(slog.NewTextHandler(logs, nil))}))
	for range 2 {
		asp := start(t, fast(Config{Role: RoleASP, Connect: []string{sg.Addr()}, RoutingContexts: []uint32{10}}))
		waitActive(t, asp, 1)
		waitActive(t, sg, 1)
		asp.Close()
		waitFor(t, "the SG to drop the association", 2*time.Second, func() bool { return len(sg.Associations()) == 0 })
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("orderly ASP Down and close logged a warning:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), `msg="m3ua association closed"`); n != 2 {
		t.Errorf("%d 'association closed' lines for 2 orderly closes:\n%s", n, logs.String())
	}
	if sg.Stats().Losses != 0 {
		t.Errorf("orderly close counted as a loss: %+v", sg.Stats())
	}
}
