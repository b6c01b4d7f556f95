package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// m3uaBeat is an M3UA BEAT whose Heartbeat Data is data (padded).
func m3uaBeat(data string) string {
	pl := 4 + len(data)
	pad := (4 - pl%4) % 4
	b := []byte{1, 0, 3, 3, 0, 0, 0, 0, 0, 9, 0, 0}
	binary.BigEndian.PutUint32(b[4:], uint32(8+pl+pad))
	binary.BigEndian.PutUint16(b[10:], uint16(pl))
	b = append(b, data...)
	return string(append(b, make([]byte, pad)...))
}

func skipsOf(t *testing.T, err error) []Skip {
	t.Helper()
	var inc *Incomplete
	if !errors.As(err, &inc) {
		t.Fatalf("error %v, want an *Incomplete naming what was skipped", err)
	}
	return inc.Skipped
}

// A lost segment in the middle of an M3UA flow over TCP costs the
// messages it held a part of, not the rest of the flow: reading resumes
// at the next M3UA header (version 1, reserved 0, known class and type,
// sane length), and the warning names by frame what the capture lacks and
// what was skipped. It used to run the bytes after the hole together with
// those before it and lose everything from there on.
func TestReadM3UAOverTCPResynchronises(t *testing.T) {
	m1, m2, m3, m4 := m3uaBeat("one"), m3uaBeat("two: lost in part"), m3uaBeat("three: its start lost"), m3uaBeat("four")
	seq := uint32(1000)
	lost := len(m2) - 6 + 10 // the end of m2 and the start of m3
	b := writeTCPCapture(t, []tcpFrame{
		{true, seq, m1 + m2[:6]},
		{true, seq + uint32(len(m1)+6+lost), m3[10:] + m4},
	})
	ms, err := Read(bytes.NewReader(b))
	if len(ms) != 2 || string(ms[0].Payload) != m1 || string(ms[1].Payload) != m4 || ms[1].Frame != 2 {
		t.Fatalf("read %d messages: %+v", len(ms), ms)
	}
	want := []Skip{
		{Proto: "M3UA", Frame: 1, Bytes: 6},
		{Proto: "M3UA", Frame: 2, Bytes: lost, Missing: true},
		{Proto: "M3UA", Frame: 2, Bytes: len(m3) - 10},
	}
	if got := skipsOf(t, err); !equalSkips(got, want) {
		t.Fatalf("skipped %+v, want %+v", got, want)
	}
	for _, s := range []string{"6 bytes skipped from frame 1 to the next M3UA message", "bytes of a TCP flow missing before frame 2"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("warning %q lacks %q", err, s)
		}
	}
}

// A capture that starts inside an M3UA message (tcpdump started while
// the association was busy) is read from the first message start on.
func TestReadM3UACaptureStartingInsideAMessage(t *testing.T) {
	m1, m2 := m3uaBeat("begun before the capture"), m3uaBeat("whole")
	b := writeTCPCapture(t, []tcpFrame{{true, 7, m1[13:] + m2}, {true, 7 + uint32(len(m1)-13+len(m2)), m2}})
	ms, err := Read(bytes.NewReader(b))
	if len(ms) != 2 || string(ms[0].Payload) != m2 || ms[0].Frame != 1 || ms[1].Frame != 2 {
		t.Fatalf("read %+v", ms)
	}
	if got := skipsOf(t, err); !equalSkips(got, []Skip{{Proto: "M3UA", Frame: 1, Bytes: len(m1) - 13}}) {
		t.Fatalf("skipped %+v", got)
	}
}

