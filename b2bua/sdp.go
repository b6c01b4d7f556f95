package b2bua

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
)

// offer is what the B2BUA reads from an SDP offer before diago sees it:
// diago's own SDP reader assumes well-formed input (it indexes fields
// without checking), so every SDP from the network is checked here first,
// and refused with a reason rather than handed on.
//
// An offer may carry more streams than the one audio stream the B2BUA
// takes: a softphone's video, a second audio stream offering SRTP beside
// plain RTP. The B2BUA takes the first audio stream it can (RTP/AVP with
// PCMU or PCMA, or over TLS RTP/SAVP with an SDES key it can use) and
// rejects the others in its answer with port 0, in their places (RFC 3264
// §6): diago sees the offer reduced to the chosen stream (reduce) and its
// answer is put back into the offer's shape (expandAnswer).
//
// Of a taken stream's a=crypto lines (RFC 4568) diago sees only the one it
// will use: none for RTP/AVP (a "best effort" offer of keys on a plain
// stream is answered with plain RTP, as RFC 3264 asks of an answer in the
// offer's profile), and for RTP/SAVP the first AES_CM_128_HMAC_SHA1_80
// line, without a key lifetime (diago reads the key parameter whole).
type offer struct {
	addr      netip.Addr // connection address of the audio stream
	port      int        // audio port (0 = stream refused)
	direction string     // sendrecv, sendonly, recvonly or inactive
	g711      bool       // PCMU or PCMA offered
	srtp      bool       // the stream taken is RTP/SAVP (SDES-SRTP)

	streams    []stream // every m= section, in order
	audio      int      // the index in streams of the one taken
	sessionEnd int      // where the first m= line begins in the body
	edits      []edit   // in the taken stream, in order: what reduce changes
}

// edit replaces body[start:end] with repl.
type edit struct {
	start, end int
	repl       string
}

// cryptoLine is an a=crypto line of an m= section: its bytes in the body
// (with the line end) and its value after "crypto:".
type cryptoLine struct {
	start, end int
	val        string
}

// srtpSuite is the one SDES crypto suite the B2BUA takes (diago's; the
// suite every SDES endpoint offers, RFC 4568 §6.2.1).
const srtpSuite = "AES_CM_128_HMAC_SHA1_80"

// sdesKey reads a crypto attribute's value ("1 AES_CM_128_HMAC_SHA1_80
// inline:KEY|2^31") for the B2BUA's suite: its tag and inline key, and
// whether the B2BUA can use it. A key lifetime is dropped (a call never
// reaches it); a master key identifier (MKI), several keys or session
// parameters make it unusable (diago has none of them).
func sdesKey(val string) (tag, key string, suite, ok bool) {
	f := strings.Fields(val)
	if len(f) < 3 || f[1] != srtpSuite {
		return "", "", false, false
	}
	if len(f) != 3 || strings.Trim(f[0], "0123456789") != "" || len(f[0]) > 9 || !strings.HasPrefix(f[2], "inline:") || strings.Contains(f[2], ";") {
		return "", "", true, false
	}
	parts := strings.Split(strings.TrimPrefix(f[2], "inline:"), "|")
	if len(parts) > 2 || (len(parts) == 2 && strings.Contains(parts[1], ":")) {
		return "", "", true, false // an MKI ("1:4"), or more after the lifetime
	}
	if raw, err := base64.StdEncoding.DecodeString(parts[0]); err != nil || len(raw) != 30 {
		return "", "", true, false // 128-bit key and 112-bit salt
	}
	return f[0], parts[0], true, true
}

