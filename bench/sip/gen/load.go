package main

import (
	"container/heap"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// config is one generator run.
type config struct {
	target   string        // server "ip:port"
	ruriUser string        // Request-URI user; "" = the called number (see remote)
	localIP  string        // address the sockets bind to
	rate     float64       // calls per second
	calls    int           // calls to place
	offset   int           // first line of the injection file to use
	sockets  int           // UDP sockets, used in turn, tick by tick
	batch    int           // messages per sendmmsg/recvmmsg
	tick     time.Duration // pacing: the calls due are sent every tick
	t1       time.Duration // first INVITE retransmission (Timer A), doubling
	timeout  time.Duration // a call without a final answer by then fails
	ack      bool          // ACK every final response (uac-mix.xml does)
	id       string        // names this instance's calls (Call-ID, tags, branch)
	sockBufs int           // SO_RCVBUF/SO_SNDBUF
}

// Call states.
const (
	pending  uint32 = iota // sent, no final answer yet
	answered               // first final answer received
	timedOut               // no final answer within the timeout
)

// batchConn is the batch I/O of x/net's ipv4 and ipv6 PacketConns
// (recvmmsg/sendmmsg on Linux).
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

type sock struct {
	conn *net.UDPConn
	bc   batchConn
	l    local
}

// gen is one run: a sender goroutine paces the INVITEs and retransmits,
// one receiver per socket counts the answers and sends the ACKs.
type gen struct {
	cfg    config
	specs  []callSpec
	server *net.UDPAddr
	remote remote
	socks  []*sock
	start  time.Time

	sent  []atomic.Int64  // first send of each call, ns since start
	state []atomic.Uint32 // pending, answered, timedOut
	sock  []uint8         // the socket each call uses (sender only)
}

func newGen(cfg config, specs []callSpec) (*gen, error) {
	switch {
	case cfg.rate <= 0:
		return nil, fmt.Errorf("rate %g: want calls per second above 0", cfg.rate)
	case cfg.calls < 1:
		return nil, fmt.Errorf("calls %d: want at least 1", cfg.calls)
	case cfg.sockets < 1 || cfg.sockets > 255:
		return nil, fmt.Errorf("sockets %d: want 1..255", cfg.sockets)
	case cfg.batch < 1 || cfg.batch > 1024:
		return nil, fmt.Errorf("batch %d: want 1..1024", cfg.batch)
	case cfg.tick <= 0 || cfg.t1 <= 0 || cfg.timeout <= 0:
		return nil, errors.New("tick, t1 and timeout must be above 0")
	case cfg.offset < 0:
		return nil, fmt.Errorf("offset %d: want 0 or more", cfg.offset)
	case cfg.ruriUser != "" && !validRURIUser(cfg.ruriUser):
		return nil, fmt.Errorf("ruri-user %q: want 1-64 letters, digits, '-', '_', '.' or '+' (e.g. enrol, the server's keys.sip_enrolment_user), or \"\" for the called number", cfg.ruriUser)
	}
	server, err := net.ResolveUDPAddr("udp", cfg.target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", cfg.target, err)
	}
	g := &gen{cfg: cfg, specs: specs, server: server, remote: remote{addr: cfg.target, ruriUser: cfg.ruriUser},
		sent: make([]atomic.Int64, cfg.calls), state: make([]atomic.Uint32, cfg.calls), sock: make([]uint8, cfg.calls)}
	for range cfg.sockets {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(cfg.localIP)})
		if err != nil {
			g.close()
			return nil, fmt.Errorf("socket on %s: %w", cfg.localIP, err)
		}
		if cfg.sockBufs > 0 {
			_ = c.SetReadBuffer(cfg.sockBufs)
			_ = c.SetWriteBuffer(cfg.sockBufs)
		}
		la := c.LocalAddr().(*net.UDPAddr)
		s := &sock{conn: c, l: local{ip: cfg.localIP, port: strconv.Itoa(la.Port)}}
		if la.IP.To4() != nil {
			s.bc = ipv4.NewPacketConn(c)
		} else {
			s.bc = ipv6.NewPacketConn(c)
		}
		g.socks = append(g.socks, s)
	}
	return g, nil
}

func (g *gen) close() {
	for _, s := range g.socks {
		s.conn.Close()
	}
}

func (g *gen) spec(k int) *callSpec { return &g.specs[(g.cfg.offset+k)%len(g.specs)] }

