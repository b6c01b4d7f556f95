package b2bua

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// The SDP the B2BUA sends on a dialog once it is up: the answer to a
// re-INVITE or an UPDATE, and the offer in the 2xx to a re-INVITE without
// one. Two sources make those bodies: diago's media session (re-INVITE)
// and a fork of it (UPDATE, onUpdate), and each numbers the o= line
// from its own copy of the version. After an UPDATE the fork's number is
// lost, so the next re-INVITE answer repeated it with other content,
// which RFC 3264 §8 forbids (a version that does not increment means the
// SDP is unchanged): a peer that skips an SDP whose version it has seen
// (many SBCs and PBXs do) kept the old hold state.
//
// sdpOrigin numbers them instead: it keeps the o= line of the SDP the
// dialog was set up with (the 200's, or the offer of an outbound leg's
// INVITE), and every later body gets that line's user name and session id
// and the previous version plus one. (diago also takes the session id of
// a late-offer caller's answer for its own, so its later bodies would
// change the session id too, which RFC 3264 §8 forbids as well.)
type sdpOrigin struct {
	mu      sync.Mutex
	known   bool   // prefix and ver hold a body's
	stamped bool   // a body has been numbered: init comes too late
	prefix  string // "o=" user SP sess-id SP
	ver     uint64
}

// init notes the SDP the dialog was set up with (a 183's, then the 200's:
// the last one counts), on the call's goroutine.
func (o *sdpOrigin) init(body []byte) {
	line, vs, _, ver, ok := originVersion(body)
	if !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.stamped {
		o.known, o.prefix, o.ver = true, string(body[line:vs]), ver
	}
}

// stamp returns body with the dialog's o= user name and session id and
// the next version. Without a noted SDP the body is sent as diago made it
// and becomes the reference; a body without a readable o= line is
// returned as it is.
func (o *sdpOrigin) stamp(body []byte) []byte {
	line, vs, ve, ver, ok := originVersion(body)
	if !ok {
		return body
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stamped = true
	if !o.known {
		o.known, o.prefix, o.ver = true, string(body[line:vs]), ver
		return body
	}
	o.ver++
	out := make([]byte, 0, len(body)+len(o.prefix))
	out = append(out, body[:line]...)
	out = append(out, o.prefix...)
	out = strconv.AppendUint(out, o.ver, 10)
	return append(out, body[ve:]...)
}

// originVersion finds the o= line ("o=user sess-id sess-version nettype
// addrtype address"): where it starts, where its sess-version starts and
// ends, and that version.
func originVersion(body []byte) (line, start, end int, ver uint64, ok bool) {
	if !bytes.HasPrefix(body, []byte("o=")) {
		i := bytes.Index(body, []byte("\no="))
		if i < 0 {
			return 0, 0, 0, 0, false
		}
		line = i + 1
	}
	eol := len(body)
	if i := bytes.IndexByte(body[line:], '\n'); i >= 0 {
		eol = line + i
	}
	// Skip "o=", the user name and the session id.
	pos := line + 2
	for range 2 {
		sp := bytes.IndexByte(body[pos:eol], ' ')
		if sp <= 0 {
			return 0, 0, 0, 0, false
		}
		pos += sp + 1
	}
	end = pos
	for end < eol && body[end] >= '0' && body[end] <= '9' {
		end++
	}
	if end == pos || end-pos > 19 || end == eol || body[end] != ' ' {
		return 0, 0, 0, 0, false
	}
	v, err := strconv.ParseUint(string(body[pos:end]), 10, 64)
	if err != nil {
		return 0, 0, 0, 0, false
	}
	return line, pos, end, v, true
}

// asOffer turns the SDP diago answers a re-INVITE without an offer with
// into the B2BUA's own offer. diago sends the session's last answer, whose
// direction mirrors the peer's last offer: after the peer put the call on
// hold (sendonly, inactive) that is recvonly or inactive, which leaves the
// peer no answer but hold, so a resume by an offerless re-INVITE (RFC 3725
// third-party call control; RFC 6337 §5.3) never resumed. The B2BUA never
// holds a leg itself: its offer is sendrecv (RFC 3264 §5.1), and the
// peer's answer says whether it still holds.
func asOffer(body []byte) []byte {
	lines := strings.SplitAfter(string(body), "\n")
	for i, l := range lines {
		switch strings.TrimRight(l, "\r\n") {
		case "a=sendonly", "a=recvonly", "a=inactive":
			lines[i] = "a=sendrecv" + l[len(strings.TrimRight(l, "\r\n")):]
		}
	}
	return []byte(strings.Join(lines, ""))
}

// inDialogSDPTx is the server transaction of a re-INVITE on a known leg:
// the SDP of its 2xx is numbered by the leg's sdpOrigin, and made an offer
// when the re-INVITE had none.
type inDialogSDPTx struct {
	sip.ServerTransaction
	l         *leg
	offerless bool
}

func (t *inDialogSDPTx) Respond(res *sip.Response) error {
	if b := res.Body(); len(b) > 0 && res.IsSuccess() {
		if ct := res.ContentType(); ct != nil && strings.EqualFold(ct.Value(), "application/sdp") {
			if t.offerless {
				b = asOffer(b)
			}
			res.SetBody(t.l.sdpOut.stamp(b))
		}
	}
	return t.ServerTransaction.Respond(res)
}
