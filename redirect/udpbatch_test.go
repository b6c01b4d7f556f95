package redirect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/keys"
	"callgate/policy"
)

// fakeIO is a batchIO serving prepared batches (then net.ErrClosed, which
// ends readLoop) and recording what is written and how many datagrams each
// read was offered.
type fakeIO struct {
	mu      sync.Mutex
	batches [][]string
	offered []int
	writes  [][]string
	fail    string // a response containing this fails to send
}

var fakeSrc = netip.MustParseAddrPort("10.0.0.1:5060")

func (f *fakeIO) read(in []datagram) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offered = append(f.offered, len(in))
	if len(f.batches) == 0 {
		return 0, net.ErrClosed
	}
	b := f.batches[0]
	n := min(len(b), len(in))
	for i := range n {
		in[i].n = copy(in[i].buf, b[i])
		in[i].src = fakeSrc
	}
	if n == len(b) {
		f.batches = f.batches[1:]
	} else {
		f.batches[0] = b[n:]
	}
	return n, nil
}

func (f *fakeIO) write(out []outgoing) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != "" && strings.Contains(string(out[0].data), f.fail) {
		return 0, errors.New("no route to host")
	}
	var w []string
	for _, o := range out {
		if f.fail != "" && strings.Contains(string(o.data), f.fail) {
			break // sendmmsg stops before the message that fails
		}
		w = append(w, string(o.data))
	}
	f.writes = append(f.writes, w)
	return len(w), nil
}

func (f *fakeIO) sent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, w := range f.writes {
		n += len(w)
	}
	return n
}

// runBatches answers the batches through readLoop and returns what was
// written, one slice per write.
func runBatches(t *testing.T, s *Server, io *fakeIO) [][]string {
	t.Helper()
	b := newUDPBatch(s, udpBatchSize)
	b.io = io
	if err := s.readLoop(b); err != nil {
		t.Fatalf("readLoop: %v", err)
	}
	return io.writes
}

func callIDOf(t *testing.T, response string) string {
	t.Helper()
	for _, line := range strings.Split(response, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Call-ID: "); ok {
			return v
		}
	}
	t.Fatalf("no Call-ID in %q", response)
	return ""
}

// TestUDPBatchAnswersInOrder: a batch's responses go out in one write, in
// the order of their requests, each the one handleDatagram gives alone.
func TestUDPBatchAnswersInOrder(t *testing.T) {
	s := benchServer(t)
	var batch []string
	for i, name := range []string{"allow", "block", "screen", "allow"} {
		batch = append(batch, strings.Replace(benchInvites[name], "Call-ID: b-", fmt.Sprintf("Call-ID: %d-b-", i), 1))
	}
	batch = append(batch, "\r\n\r\n") // a keep-alive: no answer
	io := &fakeIO{batches: [][]string{batch}}
	writes := runBatches(t, s, io)
	if len(writes) != 1 || len(writes[0]) != 4 {
		t.Fatalf("writes %d of %v responses, want one of 4", len(writes), len(writes[0]))
	}
	for i, res := range writes[0] {
		want, _, _ := s.handleDatagram(newUDPReader(), []byte(batch[i]), fakeSrc)
		if res != string(want) {
			t.Errorf("response %d in the batch:\n%s\nalone:\n%s", i, res, want)
		}
	}
	if st := s.Stats(); st.UDPReads != 1 || st.UDPDatagrams != 5 {
		t.Errorf("reads %d datagrams %d, want 1 and 5", st.UDPReads, st.UDPDatagrams)
	}
}

// recordingEnroller notes how many responses had been sent when it was
// asked.
type recordingEnroller struct {
	io         *fakeIO
	sentBefore int
}

func (e *recordingEnroller) Enrol(netip.Addr, e164.Number, e164.Number) (keys.Enrolment, error) {
	e.sentBefore = e.io.sent()
	return keys.Enrolment{Onward: "sip:+13035550100@carrier.example"}, nil
}

// TestUDPBatchFlushBeforeWait: the responses a reader holds go out before a
// step that may wait (here an enrolment, which writes the store), not
// after it; the rest of the batch follows in the next write.
func TestUDPBatchFlushBeforeWait(t *testing.T) {
	io := &fakeIO{}
	en := &recordingEnroller{io: io}
	s, err := New(testConfig(), constDecider{newFakeDecider()}, WithEnroller("enrol", en))
	if err != nil {
		t.Fatal(err)
	}
	enrol := req{ruri: "sip:enrol@callgate.example", to: "<sip:+13035550100@carrier.example;user=phone>",
		from: "<sip:+12125550101@initech.example;user=phone>;tag=e1", callID: "enrol@test"}.String()
	io.batches = [][]string{{benchInvites["allow"], enrol, benchInvites["block"]}}
	writes := runBatches(t, s, io)
	if en.sentBefore != 1 {
		t.Errorf("%d responses sent when the enrolment ran, want 1 (the one before it)", en.sentBefore)
	}
	if len(writes) != 2 || len(writes[0]) != 1 || len(writes[1]) != 2 {
		t.Fatalf("writes %q, want [allow] then [enrol, block]", writes)
	}
	for i, want := range []string{"b-allow@test", "enrol@test", "b-block@test"} {
		got := append(append([]string(nil), writes[0]...), writes[1]...)
		if id := callIDOf(t, got[i]); id != want {
			t.Errorf("response %d is for %s, want %s", i, id, want)
		}
	}
	// The slots' buffers stayed distinct through the flush mid-batch.
	b := newUDPBatch(s, 4)
	b.io = &fakeIO{batches: [][]string{{benchInvites["allow"], enrol, benchInvites["screen"], benchInvites["block"]}}}
	en.io = b.io.(*fakeIO)
	if err := s.readLoop(b); err != nil {
		t.Fatal(err)
	}
	seen := map[*byte]bool{}
	for _, buf := range b.bufs {
		p := &buf[:1][0]
		if seen[p] {
			t.Fatal("two response slots share a buffer")
		}
		seen[p] = true
	}
}

