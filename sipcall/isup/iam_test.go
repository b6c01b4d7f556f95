package isup

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"time"

	"callgate/e164"
	"callgate/internal/tsharktest"

	"encoding/hex"
	"fmt"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"strings"
	"testing"
)

func forwarded() IAM {
	return IAM{
		ForwardCall:     0x2001,
		CallingCategory: 0x0a,
		Called:          Number{Nature: NatureNational, Plan: 1, Digits: "3035550999"},
		Calling:         Number{Nature: NatureNational, Plan: 1, Presentation: PresentationRestricted, Screening: 3, Digits: "7205550123"},
		OriginalCalled:  Number{Nature: NatureNational, Plan: 1, Digits: "3035550100"},
		Redirecting:     Number{Nature: NatureInternational, Plan: 1, Digits: "13035550101"},
		Redirection:     RedirectionInfo{Indicator: 3, OriginalReason: ReasonNoReply, Counter: 2, Reason: ReasonBusy},
		HasCalling:      true, HasOriginalCalled: true, HasRedirecting: true, HasRedirection: true,
	}
}

// TestRoundTrip: what AppendIAM writes, ParseIAM reads back the same, in
// both layouts, and with the variant unknown.
func TestRoundTrip(t *testing.T) {
	for _, v := range []Variant{ITU, ANSI} {
		want := forwarded()
		b, err := AppendIAM(nil, v, &want)
		if err != nil {
			t.Fatal(err)
		}
		if v == ANSI {
			want.UserServiceInfo = usiSpeech
		}
		for _, pv := range []Variant{v, Unknown} {
			got, err := ParseIAM(b, pv)
			if err != nil {
				t.Fatalf("%s as %s: %v\n% x", v, pv, err, b)
			}
			if pv == Unknown {
				// Read as ITU: the addresses are the same (ParseIAM).
				got.TransmissionMedium, got.UserServiceInfo = want.TransmissionMedium, want.UserServiceInfo
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s as %s:\n got %+v\nwant %+v", v, pv, got, want)
			}
		}
	}
}

