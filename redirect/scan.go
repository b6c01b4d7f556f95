package redirect

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"unsafe"

	"callgate/sipcall"
	"callgate/sipcall/isup"
)

// The stateless path's request scanner. It reads one datagram in place (no
// allocation: values are string views into the datagram, or into the
// reader's scratch buffer for folded lines) and extracts what the answer
// needs: the request line, every Via (the top one taken apart for RFC 3581),
// From and its tag, To, Call-ID, CSeq, Max-Forwards, Content-Length, and the
// P-Asserted-Identity, Privacy, Diversion, History-Info and Require values,
// and, for a SIP-T or SIP-I INVITE, the ISUP IAM in its body
// (sipcall.ScanIAM, in place; a body outside its plain syntax, or an IAM
// that does not read, goes to the fallback).
// Header names are matched without regard to case, compact forms included
// (v, f, t, i, l, m, c, r, b); folded lines (RFC 3261 §7.3.1) are unfolded.
//
// It accepts a deliberately plain subset of the SIP grammar: the one real
// SBCs, proxies and sipp send. Anything outside it (quoted parameter values,
// escapes in display names, IPv6 in From/To, white space around ';' or '=',
// a repeated singleton header, a lone CR or LF, any header sipgo's parser
// would refuse...) is not judged here: the datagram goes to the fallback
// (prescan and sipgo's parser), which answers it exactly as the stateful
// server does, malformed requests included. So the scanner never has to
// reproduce sipgo's corner cases, only to agree with it on what it accepts,
// which FuzzStatelessScan checks.

const (
	maxVias    = 16   // Via header lines kept for the response
	maxExt     = 16   // extension headers (PAI, Privacy, ...) kept
	scratchCap = 4096 // unfolded header lines per datagram
)

type scanVerdict uint8

const (
	scanOK       scanVerdict = iota // fastMsg is complete
	scanFallback                    // hand the datagram to prescan + sipgo
	scanDrop                        // keep-alive or a response: nothing to do
)

// fastMsg is one request as the scanner sees it.
type fastMsg struct {
	reqView
	extArr [maxExt]extHeader
	vias   [maxVias]string // Via header values, in order
	nvias  int
	// Values copied into the response.
	fromV, toV, callIDV, cseqV string
	top                        topViaParm
	clen                       int // Content-Length, -1 when absent
	hasMaxFwdHdr, hasCLHdr     bool
	scratch                    []byte // unfolded lines; never grows (views into it)
	// A SIP-T or SIP-I INVITE's body type and its IAM, read in place
	// (sipcall.ScanIAM) into storage of the message's own.
	ctype     string
	iamStore  isup.IAM
	iamDigits isup.DigitBuf
}

// topVia is the first via-parm of the first Via header.
type topViaParm struct {
	host      string // sent-by host, an IPv6 reference without brackets
	bracketed bool
	port      int // 0 when absent
	// paramsAt and end delimit the via-parm's parameters in vias[0]
	// (after the first ';', up to the ',' of the next via-parm or the end).
	paramsAt, end int
	askRport      bool // "rport" without a value (RFC 3581 §4)
	hasReceived   bool
}

func newFastMsg() *fastMsg {
	return &fastMsg{scratch: make([]byte, 0, scratchCap)}
}