// SIP over TCP: a lost segment inside an INVITE, and a capture starting
// inside a message, cost those messages only; reading resumes at the
// next start line after a line break (a request line of a SIP method or
// a status line). A TCP flow of another protocol is not SIP: nothing is
// reported about it.
func TestReadSIPOverTCPResynchronises(t *testing.T) {
	invite := "INVITE sip:+13035550100@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK-1\r\n" +
		"Call-ID: r1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	// A body line that looks like a request but is not SIP/2.0, and a
	// header line "CSeq: 2 BYE": neither is a start line.
	bye := "BYE sip:+13035550100@192.0.2.20 SIP/2.0\r\nCall-ID: r1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
	answer := "SIP/2.0 200 OK\r\nCall-ID: r1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
	second := "INVITE sip:+13035550101@192.0.2.20 SIP/2.0\r\nCall-ID: r2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	cut1, cut2 := 30, 90 // invite[cut1:cut2] was never captured
	b := writeTCPCapture(t, []tcpFrame{
		{true, 100, invite[:cut1]},
		{true, 100 + uint32(cut2), invite[cut2:] + bye},
		{false, 9000, answer[20:] + "GET / HTTP/1.1\r\n" + answer},
		{true, 100 + uint32(len(invite)+len(bye)), second},
	})
	// Another protocol on another flow: no SIP in it, nothing said.
	other := writeTCPCapture(t, []tcpFrame{{true, 1, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"}})
	if ms, err := ReadSIP(bytes.NewReader(other)); len(ms) != 0 || err != nil {
		t.Fatalf("an HTTP flow: %d messages, %v", len(ms), err)
	}

	ms, err := ReadSIP(bytes.NewReader(b))
	var got []string
	for _, m := range ms {
		got = append(got, strings.SplitN(string(m.Payload), "\r\n", 2)[0])
	}
	if strings.Join(got, "|") != "BYE sip:+13035550100@192.0.2.20 SIP/2.0|SIP/2.0 200 OK|INVITE sip:+13035550101@192.0.2.20 SIP/2.0" ||
		string(ms[0].Payload) != bye || string(ms[1].Payload) != answer || ms[1].Frame != 3 {
		t.Fatalf("read %q", got)
	}
	want := []Skip{
		{Proto: "SIP", Frame: 1, Bytes: cut1},
		{Proto: "SIP", Frame: 2, Bytes: cut2 - cut1, Missing: true},
		{Proto: "SIP", Frame: 2, Bytes: len(invite) - cut2},
		{Proto: "SIP", Frame: 3, Bytes: len(answer) - 20 + len("GET / HTTP/1.1\r\n")},
	}
	if got := skipsOf(t, err); !equalSkips(got, want) {
		t.Fatalf("skipped %+v, want %+v", got, want)
	}
	if !strings.Contains(err.Error(), "from frame 3 to the next SIP message") {
		t.Errorf("warning %q", err)
	}
}

// What cannot be cut at the end of a flow (a message the capture ends
// inside of) is named as skipped to the end of the flow.
func TestReadSIPOverTCPMessageCutByTheCaptureEnd(t *testing.T) {
	options := "OPTIONS sip:192.0.2.20 SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	b := writeTCPCapture(t, []tcpFrame{{true, 1, options + options[:25]}})
	ms, err := ReadSIP(bytes.NewReader(b))
	if len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	if got := skipsOf(t, err); !equalSkips(got, []Skip{{Proto: "SIP", Frame: 1, Bytes: 25, ToEnd: true}}) {
		t.Fatalf("skipped %+v", got)
	}
	if !strings.Contains(err.Error(), "25 bytes skipped from frame 1 to the end of the flow") {
		t.Errorf("warning %q", err)
	}
}

func equalSkips(a, b []Skip) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestM3UAStart(t *testing.T) {
	beat := []byte(m3uaBeat("x"))
	for _, c := range []struct {
		name string
		edit func(b []byte)
		want bool
	}{
		{"a BEAT", func([]byte) {}, true},
		{"ERR (MGMT type 0)", func(b []byte) { b[2], b[3] = 0, 0 }, true},
		{"version 2", func(b []byte) { b[0] = 2 }, false},
		{"reserved set", func(b []byte) { b[1] = 1 }, false},
		{"unknown class", func(b []byte) { b[2] = 5 }, false},
		{"type 0 of ASPSM", func(b []byte) { b[3] = 0 }, false},
		{"type 7 of ASPSM", func(b []byte) { b[3] = 7 }, false},
		{"DATA type 2", func(b []byte) { b[2], b[3] = 1, 2 }, false},
		{"length under the header", func(b []byte) { binary.BigEndian.PutUint32(b[4:], 4) }, false},
		{"length not padded", func(b []byte) { binary.BigEndian.PutUint32(b[4:], 13) }, false},
		{"length over 64 KiB", func(b []byte) { binary.BigEndian.PutUint32(b[4:], 1<<20) }, false},
	} {
		b := bytes.Clone(beat)
		c.edit(b)
		if got := m3uaStart(b); got != c.want {
			t.Errorf("%s: m3uaStart = %v", c.name, got)
		}
	}
}

func TestSIPStart(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"INVITE sip:a@b SIP/2.0\r\n", true},
		{"SIP/2.0 180 Ringing\r\n", true},
		{"SIP/2.0 200\r\n", true},
		{"INVITE sip:a@b SIP/2.0", false}, // the line is not all there
		{"CSeq: 2 BYE\r\n", false},
		{"GET / HTTP/1.1\r\n", false},
		{"FOO sip:a@b SIP/2.0\r\n", false},
		{"INVITE sip:a@b SIP/3.0\r\n", false},
		{"SIP/2.0 99 x\r\n", false},
		{"a=rtpmap:0 PCMU/8000\r\n", false},
	} {
		if got := sipStart([]byte(c.in)); got != c.want {
			t.Errorf("sipStart(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Whatever a TCP flow holds, its bytes are accounted for: each one is in
// a message or in a stretch reported skipped (M3UA has no keep-alives),
// the hole is reported missing, and every message cut is one M3UA
// message whole.
func FuzzSplitM3UA(f *testing.F) {
	f.Add([]byte(m3uaBeat("one")+m3uaBeat("two")+m3uaBeat("three")), uint16(5), uint16(9))
	f.Add([]byte("\x01\x00\x03\x03\x00\x00\x00\x0c"+m3uaBeat("x")), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, at, gap uint16) {
		if len(data) == 0 {
			return
		}
		cut := int(at) % len(data)
		fl := &tcpFlow{segs: []tcpSeg{{seq: 1, frame: 1, data: data[:cut]}, {seq: 1 + uint32(cut) + uint32(gap), frame: 2, data: data[cut:]}}}
		if cut == 0 {
			fl.segs = fl.segs[1:]
		}
		chunks, skips := fl.split(m3uaFraming)
		read, missing := 0, 0
		for _, c := range chunks {
			if m3uaLen(c.b) != len(c.b) {
				t.Fatalf("a chunk that is not one M3UA message: %x", c.b)
			}
			read += len(c.b)
		}
		for _, s := range skips {
			if s.Missing {
				missing += s.Bytes
			} else {
				read += s.Bytes
			}
		}
		if len(chunks) > 0 && (read != len(data) || cut > 0 && missing != int(gap)) {
			t.Fatalf("%d bytes accounted for of %d, %d missing of %d", read, len(data), missing, gap)
		}
	})
}
