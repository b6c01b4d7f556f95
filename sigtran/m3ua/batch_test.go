package m3ua

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// batchConn is a transport.Conn (and transport.ReadAhead) scripted by the
// test: each batch sent on in is what one read system call would deliver,
// and every WriteMsg is recorded whole, so the test sees how the
// association groups its reads and writes.
type batchConn struct {
	in     chan [][]byte
	cur    [][]byte
	writes chan []byte
	closed chan struct{}
	once   sync.Once
}

func newBatchConn() *batchConn {
	return &batchConn{in: make(chan [][]byte, 16), writes: make(chan []byte, 256), closed: make(chan struct{})}
}

func (c *batchConn) ReadMsg(buf []byte) (int, uint16, error) {
	for len(c.cur) == 0 {
		select {
		case b := <-c.in:
			c.cur = b
		case <-c.closed:
			return 0, 0, io.EOF
		}
	}
	m := c.cur[0]
	c.cur = c.cur[1:]
	return copy(buf, m), 0, nil
}

func (c *batchConn) Buffered() bool { return len(c.cur) > 0 }

func (c *batchConn) WriteMsg(b []byte, stream uint16) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	c.writes <- bytes.Clone(b)
	return nil
}

func (c *batchConn) Close() error        { c.once.Do(func() { close(c.closed) }); return nil }
func (c *batchConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2905} }
func (c *batchConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *batchConn) Streams() uint16 { return 1 }
func (c *batchConn) Network() string { return "tcp" }

// send delivers msgs as one batch.
func (c *batchConn) send(t *testing.T, msgs ...Message) {
	t.Helper()
	var batch [][]byte
	for _, m := range msgs {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, b)
	}
	c.in <- batch
}

// write returns the next write, split into its messages.
func (c *batchConn) write(t *testing.T) []Message {
	t.Helper()
	select {
	case b := <-c.writes:
		var out []Message
		for len(b) > 0 {
			if len(b) < 8 {
				t.Fatalf("%d octets left after the last whole message", len(b))
			}
			n := binary.BigEndian.Uint32(b[4:8])
			m, err := Decode(b[:n])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
			b = b[n:]
		}
		return out
	case <-time.After(3 * time.Second):
		t.Fatal("nothing written")
	}
	return nil
}

// noWrite checks that nothing more is written for a while.
func (c *batchConn) noWrite(t *testing.T) {
	t.Helper()
	select {
	case b := <-c.writes:
		t.Fatalf("unexpected write of %d octets", len(b))
	case <-time.After(50 * time.Millisecond):
	}
}

// echo answers each DATA with its own Protocol Data, OPC and DPC swapped,
// on the reader goroutine, unless hold says to wait for release first.
func echo(hold func(*Data) bool, release <-chan struct{}) Handler {
	return func(a *Association, d *Data) {
		if hold != nil && hold(d) {
			<-release
		}
		_ = a.SendData(d.ProtocolData.Reply(d.ProtocolData.Data)) // a missing answer fails the test

	}
}

// activeBatchAssoc attaches a batchConn to a started SG endpoint and
// brings it to ASP-ACTIVE.
func activeBatchAssoc(t *testing.T, h Handler) (*Endpoint, *Association, *batchConn) {
	t.Helper()
	return activeBatchAssocEnd(t, h, nil)
}

// activeBatchAssocEnd is activeBatchAssoc with a Config.BatchEnd.
func activeBatchAssocEnd(t *testing.T, h Handler, end func(*Association)) (*Endpoint, *Association, *batchConn) {
	t.Helper()
	e := start(t, Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}, HeartbeatInterval: -1,
		AckTimeout: 100 * time.Millisecond, Handler: h, BatchEnd: end})
	c := newBatchConn()
	a := e.attach(c, false)
	if a == nil {
		t.Fatal("not attached")
	}
	c.send(t, &ASPUp{})
	if w := c.write(t); len(w) == 0 || w[0].MessageType() != TypeASPUpAck {
		t.Fatalf("ASP Up answered with %v", w) // the Ack, and the AS state in NTFY
	}
	c.send(t, &ASPActive{RoutingContexts: []uint32{10}})
	for a.State() != ASPStateActive {
		c.write(t) // ASP Active Ack, NTFY
	}
	drainWrites(c)
	return e, a, c
}