// bstr views b as a string without copying. The string is only valid while
// b is not modified: scanner values live for one datagram and are never
// stored (policy.Call holds numbers and the reader's own peer string).
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// scanRequest scans one datagram into m.
func scanRequest(data []byte, m *fastMsg) scanVerdict {
	m.reqView = reqView{ext: m.extArr[:0]}
	m.nvias = 0
	m.fromV, m.toV, m.callIDV, m.cseqV = "", "", "", ""
	m.top = topViaParm{}
	m.clen = -1
	m.ctype = ""
	m.hasMaxFwdHdr, m.hasCLHdr = false, false
	m.scratch = m.scratch[:0]

	onlyCRLF := true
	for _, c := range data {
		if c != '\r' && c != '\n' {
			onlyCRLF = false
			break
		}
	}
	if onlyCRLF {
		return scanDrop // keep-alive (RFC 5626 §3.5.1 CRLF pings), or empty
	}
	if len(data) >= 4 && string(data[:4]) == "SIP/" {
		return scanDrop // a response: we send no requests
	}

	eol, ok := lineEnd(data, 0)
	if !ok || !scanRequestLine(data[:eol], m) {
		return scanFallback
	}
	pos := eol + 2
	for first := true; ; first = false {
		e, ok := lineEnd(data, pos)
		if !ok {
			return scanFallback
		}
		if e == pos { // the empty line: end of the headers
			pos += 2
			break
		}
		line := data[pos:e]
		next := e + 2
		if first && isWS(line[0]) {
			return scanFallback
		}
		if next < len(data) && isWS(data[next]) {
			// Folded: unfold into scratch as sipgo does (continuation
			// lines trimmed and joined with one space).
			start := len(m.scratch)
			base := trimRightWS(line)
			if len(m.scratch)+len(base) > cap(m.scratch) {
				return scanFallback
			}
			m.scratch = append(m.scratch, base...)
			for next < len(data) && isWS(data[next]) {
				e2, ok := lineEnd(data, next)
				if !ok {
					return scanFallback
				}
				cont := trimWS(data[next:e2])
				if len(m.scratch)+1+len(cont) > cap(m.scratch) {
					return scanFallback
				}
				m.scratch = append(m.scratch, ' ')
				m.scratch = append(m.scratch, cont...)
				next = e2 + 2
			}
			line = m.scratch[start:]
		}
		pos = next
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon < 0 {
			return scanFallback
		}
		name, value := trimWS(line[:colon]), trimWS(line[colon+1:])
		if !isToken(name) || !cleanValue(value) || !m.header(bstr(name), bstr(value)) {
			return scanFallback
		}
	}
	if m.clen > len(data)-pos {
		return scanFallback // prescan answers "Content-Length Exceeds Message"
	}
	if m.ctype != "" {
		// A body that may carry an ISUP IAM: read in place, or, outside
		// the plain syntax ScanIAM takes, by the fallback.
		if m.clen < 0 || m.method != "INVITE" {
			return scanFallback
		}
		found, ok := sipcall.ScanIAM(m.ctype, data[pos:pos+m.clen], &m.iamStore, &m.iamDigits)
		if !ok {
			return scanFallback
		}
		if found {
			m.iam = &m.iamStore
		}
	}
	if m.nvias == 0 || !m.hasCSeq || !m.hasFrom || !m.hasTo || m.callID == "" || m.cseqMethod != m.method {
		// prescan / sipgo give the "Missing ..." and "CSeq Method Does
		// Not Match Request" 400s.
		return scanFallback
	}
	return scanOK
}

// lineEnd returns the index of the CR of the CRLF ending the line at pos.
// A lone LF, or no CRLF at all, is refused (sipgo and prescan have their own
// rules for those). A lone CR inside the line is not looked for here: every
// consumer of a line refuses control characters.
func lineEnd(data []byte, pos int) (int, bool) {
	i := bytes.IndexByte(data[pos:], '\n')
	if i < 1 || data[pos+i-1] != '\r' {
		return 0, false
	}
	return pos + i - 1, true
}