func (g *gen) now() int64 { return int64(time.Since(g.start)) }

// run places the calls and returns the summary.
func (g *gen) run() Summary {
	cpu0 := cpuTime()
	g.start = time.Now()
	tallies := make([]tally, len(g.socks))
	var wg sync.WaitGroup
	for i, s := range g.socks {
		tallies[i].h = newHist()
		tallies[i].first = -1
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.receive(s, &tallies[i])
		}()
	}
	st := g.send()
	// The last answers' ACKs are on their way; then stop the receivers.
	time.Sleep(50 * time.Millisecond)
	wall := time.Since(g.start)
	g.close()
	wg.Wait()
	return g.summarize(st, tallies, wall, cpuTime()-cpu0)
}

// senderTally is what the sender counts.
type senderTally struct {
	sent, retrans, timedOut, sendErrs int
	lastSend                          int64
	lagMax                            time.Duration // latest a tick ran behind its schedule
	slip                              time.Duration // how far the schedule slid (see send)
}

// send paces the INVITEs: every tick, the calls due by then go out in
// batches on one socket (the next one at the next tick), then the
// retransmission timers of unanswered calls run. It returns when every call
// has a final answer or has timed out.
//
// A generator that did not get the CPU for a while (a shared machine) does
// not send what it missed in one burst, which would overflow the server's
// socket buffer and count the generator's stall as the server's loss: it
// sends at most four ticks' worth and slides its schedule. The slide shows
// as a lower send rate (Summary.SendRate, Slip).
func (g *gen) send() senderTally {
	var t senderTally
	ms := make([]ipv4.Message, g.cfg.batch)
	bufs := make([][]byte, g.cfg.batch)
	for i := range ms {
		bufs[i] = make([]byte, 0, 1024)
		ms[i].Buffers = [][]byte{nil}
		ms[i].Addr = g.server
	}
	next, checked, turn := 0, 0, 0
	var rq retransQueue
	var one []byte
	maxBurst := max(g.cfg.batch, int(g.cfg.rate*g.cfg.tick.Seconds()*4)+1)
	for tick := int64(0); ; tick++ {
		now := g.now()
		if lag := time.Duration(now - tick*int64(g.cfg.tick)); lag > t.lagMax {
			t.lagMax = lag
		}
		var due int
		due, t.slip = pace(now, t.slip, next, maxBurst, g.cfg.calls, g.cfg.rate)
		for next < due {
			si := turn % len(g.socks)
			s := g.socks[si]
			turn++
			n := min(due-next, g.cfg.batch)
			for i := range n {
				k := next + i
				bufs[i] = appendInvite(bufs[i][:0], &s.l, &g.remote, g.cfg.id, g.spec(k), k)
				ms[i].Buffers[0] = bufs[i]
				g.sock[k] = uint8(si)
				g.sent[k].Store(now)
			}
			t.sendErrs += writeAll(s.bc, ms[:n])
			next += n
			t.lastSend = now
		}
		// Timer A: the first retransmission, in the order the calls went out.
		for checked < next && g.sent[checked].Load()+int64(g.cfg.t1) <= now {
			k := checked
			checked++
			if g.state[k].Load() != pending {
				continue
			}
			one = g.retransmit(one, k, &t)
			heap.Push(&rq, retrans{due: now + 2*int64(g.cfg.t1), k: k, interval: 2 * int64(g.cfg.t1)})
		}
		for rq.Len() > 0 && rq[0].due <= now {
			r := heap.Pop(&rq).(retrans)
			if g.state[r.k].Load() != pending {
				continue
			}
			if deadline := g.sent[r.k].Load() + int64(g.cfg.timeout); now >= deadline {
				if g.state[r.k].CompareAndSwap(pending, timedOut) {
					t.timedOut++
				}
				continue
			}
			one = g.retransmit(one, r.k, &t)
			r.interval *= 2
			r.due = min(now+r.interval, g.sent[r.k].Load()+int64(g.cfg.timeout))
			heap.Push(&rq, r)
		}
		if next == g.cfg.calls && checked == next && rq.Len() == 0 {
			t.sent = next
			return t
		}
		if d := time.Duration((tick+1)*int64(g.cfg.tick) - g.now()); d > 0 {
			time.Sleep(d)
		}
	}
}

