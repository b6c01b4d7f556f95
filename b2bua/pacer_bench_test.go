package b2bua

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	mrand "math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"callgate/simulators/ssp/hist"
)

// benchSession is a diago media session on loopback sending to sink, with
// diago's packetiser on it, as a leg has.
func benchSession(tb testing.TB, sink *net.UDPAddr) (*media.MediaSession, *media.RTPPacketWriter) {
	tb.Helper()
	ms, err := media.NewMediaSession(net.IPv4(127, 0, 0, 1), 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ms.Close() })
	ms.SetRemoteAddr(sink)
	return ms, media.NewRTPPacketWriterSession(media.NewRTPSession(ms))
}

// BenchmarkPacerPacket is the pacer's cost per RTP packet sent: the
// G.711 encoding, diago's packetiser and the UDP write of one slot's
// streams (ns/packet, allocs/packet; the write is most of it). The path
// must not allocate: a garbage collection stops every stream at once.
func BenchmarkPacerPacket(b *testing.B) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() { // drain, as a receiver would
		buf := make([]byte, 1500)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	const streams = 50
	p := newPacerShards(1, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "l"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "s"}))
	var slot int64
	p.now = func() int64 { return slot }
	sh := p.shards[0]
	pcm := make([]byte, 3000*2*frameSamples) // a minute
	var sts []*paceStream
	for range streams * pacerSlots {
		_, w := benchSession(b, sink.LocalAddr().(*net.UDPAddr))
		sts = append(sts, p.add(w, media.CodecAudioUlaw, make(chan rune, 1)))
	}
	start := func() {
		for _, st := range sts {
			if st.cur == nil {
				st.play(&playback{pcm: pcm, done: make(chan struct{})})
			}
		}
	}
	start()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	packets := 0
	for i := 0; i < b.N; i++ {
		slot++
		sh.mu.Lock()
		sh.sendSlot(slot)
		sh.mu.Unlock()
		packets += streams
		if slot%(2000*pacerSlots) == 0 {
			b.StopTimer()
			start()
			b.StartTimer()
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(packets), "allocs/packet")
}

// BenchmarkPromptSenders compares the two ways of sending prompts on the
// same machine at the same time: diago's playback (a goroutine and a
// ticker per stream, as the B2BUA sent prompts before the pacer) and the
// pacer. Each stream plays 1-3 s prompts with 0.5-2 s pauses, as a
// treatment does; each is received on a socket of its own with kernel
// receive timestamps (SO_TIMESTAMPNS: on loopback, when the sender's
// sendmsg ran), so the jitter is the sender's alone, however late the
// receiving goroutines run. Sub-benchmarks:
//
//	together  promptStreams of each at once: the jitter of each under the
//	          same load (diago-p99-ms against pacer-p99-ms)
//	diago     2*promptStreams on diago's playback alone, and
//	pacer     on the pacer alone: jitter, and the process's CPU per packet
//	          sent (the receivers' share is the same in both)
//
// Not a timed test: the figures depend on the machine's load; compare
// the two in one run.
func BenchmarkPromptSenders(b *testing.B) {
	for _, mode := range []string{"together", "diago", "pacer"} {
		b.Run(mode, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runPromptSenders(b, mode)
			}
		})
	}
}

const (
	promptStreams  = 250
	promptDuration = 10 * time.Second
)