// scanRequestLine takes "METHOD SP Request-URI SP SIP/2.0".
func scanRequestLine(line []byte, m *fastMsg) bool {
	sp := -1
	for i, c := range line {
		if c == ' ' {
			sp = i
			break
		}
		if c < 'A' || c > 'Z' { // sipgo upper-cases methods: take only upper case
			return false
		}
	}
	if sp <= 0 {
		return false
	}
	rest := line[sp+1:]
	sp2 := -1
	for i, c := range rest {
		if c == ' ' {
			sp2 = i
			break
		}
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	if sp2 <= 0 || string(rest[sp2+1:]) != "SIP/2.0" {
		return false
	}
	u, ok := scanURI(bstr(rest[:sp2]))
	if !ok {
		return false
	}
	m.method, m.version, m.ruri = bstr(line[:sp]), "SIP/2.0", u
	return true
}

// header takes one (unfolded) header; false sends the datagram to the
// fallback.
func (m *fastMsg) header(name, value string) bool {
	switch len(name) {
	case 1:
		switch name[0] | 0x20 {
		case 'v':
			return m.via(value)
		case 'f':
			return m.fromHeader(value)
		case 't':
			return m.toHeader(value)
		case 'i':
			return m.callIDHeader(value)
		case 'l':
			return m.contentLength(value)
		case 'm':
			return addrList(value)
		case 'c':
			return m.contentType(value)
		case 'r':
			return addrList(value)
		case 'b':
			_, _, _, _, ok := scanAddr(value)
			return ok
		case 'y':
			return m.addExt(extIdentity, value)
		}
		return true
	case 2:
		if strings.EqualFold(name, "to") {
			return m.toHeader(value)
		}
	case 3:
		if strings.EqualFold(name, "via") {
			return m.via(value)
		}
	case 4:
		if strings.EqualFold(name, "from") {
			return m.fromHeader(value)
		}
		if strings.EqualFold(name, "cseq") {
			return m.cseqHeader(value)
		}
	case 5:
		if strings.EqualFold(name, "route") {
			return addrList(value)
		}
	case 7:
		if strings.EqualFold(name, "call-id") {
			return m.callIDHeader(value)
		}
		if strings.EqualFold(name, "contact") {
			return addrList(value)
		}
	case 8:
		if strings.EqualFold(name, "refer-to") {
			return addrList(value)
		}
	case 11:
		if strings.EqualFold(name, "referred-by") {
			_, _, _, _, ok := scanAddr(value)
			return ok
		}
	case 12:
		if strings.EqualFold(name, "max-forwards") {
			if m.hasMaxFwdHdr {
				return false
			}
			n, ok := digits32(value)
			m.hasMaxFwdHdr, m.hasMaxFwd, m.maxFwd = true, true, n
			return ok
		}
		if strings.EqualFold(name, "content-type") {
			return m.contentType(value)
		}
		if strings.EqualFold(name, "record-route") {
			return addrList(value)
		}
	case 14:
		if strings.EqualFold(name, "content-length") {
			return m.contentLength(value)
		}
	}
	if k := extKindOf(name); k != 0 {
		return m.addExt(k, value)
	}
	return true
}

// contentType notes a Content-Type whose body may carry an ISUP IAM
// (sipcall.CarriesISUP), read once the headers are: a second such header
// sends the datagram to the fallback parser.
func (m *fastMsg) contentType(value string) bool {
	if value == "" {
		return false
	}
	if sipcall.CarriesISUP(value) {
		if m.ctype != "" {
			return false
		}
		m.ctype = value
	}
	return true
}

// addExt keeps an extension header; too many send the datagram to the
// fallback parser.
func (m *fastMsg) addExt(k extKind, value string) bool {
	if len(m.ext) == maxExt {
		return false
	}
	m.ext = append(m.ext, extHeader{k, value})
	return true
}

func (m *fastMsg) fromHeader(value string) bool {
	if m.hasFrom {
		return false
	}
	disp, u, tag, _, ok := scanAddr(value)
	m.hasFrom, m.fromDisplay, m.from, m.fromTag, m.fromV = true, disp, u, tag, value
	return ok
}

func (m *fastMsg) toHeader(value string) bool {
	if m.hasTo {
		return false
	}
	_, u, _, tagged, ok := scanAddr(value)
	m.hasTo, m.to, m.toTagged, m.toV = true, u, tagged, value
	return ok
}

func (m *fastMsg) callIDHeader(value string) bool {
	if m.callID != "" || value == "" {
		return false
	}
	m.callID, m.callIDV = value, value
	return true
}

func (m *fastMsg) contentLength(value string) bool {
	if m.hasCLHdr {
		return false
	}
	n, ok := digits32(value)
	m.hasCLHdr, m.clen = true, int(n)
	return ok
}

// cseqHeader takes "1*10DIGIT SP Method" (sequence number below 2^31,
// RFC 3261 §8.1.1.5).
func (m *fastMsg) cseqHeader(value string) bool {
	if m.hasCSeq {
		return false
	}
	sp := strings.IndexByte(value, ' ')
	if sp <= 0 {
		return false
	}
	n, ok := digits32(value[:sp])
	if !ok || n > 1<<31-1 {
		return false
	}
	meth := value[sp+1:]
	if meth == "" {
		return false
	}
	for i := 0; i < len(meth); i++ {
		if meth[i] < 'A' || meth[i] > 'Z' {
			return false
		}
	}
	m.hasCSeq, m.cseqSeq, m.cseqMethod, m.cseqV = true, n, meth, value
	return true
}

// digits32 parses 1 to 10 decimal digits that fit 32 bits.
func digits32(s string) (uint32, bool) {
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}

// via takes one Via header: via-parms "SIP/2.0/transport SP sent-by
// *(;param)" separated by commas, each with parameters (a via-parm without
// any is left to sipgo, whose parser reads the comma after it as part of
// the host). The first via-parm of the first Via is kept apart.
func (m *fastMsg) via(value string) bool {
	if m.nvias == maxVias {
		return false
	}
	isTop := m.nvias == 0
	i := 0
	for parm := 0; ; parm++ {
		for i < len(value) && isWS(value[i]) {
			i++
		}
		if !strings.HasPrefix(value[i:], "SIP/2.0/") {
			return false
		}
		i += len("SIP/2.0/")
		ts := i
		for i < len(value) && isAlpha(value[i]) {
			i++
		}
		transport := value[ts:i]
		if transport == "" || i == len(value) || !isWS(value[i]) {
			return false
		}
		for i < len(value) && isWS(value[i]) {
			i++
		}
		var host string
		bracketed := false
		if i < len(value) && value[i] == '[' {
			j := strings.IndexByte(value[i:], ']')
			if j < 0 {
				return false
			}
			host = value[i+1 : i+j]
			if _, err := netip.ParseAddr(host); err != nil || !strings.Contains(host, ":") {
				return false
			}
			bracketed = true
			i += j + 1
		} else {
			hs := i
			for i < len(value) && isHostChar(value[i]) {
				i++
			}
			host = value[hs:i]
			if host == "" {
				return false
			}
		}
		port := 0
		if i < len(value) && value[i] == ':' {
			ps := i + 1
			i = ps
			for i < len(value) && value[i] >= '0' && value[i] <= '9' {
				i++
			}
			n, ok := digits32(value[ps:i])
			if !ok || n > 65535 {
				return false
			}
			port = int(n)
		}
		if i == len(value) || value[i] != ';' {
			return false
		}
		i++
		paramsAt := i
		end := strings.IndexByte(value[i:], ',')
		if end < 0 {
			end = len(value)
		} else {
			end += i
		}
		var pv viaParams
		if paramsAt == end || !scanViaParams(value[paramsAt:end], &pv) {
			return false
		}
		if isTop && parm == 0 {
			if transport != "UDP" {
				return false // the stateless path is UDP: leave odd Vias to sipgo
			}
			m.top = topViaParm{host: host, bracketed: bracketed, port: port, paramsAt: paramsAt, end: end,
				askRport: pv.askRport, hasReceived: pv.hasReceived}
			m.branch = pv.branch
		}
		if end == len(value) {
			break
		}
		i = end + 1
	}
	m.vias[m.nvias] = value
	m.nvias++
	return true
}

type viaParams struct {
	branch                                   string
	askRport, hasReceived                    bool
	seenBranch, seenRport, seenReceived, bad bool
}

// scanViaParams takes "name[=value] *(;name[=value])"; each name of the
// three we read may appear once (sipgo keeps the last value in the first
// position; not worth reproducing).
func scanViaParams(s string, p *viaParams) bool {
	return eachParam(s, func(name, value string, hasValue bool) bool {
		switch name {
		case "branch":
			if p.seenBranch {
				return false
			}
			p.seenBranch, p.branch = true, value
		case "rport":
			if p.seenRport {
				return false
			}
			p.seenRport, p.askRport = true, !hasValue
		case "received":
			if p.seenReceived {
				return false
			}
			p.seenReceived, p.hasReceived = true, true
		}
		return true
	})
}

// eachParam calls f for each parameter of "name[=value] *(;name[=value])":
// names are tokens, values tokens or IP literals, no white space, nothing
// empty.
func eachParam(s string, f func(name, value string, hasValue bool) bool) bool {
	for len(s) > 0 {
		p := s
		if i := strings.IndexByte(s, ';'); i >= 0 {
			p, s = s[:i], s[i+1:]
			if s == "" {
				return false // trailing ';'
			}
		} else {
			s = ""
		}
		name, value, hasValue := p, "", false
		if i := strings.IndexByte(p, '='); i >= 0 {
			name, value, hasValue = p[:i], p[i+1:], true
			if value == "" {
				return false
			}
			for j := 0; j < len(value); j++ {
				if c := value[j]; !isTokenChar(c) && c != ':' && c != '[' && c != ']' {
					return false
				}
			}
		}
		if !isToken(name) || !f(name, value, hasValue) {
			return false
		}
	}
	return true
}

// scanAddr takes a From/To-like value: name-addr ([display] <URI>) or
// addr-spec, then header parameters. It returns the display name, the URI
// parts, and the tag parameter.
func scanAddr(s string) (display string, u uriView, tag string, tagged, ok bool) {
	if s == "" {
		return
	}
	var uri, params string
	bracket := false
	if s[0] == '"' {
		j := strings.IndexByte(s[1:], '"')
		if j < 0 {
			return
		}
		display = s[1 : 1+j]
		if strings.IndexByte(display, '\\') >= 0 {
			return
		}
		rest := trimLeftWSs(s[2+j:])
		if rest == "" || rest[0] != '<' {
			return
		}
		s, bracket = rest, true
	} else {
		k := strings.IndexAny(s, "\"<;")
		switch {
		case k >= 0 && s[k] == '"':
			return
		case k >= 0 && s[k] == '<':
			display = trimWSs(s[:k])
			for i := 0; i < len(display); i++ {
				if c := display[i]; !isTokenChar(c) && !isWS(c) {
					return
				}
			}
			s, bracket = s[k:], true
		case k >= 0:
			uri, params = s[:k], s[k+1:]
			if params == "" {
				return
			}
		default:
			uri = s
		}
	}
	if bracket {
		e := strings.IndexByte(s, '>')
		if e < 0 {
			return
		}
		uri = s[1:e]
		after := s[e+1:]
		if after != "" {
			if after[0] != ';' || len(after) == 1 {
				return
			}
			params = after[1:]
		}
	} else {
		for i := 0; i < len(uri); i++ {
			if c := uri[i]; c <= ' ' || c == '<' || c == '>' || c == '"' || c == ',' || c >= 0x7f {
				return
			}
		}
	}
	if u, ok = scanURI(uri); !ok {
		return
	}
	seenTag := false
	ok = eachParam(params, func(name, value string, _ bool) bool {
		if name == "tag" {
			if seenTag {
				return false
			}
			seenTag, tag = true, value
		}
		return true
	})
	return display, u, tag, seenTag, ok
}

// addrList takes a comma-separated list of scanAddr values (Contact, Route,
// Record-Route, Refer-To); commas inside <> and quotes do not separate.
func addrList(s string) bool {
	if s == "" {
		return false
	}
	if strings.IndexByte(s, ',') < 0 {
		_, _, _, _, ok := scanAddr(s)
		return ok
	}
	inQuote, inAngle, start := false, false, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch c := s[i]; {
			case inQuote:
				if c == '"' {
					inQuote = false
				}
				continue
			case c == '"':
				inQuote = true
				continue
			case c == '<':
				inAngle = true
				continue
			case c == '>':
				inAngle = false
				continue
			case c != ',' || inAngle:
				continue
			}
		}
		if _, _, _, _, ok := scanAddr(trimWSs(s[start:i])); !ok {
			return false
		}
		start = i + 1
	}
	return !inQuote
}

