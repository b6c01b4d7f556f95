package pcap

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// sctpChunk is one DATA chunk of a test frame.
type sctpChunk struct {
	tsn    uint32
	stream uint16
	b, e   bool
	data   string
}

func sctpFrame(t *testing.T, src net.IP, chunks ...sctpChunk) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolSCTP, SrcIP: src, DstIP: net.IPv4(192, 0, 2, 20)}
	ls := []gopacket.SerializableLayer{ip, &layers.SCTP{SrcPort: 2905, DstPort: 49152, VerificationTag: 0x1234}}
	for _, c := range chunks {
		flags := uint8(0)
		if c.b {
			flags |= 2
		}
		if c.e {
			flags |= 1
		}
		d := &layers.SCTPData{
			SCTPChunk: layers.SCTPChunk{Type: layers.SCTPChunkTypeData, Flags: flags, Length: uint16(16 + len(c.data))},
			TSN:       c.tsn, StreamId: c.stream, PayloadProtocol: PPIDM3UA,
			BeginFragment: c.b, EndFragment: c.e,
		}
		d.Payload = []byte(c.data) // SCTPData serialises (and pads) its own Payload
		ls = append(ls, d)
	}
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), sb.Bytes()...)
}

// DATA chunks are read as the receiving endpoint takes them (RFC 9260):
// a retransmission — the same TSN again, here on the peer's other
// address — once (it was replayed twice, and its first copy lost its
// answer); bundled chunks each; the fragments of a message larger than
// the path MTU as one message, at its last fragment (B and E flags,
// §6.9), as Wireshark reassembles it.
func TestReadSCTPAsTheReceiverDoes(t *testing.T) {
	primary, alternate := net.IPv4(192, 0, 2, 10), net.IPv4(198, 51, 100, 10)
	frames := [][]byte{
		sctpFrame(t, primary, sctpChunk{10, 1, true, true, "query"}),
		sctpFrame(t, alternate, sctpChunk{10, 1, true, true, "query"}),
		sctpFrame(t, primary, sctpChunk{11, 2, true, true, "two"}, sctpChunk{12, 3, true, true, "three"}),
		sctpFrame(t, primary, sctpChunk{13, 4, true, false, "first half,"}),
		sctpFrame(t, primary, sctpChunk{14, 4, false, false, " middle,"}),
		sctpFrame(t, primary, sctpChunk{15, 4, false, true, " last half"}),
		sctpFrame(t, primary, sctpChunk{17, 4, false, true, "no beginning"}),
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1764230400, 0)}
	cis := make([]gopacket.CaptureInfo, len(frames))
	for i := range cis {
		cis[i] = ci
	}
	msgs, err := Read(bytes.NewReader(writePcap(t, layers.LinkTypeRaw, frames, cis)))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		frame  int
		stream uint16
		data   string
	}{{1, 1, "query"}, {3, 2, "two"}, {3, 3, "three"}, {6, 4, "first half, middle, last half"}}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d: %+v", len(msgs), len(want), msgs)
	}
	for i, w := range want {
		if m := msgs[i]; m.Frame != w.frame || m.Stream != w.stream || string(m.Payload) != w.data {
			t.Errorf("message %d: frame %d stream %d %q, want frame %d stream %d %q", i, m.Frame, m.Stream, m.Payload, w.frame, w.stream, w.data)
		}
	}
}