func drainWrites(c *batchConn) {
	for {
		select {
		case <-c.writes:
		case <-time.After(20 * time.Millisecond):
			return
		}
	}
}

func dataN(i int) *Data {
	return &Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: ProtocolData{
		OPC: sspPC, DPC: scpPC, SI: SISCCP, NI: NINational, SLS: uint8(i), Data: []byte{byte(i), 0xAB}}}
}

// TestBatchOneWrite: the answers to the messages one read delivered go out
// in one write, in order, once the batch is handled (each takes a
// millisecond, long enough for a writer goroutine to wake up and write the
// first alone); a message alone is answered at once, in a write of its
// own.
func TestBatchOneWrite(t *testing.T) {
	slow := echo(nil, nil)
	_, _, c := activeBatchAssoc(t, func(a *Association, d *Data) {
		time.Sleep(time.Millisecond)
		slow(a, d)
	})
	var batch []Message
	for i := range 10 {
		batch = append(batch, dataN(i))
	}
	c.send(t, batch...)
	w := c.write(t)
	if len(w) != 10 {
		t.Fatalf("the batch of 10 was answered with %d messages in the first write, want all 10 in one", len(w))
	}
	for i, m := range w {
		d, ok := m.(*Data)
		if !ok || d.ProtocolData.Data[0] != byte(i) || d.ProtocolData.SLS != uint8(i) || d.ProtocolData.OPC != scpPC || d.ProtocolData.DPC != sspPC {
			t.Fatalf("answer %d is %+v, want the echo of DATA %d", i, m, i)
		}
	}
	c.noWrite(t)
	c.send(t, dataN(42))
	if w := c.write(t); len(w) != 1 || w[0].(*Data).ProtocolData.Data[0] != 42 {
		t.Fatalf("a lone DATA was answered with %v", w)
	}
}

// TestSendFromOtherGoroutine: DATA sent by a goroutine other than the
// reader, while the reader waits for the network, is written at once.
func TestSendFromOtherGoroutine(t *testing.T) {
	_, a, c := activeBatchAssoc(t, nil)
	if err := a.SendData(dataN(7).ProtocolData); err != nil {
		t.Fatal(err)
	}
	if w := c.write(t); len(w) != 1 || w[0].(*Data).ProtocolData.Data[0] != 7 {
		t.Fatalf("wrote %v", w)
	}
}

// TestReleaseReader: a Handler that does not return holds up nothing once
// the reader is released: a new reader reads and answers what follows,
// the stuck Handler's answer still goes out when it returns, and the old
// reader reads no more.
func TestReleaseReader(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	hold := func(d *Data) bool {
		if d.ProtocolData.Data[0] == 1 {
			entered <- struct{}{}
			return true
		}
		return false
	}
	_, a, c := activeBatchAssoc(t, echo(hold, release))
	if a.ReleaseReader() {
		t.Fatal("released a reader that is waiting for the network")
	}
	c.send(t, dataN(1))
	<-entered
	if !a.ReleaseReader() {
		t.Fatal("the reader stuck in the Handler was not released")
	}
	if a.ReleaseReader() {
		t.Fatal("released twice")
	}
	c.send(t, dataN(2), dataN(3))
	if w := c.write(t); len(w) != 2 || w[0].(*Data).ProtocolData.Data[0] != 2 || w[1].(*Data).ProtocolData.Data[0] != 3 {
		t.Fatalf("the new reader answered %v, want DATA 2 and 3", w)
	}
	close(release)
	if w := c.write(t); len(w) != 1 || w[0].(*Data).ProtocolData.Data[0] != 1 {
		t.Fatalf("the stuck Handler's answer: %v", w)
	}
	c.send(t, dataN(4))
	if w := c.write(t); len(w) != 1 || w[0].(*Data).ProtocolData.Data[0] != 4 {
		t.Fatalf("after the release: %v", w)
	}
	c.noWrite(t)
}

