package dissect

import (
	"encoding/hex"
	"fmt"
	"strings"

	"callgate/sigtran/ber"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/pcap"
)

// ParseHex reads hexadecimal text: spaces, tabs, newlines, colons, dashes,
// dots and underscores between octets are ignored, as is a "0x" prefix on
// any group. A stray character is an error naming its position.
func ParseHex(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == '-' || c == '.' || c == '_':
		case c == '0' && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && (i == 0 || !isHex(s[i-1])):
			i++
		case isHex(c):
			clean = append(clean, c)
		default:
			return nil, fmt.Errorf("character %q at position %d is not hexadecimal", c, i+1)
		}
	}
	if len(clean) == 0 {
		return nil, fmt.Errorf("no hex digits")
	}
	if len(clean)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits (%d): the last octet is incomplete", len(clean))
	}
	b := make([]byte, len(clean)/2)
	if _, err := hex.Decode(b, clean); err != nil {
		return nil, err
	}
	return b, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// DecodeBytes decodes every message in b, which starts with the layer
// Detect finds. M3UA messages and TCAP packages carry their own length, so
// several of them may follow each other; an SCCP message is decoded alone.
// source labels the input ("hex input 1"); each message is labelled with
// its index and offset. It never fails: problems are in Message.Errors.
func DecodeBytes(b []byte, source string) []Message {
	first := Detect(b)
	var out []Message
	off := 0
	for n := 1; ; n++ {
		rest := b[off:]
		kind := Detect(rest)
		label := source
		if first == M3UA || first == TCAP {
			label = fmt.Sprintf("%s message %d", source, n)
		}
		if n > 1 && kind != first {
			m := Message{Source: label, Offset: off, Length: len(rest), Kind: kind.String()}
			m.errorf("%d trailing octets at offset %d are not another %s message (first octets %s)", len(rest), off, first, hexPrefix(rest))
			out = append(out, m)
			break
		}
		size := len(rest) // an undecodable message takes the rest
		switch kind {
		case M3UA:
			if h, err := m3ua.ParseHeader(rest); err == nil {
				size = int(h.Length)
			}
		case TCAP:
			if t, _, err := ber.Parse(rest); err == nil {
				size = t.Len()
			}
		}
		m := Decode(rest[:size], kind, label)
		m.Offset = off
		shift(&m, off)
		out = append(out, m)
		off += size
		if kind == Unknown || kind == SCCP || off >= len(b) {
			break
		}
	}
	return out
}

// shift makes error offsets refer to the whole input when a message does
// not start at its beginning.
func shift(m *Message, off int) {
	if off == 0 {
		return
	}
	for i, e := range m.Errors {
		m.Errors[i] = fmt.Sprintf("%s (message starts at offset %d of the input)", e, off)
	}
}

// DecodeHexArgs decodes hex typed on a command line. The arguments are
// joined with spaces (so "01 00 01 01 ..." split by the shell is one
// message); ',' or ';' separate independent inputs. Inputs that are not
// hex yield a Message whose Errors say so.
func DecodeHexArgs(args []string) []Message {
	var out []Message
	text := strings.Join(args, " ")
	chunks := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == '\n' })
	n := 0
	for _, ch := range chunks {
		if strings.TrimSpace(ch) == "" {
			continue
		}
		n++
		src := fmt.Sprintf("hex input %d", n)
		b, err := ParseHex(ch)
		if err != nil {
			out = append(out, Message{Source: src, Kind: Unknown.String(), Errors: []string{"hex: " + err.Error()}})
			continue
		}
		out = append(out, DecodeBytes(b, src)...)
	}
	return out
}

// DecodeCapture decodes every M3UA message of a pcap or pcapng file.
func DecodeCapture(path string) ([]Message, error) {
	msgs, err := pcap.ReadFile(path)
	if err != nil && len(msgs) == 0 {
		return nil, err
	}
	out := make([]Message, 0, len(msgs))
	for _, pm := range msgs {
		m := Decode(pm.Payload, M3UA, fmt.Sprintf("frame %d", pm.Frame))
		m.Frame, m.Time, m.Transport = pm.Frame, pm.Time, pm.Transport
		m.Src, m.Dst = pm.Src.String(), pm.Dst.String()
		if pm.Transport == "sctp" {
			s := pm.Stream
			m.Stream = &s
		}
		if len(pm.Payload) > m.Length {
			m.errorf("%d octets after the M3UA message in the same chunk not decoded", len(pm.Payload)-m.Length)
		}
		out = append(out, m)
	}
	if err != nil {
		// A truncated capture: what was read is returned with the error.
		return out, err
	}
	return out, nil
}
