// Package pcap writes and reads packet captures of M3UA traffic, so that
// what callgate puts on the wire can be judged by Wireshark (tshark) and
// captured traces can be decoded and replayed by the simulators.
//
// Writing produces what a capture of a real SIGTRAN link looks like:
// Ethernet / IPv4 / SCTP with one DATA chunk per M3UA message, payload
// protocol identifier 3 (M3UA), a per-direction TSN and per-stream sequence
// number, and a valid CRC32c checksum. Reading accepts pcap and pcapng
// (interfaces of different link types in one), Ethernet (802.1Q tags),
// Linux cooked (SLL, SLL2), raw-IP and loopback link types, IPv4 and IPv6
// (fragments reassembled), SCTP (every DATA chunk, bundled or not, once
// when retransmitted, a fragmented message reassembled) and M3UA
// over TCP (segments reassembled per flow and split on the M3UA length
// field; after a lost segment or from a capture that starts inside a
// message, reading resumes at the next plausible M3UA header, and what
// was skipped is named by frame: tcp.go). ReadSIP reads the SIP
// messages of the same captures instead, over UDP and TCP (sipsim replay;
// over TCP resuming likewise at the next start line).
package pcap

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PPIDM3UA is the SCTP payload protocol identifier of M3UA (RFC 4666 §1.4.7).
const PPIDM3UA = 3

// snapLen is large enough for any M3UA message we produce.
const snapLen = 65535

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type flowKey struct{ src, dst netip.AddrPort }

type streamKey struct {
	flowKey
	stream uint16
}

// Writer writes M3UA messages into a pcap file as SCTP DATA chunks.
type Writer struct {
	w    *pcapgo.Writer
	tsn  map[flowKey]uint32
	ssn  map[streamKey]uint16
	vtag map[flowKey]uint32
	ipID uint16
	buf  gopacket.SerializeBuffer
}

// NewWriter writes the pcap file header (link type Ethernet) to w.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("pcap: writing file header: %w", err)
	}
	return &Writer{
		w:    pw,
		tsn:  map[flowKey]uint32{},
		ssn:  map[streamKey]uint16{},
		vtag: map[flowKey]uint32{},
		buf:  gopacket.NewSerializeBuffer(),
	}, nil
}

// WriteM3UA appends one frame carrying msg (a whole M3UA message) from src
// to dst on the given SCTP stream. Addresses must be IPv4.
func (w *Writer) WriteM3UA(t time.Time, src, dst netip.AddrPort, stream uint16, msg []byte) error {
	return w.WriteSCTPData(t, src, dst, stream, PPIDM3UA, msg)
}

// Seen is one M3UA message as one end of an association saw it: sent by
// that end (Out) or received from its peer.
type Seen struct {
	Time          time.Time
	Out           bool
	Local, Remote netip.AddrPort // this end and its peer
	Stream        uint16         // the SCTP stream (0 on TCP)
	Message       []byte         // the whole M3UA message
}

// Addresses written for an end whose transport address is not IPv4 (the
// frames are IPv4): the documentation network of RFC 5737, as in the
// golden vectors.
var (
	seenLocal  = netip.MustParseAddr("192.0.2.10")
	seenRemote = netip.MustParseAddr("192.0.2.20")
)

// WriteSeen appends m as a frame from Local to Remote (Out) or back.
// Addresses that are not IPv4 (an IPv6 association) are written as
// 192.0.2.10 (this end) and 192.0.2.20 (the peer), keeping the ports. A
// DATA message on stream 0 (M3UA over TCP has no streams) is written on
// stream 1, where SCTP would carry it (RFC 4666 §1.4.7: DATA on stream 0 is
// unusual and dissectors flag it); management stays on stream 0.
func (w *Writer) WriteSeen(m *Seen) error {
	local, remote := m.Local, m.Remote
	if !local.Addr().Is4() || !remote.Addr().Is4() || local == remote {
		local = netip.AddrPortFrom(seenLocal, portOr(local.Port(), 49152))
		remote = netip.AddrPortFrom(seenRemote, portOr(remote.Port(), 2905))
	}
	src, dst := local, remote
	if !m.Out {
		src, dst = remote, local
	}
	stream := m.Stream
	if stream == 0 && isM3UAData(m.Message) {
		stream = 1
	}
	return w.WriteM3UA(m.Time, src, dst, stream, m.Message)
}