// streamConn serves a script of messages as fast as the reader takes
// them, in batches of batch (Buffered is false after each batch's last),
// and throws the writes away: the association's own cost per message.
type streamConn struct {
	batchConn
	script [][]byte // ASP Up, ASP Active, then DATA repeated
	setup  int      // messages of the script before the DATA
	total  int      // messages to serve in all
	batch  int
	next   int
	start  chan struct{} // closed when the DATA may flow
	wrote  atomic.Int64
}

func (c *streamConn) ReadMsg(buf []byte) (int, uint16, error) {
	if c.next == c.setup {
		<-c.start
	}
	if c.next >= c.total {
		<-c.closed
		return 0, 0, io.EOF
	}
	i := c.next
	if i >= c.setup {
		i = c.setup + (i-c.setup)%(len(c.script)-c.setup)
	}
	c.next++
	return copy(buf, c.script[i]), 0, nil
}

func (c *streamConn) Buffered() bool {
	return c.next > c.setup && c.next < c.total && (c.next-c.setup)%c.batch != 0
}

func (c *streamConn) WriteMsg(b []byte, stream uint16) error {
	c.wrote.Add(int64(len(b)))
	return nil
}

// BenchmarkReaderBatch is the association's cost per DATA received and
// answered on the reader (read framing, decode, Handler, SendData into the
// outbox, one write per batch of 20): no allocation.
func BenchmarkReaderBatch(b *testing.B) {
	var handled atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	h := func(a *Association, d *Data) {
		_ = a.SendData(d.ProtocolData.Reply(d.ProtocolData.Data))
		if handled.Add(1) == n {
			close(done)
		}
	}
	e, err := NewEndpoint(Config{Role: RoleSG, Network: "tcp", Listen: "127.0.0.1:0", RoutingContexts: []uint32{10},
		HeartbeatInterval: -1, AckTimeout: 100 * time.Millisecond, Handler: h, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := &streamConn{batchConn: *newBatchConn(), setup: 2, batch: 20, start: make(chan struct{})}
	for _, m := range []Message{&ASPUp{}, &ASPActive{RoutingContexts: []uint32{10}}} {
		bs, _ := m.MarshalBinary()
		c.script = append(c.script, bs)
	}
	for i := range 20 {
		bs, _ := dataN(i).MarshalBinary()
		c.script = append(c.script, bs)
	}
	c.total = c.setup + b.N
	a := e.attach(c, false)
	for a.State() != ASPStateActive {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	b.ResetTimer()
	close(c.start)
	<-done
	b.StopTimer()
	if c.wrote.Load() == 0 {
		b.Fatal("nothing written")
	}
}

// TestLongBatchWritten: a batch far longer than maxBatch is answered in
// several writes along the way, every answer once, in order.
func TestLongBatchWritten(t *testing.T) {
	_, _, c := activeBatchAssoc(t, echo(nil, nil))
	big := make([]byte, 500)
	var batch []Message
	for i := range 400 {
		d := dataN(i)
		d.ProtocolData.Data = append([]byte{byte(i)}, big...)
		batch = append(batch, d)
	}
	c.send(t, batch...)
	writes, got := 0, 0
	for got < 400 {
		w := c.write(t)
		writes++
		for _, m := range w {
			if d := m.(*Data); d.ProtocolData.Data[0] != byte(got) || len(d.ProtocolData.Data) != 501 {
				t.Fatalf("answer %d: %d octets starting %d", got, len(d.ProtocolData.Data), d.ProtocolData.Data[0])
			}
			got++
		}
	}
	if writes < 2 || got != 400 {
		t.Fatalf("%d answers in %d writes, want 400 in several (over %d octets)", got, writes, maxBatch)
	}
	c.noWrite(t)
}
