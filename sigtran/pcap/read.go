package pcap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// M3UAPort is the IANA port of M3UA (RFC 4666 §1.4.7); TCP flows on it, or
// flows whose payload starts like an M3UA header, are read as M3UA.
const M3UAPort = 2905

// Message is one M3UA message found in a capture.
type Message struct {
	Frame     int       // 1-based frame number in the capture (first frame when reassembled)
	Time      time.Time // capture time of that frame
	Src, Dst  netip.AddrPort
	Transport string // "sctp" or "tcp"
	Stream    uint16 // SCTP stream (0 for TCP)
	PPID      uint32 // SCTP payload protocol identifier (0 for TCP)
	Payload   []byte // the whole M3UA message
}

// ReadFile reads every M3UA message from a pcap or pcapng file.
func ReadFile(path string) ([]Message, error) { return readFile(path, Read) }

// readFile reads the file at path with read, naming the file in an error.
func readFile[T any](path string, read func(io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := read(f)
	if err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// Read reads every M3UA message from a pcap or pcapng stream. Frames that
// carry no M3UA (other protocols, SCTP control chunks) are skipped; frames
// that cannot be decoded are skipped too, and a capture that is not a
// capture at all is an error.
func Read(r io.Reader) ([]Message, error) {
	var out []Message
	tcp := map[flowKey]*tcpFlow{}
	err := packets(r, func(frame int, ci gopacket.CaptureInfo, pkt gopacket.Packet, srcIP, dstIP netip.Addr) {
		var sctpHdr *layers.SCTP
		for _, l := range pkt.Layers() {
			switch v := l.(type) {
			case *layers.SCTP:
				sctpHdr = v
			case *layers.SCTPData:
				if sctpHdr == nil || !(v.PayloadProtocol == PPIDM3UA || sctpHdr.SrcPort == M3UAPort || sctpHdr.DstPort == M3UAPort) {
					continue
				}
				out = append(out, Message{
					Frame:     frame,
					Time:      ci.Timestamp,
					Src:       netip.AddrPortFrom(srcIP, uint16(sctpHdr.SrcPort)),
					Dst:       netip.AddrPortFrom(dstIP, uint16(sctpHdr.DstPort)),
					Transport: "sctp",
					Stream:    v.StreamId,
					PPID:      uint32(v.PayloadProtocol),
					Payload:   append([]byte(nil), v.Payload...),
				})
			case *layers.TCP:
				if len(v.Payload) == 0 {
					continue
				}
				k := flowKey{netip.AddrPortFrom(srcIP, uint16(v.SrcPort)), netip.AddrPortFrom(dstIP, uint16(v.DstPort))}
				tcp[k] = tcp[k].add(v, frame, ci.Timestamp)
			}
		}
	})
	// A capture cut short still gives what came before the cut.
	for k, f := range tcp {
		for _, c := range f.split(m3uaLen) {
			out = append(out, Message{Frame: c.frame, Time: c.t, Src: k.src, Dst: k.dst, Transport: "tcp", Payload: c.b})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Frame < out[j].Frame })
	return out, err
}

// packets calls f with every frame of a pcap or pcapng stream that
// decodes to IPv4 or IPv6, in capture order: its 1-based number, capture
// information, packet and addresses. It returns at the end of the capture,
// or with the error that stopped it (naming the frame); a stream that is
// not a capture is an error before any frame.
func packets(r io.Reader, f func(frame int, ci gopacket.CaptureInfo, pkt gopacket.Packet, src, dst netip.Addr)) error {
	src, first, err := open(r)
	if err != nil {
		return err
	}
	for frame := 1; ; frame++ {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("frame %d: %w", frame, err)
		}
		pkt := gopacket.NewPacket(data, first, gopacket.DecodeOptions{NoCopy: true})
		if srcIP, dstIP, ok := addrs(pkt); ok {
			f(frame, ci, pkt, srcIP, dstIP)
		}
	}
}

// open reads a pcap or pcapng stream's header and returns the source of
// its packets with the decoder of its link type.
func open(r io.Reader) (packetSource, gopacket.Decoder, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, nil, fmt.Errorf("not a capture file: %w", err)
	}
	var src packetSource
	if binary.LittleEndian.Uint32(magic) == 0x0A0D0D0A {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, nil, fmt.Errorf("reading pcapng: %w", err)
		}
		src = ng
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("not a pcap or pcapng file: %w", err)
		}
		src = pr
	}
	switch lt := src.LinkType(); lt {
	case layers.LinkTypeEthernet:
		return src, layers.LayerTypeEthernet, nil
	case layers.LinkTypeLinuxSLL:
		return src, layers.LayerTypeLinuxSLL, nil
	case layers.LinkTypeRaw, 12 /* LINKTYPE_RAW on some systems */, 228 /* IPv4 */, 229 /* IPv6 */ :
		return src, gopacket.DecodeFunc(decodeRawIP), nil
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return src, layers.LayerTypeLoopback, nil
	default:
		return nil, nil, fmt.Errorf("unsupported link type %v", lt)
	}
}

