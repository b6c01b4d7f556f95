package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
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
// capture at all is an error. What the capture held but could not be read
// (cut by the snap length, another link type, an incomplete IP
// datagram, a file cut short) comes back as an *Incomplete error with the messages read.
func Read(r io.Reader) ([]Message, error) {
	var out []Message
	tcp := map[flowKey]*tcpFlow{}
	sctp := sctpAssoc{seen: map[tsnKey]bool{}, partial: map[fragKey][]byte{}}
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
				payload, ok := sctp.data(sctpHdr, v)
				if !ok {
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
					Payload:   payload,
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
	var skips []Skip
	for k, f := range tcp {
		chunks, sk := f.split(m3uaFraming)
		for _, c := range chunks {
			out = append(out, Message{Frame: c.frame, Time: c.t, Src: k.src, Dst: k.dst, Transport: "tcp", Payload: c.b})
		}
		skips = append(skips, sk...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Frame < out[j].Frame })
	return out, withSkips(err, skips)
}

// packets calls f with every IP packet of a pcap or pcapng stream, in
// capture order: the 1-based number of its frame (of its last fragment,
// when IP reassembled it), capture information, packet and addresses. It
// returns at the end of the capture, or with the error that stopped it
// (naming the frame); a stream that is not a capture is an error before
// any frame. What it could not read whole — frames cut by the snap
// length, interfaces of a link type it does not decode, fragments whose
// datagram never completed, a last frame the file ends inside of — it returns as an *Incomplete error when the
// capture was otherwise read to its end.
func packets(r io.Reader, f func(frame int, ci gopacket.CaptureInfo, pkt gopacket.Packet, src, dst netip.Addr)) error {
	src, ng, err := open(r)
	if err != nil {
		return err
	}
	var (
		inc   Incomplete
		frag4 = ip4defrag.NewIPv4Defragmenter()
		frag6 = ip6defrag.NewIPv6Defragmenter()
	)
	for frame := 1; ; frame++ {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) { // tcpdump stopped, or the file copied, while writing
			inc.CutAt = frame
			break
		}
		if err != nil {
			return fmt.Errorf("frame %d: %w", frame, err)
		}
		lt := src.LinkType()
		if ng && len(ci.AncillaryData) > 0 {
			lt, _ = ci.AncillaryData[0].(layers.LinkType)
		}
		dec, ok := linkDecoder(lt)
		if !ok {
			inc.add(&inc.LinkTypes, frame, lt.String())
			continue
		}
		if ci.CaptureLength < ci.Length {
			inc.add(&inc.Truncated, frame, "")
		}
		pkt := gopacket.NewPacket(data, dec, gopacket.DecodeOptions{NoCopy: true})
		srcIP, dstIP, ok := addrs(pkt)
		if !ok {
			continue
		}
		// A datagram that IP fragmented is read whole, at its last
		// fragment, as Wireshark shows it (RFC 791 §3.2, RFC 8200 §4.5).
		if ip4, _ := pkt.NetworkLayer().(*layers.IPv4); ip4 != nil && (ip4.Flags&layers.IPv4MoreFragments != 0 || ip4.FragOffset != 0) {
			whole, err := frag4.DefragIPv4WithTimestamp(ip4, ci.Timestamp)
			if err != nil || whole == nil {
				continue
			}
			pkt = gopacket.NewPacket(whole.Payload, whole.Protocol.LayerType(), gopacket.DecodeOptions{NoCopy: true})
		} else if fg, _ := pkt.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment); fg != nil {
			whole := frag6.DefragIPv6(pkt.NetworkLayer().(*layers.IPv6), fg)
			if whole == nil {
				continue
			}
			pkt = gopacket.NewPacket(whole.Payload, whole.NextHeader.LayerType(), gopacket.DecodeOptions{NoCopy: true})
		}
		f(frame, ci, pkt, srcIP, dstIP)
	}
	// Fragments held at the end belong to datagrams never completed.
	end := time.Now().Add(100 * 365 * 24 * time.Hour)
	inc.Fragments = frag4.DiscardOlderThan(end) + frag6.DiscardOlderThan(end)
	if inc.any() {
		return &inc
	}
	return nil
}

// Incomplete is what a capture read to its end held that could not be
// read: of each kind, how many frames and the first of them.
type Incomplete struct {
	Truncated frameSet // cut by the snap length: a message in them may be missing
	LinkTypes frameSet // on an interface of a link type not decoded (Why names it)
	Fragments int      // IP datagrams of which only some fragments were captured
	CutAt     int      // the frame the file ends inside of (0: it ends after a whole frame)
	// Skipped are the stretches of TCP flows not read as messages, in
	// frame order: bytes the capture lacks, bytes skipped to the next
	// message start (tcp.go).
	Skipped []Skip
}

// maxSkipsNamed bounds the stretches Error names one by one.
const maxSkipsNamed = 5

// withSkips adds skips to the error of a capture read to its end (nil or
// an *Incomplete); another error, which stopped the reading, stays as it
// is.
func withSkips(err error, skips []Skip) error {
	if len(skips) == 0 {
		return err
	}
	inc := &Incomplete{}
	if err != nil && !errors.As(err, &inc) {
		return err
	}
	sort.SliceStable(skips, func(i, j int) bool { return skips[i].Frame < skips[j].Frame })
	inc.Skipped = append(inc.Skipped, skips...)
	return inc
}