func runPromptSenders(b *testing.B, mode string) {
	b.Helper()
	p := newPacer(prometheus.NewHistogram(prometheus.HistogramOpts{Name: "l"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "s"}))
	defer p.close()
	groups := map[string]*jitterGroup{}
	var kinds []string
	switch mode {
	case "together":
		kinds = []string{"diago", "pacer"}
	default:
		kinds = []string{mode, mode}
	}
	ctx, cancel := context.WithTimeout(context.Background(), promptDuration)
	defer cancel()
	var wg sync.WaitGroup
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for i := range 2 * promptStreams {
		kind := kinds[i%2]
		g := groups[kind]
		if g == nil {
			g = &jitterGroup{}
			groups[kind] = g
		}
		rx := listenStamped(b)
		ms, w := benchSession(b, rx.LocalAddr().(*net.UDPAddr))
		_ = ms
		wg.Add(2)
		go func() { defer wg.Done(); g.receive(rx) }()
		go func() {
			defer wg.Done()
			defer rx.Close()
			rng := mrand.New(mrand.NewPCG(uint64(i), 7))
			sleepCtx(ctx, time.Duration(rng.Int64N(int64(time.Second)))) // staggered starts
			var play func([]byte)
			if kind == "diago" {
				pb := diago.NewAudioPlayback(w, media.CodecAudioUlaw)
				play = func(pcm []byte) {
					w.ResetTimestamp() // what PlaybackCreate's playback does on each Play
					_, _ = pb.Play(&ctxReader{ctx: ctx, r: bytes.NewReader(pcm)}, "audio/pcm")
				}
			} else {
				st := p.add(w, media.CodecAudioUlaw, make(chan rune, 1))
				defer st.remove()
				play = func(pcm []byte) {
					pb := &playback{pcm: pcm, done: make(chan struct{})}
					st.play(pb)
					select {
					case <-pb.done:
					case <-ctx.Done():
						pb.cancelled.Store(true)
						<-pb.done
					}
				}
			}
			for ctx.Err() == nil {
				play(make([]byte, (50+rng.IntN(100))*2*frameSamples))
				sleepCtx(ctx, 500*time.Millisecond+time.Duration(rng.Int64N(int64(1500*time.Millisecond))))
			}
		}()
	}
	wg.Wait()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) + syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	var packets uint64
	for kind, g := range groups {
		s := g.jitter.Snapshot().Summary()
		packets += g.packets.Load()
		b.ReportMetric(s.P50Ms, kind+"-p50-ms")
		b.ReportMetric(s.P99Ms, kind+"-p99-ms")
		b.ReportMetric(s.P999Ms, kind+"-p99.9-ms")
		b.ReportMetric(float64(g.backToBack.Load())/float64(max(s.Count, 1))*100, kind+"-back-to-back-%")
	}
	if mode != "together" && packets > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(packets), "cpu-ns/packet")
	}
}

// ctxReader ends a playback when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, io.EOF
	}
	return c.r.Read(p)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// listenStamped opens a loopback UDP socket that receives with kernel
// timestamps.
func listenStamped(tb testing.TB) *net.UDPConn {
	tb.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	rc, _ := c.SyscallConn()
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		tb.Fatalf("SO_TIMESTAMPNS: %v %v", err, serr)
	}
	return c
}

// jitterGroup is the received jitter of a group of streams, by kernel
// receive time, as sipsim computes it: |arrival spacing - timestamp
// spacing| of consecutive packets.
type jitterGroup struct {
	jitter     hist.Histogram
	packets    atomic.Uint64
	backToBack atomic.Uint64 // pairs less than 1 ms apart (20 ms expected)
}

func (g *jitterGroup) receive(c *net.UDPConn) {
	buf := make([]byte, 1500)
	oob := make([]byte, 128)
	var h rtp.Header
	var have bool
	var lastSeq uint16
	var lastTS uint32
	var lastAt time.Time
	for {
		n, oobn, _, _, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			return
		}
		if _, err := h.Unmarshal(buf[:n]); err != nil {
			continue
		}
		at := stampOf(oob[:oobn])
		g.packets.Add(1)
		if have && h.SequenceNumber == lastSeq+1 && !at.IsZero() {
			d := at.Sub(lastAt) - time.Duration(int32(h.Timestamp-lastTS))*time.Second/8000
			g.jitter.Record(max(d, -d))
			if at.Sub(lastAt) < time.Millisecond {
				g.backToBack.Add(1)
			}
		}
		have, lastSeq, lastTS, lastAt = true, h.SequenceNumber, h.Timestamp, at
	}
}

// stampOf is the SCM_TIMESTAMPNS time of a datagram's control messages.
func stampOf(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			return time.Unix(int64(binary.NativeEndian.Uint64(m.Data[0:8])), int64(binary.NativeEndian.Uint64(m.Data[8:16])))
		}
	}
	return time.Time{}
}
