package pcap

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// tcpFrame is one TCP segment of a test capture.
type tcpFrame struct {
	toServer bool
	seq      uint32
	data     string
}

func writeTCPCapture(t *testing.T, frames []tcpFrame) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	client, server := net.IPv4(192, 0, 2, 10), net.IPv4(192, 0, 2, 20)
	for i, f := range frames {
		src, dst, sp, dp := server, client, layers.TCPPort(5060), layers.TCPPort(40000)
		if f.toServer {
			src, dst, sp, dp = client, server, 40000, 5060
		}
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: f.seq, ACK: true, PSH: true, Window: 65535}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(f.data)); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1764230400, int64(i)*1e6), CaptureLength: len(sb.Bytes()), Length: len(sb.Bytes())}
		if err := w.WritePacket(ci, sb.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// ReadSIP reassembles SIP over TCP: an INVITE cut over two segments (the
// second retransmitted), CRLF keep-alives, and two messages in one
// segment, cut on Content-Length (full and compact forms).
func TestReadSIPOverTCP(t *testing.T) {
	body := "v=0\r\n"
	invite := "INVITE sip:+13035550100@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK-1\r\n" +
		"Call-ID: t1\r\nCSeq: 1 INVITE\r\nContent-Length: 5\r\n\r\n" + body
	options := "OPTIONS sip:192.0.2.20 SIP/2.0\r\nCall-ID: t2\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n"
	answer := "SIP/2.0 302 Moved Temporarily\r\nCall-ID: t1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	cut := 40
	b := writeTCPCapture(t, []tcpFrame{
		{true, 1000, invite[:cut]},
		{true, 1000 + uint32(cut), invite[cut:]},
		{true, 1000 + uint32(cut), invite[cut:]}, // a retransmission
		{true, 1000 + uint32(len(invite)), "\r\n\r\n" + options},
		{false, 5000, answer + "\r\n"},
	})
	ms, err := ReadSIP(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, strings.SplitN(string(m.Payload), "\r\n", 2)[0]+"@"+string(rune('0'+m.Frame))+"/"+m.Transport)
	}
	want := "INVITE sip:+13035550100@192.0.2.20 SIP/2.0@1/tcp|OPTIONS sip:192.0.2.20 SIP/2.0@4/tcp|SIP/2.0 302 Moved Temporarily@5/tcp"
	if strings.Join(got, "|") != want {
		t.Fatalf("messages:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if string(ms[0].Payload) != invite {
		t.Errorf("INVITE reassembled as %q", ms[0].Payload)
	}
}

func TestSIPLen(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"\r\n\r\nINVITE", -4},
		{"INVITE x SIP/2.0\r\nContent-Length: 3\r\n\r\nabcXYZ", 42},
		{"INVITE x SIP/2.0\r\nl:3\r\n\r\nabc", 28},
		{"INVITE x SIP/2.0\r\nContent-Length: 9\r\n\r\nabc", 0}, // body not all there
		{"INVITE x SIP/2.0\r\nVia: x\r\n\r\n", 0},               // no Content-Length on a stream
		{"INVITE x SIP/2.0\r\nContent-Length: -1\r\n\r\n", 0},
		{"INVITE x SIP/2.0\r\nVia: x", 0}, // headers not ended
	} {
		if got := sipLen([]byte(c.in)); got != c.want {
			t.Errorf("sipLen(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
