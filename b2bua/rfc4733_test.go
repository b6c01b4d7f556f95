package b2bua

import (
	"encoding/binary"
	"os"
	"testing"
)

// rtpOfPcap returns the RTP packets of a libpcap file of Ethernet/IPv4/UDP
// frames (what sipp's dtmf_2833_*.pcap are).
func rtpOfPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (sipp's captures: scripts/test-deps.sh installs sip-tester)", err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian libpcap file", path)
	}
	var pkts [][]byte
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		frame := b[off+16 : off+16+n]
		off += 16 + n
		ihl := int(frame[14]&0x0f) * 4
		pkts = append(pkts, frame[14+ihl+8:])
	}
	return pkts
}

// feed runs RTP packets through a detector as the pump does.
func feed(d *eventDetector, pkts [][]byte) string {
	var got []rune
	for _, p := range pkts {
		if k, ok := d.packet(p[1]&0x80 != 0, binary.BigEndian.Uint32(p[4:]), p[12:]); ok {
			got = append(got, k)
		}
	}
	return string(got)
}

// sipp's captures start each event with duration 0 (diago's own reader
// drops such events); each is one digit, also when the same capture is
// played twice in a row.
func TestEventsOfSippCaptures(t *testing.T) {
	var d eventDetector
	names := []string{"2", "4", "6", "8", "pound", "star", "0"}
	var pkts [][]byte
	for _, n := range names {
		pkts = append(pkts, rtpOfPcap(t, "/usr/share/sip-tester/dtmf_2833_"+n+".pcap")...)
	}
	if got := feed(&d, pkts); got != "2468#*0" {
		t.Errorf("digits %q, want 2468#*0", got)
	}
	twice := rtpOfPcap(t, "/usr/share/sip-tester/dtmf_2833_5.pcap")
	if got := feed(&d, append(append([][]byte{}, twice...), twice...)); got != "55" {
		t.Errorf("the same capture twice: %q, want 55", got)
	}
}

func TestEventDetector(t *testing.T) {
	ev := func(code byte, end bool, dur uint16) []byte {
		p := []byte{code, 10, byte(dur >> 8), byte(dur)}
		if end {
			p[1] |= 0x80
		}
		return p
	}
	var d eventDetector
	steps := []struct {
		marker bool
		ts     uint32
		p      []byte
		want   rune
	}{
		{true, 100, ev(1, false, 160), '1'},
		{true, 100, ev(1, false, 160), 0}, // retransmitted first packet
		{false, 100, ev(1, false, 320), 0},
		{false, 100, ev(1, true, 480), 0},
		{false, 100, ev(1, true, 480), 0},     // redundant end
		{false, 900, ev(11, false, 320), '#'}, // first packet lost: the next starts it
		{false, 900, ev(11, true, 800), 0},
		{true, 900, ev(11, false, 0), '#'}, // replayed after its end
		{false, 1200, ev(16, false, 0), 0}, // flash: not a digit
		{false, 1300, []byte{1, 2}, 0},     // too short
	}
	for i, s := range steps {
		k, ok := d.packet(s.marker, s.ts, s.p)
		if (s.want != 0) != ok || k != s.want {
			t.Errorf("step %d: %q %v, want %q", i, k, ok, s.want)
		}
	}
}

func FuzzEventDetector(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 0, 1, 10, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d eventDetector
		for len(b) >= 6 {
			k, ok := d.packet(b[0]&1 != 0, uint32(b[1]), b[2:6])
			if ok && !(k >= '0' && k <= '9' || k == '*' || k == '#' || k >= 'A' && k <= 'D') {
				t.Fatalf("digit %q", k)
			}
			b = b[6:]
		}
	})
}

// A key held past the duration field's range (RFC 4733 §2.5.1.3) is sent
// as segments of at most 0xFFFF units, each under the timestamp where it
// starts, without the marker bit and with no end packet until the last:
// one digit. Two short presses of one digit whose first lost all its end
// packets stay two digits, and a marked packet is always a new event.
func TestLongDurationEventIsOneDigit(t *testing.T) {
	ev := func(code byte, end bool, dur uint16) []byte {
		p := []byte{code, 10, byte(dur >> 8), byte(dur)}
		if end {
			p[1] |= 0x80
		}
		return p
	}
	var d eventDetector
	var got []rune
	send := func(marker bool, ts uint32, p []byte) {
		if k, ok := d.packet(marker, ts, p); ok {
			got = append(got, k)
		}
	}
	// '5' held 20 s: segments at ts, ts+0xFFFF, ts+2*0xFFFF (the
	// timestamp wraps meanwhile).
	ts := uint32(0xFFFF_0000)
	send(true, ts, ev(5, false, 0))
	for seg := range 3 {
		last := uint16(0xFFFF)
		if seg == 2 {
			last = 30000
		}
		for dur := uint32(160); dur <= uint32(last); dur += 160 * 50 {
			send(false, ts, ev(5, false, uint16(dur)))
		}
		send(false, ts, ev(5, seg == 2, last))
		ts += 0xFFFF
	}
	send(false, ts-0xFFFF, ev(5, true, 30000)) // redundant end
	// Two short presses of '7', the first's end packets all lost.
	send(true, ts+8000, ev(7, false, 0))
	send(false, ts+8000, ev(7, false, 800))
	send(false, ts+9600, ev(7, false, 160))
	send(false, ts+9600, ev(7, true, 800))
	// A marked packet of the same code right after a long segment is a
	// new event.
	send(true, ts+20000, ev(9, false, 0xFFFF))
	send(true, ts+20000+0xFFFF, ev(9, false, 160))
	if string(got) != "57799" {
		t.Fatalf("digits %q, want 57799 (the held key once, two presses, a marked event twice)", string(got))
	}
}