// pace returns how many calls are due at now (ns since the start), at most
// maxBurst more than the next to send, and the schedule's slide: when more
// are due, the schedule slides so that exactly maxBurst are.
func pace(now int64, slip time.Duration, next, maxBurst, calls int, rate float64) (int, time.Duration) {
	due := min(calls, int(float64(now-int64(slip))*rate/1e9)+1)
	if due-next > maxBurst {
		due = next + maxBurst
		slip = time.Duration(now - int64(float64(due-1)*1e9/rate))
	}
	return due, slip
}

// retransmit sends call k's INVITE again from its socket.
func (g *gen) retransmit(b []byte, k int, t *senderTally) []byte {
	s := g.socks[g.sock[k]]
	b = appendInvite(b[:0], &s.l, &g.remote, g.cfg.id, g.spec(k), k)
	if _, err := s.conn.WriteToUDP(b, g.server); err != nil {
		t.sendErrs++
	}
	t.retrans++
	return b
}

// writeAll sends every message of ms, in as few sendmmsg calls as the
// kernel allows; it returns how many could not be sent.
func writeAll(bc batchConn, ms []ipv4.Message) (failed int) {
	for len(ms) > 0 {
		n, err := bc.WriteBatch(ms, 0)
		if err != nil {
			// sendmmsg fails only when its first message does (n is -1
			// then): skip that one and send the rest.
			failed++
			n = 1
		}
		ms = ms[min(n, len(ms)):]
	}
	return failed
}

// tally is what one receiver counts.
type tally struct {
	answered, right, wrong, late, dups, foreign, readErrs, ackErrs int
	byWant                                                         [numWants]int
	classes                                                        [7]int // by code/100
	other                                                          map[int]int
	first, last                                                    int64 // first answers, ns since start
	h                                                              hist
}

// receive reads one socket's responses in batches, counts the answers
// against the injection file's expected ones and ACKs every final response.
func (g *gen) receive(s *sock, t *tally) {
	in := make([]ipv4.Message, g.cfg.batch)
	acks := make([]ipv4.Message, g.cfg.batch)
	ackBufs := make([][]byte, g.cfg.batch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 4096)}
		acks[i].Buffers = [][]byte{nil}
		acks[i].Addr = g.server
		ackBufs[i] = make([]byte, 0, 1024)
	}
	var r response
	for {
		n, err := s.bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.readErrs++
			continue
		}
		now := g.now()
		na := 0
		for i := range n {
			if err := parseResponse(in[i].Buffers[0][:in[i].N], g.cfg.id, &r); err != nil || r.k >= g.cfg.calls {
				t.foreign++
				continue
			}
			if r.code < 200 {
				t.classes[1]++ // provisional: wait for the final answer
				continue
			}
			t.classes[min(r.code/100, 6)]++
			if g.state[r.k].CompareAndSwap(pending, answered) {
				g.answer(t, &r, now)
			} else if g.state[r.k].Load() == answered {
				t.dups++ // the answer to a retransmitted INVITE
			} else {
				t.late++
			}
			if r.code >= 300 && g.cfg.ack {
				ackBufs[na] = appendAck(ackBufs[na][:0], &s.l, &g.remote, g.cfg.id, g.spec(r.k), r.k, r.to)
				acks[na].Buffers[0] = ackBufs[na]
				na++
			}
		}
		t.ackErrs += writeAll(s.bc, acks[:na])
	}
}

// answer counts call r.k's first final answer.
func (g *gen) answer(t *tally, r *response, now int64) {
	t.h.add(time.Duration(now - g.sent[r.k].Load()))
	t.answered++
	if t.first < 0 {
		t.first = now
	}
	t.last = now
	got := numWants
	switch {
	case r.code == 603:
		got = wantDecline
	case r.code == 302 && r.screen:
		got = wantScreen
	case r.code == 302:
		got = wantContinue
	}
	if got == g.spec(r.k).want {
		t.right++
		t.byWant[got]++
		return
	}
	t.wrong++
	if t.other == nil {
		t.other = map[int]int{}
	}
	t.other[r.code]++
}

// retrans is a pending INVITE retransmission.
type retrans struct {
	due      int64 // ns since start
	k        int
	interval int64
}

type retransQueue []retrans

func (q retransQueue) Len() int           { return len(q) }
func (q retransQueue) Less(i, j int) bool { return q[i].due < q[j].due }
func (q retransQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *retransQueue) Push(x any)        { *q = append(*q, x.(retrans)) }
func (q *retransQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// cpuTime is the CPU (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
