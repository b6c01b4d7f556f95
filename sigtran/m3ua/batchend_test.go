package m3ua

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// events records, in order, what the reader calls: "d<n>" for the
// Handler given DATA n, "end" for Config.BatchEnd.
type events struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 1024)} }

func (e *events) add(s string) {
	e.mu.Lock()
	e.got = append(e.got, s)
	e.mu.Unlock()
	e.ch <- struct{}{}
}

// wait returns the events once n have been recorded.
func (e *events) wait(t *testing.T, n int) []string {
	t.Helper()
	for range n {
		select {
		case <-e.ch:
		case <-time.After(3 * time.Second):
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("only %d events of %d: %v", len(e.got), n, e.got)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

// TestBatchEndAfterBatch: BatchEnd is called once per read batch, after
// the Handler has seen each of its messages and before their answers are
// written (the answer a BatchEnd queues goes out in the batch's write).
func TestBatchEndAfterBatch(t *testing.T) {
	ev := newEvents()
	var held []ProtocolData // what the Handler leaves for BatchEnd to answer
	h := func(a *Association, d *Data) {
		ev.add(fmt.Sprintf("d%d", d.ProtocolData.Data[0]))
		pd := d.ProtocolData
		pd.Data = slices.Clone(pd.Data)
		held = append(held, pd)
	}
	end := func(a *Association) {
		for _, pd := range held {
			_ = a.SendData(pd.Reply(pd.Data))
		}
		held = held[:0]
		ev.add("end")
	}
	_, _, c := activeBatchAssocEnd(t, h, end)
	ev.wait(t, 0)
	drain := func() {
		for len(ev.ch) > 0 {
			<-ev.ch
		}
		ev.mu.Lock()
		ev.got = nil
		ev.mu.Unlock()
	}
	drain() // the batch ends of the ASP Up and ASP Active reads
	c.send(t, dataN(0), dataN(1), dataN(2))
	if got, want := ev.wait(t, 4), []string{"d0", "d1", "d2", "end"}; !slices.Equal(got, want) {
		t.Fatalf("reader called %v, want %v", got, want)
	}
	if w := c.write(t); len(w) != 3 {
		t.Fatalf("the answers BatchEnd queued went out in a write of %d messages, want the batch's 3", len(w))
	}
	drain()
	c.send(t, dataN(7))
	if got, want := ev.wait(t, 2), []string{"d7", "end"}; !slices.Equal(got, want) {
		t.Fatalf("reader called %v for a lone DATA, want %v", got, want)
	}
}

// TestBatchEndWhenReaderFails: a reader that loses its association with a
// batch half handled still calls BatchEnd, so what the Handler held back
// is not stranded. Here the connection closes under a long batch, whose
// mid-batch write (over maxBatch octets queued) then fails.
func TestBatchEndWhenReaderFails(t *testing.T) {
	ev := newEvents()
	var c *batchConn
	const n = 70
	h := func(a *Association, d *Data) {
		i := int(d.ProtocolData.Data[0])
		ev.add(fmt.Sprintf("d%d", i))
		big := d.ProtocolData
		big.Data = make([]byte, 1024)
		_ = a.SendData(big.Reply(big.Data))
		if i == 62 {
			c.Close()
		}
	}
	_, a, conn := activeBatchAssocEnd(t, h, func(*Association) { ev.add("end") })
	c = conn
	for len(ev.ch) > 0 {
		<-ev.ch
	}
	ev.mu.Lock()
	ev.got = nil
	ev.mu.Unlock()
	var batch []Message
	for i := range n {
		batch = append(batch, dataN(i))
	}
	c.send(t, batch...)
	got := ev.wait(t, 65) // d0..d63, then the write fails
	if got[63] != "d63" || got[64] != "end" {
		t.Fatalf("reader called ... %v, want d63 then end", got[60:])
	}
	deadline := time.Now().Add(3 * time.Second)
	for a.State() != ASPStateDown && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if a.State() != ASPStateDown {
		t.Fatalf("association %s after its write failed, want down", a.State())
	}
}
