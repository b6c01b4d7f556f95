package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// goldenIP returns the IP packets (Ethernet header removed) and capture
// information of a golden vector capture.
func goldenIP(t *testing.T, name string) ([][]byte, []gopacket.CaptureInfo) {
	t.Helper()
	f, err := os.Open("../../testdata/vectors/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ips [][]byte
	var cis []gopacket.CaptureInfo
	for {
		d, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ips = append(ips, d[14:])
		cis = append(cis, ci)
	}
	return ips, cis
}

// frameAs puts an IPv4 packet in a frame of the link type, as tcpdump and
// tshark write them.
func frameAs(lt layers.LinkType, ip []byte) []byte {
	var h []byte
	switch lt {
	case layers.LinkTypeLinuxSLL2: // tcpdump -i any (libpcap 1.10+)
		h = make([]byte, 20)
		binary.BigEndian.PutUint16(h, 0x0800)
		binary.BigEndian.PutUint32(h[4:], 2)
		binary.BigEndian.PutUint16(h[8:], 1)
		h[10], h[11] = 4, 6
	case layers.LinkTypeLinuxSLL:
		h = make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 1)
		binary.BigEndian.PutUint16(h[4:], 6)
		binary.BigEndian.PutUint16(h[14:], 0x0800)
	case layers.LinkTypeEthernet: // with an 802.1Q tag, VLAN 100
		h = []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00}
	}
	return append(h, ip...)
}

func writePcap(t *testing.T, lt layers.LinkType, frames [][]byte, cis []gopacket.CaptureInfo) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for i, d := range frames {
		ci := cis[i]
		ci.CaptureLength, ci.Length = len(d), len(d)
		if err := w.WritePacket(ci, d); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// A capture's link type is whatever the engineer's tool wrote: raw IP
// (tshark -i on a tunnel, or editcap -T rawip), Linux cooked SLL2 (tcpdump
// -i any since libpcap 1.10), Ethernet with VLAN tags. Each reads the same
// M3UA messages, in the same frames.
func TestReadLinkTypes(t *testing.T) {
	ips, cis := goldenIP(t, "ta_authorize.pcap")
	for _, lt := range []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeLinuxSLL2, layers.LinkTypeLinuxSLL, layers.LinkTypeEthernet, layers.LinkTypeIPv4} {
		var frames [][]byte
		for _, ip := range ips {
			frames = append(frames, frameAs(lt, ip))
		}
		msgs, err := Read(bytes.NewReader(writePcap(t, lt, frames, cis)))
		if err != nil || len(msgs) != 2 || msgs[0].Frame != 1 || msgs[1].Frame != 2 || msgs[0].Stream != 1 {
			t.Errorf("link type %v: %d messages, %v; want 2 in frames 1 and 2", lt, len(msgs), err)
		}
	}
	var frames [][]byte
	for _, ip := range ips {
		frames = append(frames, frameAs(layers.LinkTypeEthernet, ip))
	}
	_, err := Read(bytes.NewReader(writePcap(t, layers.LinkTypeIEEE802_11, frames, cis)))
	if err == nil || !strings.Contains(err.Error(), "link type") {
		t.Errorf("802.11 capture: %v, want an unsupported link type", err)
	}
}

// A pcapng of several interfaces (tshark -i eth0 -i any, or mergecap) has
// a link type per interface: every frame is read, on whichever interface,
// and frame numbers are those Wireshark shows. An interface of a link type
// not read is reported, not silently left out.
func TestReadPcapngInterfacesOfSeveralLinkTypes(t *testing.T) {
	ips, cis := goldenIP(t, "public_all.pcap")
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	sll2, _ := w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL2, SnapLength: 65535})
	raw, _ := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	usb, _ := w.AddInterface(pcapgo.NgInterface{Name: "usbmon0", LinkType: layers.LinkTypeLinuxUSB, SnapLength: 65535})
	put := func(iface int, lt layers.LinkType, data []byte, ci gopacket.CaptureInfo) {
		ci.InterfaceIndex, ci.CaptureLength, ci.Length = iface, len(data), len(data)
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	put(usb, layers.LinkTypeLinuxUSB, make([]byte, 48), cis[0])                            // frame 1
	put(sll2, layers.LinkTypeLinuxSLL2, frameAs(layers.LinkTypeLinuxSLL2, ips[0]), cis[0]) // frame 2
	put(0, layers.LinkTypeEthernet, frameAs(layers.LinkTypeEthernet, ips[1]), cis[1])      // frame 3
	put(raw, layers.LinkTypeRaw, ips[2], cis[2])                                           // frame 4
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	msgs, err := Read(bytes.NewReader(buf.Bytes()))
	if len(msgs) != 3 || msgs[0].Frame != 2 || msgs[1].Frame != 3 || msgs[2].Frame != 4 {
		t.Fatalf("%d messages %+v, want frames 2, 3 and 4", len(msgs), msgs)
	}
	var inc *Incomplete
	if !errors.As(err, &inc) || inc.LinkTypes.N != 1 || inc.LinkTypes.First != 1 || !strings.Contains(err.Error(), "frame 1 not read: link type") {
		t.Errorf("error %v, want frame 1 reported as of a link type not read", err)
	}
}