// TestRFC3204Example reads the IAM of RFC 3204's example INVITE (ETSI, an
// ITU variant).
func TestRFC3204Example(t *testing.T) {
	raw := "01 00 49 00 00 03 02 00 07 04 10 00 33 63 21 43 00 00 03 06 0d 03 80 90 a2 07 03 10 03 63 53 00 10 0a 07 03 10 27 80 88 03 00 00 89 8b 0e 95 1e 1e 1e 06 26 05 0d f5 01 06 10 04 00"
	b, err := hex.DecodeString(strings.ReplaceAll(raw, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseIAM(b, VariantOf("nxv3", "etsi121"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Called.Nature != NatureInternational || m.Called.Digits != "0033361234" {
		t.Errorf("called %+v", m.Called)
	}
}

// TestMalformed: every way an IAM can be cut or point out of itself is an
// error that wraps ErrMalformed and says what is wrong.
func TestMalformed(t *testing.T) {
	m := forwarded()
	good, err := AppendIAM(nil, ITU, &m)
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, c byte) []byte { b := bytes.Clone(good); b[i] = c; return b }
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty body"},
		{"not an IAM", with(0, 0x06), "message type 0x06 is not an IAM"},
		{"short", good[:7], "shorter than the itu IAM's mandatory part"},
		{"called pointer 0", with(6, 0), "called party number pointer is 0"},
		{"called pointer out", with(6, 0xf0), "called party number pointer 240 runs past"},
		{"called too long", with(8, 0xf0), "called party number of 240 octets runs past"},
		{"called too short", with(8, 1), "called party number of 1 octets"},
		{"optional pointer out", with(7, 0xf0), "optional part pointer 240 runs past"},
		{"no end", good[:len(good)-1], "no end of optional parameters"},
		{"parameter past end", good[:len(good)-3], "runs past the message"},
	}
	for _, c := range cases {
		_, err := ParseIAM(c.b, ITU)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrMalformed saying %q", c.name, err, c.want)
		}
	}
}

func TestVariantOf(t *testing.T) {
	for _, c := range []struct {
		version, base string
		want          Variant
	}{
		{"ansi00", "", ANSI}, {"itu-t92+", "", ITU}, {"nxv3", "etsi121", ITU}, {"X-Net", "gr317", ANSI},
		{"ANSI92", "", ANSI}, {"itu-t", "ansi95", ANSI}, {"nxv3", "", Unknown}, {"", "", Unknown},
	} {
		if got := VariantOf(c.version, c.base); got != c.want {
			t.Errorf("VariantOf(%q, %q) = %s, want %s", c.version, c.base, got, c.want)
		}
	}
}

func TestNumberE164(t *testing.T) {
	for _, c := range []struct {
		n    Number
		want string // E.164, or the error's text
	}{
		{Number{Nature: NatureNational, Digits: "3035550100"}, "+13035550100"},
		{Number{Nature: NatureNonUniqueNational, Digits: "13035550100"}, "+13035550100"},
		{Number{Nature: NatureInternational, Digits: "442071234567"}, "+442071234567"},
		{Number{Nature: NatureUnknown, Digits: "3035550100F"}, "+13035550100"},
		{Number{Nature: NatureSubscriber, Digits: "5550100"}, "not a national or international number"},
		{Number{Nature: NatureNational, Digits: "30355501B0"}, "is a code, not a digit"},
		{Number{Nature: NatureNational, Presentation: PresentationUnavailable}, "no digits"},
		{Number{Nature: NatureNational, Digits: "0305550100"}, "not a valid NANP number"},
	} {
		got, err := c.n.E164()
		s := got.String()
		if err != nil {
			s = err.Error()
		}
		if !strings.Contains(s, c.want) {
			t.Errorf("%+v: %s, want %s", c.n, s, c.want)
		}
	}
	_ = e164.Number(0)
}

// FuzzParseIAM: no input panics ParseIAM, and what it reads, AppendIAM
// writes so that ParseIAM reads it back the same.
func FuzzParseIAM(f *testing.F) {
	for _, v := range []Variant{ITU, ANSI} {
		m := forwarded()
		b, _ := AppendIAM(nil, v, &m)
		f.Add(b, uint8(v))
	}
	f.Fuzz(func(t *testing.T, b []byte, v uint8) {
		variant := Variant(v % 3)
		m, err := ParseIAM(b, variant)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		out := variant
		if out == Unknown {
			out = ITU
		}
		again, err := AppendIAM(nil, out, &m)
		if err != nil {
			t.Fatalf("read %+v, cannot write it: %v", m, err)
		}
		m2, err := ParseIAM(again, out)
		if err != nil {
			t.Fatalf("written % x does not read: %v", again, err)
		}
		// AppendIAM writes redirection information in two octets.
		if m.Called != m2.Called || m.Calling != m2.Calling || m.OriginalCalled != m2.OriginalCalled ||
			m.Redirecting != m2.Redirecting || m.Redirection != m2.Redirection {
			t.Fatalf("read back differs:\n %+v\n %+v", m, m2)
		}
	})
}

// TestTsharkDecodes: Wireshark reads the IAMs AppendIAM writes, in an
// INVITE's multipart body as a SIP-T gateway sends it, as this package
// reads them.
func TestTsharkDecodes(t *testing.T) {
	type frame struct {
		v            Variant
		version      string
		called, clg  string
		ocn, redirNr string
	}
	m := forwarded()
	frames := []frame{{ITU, "itu-t92+", "3035550999", "7205550123", "3035550100", "13035550101"},
		{ANSI, "ansi00", "3035550999", "7205550123", "3035550100", "13035550101"}}
	path := filepath.Join(t.TempDir(), "sipt.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for i, fr := range frames {
		iam, err := AppendIAM(nil, fr.v, &m)
		if err != nil {
			t.Fatal(err)
		}
		pkt := udpPacket(t, sipT(fr.version, iam))
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1764230400+int64(i), 0), CaptureLength: len(pkt), Length: len(pkt)}
		if err := w.WritePacket(ci, pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, l := range tsharktest.Expert(t, path) {
		t.Errorf("tshark expert: %s", l)
	}
	rows := tsharktest.Fields(t, path, "", "isup.message_type", "isup.called", "isup.calling", "isup.original_called_number",
		"isup.redirecting", "isup.address_presentation_restricted_indicator", "isup.redirection_counter")
	if len(rows) != len(frames) {
		t.Fatalf("tshark returned %d rows, want %d", len(rows), len(frames))
	}
	for i, fr := range frames {
		want := []string{"1", fr.called, fr.clg, fr.ocn, fr.redirNr, "1,0,0", "2"}
		if got := rows[i]; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s IAM: tshark read %q, want %q", fr.v, got, want)
		}
	}
}

// sipT is an INVITE with an SDP offer and iam, multipart/mixed (RFC 3204 §3).
func sipT(version string, iam []byte) []byte {
	var body bytes.Buffer
	body.WriteString("--b1\r\nContent-Type: application/sdp\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n" +
		"\r\n--b1\r\nContent-Type: application/ISUP; version=" + version + "\r\nContent-Disposition: signal; handling=optional\r\n\r\n")
	body.Write(iam)
	body.WriteString("\r\n--b1--\r\n")
	hdr := "INVITE sip:+13035550999@192.0.2.2 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:+17205550123@192.0.2.1>;tag=1\r\nTo: <sip:+13035550999@192.0.2.2>\r\n" +
		"Call-ID: sipt-1\r\nCSeq: 1 INVITE\r\nContact: <sip:gw@192.0.2.1>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b1\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", body.Len())
	return append([]byte(hdr), body.Bytes()...)
}

func udpPacket(t *testing.T, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IPv4(192, 0, 2, 1), DstIP: net.IPv4(192, 0, 2, 2)}
	udp := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ParseIAMInto reads what ParseIAM reads, and allocates nothing.
func TestParseIAMIntoAllocatesNothing(t *testing.T) {
	for _, v := range []Variant{ITU, ANSI} {
		want := forwarded()
		b, err := AppendIAM(nil, v, &want)
		if err != nil {
			t.Fatal(err)
		}
		var m IAM
		var buf DigitBuf
		allocs := testing.AllocsPerRun(100, func() {
			if err := ParseIAMInto(&m, b, Unknown, &buf); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per IAM", v, allocs)
		}
		whole, _ := ParseIAM(b, Unknown)
		if fmt.Sprint(m) != fmt.Sprint(whole) {
			t.Errorf("%s: ParseIAMInto %+v, ParseIAM %+v", v, m, whole)
		}
	}
}
