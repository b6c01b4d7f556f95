package b2bua

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
)

// offer is what the B2BUA reads from an SDP offer before diago sees it:
// diago's own SDP reader assumes well-formed input (it indexes fields
// without checking), so every SDP from the network is checked here first,
// and refused with a reason rather than handed on.
type offer struct {
	addr      netip.Addr // connection address of the audio stream
	port      int        // audio port (0 = stream refused)
	direction string     // sendrecv, sendonly, recvonly or inactive
	g711      bool       // PCMU or PCMA offered
}

// onHold reports whether the offer puts the stream on hold (RFC 3264 §8.4:
// sendonly, recvonly or inactive, or the RFC 2543 hold address 0.0.0.0).
// A held peer may stop sending RTP, so the RTP timeout does not apply.
func (o *offer) onHold() bool {
	return o.direction != "sendrecv" || o.addr.IsUnspecified()
}

// sdpError is a refused offer: the SIP status and its reason phrase.
type sdpError struct {
	code   int
	reason string
}

func (e *sdpError) Error() string { return strconv.Itoa(e.code) + " " + e.reason }

func malformed(what string) *sdpError { return &sdpError{400, "Malformed SDP: " + what} }

func notAcceptable(what string) *sdpError { return &sdpError{488, what} }

// maxSDP bounds the SDP looked at; a larger body is refused.
const maxSDP = 16 << 10

// parseOffer checks an SDP offer (RFC 8866 syntax, one audio stream over
// RTP/AVP) and returns what the B2BUA needs from it. A syntax error is a
// 400 with the reason; a well-formed offer the B2BUA cannot take (no
// audio, SRTP, a second stream, neither PCMU nor PCMA) is a 488. It also
// checks the answer a caller that sent no offer returns in its ACK.
func parseOffer(body []byte) (offer, *sdpError) {
	var o offer
	if len(body) == 0 {
		return o, notAcceptable("SDP Offer Required")
	}
	if len(body) > maxSDP {
		return o, malformed("body too large")
	}
	var (
		first       = true
		haveO       bool
		sessionAddr netip.Addr
		sessionDir  string
		mediaDir    string
		inAudio     bool
		audioSeen   bool
		mediaAddr   netip.Addr
		formats     []string
		rtpmaps     []string
	)
	rest := body
	for len(rest) > 0 {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return o, malformed("line is not type=value")
		}
		key, val := line[0], string(line[2:])
		if first {
			if key != 'v' || val != "0" {
				return o, malformed("does not start with v=0")
			}
			first = false
			continue
		}
		switch key {
		case 'o':
			if len(strings.Fields(val)) != 6 {
				return o, malformed("o= needs 6 fields")
			}
			haveO = true
		case 'c':
			a, err := parseConnection(val)
			if err != nil {
				return o, err
			}
			if inAudio {
				mediaAddr = a
			} else if !audioSeen {
				sessionAddr = a
			}
		case 'm':
			f := strings.Fields(val)
			if len(f) < 4 {
				return o, malformed("m= needs media, port, protocol and formats")
			}
			port, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
			if err != nil || port < 0 || port > 65535 {
				return o, malformed("m= port is not a number 0-65535")
			}
			for _, pt := range f[3:] {
				if n, err := strconv.Atoi(pt); err != nil || n < 0 || n > 127 {
					if f[2] == "RTP/AVP" || f[2] == "RTP/SAVP" {
						return o, malformed("m= format is not an RTP payload type")
					}
				}
			}
			if f[0] != "audio" {
				if port != 0 {
					return o, notAcceptable("Only One Audio Stream Supported")
				}
				inAudio = false
				continue
			}
			if audioSeen {
				return o, notAcceptable("Only One Audio Stream Supported")
			}
			audioSeen, inAudio = true, true
			switch f[2] {
			case "RTP/AVP":
			case "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF":
				return o, notAcceptable("SRTP Not Supported")
			default:
				return o, notAcceptable("Media Protocol Not Supported")
			}
			o.port = port
			formats = f[3:]
		case 'a':
			switch val {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				if inAudio {
					mediaDir = val
				} else if !audioSeen {
					sessionDir = val
				}
			default:
				if inAudio && strings.HasPrefix(val, "rtpmap:") {
					rtpmaps = append(rtpmaps, val[len("rtpmap:"):])
				}
			}
		}
	}
	if first {
		return o, malformed("empty")
	}
	if !haveO {
		return o, malformed("no o= line")
	}
	if !audioSeen {
		return o, notAcceptable("No Audio Stream Offered")
	}
	o.addr = mediaAddr
	if !o.addr.IsValid() {
		o.addr = sessionAddr
	}
	if !o.addr.IsValid() {
		return o, malformed("no c= line for the audio stream")
	}
	if o.port == 0 {
		return o, notAcceptable("Audio Stream Disabled")
	}
	o.direction = "sendrecv"
	if sessionDir != "" {
		o.direction = sessionDir
	}
	if mediaDir != "" {
		o.direction = mediaDir
	}
	for _, pt := range formats {
		if pt == "0" || pt == "8" {
			o.g711 = true
			break
		}
		for _, m := range rtpmaps {
			p, enc, _ := strings.Cut(m, " ")
			if p == pt && (strings.EqualFold(enc, "PCMU/8000") || strings.EqualFold(enc, "PCMA/8000") ||
				strings.EqualFold(enc, "PCMU/8000/1") || strings.EqualFold(enc, "PCMA/8000/1")) {
				o.g711 = true
			}
		}
	}
	if !o.g711 {
		return o, notAcceptable("PCMU or PCMA Required")
	}
	return o, nil
}

// parseConnection reads "IN IP4 192.0.2.1" (a multicast TTL suffix is
// refused: the B2BUA does unicast only).
func parseConnection(v string) (netip.Addr, *sdpError) {
	f := strings.Fields(v)
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return netip.Addr{}, malformed("c= is not IN IP4|IP6 address")
	}
	a, err := netip.ParseAddr(f[2])
	if err != nil || (f[1] == "IP4") != a.Is4() {
		return netip.Addr{}, malformed("c= address is not an " + f[1] + " address")
	}
	if a.IsMulticast() {
		return netip.Addr{}, notAcceptable("Multicast Not Supported")
	}
	return a, nil
}
