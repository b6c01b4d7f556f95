package pcap

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TCP reassembly for the readers: a flow's segments in sequence order,
// cut into messages by the protocol's framing (M3UA's length field, SIP's
// Content-Length).
//
// A capture is not a TCP receiver: it can lack segments (the capturing
// host dropped them, the capture started or ended while a message was on
// the wire), and nothing will retransmit them. A framing that simply ran
// on would take the bytes after a hole for the start of a message and
// lose the rest of the flow, or cut garbage from it. So the bytes on each
// side of a gap in the sequence numbers are kept apart (no message spans
// a gap), and wherever the bytes do not start a plausible message (after
// a gap, at the start of a capture that begins inside a message, after a
// message the framing cannot cut) the reader looks for the next plausible
// start (framing.start: for SIP a request or status line after a line
// break, for M3UA a common header of version 1 with a known class and
// type and a sane length), reads on from there, and reports what it
// skipped and what the capture lacked by frame (Skip, in the *Incomplete
// warning). A flow in which no message was found at all is of another
// protocol and is not reported.

type tcpSeg struct {
	seq   uint32
	frame int
	t     time.Time
	data  []byte
}

type tcpFlow struct{ segs []tcpSeg }

// add records a TCP segment of the flow (nil: a new flow) and returns
// the flow.
func (f *tcpFlow) add(t *layers.TCP, frame int, at time.Time) *tcpFlow {
	if f == nil {
		f = &tcpFlow{}
	}
	f.segs = append(f.segs, tcpSeg{seq: t.Seq, frame: frame, t: at, data: append([]byte(nil), t.Payload...)})
	return f
}

// chunk is one message cut from a flow, with the frame its first byte
// came in.
type chunk struct {
	frame int
	t     time.Time
	b     []byte
}

// framing is how one protocol's messages are cut from a TCP byte stream.
type framing struct {
	proto string // in warnings: "SIP", "M3UA"
	// size is the length of the whole message at the start of b, -n to
	// skip n bytes (keep-alives), 0 when b does not start with a whole
	// message.
	size func(b []byte) int
	// start reports whether b plausibly starts a message (strictly: it is
	// where reading resumes after a gap or skipped bytes).
	start func(b []byte) bool
	// lineStart: messages start after a line break (or at the start of
	// the bytes), so only such offsets are looked at for a start.
	lineStart bool
}

// next returns the offset > 0 of the next plausible message start in b,
// or -1.
func (fr framing) next(b []byte) int {
	for i := 1; i < len(b); i++ {
		if fr.lineStart {
			j := bytes.IndexByte(b[i-1:], '\n')
			if j < 0 {
				return -1
			}
			i += j
			if i >= len(b) {
				return -1
			}
		}
		if fr.start(b[i:]) {
			return i
		}
	}
	return -1
}

// Skip is a stretch of a TCP flow that was not read as messages.
type Skip struct {
	Proto string // the protocol looked for
	Frame int    // the frame of its first byte; for Missing, the frame after the gap
	Bytes int
	// Missing: bytes the capture lacks (a gap in the sequence numbers);
	// else bytes captured but skipped, not starting a message, up to the
	// next plausible start or (ToEnd) the end of the flow.
	Missing, ToEnd bool
}

func (s Skip) String() string {
	if s.Missing {
		return fmt.Sprintf("%d bytes of a TCP flow missing before frame %d (segments not captured)", s.Bytes, s.Frame)
	}
	to := "to the next " + s.Proto + " message"
	if s.ToEnd {
		to = "to the end of the flow (no further " + s.Proto + " message in it)"
	}
	return fmt.Sprintf("%d bytes skipped from frame %d %s", s.Bytes, s.Frame, to)
}

// mark is where in a run of bytes a segment's bytes begin.
type mark struct {
	off   int
	frame int
	t     time.Time
}

// run is a stretch of a flow with no gap in it.
type run struct {
	b     []byte
	marks []mark
	gap   int // bytes missing before it (0: the flow's first run)
}

// at is the mark of the segment the byte at off came in.
func (r *run) at(off int) mark {
	i := sort.Search(len(r.marks), func(i int) bool { return r.marks[i].off > off })
	return r.marks[max(i-1, 0)]
}

// runs reassembles the flow in sequence order (retransmitted bytes are
// dropped) into runs of contiguous bytes, a new one after each gap.
func (f *tcpFlow) runs() []run {
	sort.SliceStable(f.segs, func(i, j int) bool { return int32(f.segs[i].seq-f.segs[j].seq) < 0 })
	var out []run
	var stream bytes.Buffer
	end := func() { // the current run's bytes are all there
		if len(out) > 0 {
			out[len(out)-1].b = bytes.Clone(stream.Bytes())
		}
		stream.Reset()
	}
	next := f.segs[0].seq
	for _, s := range f.segs {
		d := s.data
		delta := int32(next - s.seq)
		if delta > 0 { // overlap with what we have
			if int(delta) >= len(d) {
				continue
			}
			d = d[delta:]
		}
		if len(out) == 0 || delta < 0 {
			end()
			out = append(out, run{gap: int(max(-delta, 0))})
		}
		cur := &out[len(out)-1]
		cur.marks = append(cur.marks, mark{stream.Len(), s.frame, s.t})
		stream.Write(d)
		next = s.seq + uint32(len(s.data))
	}
	end()
	return out
}

// split cuts the flow into messages with fr and returns them with what
// could not be read (none for a flow with no message at all: not fr's
// protocol).
func (f *tcpFlow) split(fr framing) ([]chunk, []Skip) {
	var out []chunk
	var skips []Skip
	runs := f.runs()
	for ri := range runs {
		r := &runs[ri]
		if r.gap > 0 {
			skips = append(skips, Skip{Proto: fr.proto, Frame: r.marks[0].frame, Bytes: r.gap, Missing: true})
		}
		b := r.b
		synced := false // the bytes at off follow a whole message
		for off := 0; off < len(b); {
			n := fr.size(b[off:])
			if n > 0 && !synced && !fr.start(b[off:]) {
				n = 0 // the length of bytes that are not a message's
			}
			if n < 0 {
				off -= n
				continue
			}
			if n > 0 {
				m := r.at(off)
				out = append(out, chunk{m.frame, m.t, append([]byte(nil), b[off:off+n]...)})
				off += n
				synced = true
				continue
			}
			j := fr.next(b[off:])
			s := Skip{Proto: fr.proto, Frame: r.at(off).frame, Bytes: j}
			if j < 0 {
				s.Bytes, s.ToEnd = len(b)-off, ri == len(runs)-1
			}
			skips = append(skips, s)
			off += s.Bytes
			synced = false
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, skips
}
