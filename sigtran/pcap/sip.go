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
	var skips []Skip
	for k, f := range tcp {
		chunks, sk := f.split(sipFraming)
		for _, c := range chunks {
			out = append(out, SIPMessage{Frame: c.frame, Time: c.t, Src: k.src, Dst: k.dst, Transport: "tcp", Payload: c.b})
		}
		skips = append(skips, sk...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Frame < out[j].Frame })
	return out, withSkips(err, skips)
}

// sipFraming cuts SIP messages from a TCP stream (RFC 3261 §18.3): by
// the end of the headers and Content-Length, a message starting with its
// start line.
var sipFraming = framing{proto: "SIP", size: sipLen, start: sipStart, lineStart: true}

// sipMethods are the methods a request line may start with: RFC 3261's
// and those of the extensions in use (RFC 3262, 3265, 3311, 3428, 3515,
// 3903, 6086).
var sipMethods = []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
	"NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"}

// maxStartLine bounds how far the end of a start line is looked for.
const maxStartLine = 8 << 10

// sipStart reports whether b starts with a whole SIP start line (RFC 3261
// §7.1, §7.2): "SIP/2.0 DDD reason" or "METHOD Request-URI SIP/2.0", a
// method of sipMethods.
func sipStart(b []byte) bool {
	end := bytes.Index(b[:min(len(b), maxStartLine)], []byte("\r\n"))
	if end < 0 {
		return false
	}
	line := b[:end]
	if rest, ok := bytes.CutPrefix(line, []byte("SIP/2.0 ")); ok {
		return len(rest) >= 3 && rest[0] >= '1' && rest[0] <= '6' && isDigit(rest[1]) && isDigit(rest[2]) &&
			(len(rest) == 3 || rest[3] == ' ')
	}
	f := bytes.Split(line, []byte(" "))
	if len(f) != 3 || len(f[1]) == 0 || string(f[2]) != "SIP/2.0" {
		return false
	}
	for _, m := range sipMethods {
		if string(f[0]) == m {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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
