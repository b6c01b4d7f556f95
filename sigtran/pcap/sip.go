package pcap

import (
	"bytes"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// SIPMessage is one SIP message (or one UDP payload) found in a capture.
type SIPMessage struct {
	Frame     int       // 1-based frame number in the capture (the first, when reassembled)
	Time      time.Time // capture time of that frame
	Src, Dst  netip.AddrPort
	Transport string // "udp" or "tcp"
	Payload   []byte
}

// ReadSIPFile reads the SIP messages of a pcap or pcapng file (ReadSIP).
func ReadSIPFile(path string) ([]SIPMessage, error) { return readFile(path, ReadSIP) }

// ReadSIP reads the SIP messages of a pcap or pcapng stream, with the link
// types Read takes, in capture order: every UDP payload (a datagram IP fragmented
// is read whole, at its last fragment), and
// the messages of each TCP flow, reassembled in sequence order and cut on
// the end of their headers and their Content-Length (RFC 3261 §18.3; the
// CRLF keep-alives of RFC 5626 between them skipped). Whether a payload is
// SIP at all is for the reader's parser to say.
func ReadSIP(r io.Reader) ([]SIPMessage, error) {
	var out []SIPMessage
	tcp := map[flowKey]*tcpFlow{}
	err := packets(r, func(frame int, ci gopacket.CaptureInfo, pkt gopacket.Packet, srcIP, dstIP netip.Addr) {
		if t, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); t != nil && len(t.Payload) > 0 {
			k := flowKey{netip.AddrPortFrom(srcIP, uint16(t.SrcPort)), netip.AddrPortFrom(dstIP, uint16(t.DstPort))}
			tcp[k] = tcp[k].add(t, frame, ci.Timestamp)
			return
		}
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || len(udp.Payload) == 0 {
			return
		}
		out = append(out, SIPMessage{
			Frame: frame, Time: ci.Timestamp, Transport: "udp",
			Src:     netip.AddrPortFrom(srcIP, uint16(udp.SrcPort)),
			Dst:     netip.AddrPortFrom(dstIP, uint16(udp.DstPort)),
			Payload: append([]byte(nil), udp.Payload...),
		})
	})
	for k, f := range tcp {
		for _, c := range f.split(sipLen) {
			out = append(out, SIPMessage{Frame: c.frame, Time: c.t, Src: k.src, Dst: k.dst, Transport: "tcp", Payload: c.b})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Frame < out[j].Frame })
	return out, err
}

// maxSIPHeaders bounds how far a SIP message's header section is looked
// for in a TCP flow.
const maxSIPHeaders = 64 << 10

// sipLen is a splitter (tcpFlow.split) for SIP on a stream: the length of
// the message at the start of b (its headers, the empty line and
// Content-Length bytes of body), -n to skip n bytes of CRLF keep-alive, 0
// when no whole message is there (or none can be found: no end of headers
// within maxSIPHeaders, no Content-Length, which a stream requires).
func sipLen(b []byte) int {
	if n := len(b) - len(bytes.TrimLeft(b, "\r\n")); n > 0 {
		return -n
	}
	end := bytes.Index(b[:min(len(b), maxSIPHeaders)], []byte("\r\n\r\n"))
	if end < 0 {
		return 0
	}
	clen := -1
	for _, line := range bytes.Split(b[:end], []byte("\r\n"))[1:] {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("l")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || n < 0 {
				return 0
			}
			clen = n
		}
	}
	if clen < 0 || end+4+clen > len(b) {
		return 0
	}
	return end + 4 + clen
}