// scanURI takes a sip, sips, tel or other absolute URI, splitting it as
// sipgo's URI parser does (user up to the first '@', a password after the
// last ':' before it; host up to ':', ';' or '?').
func scanURI(s string) (uriView, bool) {
	var u uriView
	if len(s) < 3 {
		return u, false
	}
	for i := 0; i < len(s); i++ {
		// Characters a URI never holds unescaped (RFC 3261 §25.1), and
		// that sipgo's serializer would quote.
		if charClass[s[i]]&clURIBad != 0 {
			return u, false
		}
	}
	c := strings.IndexByte(s, ':')
	if c <= 0 || !isAlpha(s[0]) {
		return u, false
	}
	for i := 1; i < c; i++ {
		if !isAlpha(s[i]) { // sipgo takes letters only (RFC 3986 allows more)
			return u, false
		}
	}
	scheme, rest := s[:c], s[c+1:]
	switch {
	case strings.EqualFold(scheme, "sip"), strings.EqualFold(scheme, "sips"):
		u.scheme = "sip"
		if len(scheme) == 4 {
			u.scheme = "sips"
		}
	case strings.EqualFold(scheme, "tel"):
		u.scheme, u.raw = "tel", rest
		return u, true
	default:
		// Only the scheme matters (416); sipgo would lower-case it.
		u.scheme, u.raw = scheme, rest
		return u, true
	}
	if strings.HasPrefix(rest, "//") {
		return u, false
	}
	hostPart := rest
	at := strings.IndexByte(rest, '@')
	userPart := rest
	if at >= 0 {
		userPart = rest[:at]
	}
	if strings.IndexByte(userPart, '[') >= 0 {
		return u, false // IPv6 host: rare here, left to sipgo
	}
	if at >= 0 {
		if k := strings.LastIndexByte(userPart, ':'); k > 0 {
			u.user = userPart[:k]
		} else {
			u.user = userPart
		}
		hostPart = rest[at+1:]
	}
	h := 0
	for h < len(hostPart) && isHostChar(hostPart[h]) {
		h++
	}
	u.host = hostPart[:h]
	if u.host == "" {
		return u, false
	}
	tail := hostPart[h:]
	if tail != "" && tail[0] == ':' {
		p := 1
		for p < len(tail) && tail[p] >= '0' && tail[p] <= '9' {
			p++
		}
		if n, ok := digits32(tail[1:p]); !ok || n > 65535 {
			return u, false
		}
		tail = tail[p:]
	}
	// URI parameters and headers: sipgo never refuses them, and they do
	// not enter the answer.
	if tail != "" && tail[0] != ';' && tail[0] != '?' {
		return u, false
	}
	return u, true
}

