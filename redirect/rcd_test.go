package redirect

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"callgate/internal/tsharktest"
	"callgate/store"
)

// TestRichCallData: a branded 302 carries the brand's logo and call
// reason in one Call-Info header field as RFC 9796 uses it: the logo as
// purpose=icon, the reason as the call-reason parameter (a quoted
// string), a reason without a logo on the null data URI with
// purpose=jcard.
func TestRichCallData(t *testing.T) {
	for _, c := range []struct {
		name  string
		brand store.Brand
		want  string
	}{
		{"logo and reason", store.Brand{Name: "Initech", LogoURL: "https://initech.example/l.png", Reason: "Your order #42"},
			`<https://initech.example/l.png>;purpose=icon;call-reason="Your order #42"`},
		{"reason alone", store.Brand{Name: "Initech", Reason: "Appointment reminder"},
			`<data:>;purpose=jcard;call-reason="Appointment reminder"`},
		{"logo alone", store.Brand{Name: "Initech", LogoURL: "https://initech.example/l.png"},
			`<https://initech.example/l.png>;purpose=icon`},
		{"a quote in the reason cannot end the string", store.Brand{Name: "Initech", Reason: `Say "hi"`},
			`<data:>;purpose=jcard;call-reason="Say ?hi?"`},
		{"name alone: no Call-Info", store.Brand{Name: "Initech"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachMode(t, func(t *testing.T, m testMode) {
				s := startServer(t, m.config(), brander{c.brand})
				res := newUDPClient(t, s).exchange(req{}.String())
				if res.StatusCode != 302 {
					t.Fatalf("status %d", res.StatusCode)
				}
				var infos []string
				for _, h := range res.GetHeaders(HeaderCallInfo) {
					infos = append(infos, h.Value())
				}
				if got := strings.Join(infos, " | "); got != c.want {
					t.Errorf("Call-Info %q, want %q (one header field)", got, c.want)
				}
			})
		})
	}
}

// TestRichCallDataInWireshark: Wireshark's SIP dissector reads the
// branded 302 as we mean it: the status, the Contact and
// P-Asserted-Identity display names, the one Call-Info with icon and
// call-reason, and no expert warning.
func TestRichCallDataInWireshark(t *testing.T) {
	s := startServer(t, testConfig(), brander{store.Brand{Name: "Initech", LogoURL: "https://initech.example/l.png", Reason: "Your order"}})
	c := newUDPClient(t, s)
	c.send(req{}.String())
	buf := make([]byte, 65536)
	c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := c.conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(t.TempDir(), "branded-302.pcap")
	writeUDPCapture(t, pcap, from.AddrPort(), c.conn.LocalAddr().(*net.UDPAddr).AddrPort(), buf[:n])
	rows := tsharktest.Fields(t, pcap, "sip", "sip.Status-Code", "sip.Contact", "sip.P-Asserted-Identity", "sip.Call-Info", "_ws.expert")
	if len(rows) != 1 {
		t.Fatalf("tshark saw %d SIP frames: %v", len(rows), rows)
	}
	r := rows[0]
	if r[0] != "302" || !strings.HasPrefix(r[1], `"Initech" <sip:`) || r[2] != `"Initech" <tel:+12125550199>` ||
		r[3] != `<https://initech.example/l.png>;purpose=icon;call-reason="Your order"` || (len(r) > 4 && r[4] != "") {
		t.Errorf("tshark read: %q", r)
	}
}

// writeUDPCapture writes one Ethernet/IPv4/UDP frame carrying payload
// from src to dst.
func writeUDPCapture(t *testing.T, path string, src, dst netip.AddrPort, payload []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	udp.SetNetworkLayerForChecksum(ip)
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(sb.Bytes()), Length: len(sb.Bytes())}, sb.Bytes()); err != nil {
		t.Fatal(err)
	}
}