// stream is one m= section of an offer.
type stream struct {
	media, proto, format string // an m= line's fields (the first format)
	start, end           int    // the section's bytes in the body
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

// maxStreams bounds the m= sections of an offer.
const maxStreams = 8

// section is what one m= section (or the session part, before the first)
// says about audio.
type section struct {
	media, proto string
	port         int
	formats      []string
	addr         netip.Addr
	direction    string
	rtpmaps      []string
	crypto       []cryptoLine
}

// srtpUse says whether an offer's SRTP stream may be taken: only one
// that came over TLS, and only when SRTP is on there (Config.TLSNoSRTP).
type srtpUse uint8

const (
	srtpNeedsTLS srtpUse = iota // not over TLS: RTP/SAVP refused
	srtpOff                     // over TLS with SRTP turned off: RTP/SAVP refused
	srtpOn                      // over TLS: RTP/SAVP taken
)

// parseOffer checks an SDP offer (RFC 8866 syntax) and returns what the
// B2BUA needs from it: the first audio stream with PCMU or PCMA over
// RTP/AVP, or, when srtp allows, over RTP/SAVP with a usable SDES key. A syntax error is a 400 with the reason; a
// well-formed offer without such a stream is a 488 saying why its first
// live audio stream cannot be taken (SRTP without TLS or without a usable
// key, another protocol, no G.711), or that there is no audio, or only a
// disabled one. It also checks the answer a caller that sent no offer
// returns in its ACK.
func parseOffer(body []byte, srtp srtpUse) (offer, *sdpError) {
	var o offer
	if len(body) == 0 {
		return o, notAcceptable("SDP Offer Required")
	}
	if len(body) > maxSDP {
		return o, malformed("body too large")
	}
	var (
		first   = true
		haveO   bool
		session section
		secs    []section
		cur     = &session
	)
	rest, pos := body, 0
	for len(rest) > 0 {
		var line []byte
		lineStart := pos
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
			pos += i + 1
		} else {
			line, rest = rest, nil
			pos = len(body)
		}
		lineEnd := pos
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
			f := strings.Fields(val)
			if len(f) != 6 {
				return o, malformed("o= needs 6 fields")
			}
			// sess-id and sess-version are numbers (RFC 8866 §5.2), which
			// diago reads as 64-bit ones.
			for _, n := range f[1:3] {
				if _, err := strconv.ParseUint(n, 10, 64); err != nil {
					return o, malformed("o= session id and version must be numbers")
				}
			}
			haveO = true
		case 'c':
			a, err := parseConnection(val)
			if err != nil {
				return o, err
			}
			cur.addr = a
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
			if len(secs) == maxStreams {
				return o, notAcceptable("Too Many Media Streams")
			}
			if len(secs) == 0 {
				o.sessionEnd = lineStart
			} else {
				o.streams[len(o.streams)-1].end = lineStart
			}
			o.streams = append(o.streams, stream{media: f[0], proto: f[2], format: f[3], start: lineStart})
			secs = append(secs, section{media: f[0], proto: f[2], port: port, formats: f[3:]})
			cur = &secs[len(secs)-1]
		case 'a':
			switch val {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				cur.direction = val
			default:
				if cur != &session && strings.HasPrefix(val, "rtpmap:") {
					cur.rtpmaps = append(cur.rtpmaps, val[len("rtpmap:"):])
				}
				if cur != &session && strings.HasPrefix(val, "crypto:") {
					cur.crypto = append(cur.crypto, cryptoLine{lineStart, lineEnd, val[len("crypto:"):]})
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
	if len(o.streams) > 0 {
		o.streams[len(o.streams)-1].end = len(body)
	}
	var why *sdpError
	for i := range secs {
		sec := &secs[i]
		if sec.media != "audio" {
			continue
		}
		addr := sec.addr
		if !addr.IsValid() {
			addr = session.addr
		}
		if !addr.IsValid() {
			return o, malformed("no c= line for the audio stream")
		}
		var no *sdpError
		var edits []edit
		switch {
		case sec.port == 0:
			no = notAcceptable("Audio Stream Disabled")
		case sec.proto == "RTP/SAVP" && srtp == srtpNeedsTLS:
			no = notAcceptable("SRTP Requires SIP over TLS")
		case sec.proto == "RTP/SAVP" && srtp == srtpOff:
			no = notAcceptable("SRTP Not Enabled")
		case sec.proto == "RTP/SAVP":
			if edits = keepOneKey(sec.crypto); edits == nil {
				no = notAcceptable("No Usable SRTP Key (" + srtpSuite + " Required)")
			}
		case sec.proto == "UDP/TLS/RTP/SAVP", sec.proto == "UDP/TLS/RTP/SAVPF":
			no = notAcceptable("DTLS-SRTP Not Supported")
		case sec.proto != "RTP/AVP":
			no = notAcceptable("Media Protocol Not Supported")
		}
		if no == nil && !offersG711(sec) {
			no = notAcceptable("PCMU or PCMA Required")
		}
		if no != nil {
			// The first live stream's reason says most; a disabled one's
			// only when all are.
			if why == nil || why.reason == "Audio Stream Disabled" {
				why = no
			}
			continue
		}
		o.audio, o.addr, o.port, o.g711 = i, addr, sec.port, true
		o.srtp = sec.proto == "RTP/SAVP"
		if !o.srtp {
			for _, c := range sec.crypto {
				edits = append(edits, edit{c.start, c.end, ""})
			}
		}
		o.edits = edits
		o.direction = "sendrecv"
		if session.direction != "" {
			o.direction = session.direction
		}
		if sec.direction != "" {
			o.direction = sec.direction
		}
		return o, nil
	}
	if why == nil {
		return o, notAcceptable("No Audio Stream Offered")
	}
	return o, why
}

// offersG711 reports whether an audio section offers PCMU or PCMA, by
// static payload type or rtpmap.
func offersG711(sec *section) bool {
	for _, pt := range sec.formats {
		if pt == "0" || pt == "8" {
			return true
		}
		for _, m := range sec.rtpmaps {
			p, enc, _ := strings.Cut(m, " ")
			if p == pt && (strings.EqualFold(enc, "PCMU/8000") || strings.EqualFold(enc, "PCMA/8000") ||
				strings.EqualFold(enc, "PCMU/8000/1") || strings.EqualFold(enc, "PCMA/8000/1")) {
				return true
			}
		}
	}
	return false
}

// keepOneKey returns the edits that leave an RTP/SAVP stream with only
// the first crypto line of the B2BUA's suite, that line without a key
// lifetime; nil when that line is unusable or there is none (diago would
// take the first line of its suite, whatever follows).
func keepOneKey(lines []cryptoLine) []edit {
	kept := -1
	var keep edit
	for i, c := range lines {
		tag, key, suite, ok := sdesKey(c.val)
		if !suite {
			continue
		}
		if !ok {
			return nil
		}
		kept, keep = i, edit{c.start, c.end, "a=crypto:" + tag + " " + srtpSuite + " inline:" + key + "\r\n"}
		break
	}
	if kept < 0 {
		return nil
	}
	edits := make([]edit, 0, len(lines))
	for i, c := range lines {
		if i == kept {
			edits = append(edits, keep)
		} else {
			edits = append(edits, edit{c.start, c.end, ""})
		}
	}
	return edits
}

// reduce returns the offer's body with only the session part and the
// audio stream taken, its crypto lines edited: what diago reads. A
// one-stream offer without edits is its body.
func (o *offer) reduce(body []byte) []byte {
	if len(o.streams) == 0 || (len(o.streams) == 1 && len(o.edits) == 0) {
		return body
	}
	a := o.streams[o.audio]
	out := make([]byte, 0, o.sessionEnd+a.end-a.start+2)
	out = append(out, body[:o.sessionEnd]...)
	at := a.start
	for _, e := range o.edits {
		out = append(out, body[at:e.start]...)
		out = append(out, e.repl...)
		at = e.end
	}
	out = append(out, body[at:a.end]...)
	if out[len(out)-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return out
}

// expandAnswer puts diago's answer to the reduced offer (its session part
// and one audio stream) into the offer's shape: as many m= lines, in the
// same order, the audio stream in its place and every other stream
// rejected with port 0 and its first offered format (RFC 3264 §6).
func (o *offer) expandAnswer(answer []byte) []byte {
	if len(o.streams) <= 1 {
		return answer
	}
	m := bytes.Index(answer, []byte("\nm="))
	if m < 0 {
		return answer
	}
	audio := answer[m+1:]
	var b strings.Builder
	b.Grow(len(answer) + 40*len(o.streams))
	b.Write(answer[:m+1])
	for i, st := range o.streams {
		if i == o.audio {
			b.Write(audio)
			if audio[len(audio)-1] != '\n' {
				b.WriteString("\r\n")
			}
			continue
		}
		b.WriteString("m=" + st.media + " 0 " + st.proto + " " + st.format + "\r\n")
	}
	return []byte(b.String())
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
