package sip

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
)

// packetLog is an RTP writer that keeps the headers it is given.
type packetLog struct{ headers []rtp.Header }

func (l *packetLog) WriteRTP(p *rtp.Packet) error {
	l.headers = append(l.headers, p.Header)
	return nil
}

// Defect: a sender that fell behind in the middle of a digit (a loaded
// machine) skipped ahead by moving the RTP timestamp on, so the rest of
// the event went out with another timestamp and the far end heard the
// digit twice (the B2BUA's IVR got "1111111" for "1111"). Every packet of
// an event now keeps the event's timestamp; the skip is made after it.
func TestDigitKeepsItsTimestampWhenLate(t *testing.T) {
	log := &packetLog{}
	w := media.NewRTPPacketWriter(log, media.CodecAudioUlaw)
	s := newSender(w, ptPCMU, 101, true, 100*time.Millisecond)
	p := newPacer(w)
	defer p.timer.Stop()
	ctx := context.Background()
	waits := 0
	wait := func() bool {
		if waits++; waits == 3 {
			p.next = time.Now().Add(-time.Second) // a second behind, mid-event
		}
		return p.wait(ctx)
	}
	if !s.sendDigit(&sendItem{digit: '1'}, p, wait) {
		t.Fatal("sendDigit failed")
	}
	if !wait() || s.write(make([]byte, packetSamples), packetSamples, ptPCMU, p.skipped) != nil {
		t.Fatal("the audio after the digit did not go out")
	}
	var eventTS []uint32
	for _, h := range log.headers[:len(log.headers)-1] {
		eventTS = append(eventTS, h.Timestamp)
	}
	if len(eventTS) != 8 {
		t.Fatalf("%d event packets, want 5 + 3 end packets", len(eventTS))
	}
	for i, ts := range eventTS {
		if ts != eventTS[0] {
			t.Fatalf("event packet %d has timestamp %d, the event's is %d: %v", i, ts, eventTS[0], eventTS)
		}
	}
	after := log.headers[len(log.headers)-1]
	if after.Timestamp < eventTS[0]+8*packetSamples+SampleRate/2 || !after.Marker {
		t.Errorf("audio after the event at %d (marker %v): want past the event (%d + %d) and the skipped half second or more, with the marker bit",
			after.Timestamp, after.Marker, eventTS[0], 8*packetSamples)
	}
}