// TestUDPBatchSendError: a response the socket refuses is counted and
// lost; the others of its batch still go.
func TestUDPBatchSendError(t *testing.T) {
	s := benchServer(t)
	io := &fakeIO{batches: [][]string{{benchInvites["allow"], benchInvites["block"], benchInvites["screen"]}}, fail: "b-block@test"}
	writes := runBatches(t, s, io)
	var ids []string
	for _, w := range writes {
		for _, r := range w {
			ids = append(ids, callIDOf(t, r))
		}
	}
	if strings.Join(ids, " ") != "b-allow@test b-screen@test" {
		t.Errorf("sent %v, want the allow and screen responses", ids)
	}
	if st := s.Stats(); st.SendErrors != 1 {
		t.Errorf("SendErrors %d, want 1", st.SendErrors)
	}
}

// slowDecider takes its time over one caller's calls.
type slowDecider struct {
	policy.Decider
	caller e164.Number
	wait   time.Duration
}

func (d slowDecider) Decide(ctx context.Context, c policy.Call) policy.Decision {
	if c.Calling == d.caller {
		time.Sleep(d.wait)
	}
	return d.Decider.Decide(ctx, c)
}

// TestUDPBatchSlowDecision: after a decision that waited (and so held up
// the rest of its batch), the reader reads one datagram at a time, so a
// datagram that waits again holds up only itself.
func TestUDPBatchSlowDecision(t *testing.T) {
	d := slowDecider{Decider: constDecider{newFakeDecider()}, caller: unknownCall, wait: 2 * waitLimit}
	s, err := New(testConfig(), d)
	if err != nil {
		t.Fatal(err)
	}
	io := &fakeIO{batches: [][]string{
		{benchInvites["allow"], benchInvites["block"]},
		{benchInvites["screen"], benchInvites["allow"]}, // screen: the unknown caller, slow
		{benchInvites["block"], benchInvites["allow"]},
	}}
	runBatches(t, s, io)
	// Offered: a whole batch, a whole batch (the slow one), then one
	// datagram per read: block, allow, and the read that ends the loop.
	want := []int{udpBatchSize, udpBatchSize, 1, 1, 1}
	if fmt.Sprint(io.offered) != fmt.Sprint(want) {
		t.Errorf("datagrams offered per read %v, want %v", io.offered, want)
	}
	if n := io.sent(); n != 6 {
		t.Errorf("%d responses, want 6", n)
	}
}

// TestStatelessUDPBurst: datagrams queued on the socket before the readers
// start are read in batches (recvmmsg on Linux) and each gets its own
// answer, sent to its own source.
func TestStatelessUDPBurst(t *testing.T) {
	s, err := New(testConfig(), newFakeDecider())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	srv := s.Addr("udp").(*net.UDPAddr)
	const n = 100
	clients := make([]*net.UDPConn, 4)
	for i := range clients {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	want := map[string]int{} // Call-ID -> status
	for i := range n {
		c := clients[i%len(clients)]
		callID := fmt.Sprintf("burst-%d@test", i)
		r := req{callID: callID, via: fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-burst%d;rport", c.LocalAddr().(*net.UDPAddr).Port, i)}
		want[callID] = 302
		if i%3 == 1 {
			r.from = "<sip:+12125550102@sbc.example;user=phone>;tag=b"
			want[callID] = 603
		}
		if _, err := c.WriteToUDP([]byte(r.String()), srv); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	for i, c := range clients {
		for range n / len(clients) {
			res := readResponse(t, c, 5*time.Second)
			if res == nil {
				t.Fatalf("client %d: missing responses", i)
			}
			id := string(*res.CallID())
			if res.StatusCode != want[id] || res.CSeq().MethodName != sip.INVITE {
				t.Errorf("%s: %d, want %d", id, res.StatusCode, want[id])
			}
			if res.Via().Params.Has("rport") {
				if p, _ := res.Via().Params.Get("rport"); p != fmt.Sprint(c.LocalAddr().(*net.UDPAddr).Port) {
					t.Errorf("%s: rport %s, want the client's port", id, p)
				}
			}
			delete(want, id)
		}
	}
	if len(want) != 0 {
		t.Errorf("unanswered: %v", want)
	}
	st := s.Stats()
	if st.UDPDatagrams != n {
		t.Errorf("datagrams %d, want %d", st.UDPDatagrams, n)
	}
	if runtime.GOOS == "linux" && st.UDPReads > (n+udpBatchSize-1)/udpBatchSize {
		t.Errorf("%d reads for %d queued datagrams: not batched", st.UDPReads, n)
	}
}

// TestStatelessUDPDualStack: a dual-stack socket answers an IPv4 client
// (the source arrives IPv4-mapped) at its IPv4 address.
func TestStatelessUDPDualStack(t *testing.T) {
	cfg := testConfig()
	cfg.UDP, cfg.TCP = "[::]:0", ""
	s, err := New(cfg, newFakeDecider())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Skipf("no dual-stack socket here: %v", err) // IPv6 disabled in this kernel
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := s.Addr("udp").(*net.UDPAddr).Port
	if _, err := c.WriteToUDP([]byte(req{via: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-ds;rport"}.String()), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		t.Fatal(err)
	}
	res := readResponse(t, c, 5*time.Second)
	if res == nil {
		t.Fatal("no response over the dual-stack socket")
	}
	if got, _ := res.Via().Params.Get("received"); got != "127.0.0.1" {
		t.Errorf("received=%q, want 127.0.0.1", got)
	}
}
