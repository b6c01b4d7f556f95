package ssp

import (
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"callgate/sigtran/m3ua"
	"callgate/sigtran/pcap"
)

// Direction of a captured message, seen from the switch.
type Direction uint8

// Directions.
const (
	Sent     Direction = iota + 1 // SSP -> SCP
	Received                      // SCP -> SSP
)

func (d Direction) String() string {
	switch d {
	case Sent:
		return "sent"
	case Received:
		return "received"
	}
	return "?"
}

// Captured is one M3UA message the Client sent or received.
type Captured struct {
	Time      time.Time
	Direction Direction
	// Local and Remote are the association's transport addresses.
	Local, Remote netip.AddrPort
	// Stream is the SCTP stream the message used (0 on TCP).
	Stream uint16
	// Message is the whole M3UA message: DATA, and the ASP management
	// (ASP Up, ASP Active, their acks, BEAT) that brings the association up
	// and keeps it, so a capture shows the association as it happened.
	Message []byte
}

// IsData reports whether the message is M3UA DATA (the SCCP/TCAP traffic)
// rather than ASP management.
func (m *Captured) IsData() bool {
	return len(m.Message) >= 4 && m3ua.Class(m.Message[2]) == m3ua.ClassTransfer && m.Message[3] == m3ua.TypeDATA
}

// capture keeps Captured messages up to a limit.
type capture struct {
	mu      sync.Mutex
	msgs    []Captured
	limit   int
	dropped int
}

func (c *capture) add(m Captured) {
	c.mu.Lock()
	if c.limit > 0 && len(c.msgs) >= c.limit {
		c.dropped++
	} else {
		c.msgs = append(c.msgs, m)
	}
	c.mu.Unlock()
}

// Capture returns a copy of the messages recorded so far (Config.Capture).
func (c *Client) Capture() []Captured {
	c.cap.mu.Lock()
	defer c.cap.mu.Unlock()
	return append([]Captured(nil), c.cap.msgs...)
}

// WritePcap writes msgs as an Ethernet/IPv4/SCTP capture (one DATA chunk
// per message, PPID 3) that Wireshark decodes as M3UA: tshark -r FILE -o
// mtp3.standard:ANSI -o sccp.default_payload:tcap. Messages that went over
// TCP keep their addresses; their DATA is shown on SCTP stream 1 (DATA on
// stream 0 is unusual and some dissectors flag it), management on stream 0
// as RFC 4666 puts it.
func WritePcap(w io.Writer, msgs []Captured) error {
	pw, err := pcap.NewWriter(w)
	if err != nil {
		return err
	}
	for i, m := range msgs {
		seen := pcap.Seen{Time: m.Time, Out: m.Direction == Sent, Local: m.Local, Remote: m.Remote,
			Stream: m.Stream, Message: m.Message}
		if err := pw.WriteSeen(&seen); err != nil {
			return fmt.Errorf("ssp: writing captured message %d: %w", i+1, err)
		}
	}
	return nil
}