// Character classes.
const (
	clAlpha  = 1 << iota // A-Z a-z
	clHost               // letters, digits, '.', '-', '_' (hostname or IPv4)
	clToken              // RFC 3261 §25.1 token: alphanum and -.!%*_+`'~
	clURIBad             // never unescaped in a URI: CTL, SP, non-ASCII, " < > \
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alpha := b|0x20 >= 'a' && b|0x20 <= 'z'
		digit := b >= '0' && b <= '9'
		if alpha {
			t[c] |= clAlpha
		}
		if alpha || digit || b == '.' || b == '-' || b == '_' {
			t[c] |= clHost
		}
		if alpha || digit || strings.IndexByte("-.!%*_+`'~", b) >= 0 {
			t[c] |= clToken
		}
		if b <= ' ' || b >= 0x7f || b == '"' || b == '<' || b == '>' || b == '\\' {
			t[c] |= clURIBad
		}
	}
	return t
}()

func isWS(c byte) bool        { return c == ' ' || c == '\t' }
func isAlpha(c byte) bool     { return charClass[c]&clAlpha != 0 }
func isHostChar(c byte) bool  { return charClass[c]&clHost != 0 }
func isTokenChar(c byte) bool { return charClass[c]&clToken != 0 }

func isToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// cleanValue: no control characters but HTAB, and no non-ASCII byte at
// either end (sipgo trims Unicode white space there, the scanner does not).
// Eight bytes at a time: a word without a byte below 0x20 or equal to 0x7f
// needs no closer look.
func cleanValue(v []byte) bool {
	if len(v) > 0 && (v[0] >= 0x80 || v[len(v)-1] >= 0x80) {
		return false
	}
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := binary.LittleEndian.Uint64(v[i:])
		del := w ^ (0x7f * ones)
		if (w-0x20*ones)&^w&highs == 0 && (del-ones)&^del&highs == 0 {
			continue
		}
		if !cleanBytes(v[i : i+8]) {
			return false
		}
	}
	return cleanBytes(v[i:])
}

func cleanBytes(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func trimWS(b []byte) []byte {
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	return trimRightWS(b)
}

func trimRightWS(b []byte) []byte {
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func trimWSs(s string) string {
	s = trimLeftWSs(s)
	for len(s) > 0 && isWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func trimLeftWSs(s string) string {
	for len(s) > 0 && isWS(s[0]) {
		s = s[1:]
	}
	return s
}
