package pcap

import (
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Datagram is one UDP datagram found in a capture.
type Datagram struct {
	Frame    int       // 1-based frame number in the capture
	Time     time.Time // capture time
	Src, Dst netip.AddrPort
	Payload  []byte
}

// ReadUDPFile reads every UDP datagram of a pcap or pcapng file.
func ReadUDPFile(path string) ([]Datagram, error) { return readFile(path, ReadUDP) }

// ReadUDP reads every UDP datagram of a pcap or pcapng stream, in capture
// order, with the link types Read takes. IP fragments are not reassembled:
// a datagram split over several frames is skipped, as are frames that are
// not UDP or cannot be decoded.
func ReadUDP(r io.Reader) ([]Datagram, error) {
	var out []Datagram
	err := packets(r, func(frame int, ci gopacket.CaptureInfo, pkt gopacket.Packet, srcIP, dstIP netip.Addr) {
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || len(udp.Payload) == 0 {
			return
		}
		if ip, _ := pkt.NetworkLayer().(*layers.IPv4); ip != nil && (ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0) {
			return
		}
		out = append(out, Datagram{
			Frame:   frame,
			Time:    ci.Timestamp,
			Src:     netip.AddrPortFrom(srcIP, uint16(udp.SrcPort)),
			Dst:     netip.AddrPortFrom(dstIP, uint16(udp.DstPort)),
			Payload: append([]byte(nil), udp.Payload...),
		})
	})
	return out, err
}
