package scp

import (
	"context"
	"errors"
	"sync"
	"time"

	"callgate/sigtran/m3ua"
	"callgate/sigtran/pcap"
)

// Live capture: an operator asks the running SCP for a trace of its
// associations (callgate capture), to read in Wireshark or to replay with
// sspsim replay. The M3UA tap (m3ua.Config.Tap) is always installed; while
// no capture runs it costs one atomic load per message.

// ErrCaptureBusy is returned by Capture while another capture runs.
var ErrCaptureBusy = errors.New("scp: a capture is already running; wait for it to end")

// MaxCapture bounds the messages one capture keeps (about 100 MB at the
// size of an AIN query); Capture's max is clamped to it.
const MaxCapture = 1_000_000

// captureBuf collects the messages of one capture.
type captureBuf struct {
	mu      sync.Mutex
	msgs    []pcap.Seen
	max     int
	dropped int
	full    chan struct{} // closed when max messages are kept
	ended   bool          // Capture has taken msgs: a late tap adds nothing
}

func (c *captureBuf) add(m pcap.Seen) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	if len(c.msgs) >= c.max {
		c.dropped++
		return
	}
	c.msgs = append(c.msgs, m)
	if len(c.msgs) == c.max {
		close(c.full)
	}
}

// tap is the M3UA tap: it copies msg into the running capture, if any.
func (s *Service) tap(a *m3ua.Association, out bool, stream uint16, msg []byte) {
	c := s.capture.Load()
	if c == nil {
		return
	}
	c.add(pcap.Seen{
		Time: time.Now(), Out: out, Local: pcap.AddrPortOf(a.LocalAddr()), Remote: pcap.AddrPortOf(a.RemoteAddr()),
		Stream: stream, Message: append([]byte(nil), msg...),
	})
}

// Capture records every M3UA message the SCP sends and receives on all its
// associations (DATA and ASP management) for d, or until ctx ends or max
// messages are kept (at most MaxCapture), and returns them in the order
// seen with the number of messages left out once max was reached. One
// capture runs at a time (ErrCaptureBusy). Write them with
// pcap.Writer.WriteSeen.
func (s *Service) Capture(ctx context.Context, d time.Duration, max int) ([]pcap.Seen, int, error) {
	if max <= 0 || max > MaxCapture {
		max = MaxCapture
	}
	c := &captureBuf{max: max, full: make(chan struct{})}
	if !s.capture.CompareAndSwap(nil, c) {
		return nil, 0, ErrCaptureBusy
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-c.full:
	}
	t.Stop()
	s.capture.Store(nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	return c.msgs, c.dropped, nil
}