func decodeRawIP(data []byte, p gopacket.PacketBuilder) error {
	if len(data) == 0 {
		return errors.New("empty raw IP packet")
	}
	if data[0]>>4 == 6 {
		return p.NextDecoder(layers.LayerTypeIPv6)
	}
	return p.NextDecoder(layers.LayerTypeIPv4)
}

func addrs(pkt gopacket.Packet) (src, dst netip.Addr, ok bool) {
	if l, _ := pkt.NetworkLayer().(*layers.IPv4); l != nil {
		s, _ := netip.AddrFromSlice(l.SrcIP.To4())
		d, _ := netip.AddrFromSlice(l.DstIP.To4())
		return s, d, true
	}
	if l, _ := pkt.NetworkLayer().(*layers.IPv6); l != nil {
		s, _ := netip.AddrFromSlice(l.SrcIP)
		d, _ := netip.AddrFromSlice(l.DstIP)
		return s, d, true
	}
	return src, dst, false
}

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

// split reassembles the flow in sequence order (retransmitted bytes are
// dropped) and cuts it into messages with size: the length of the message
// at the start of the bytes it is given, -n to skip n bytes, 0 to stop
// (no whole message there, or not the protocol looked for).
func (f *tcpFlow) split(size func(b []byte) int) []chunk {
	sort.SliceStable(f.segs, func(i, j int) bool { return int32(f.segs[i].seq-f.segs[j].seq) < 0 })
	var stream bytes.Buffer
	type mark struct {
		off   int
		frame int
		t     time.Time
	}
	var marks []mark
	next := f.segs[0].seq
	for _, s := range f.segs {
		d := s.data
		if delta := int32(next - s.seq); delta > 0 { // overlap with what we have
			if int(delta) >= len(d) {
				continue
			}
			d = d[delta:]
		}
		marks = append(marks, mark{stream.Len(), s.frame, s.t})
		stream.Write(d)
		next = s.seq + uint32(len(s.data))
	}
	b := stream.Bytes()
	var out []chunk
	for off := 0; off < len(b); {
		n := size(b[off:])
		if n < 0 {
			off -= n
			continue
		}
		if n == 0 {
			break
		}
		m := marks[0]
		for _, mk := range marks {
			if mk.off > off {
				break
			}
			m = mk
		}
		out = append(out, chunk{m.frame, m.t, append([]byte(nil), b[off:off+n]...)})
		off += n
	}
	return out
}

// m3uaLen is a splitter (tcpFlow.split) for M3UA: the length field of a
// version 1 message, or 0 when b does not start one whole.
func m3uaLen(b []byte) int {
	if len(b) < 8 || b[0] != 1 {
		return 0
	}
	l := int(binary.BigEndian.Uint32(b[4:]))
	if l < 8 || l > len(b) {
		return 0
	}
	return l
}
