package b2bua

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
)

// A leg is one media stream of a call: the caller's (our UAS side), or the
// subscriber's or voicemail's (our UAC side). Its pump goroutine reads
// every RTP packet: RFC 4733 events become digits (rfc4733.go; so do DTMF
// INFOs, through onInfo), audio goes to the leg's sink (nothing, the name
// recorder, or, once bridged, the relay to the other leg: relay.go), and
// the time of the last packet feeds the RTP timeout. Prompts are sent by
// the pacer (pacer.go) through the leg's diago packetiser; playPCM waits
// for them on the call's goroutine.
type leg struct {
	name   string // caller, subscriber, voicemail
	callID string // SIP Call-ID of the leg's dialog
	call   *call  // the screened call the leg is part of
	med    *diago.DialogMedia
	ctx    context.Context // the leg's dialog: done when it ends
	codec  media.Codec
	pt     uint8 // audio payload type as received
	tePT   int   // telephone-event payload type as received, -1 without

	dtmfW *diago.DTMFWriter // nil without telephone-event

	prompts *paceStream // the pacer's stream of this leg's prompts
	playMu  sync.Mutex  // one prompt at a time

	dtmf      chan rune
	lastRTP   atomic.Int64 // Unix ns of the last packet
	hold      atomic.Bool  // the peer's last offer put us on hold
	sdpOut    sdpOrigin    // o= of the SDP we send in dialog (sdpout.go)
	confirmed atomic.Bool  // answered: RTP is expected
	sink      atomic.Pointer[func(*rtp.Header, []byte)]
	// sendMu is held while a relayed packet or key is sent on the leg's
	// stream (diago's packetiser takes one writer at a time).
	sendMu sync.Mutex
	done   chan struct{}
}

// dtmfBuffer is how many digits may wait unread (a fast keyer's whole PIN).
const dtmfBuffer = 32

// newLeg wraps an established media stream, starts its pump and registers
// its prompts with the pacer.
func newLeg(c *call, name, callID string, med *diago.DialogMedia, ctx context.Context, p *pacer) (*leg, error) {
	l := &leg{name: name, callID: callID, call: c, med: med, ctx: ctx, dtmf: make(chan rune, dtmfBuffer), done: make(chan struct{})}
	ms := med.MediaSession()
	l.codec = media.CodecAudioFromSession(ms)
	l.pt = l.codec.PayloadTypeRecv()
	l.tePT = -1
	for _, c := range ms.CommonCodecs() {
		if c.Matches(media.CodecTelephoneEvent8000) {
			l.tePT = int(c.PayloadTypeRecv())
			break
		}
	}
	l.lastRTP.Store(time.Now().UnixNano())

	r, err := med.AudioReader()
	if err != nil {
		return nil, err
	}
	dw := &diago.DTMFWriter{}
	// The audio writer sets up the stream's packetiser (RTPPacketWriter),
	// which the pacer and the bridge write through; audio is not written
	// through it (relay.go).
	if _, err = med.AudioWriter(diago.WithAudioWriterDTMF(dw)); err == nil {
		l.dtmfW = dw
	} else if _, err = med.AudioWriter(); err != nil {
		return nil, err
	}
	if med.RTPPacketWriter == nil {
		return nil, errors.New("media without an RTP writer")
	}
	l.prompts = p.add(med.RTPPacketWriter, l.codec, l.dtmf)
	go l.pump(r)
	return l, nil
}

// digit queues a digit from RTP or INFO; beyond the buffer it is dropped.
func (l *leg) digit(d rune) {
	select {
	case l.dtmf <- d:
	default:
	}
}

// drainDigits forgets digits keyed before a prompt that asks for new ones.
func (l *leg) drainDigits() {
	for {
		select {
		case <-l.dtmf:
		default:
			return
		}
	}
}

func (l *leg) pump(r io.Reader) {
	defer close(l.done)
	buf := make([]byte, media.RTPBufSize)
	bad := 0
	var events eventDetector
	for {
		n, err := r.Read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "closed") {
				return
			}
			// A junk datagram (not RTP) is skipped; a socket that keeps
			// failing ends the pump.
			if bad++; bad > 1000 {
				return
			}
			continue
		}
		bad = 0
		l.lastRTP.Store(time.Now().UnixNano())
		hdr := &l.med.RTPPacketReader.PacketHeader
		if n == 0 {
			continue
		}
		if int(hdr.PayloadType) == l.tePT {
			if d, ok := events.packet(hdr.Marker, hdr.Timestamp, buf[:n]); ok {
				l.digit(d)
			}
			continue
		}
		if hdr.PayloadType != l.pt {
			continue
		}
		if s := l.sink.Load(); s != nil {
			(*s)(hdr, buf[:n])
		}
	}
}

// setSink sends the leg's incoming audio (encoded, one packet's header
// and payload at a time, on the pump goroutine) to f; nil discards it.
func (l *leg) setSink(f func(*rtp.Header, []byte)) {
	if f == nil {
		l.sink.Store(nil)
		return
	}
	l.sink.Store(&f)
}

// sendDigit sends key k on the leg as an RFC 4733 event, if it
// negotiated telephone-event; relayed audio is dropped meanwhile
// (relay.go).
func (l *leg) sendDigit(k rune) {
	if l.dtmfW == nil {
		return
	}
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	_ = l.dtmfW.WriteDTMF(k)
}

// playPCM plays 8 kHz 16-bit PCM to the leg and returns when it is done,
// when ctx ends, or, with bargeIn, as soon as a digit is waiting (the digit
// stays queued for the caller of playPCM). The pacer sends it; a prompt
// ended early stops at the next packet due (within 20 ms).
func (l *leg) playPCM(ctx context.Context, pcm []byte, bargeIn bool) error {
	if bargeIn && len(l.dtmf) > 0 {
		return nil
	}
	l.playMu.Lock()
	defer l.playMu.Unlock()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	pb := &playback{pcm: pcm, bargeIn: bargeIn, done: make(chan struct{})}
	l.prompts.play(pb)
	select {
	case <-pb.done:
	case <-ctx.Done():
		pb.cancelled.Store(true)
		<-pb.done
	case <-l.ctx.Done():
		pb.cancelled.Store(true)
		<-pb.done
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return pb.err
}

// close ends the leg's media and waits for its pump.
func (l *leg) close() {
	l.setSink(nil)
	l.prompts.remove()
	_ = l.med.Close()
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
	}
}