// frameSet counts frames and keeps the first.
type frameSet struct {
	N, First int
	Why      string
}

func (inc *Incomplete) add(s *frameSet, frame int, why string) {
	if s.N == 0 {
		s.First, s.Why = frame, why
	}
	s.N++
}

func (inc *Incomplete) any() bool {
	return inc.Truncated.N+inc.LinkTypes.N+inc.Fragments+inc.CutAt+len(inc.Skipped) > 0
}

func (inc *Incomplete) Error() string {
	var parts []string
	frames := func(s frameSet) string {
		if s.N == 1 {
			return fmt.Sprintf("frame %d", s.First)
		}
		return fmt.Sprintf("%d frames from frame %d on", s.N, s.First)
	}
	if s := inc.Truncated; s.N > 0 {
		parts = append(parts, frames(s)+" cut short by the capture's snap length: a message in them is incomplete or missing (capture with -s 0)")
	}
	if s := inc.LinkTypes; s.N > 0 {
		parts = append(parts, frames(s)+" not read: link type "+s.Why+" (Ethernet, Linux cooked SLL/SLL2, raw IP and loopback are read)")
	}
	if inc.Fragments > 0 {
		parts = append(parts, fmt.Sprintf("%d IP datagrams not read: only some of their fragments are in the capture", inc.Fragments))
	}
	if inc.CutAt > 0 {
		parts = append(parts, fmt.Sprintf("the file ends inside frame %d (cut short): the frames before it were read", inc.CutAt))
	}
	for i, sk := range inc.Skipped {
		if i == maxSkipsNamed {
			parts = append(parts, fmt.Sprintf("%d more stretches of TCP flows not read", len(inc.Skipped)-i))
			break
		}
		parts = append(parts, sk.String())
	}
	return strings.Join(parts, "; ")
}

// open reads a pcap or pcapng stream's header and returns the source of
// its packets, and whether it is pcapng: each of its packets then carries
// the link type of its interface (several interfaces may have different
// ones, as a capture on several interfaces or mergecap makes). A pcap of a
// link type not decoded is an error.
func open(r io.Reader) (packetSource, bool, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, false, fmt.Errorf("not a capture file: %w", err)
	}
	if binary.LittleEndian.Uint32(magic) == 0x0A0D0D0A {
		opts := pcapgo.DefaultNgReaderOptions
		opts.WantMixedLinkType = true
		ng, err := pcapgo.NewNgReader(br, opts)
		if err != nil {
			return nil, false, fmt.Errorf("reading pcapng: %w", err)
		}
		return ng, true, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, false, fmt.Errorf("not a pcap or pcapng file: %w", err)
	}
	if _, ok := linkDecoder(pr.LinkType()); !ok {
		return nil, false, fmt.Errorf("unsupported link type %v (%d): Ethernet, Linux cooked SLL/SLL2, raw IP and loopback are read", pr.LinkType(), int(pr.LinkType()))
	}
	return pr, false, nil
}

// linkDecoder is the decoder of the frames of a link type, if it is one
// that carries IP and is read.
func linkDecoder(lt layers.LinkType) (gopacket.Decoder, bool) {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop:
		return lt, true
	case layers.LinkTypeRaw, 12, 14: // LINKTYPE_RAW, and DLT_RAW of some systems
		return layers.LinkTypeRaw, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	}
	return nil, false
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

// m3uaFraming cuts M3UA messages from a TCP stream by the common header's
// length (RFC 4666 §3.1; one message after the other, RFC 4666 §1.4.7's
// TCP transport having no other framing).
var m3uaFraming = framing{proto: "M3UA", size: m3uaLen, start: m3uaStart}

// maxM3UA is the longest M3UA message a resynchronisation takes for one:
// transport.DefaultMaxMessage, the limit our endpoints apply.
const maxM3UA = 64 << 10

// m3uaLen is the length of the version 1 message at the start of b, or 0
// when b does not start one whole.
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

// m3uaStart reports whether b starts like an M3UA message (RFC 4666
// §3.1): version 1, reserved 0, a class and type RFC 4666 defines, a
// length of at least the header, a multiple of 4 (parameters are padded)
// and at most maxM3UA.
func m3uaStart(b []byte) bool {
	if len(b) < 8 || b[0] != 1 || b[1] != 0 {
		return false
	}
	var types uint8 // the highest type of the class
	switch b[2] {
	case 0, 1: // MGMT: ERR (type 0), NTFY; Transfer: DATA
		types = 1
	case 2, 3: // SSNM: DUNA..DRST; ASPSM: ASP Up..BEAT Ack
		types = 6
	case 4, 9: // ASPTM: ASP Active..ASP Inactive Ack; RKM: REG REQ..DEREG RSP
		types = 4
	default:
		return false
	}
	if b[3] > types || b[3] == 0 && b[2] != 0 {
		return false
	}
	l := binary.BigEndian.Uint32(b[4:])
	return l >= 8 && l%4 == 0 && l <= maxM3UA
}
