package redirect

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// Batched UDP I/O for the stateless path: one system call reads every
// datagram waiting on the socket (up to udpBatchSize), and one sends their
// responses (recvmmsg and sendmmsg on Linux, udpio_linux.go), where one
// recvfrom and one sendto per datagram used to cost about a third of the
// server's CPU (bench/sip/README.md). Nothing waits to fill a batch: a read
// returns as soon as one datagram is there, so at a low rate every batch is
// one datagram, answered at once; only datagrams that queued while the
// reader was busy share a system call.
//
// A response waits for the rest of its batch to be answered before it is
// sent (microseconds each). Before anything in the answer that may wait
// (verifying an Identity header, whose certificate fetch can take up to
// stir.Config.MissWait; an enrolment, which writes the store) the reader
// sends what it holds (answer.beforeWait), so those responses are not held
// up by it. A decision that would wait for a signal's look-up inside the
// engine (reputation) is deferred to a goroutine of its own (deferred.go)
// and holds up nothing. A wait that stays on the reader (those above, a
// decision past the deferring bound, a stage that waits without
// deferring; each bounded by its own setting or Config.DecideTimeout)
// holds up the rest of its batch once; the reader then reads one datagram
// at a time for a while (waitLimit), which is how every read worked
// before batching.

// udpBatchSize is the most datagrams one read takes and responses one
// write sends: more than a reader that keeps up finds queued (2-4 on average
// at 20,000 calls/s in the benchmark, more as the rate grows), few enough
// that the first response of a full batch waits only a hundred microseconds
// or so for the last.
const udpBatchSize = 32

// maxDatagram is each read buffer: any UDP datagram fits.
const maxDatagram = 65536

// datagram is one slot of a batch read: the buffer, and what was read
// into it.
type datagram struct {
	buf []byte
	n   int
	src netip.AddrPort
}

// outgoing is one response of a batch write.
type outgoing struct {
	data []byte
	dst  netip.AddrPort
}

// batchIO reads and writes one reader's batches on the UDP socket.
type batchIO interface {
	// read waits for at least one datagram and fills in[:n] with those
	// waiting, n >= 1.
	read(in []datagram) (n int, err error)
	// write sends out[:n], n >= 1, in order; or nothing, and err is
	// out[0]'s failure.
	write(out []outgoing) (n int, err error)
}

// udpBatch is one reader goroutine's batch: the datagrams of one read and
// the responses of one write, with their buffers, all reused.
type udpBatch struct {
	s       *Server
	io      batchIO
	r       *udpReader
	in      []datagram
	out     []outgoing // out[:pending]: responses not yet sent
	bufs    [][]byte   // out[i]'s buffer, kept (and grown) across batches
	pending int
	single  time.Time // until then, one datagram per read (see waitLimit)
	// conn is the socket deferred INVITEs are answered on (deferred.go);
	// nil: the reader defers nothing.
	conn *net.UDPConn
}

// deferTo lets b's reader defer decisions that would wait, and answer
// those INVITEs on conn (deferred.go).
func (b *udpBatch) deferTo(conn *net.UDPConn) {
	b.conn = conn
	b.r.ans.defers = conn != nil
}

// newUDPBatch makes a batch of size slots; its io is still to be set.
func newUDPBatch(s *Server, size int) *udpBatch {
	b := &udpBatch{s: s, r: newUDPReader(), in: make([]datagram, size), out: make([]outgoing, size), bufs: make([][]byte, size)}
	// The read buffers are virtual memory until a datagram lands in them:
	// a batch touches a page or two of the slots it uses.
	in := make([]byte, size*maxDatagram)
	for i := range size {
		b.in[i].buf = in[i*maxDatagram : (i+1)*maxDatagram : (i+1)*maxDatagram]
		b.bufs[i] = make([]byte, 0, 2048)
	}
	b.r.ans.flush = b.flush // bound once: no allocation per datagram
	return b
}

// readLoop reads a batch of datagrams (as many as are waiting, at least
// one), answers each in turn and sends the responses together.
func (s *Server) readLoop(b *udpBatch) error {
	for {
		in := b.in
		if !b.single.IsZero() {
			if time.Now().Before(b.single) {
				in = in[:1]
			} else {
				b.single = time.Time{}
			}
		}
		n, err := b.io.read(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Nothing on an unconnected UDP socket should fail for long;
			// do not spin if it does.
			s.log.Warn("redirect: UDP read failed", "error", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.answerBatch(b, n)
	}
}

// answerBatch answers the n datagrams read into b.in and sends the
// responses.
func (s *Server) answerBatch(b *udpBatch, n int) {
	s.stats.udpReads.Add(1)
	s.stats.udpDatagrams.Add(uint64(n))
	r := b.r
	var last time.Time
	if n > 1 {
		last = time.Now()
	}
	for i := range n {
		d := &b.in[i]
		used := b.pending
		r.out = b.bufs[used][:0]
		if out, dst, ok := s.handleDatagram(r, d.buf[:d.n], d.src); ok {
			b.add(used, out, dst)
		} else if r.ans.deferred {
			s.deferInvite(b.conn, &r.ans, d)
		}
		if n > 1 {
			now := time.Now()
			if now.Sub(last) > waitLimit {
				b.single = now.Add(singleFor)
			}
			last = now
		}
	}
	b.flush()
}

// A datagram whose answer took longer than waitLimit waited for something
// on the reader and held up the rest of its batch: a certificate fetch
// (stir miss_wait), an enrolment's store write, a decision that could not
// be deferred (past maxDeferred, or a stage that waits without deferring).
// The reader then reads one datagram at a time for singleFor, as it did
// before batching: a datagram that waits holds up only itself, and the
// other readers take the others. (A deferred decision takes microseconds
// here and does not count.)
const (
	waitLimit = 5 * time.Millisecond
	singleFor = time.Second
)

// add queues out, the response written in slot used's buffer, for dst. A
// flush during the answer (beforeWait) may have emptied the queue: the
// response then takes the first free slot, and the buffers swap so that
// each slot keeps one of its own.
func (b *udpBatch) add(used int, out []byte, dst netip.AddrPort) {
	k := b.pending
	b.bufs[used] = b.bufs[k]
	b.bufs[k] = out
	b.out[k] = outgoing{data: out, dst: dst}
	b.pending++
}

// flush sends the queued responses, in as few system calls as the kernel
// allows.
func (b *udpBatch) flush() {
	out := b.out[:b.pending]
	b.pending = 0
	for len(out) > 0 {
		n, err := b.io.write(out)
		out = out[n:]
		if err == nil {
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			b.s.stats.sendErrors.Add(uint64(len(out)))
			return
		}
		// out[0] is lost; the others still go.
		b.s.stats.sendErrors.Add(1)
		b.s.log.Warn("redirect: sending response failed", "peer", out[0].dst.String(), "error", err)
		out = out[1:]
	}
}