// AddrPortOf converts a transport address (an association's local or
// remote address) for Seen, with IPv4-mapped IPv6 addresses unmapped; an
// address that is not IP:port gives the zero AddrPort.
func AddrPortOf(a net.Addr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func portOr(p, def uint16) uint16 {
	if p == 0 {
		return def
	}
	return p
}

// isM3UAData reports whether msg is an M3UA DATA message (class 1, type 1).
func isM3UAData(msg []byte) bool { return len(msg) >= 4 && msg[2] == 1 && msg[3] == 1 }

// WriteSCTPData appends one Ethernet/IPv4/SCTP frame with a single
// unfragmented DATA chunk.
func (w *Writer) WriteSCTPData(t time.Time, src, dst netip.AddrPort, stream uint16, ppid uint32, payload []byte) error {
	if !src.Addr().Is4() || !dst.Addr().Is4() {
		return fmt.Errorf("pcap: only IPv4 addresses are written, got %s -> %s", src, dst)
	}
	fk := flowKey{src, dst}
	tsn, ok := w.tsn[fk]
	if !ok {
		tsn = 1000 + uint32(len(w.tsn))*1000
	}
	w.tsn[fk] = tsn + 1
	sk := streamKey{fk, stream}
	ssn := w.ssn[sk]
	w.ssn[sk] = ssn + 1
	// The verification tag of a packet is the receiver's tag; derive a
	// stable one per direction so both directions look like one association.
	vtag, ok := w.vtag[fk]
	if !ok {
		vtag = 0x5347a000 | uint32(len(w.vtag)+1)
		w.vtag[fk] = vtag
	}
	w.ipID++

	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	eth := &layers.Ethernet{
		SrcMAC:       macFor(s4),
		DstMAC:       macFor(d4),
		EthernetType: layers.EthernetTypeIPv4,
	}
	ip := &layers.IPv4{
		Version:  4,
		IHL:      5,
		TTL:      64,
		Id:       w.ipID,
		Flags:    layers.IPv4DontFragment,
		Protocol: layers.IPProtocolSCTP,
		SrcIP:    net.IP(s4[:]),
		DstIP:    net.IP(d4[:]),
	}
	sctp := &layers.SCTP{
		SrcPort:         layers.SCTPPort(src.Port()),
		DstPort:         layers.SCTPPort(dst.Port()),
		VerificationTag: vtag,
	}
	data := &layers.SCTPData{
		SCTPChunk: layers.SCTPChunk{
			Type:   layers.SCTPChunkTypeData,
			Flags:  0x03, // B and E: an unfragmented user message
			Length: uint16(16 + len(payload)),
		},
		BeginFragment:   true,
		EndFragment:     true,
		TSN:             tsn,
		StreamId:        stream,
		StreamSequence:  ssn,
		PayloadProtocol: layers.SCTPPayloadProtocol(ppid),
	}
	// SCTPData serialises (and pads) its own Payload field.
	data.Payload = payload
	if err := w.buf.Clear(); err != nil {
		return err
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(w.buf, opts, eth, ip, sctp, data); err != nil {
		return fmt.Errorf("pcap: serialising frame: %w", err)
	}
	frame := w.buf.Bytes()
	// gopacket checksums the SCTP packet without zeroing the checksum field
	// first (a reused buffer leaves old bytes there), so compute CRC32c here
	// as RFC 4960 App. B says: over the whole packet with the field zeroed,
	// stored little-endian.
	sctpPkt := frame[14+20:]
	clear(sctpPkt[8:12])
	binary.LittleEndian.PutUint32(sctpPkt[8:12], crc32.Checksum(sctpPkt, castagnoli))
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}
	return w.w.WritePacket(ci, frame)
}

// macFor gives each IPv4 host a stable locally administered MAC address.
func macFor(a [4]byte) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x00, a[0], a[1], a[2], a[3]}
}