// fragment cuts an IPv4 packet into fragments of at most mtu octets of IP
// payload (a multiple of 8), as a host sending a datagram larger than the
// path MTU does (RFC 791 §3.2).
func fragment(t *testing.T, ip []byte, mtu int) [][]byte {
	t.Helper()
	hl := int(ip[0]&0x0f) * 4
	payload := ip[hl:]
	var out [][]byte
	for off := 0; off < len(payload); off += mtu {
		end := min(off+mtu, len(payload))
		f := append(append([]byte(nil), ip[:hl]...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		flags := uint16(off / 8)
		if end < len(payload) {
			flags |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], flags)
		f[10], f[11] = 0, 0
		out = append(out, f)
	}
	return out
}

// A SIP INVITE over UDP larger than the MTU (an SDP offer and an Identity
// header, RFC 8224) arrives IP fragmented: it is read whole, at the frame
// of its last fragment, as Wireshark reassembles it. A datagram whose
// other fragments are missing is reported.
func TestReadSIPFragmentedUDP(t *testing.T) {
	invite := "INVITE sip:+13035550100@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-f\r\n" +
		"Identity: " + strings.Repeat("x", 1800) + "\r\nCall-ID: frag\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 77, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(192, 0, 2, 10), DstIP: net.IPv4(192, 0, 2, 20)}
	udp := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = udp.SetNetworkLayerForChecksum(ip)
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(invite)); err != nil {
		t.Fatal(err)
	}
	frags := fragment(t, sb.Bytes(), 1480)
	if len(frags) != 2 {
		t.Fatalf("%d fragments", len(frags))
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1764230400, 0)}
	cis := []gopacket.CaptureInfo{ci, ci, ci}
	msgs, err := ReadSIP(bytes.NewReader(writePcap(t, layers.LinkTypeRaw, frags, cis)))
	if err != nil || len(msgs) != 1 || string(msgs[0].Payload) != invite || msgs[0].Frame != 2 {
		t.Fatalf("%d messages, %v; want the whole INVITE in frame 2", len(msgs), err)
	}
	msgs, err = ReadSIP(bytes.NewReader(writePcap(t, layers.LinkTypeRaw, frags[:1], cis)))
	if len(msgs) != 0 || err == nil || !strings.Contains(err.Error(), "1 IP datagrams not read") {
		t.Errorf("first fragment alone: %d messages, %v; want none and the datagram reported", len(msgs), err)
	}
}

// A capture taken with a small snap length (tcpdump -s 96) cuts the
// messages: the frames cut are reported, with the fix.
func TestReadReportsSnapLength(t *testing.T) {
	ips, cis := goldenIP(t, "ta_authorize.pcap")
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	_ = w.WriteFileHeader(96, layers.LinkTypeRaw)
	for i, ip := range ips {
		ci := cis[i]
		ci.CaptureLength, ci.Length = 96, len(ip)
		if err := w.WritePacket(ci, ip[:96]); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := Read(&buf)
	var inc *Incomplete
	if len(msgs) != 0 || !errors.As(err, &inc) || inc.Truncated.N != 2 || inc.Truncated.First != 1 || !strings.Contains(err.Error(), "snap length") {
		t.Errorf("%d messages, %v; want none and 2 frames from frame 1 reported cut by the snap length", len(msgs), err)
	}
}

// A file cut inside a frame (tcpdump killed, or the file copied while it
// was written) gives the frames before the cut, and says where it ends.
func TestReadReportsFileCutShort(t *testing.T) {
	b, err := os.ReadFile("../../testdata/vectors/ta_authorize.pcap")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := Read(bytes.NewReader(b[:len(b)-10]))
	if len(msgs) != 1 || err == nil || !strings.Contains(err.Error(), "ends inside frame 2") {
		t.Errorf("%d messages, %v; want frame 1 and the cut in frame 2 reported", len(msgs), err)
	}
}
