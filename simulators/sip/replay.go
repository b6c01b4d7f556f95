package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy/token"
	"callgate/sigtran/pcap"
)

// Replaying a capture: the INVITEs a capture holds (as an SBC sent them to
// a redirect server, say) are sent again, one at a time, to a live server,
// and each live final answer is set beside the one the capture holds for
// it, to tell whether today's server decides as the captured one did.
//
// A captured INVITE is sent as it was — Request-URI, From, To, Call-ID,
// P-Asserted-Identity, Privacy, Diversion, Identity, body — but from this
// host: its top Via names the replaying socket, with a new branch and
// rport (RFC 3581), so the answer comes back here. A final answer other
// than 2xx is acknowledged (RFC 3261 §17.1.1.3) as the INVITE's client
// transaction would. Answers are compared on their status code and, for a
// 3xx, their Contact URIs: a screening token (the cgt parameter) by what it
// says (token.Inspect: the decision and the numbers, not its expiry and
// signature, which differ for every call), the values of the parameters
// named in ReplayConfig.Volatile not at all, the rest as written. The
// capture's INVITEs may have gone over UDP or TCP (pcap.ReadSIP); they are
// replayed over UDP.

// ReplayAnswer is a final answer to an INVITE.
type ReplayAnswer struct {
	Status   int      `json:"status"`
	Reason   string   `json:"reason"`
	Contacts []string `json:"contacts,omitempty"`
	// Tokens says what the Contacts' screening tokens say, one per token.
	Tokens []string `json:"tokens,omitempty"`
}

func (a *ReplayAnswer) String() string {
	s := strconv.Itoa(a.Status) + " " + a.Reason
	for _, c := range a.Contacts {
		s += " Contact: " + c
	}
	return s
}

// ReplayInvite is one INVITE of a capture and its captured final answer.
type ReplayInvite struct {
	Frame      int           `json:"frame"`
	CallID     string        `json:"callID"`
	RequestURI string        `json:"requestURI"`
	From       string        `json:"from"`
	Captured   *ReplayAnswer `json:"captured,omitempty"` // nil: none in the capture
	AnswerAt   int           `json:"capturedFrame,omitempty"`

	req *gosip.Request
}

// ReplayResult is an INVITE replayed: the capture's answer and the live one.
type ReplayResult struct {
	ReplayInvite
	Live      *ReplayAnswer `json:"live,omitempty"`
	LiveError string        `json:"liveError,omitempty"`
	Same      bool          `json:"same"`
}

// ReplayConfig says where to replay and how to compare.
type ReplayConfig struct {
	Server  string        // HOST:PORT of the live server
	Timeout time.Duration // the longest wait for a final answer (default 4 s)
	// Volatile names URI parameters whose values are not compared.
	Volatile []string
}

// InvitesOf returns the initial INVITEs among a capture's SIP messages ds
// (those without a To tag; a retransmission, the same branch again, is
// taken once), in capture order, each with the first final answer in the
// capture to it: the response with its Call-ID, CSeq and top Via branch.
func InvitesOf(ds []pcap.SIPMessage) []ReplayInvite {
	p := gosip.NewParser()
	var out []ReplayInvite
	byKey := map[string]int{}
	for _, d := range ds {
		msg, err := p.ParseSIP(d.Payload)
		if err != nil {
			continue
		}
		switch m := msg.(type) {
		case *gosip.Request:
			if !m.IsInvite() || m.To() == nil || m.To().Params.Has("tag") {
				continue
			}
			k := txKey(m.CallID(), m.CSeq(), m.Via())
			if _, seen := byKey[k]; seen || k == "" {
				continue
			}
			byKey[k] = len(out)
			inv := ReplayInvite{Frame: d.Frame, CallID: m.CallID().Value(), RequestURI: m.Recipient.String(), req: m}
			if f := m.From(); f != nil {
				inv.From = f.Address.String()
			}
			out = append(out, inv)
		case *gosip.Response:
			if m.StatusCode < 200 {
				continue
			}
			i, ok := byKey[txKey(m.CallID(), m.CSeq(), m.Via())]
			if !ok || out[i].Captured != nil {
				continue
			}
			a := answerOf(m)
			out[i].Captured, out[i].AnswerAt = &a, d.Frame
		}
	}
	return out
}

func txKey(id *gosip.CallIDHeader, cseq *gosip.CSeqHeader, via *gosip.ViaHeader) string {
	if id == nil || cseq == nil || via == nil {
		return ""
	}
	b, _ := via.Params.Get("branch")
	return id.Value() + "|" + strconv.FormatUint(uint64(cseq.SeqNo), 10) + "|" + b
}

func answerOf(res *gosip.Response) ReplayAnswer {
	a := ReplayAnswer{Status: res.StatusCode, Reason: res.Reason}
	for _, h := range res.GetHeaders("Contact") {
		for _, c := range strings.Split(h.Value(), ",") {
			if c = strings.TrimSpace(c); c != "" {
				a.Contacts = append(a.Contacts, c)
				if _, says := contactKey(c, nil); says != "" {
					a.Tokens = append(a.Tokens, says)
				}
			}
		}
	}
	return a
}

// ErrNoAnswer is a replayed INVITE's LiveError when the server sent no
// final answer within ReplayConfig.Timeout.
var ErrNoAnswer = errors.New("no final answer")

// Replay sends each INVITE in turn to cfg.Server and returns the results.
// An INVITE the server did not answer in time is a result (LiveError,
// ErrNoAnswer); one that could not be sent or whose answer could not be
// read (the server's host or port refusing it: ICMP unreachable) ends the
// replay with an error, as does ctx ending: the results so far come with
// it.
func Replay(ctx context.Context, cfg ReplayConfig, invites []ReplayInvite) ([]ReplayResult, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 4 * time.Second
	}
	server, err := net.ResolveUDPAddr("udp", cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("replay: server %q: %w", cfg.Server, err)
	}
	conn, err := net.DialUDP("udp", nil, server)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	out := make([]ReplayResult, 0, len(invites))
	for i := range invites {
		if ctx.Err() != nil {
			break
		}
		r := ReplayResult{ReplayInvite: invites[i]}
		live, err := replayOne(ctx, conn, local, invites[i].req, i, cfg.Timeout)
		if err != nil {
			r.LiveError = err.Error()
		} else {
			r.Live = &live
		}
		r.Same = r.Live != nil && r.Captured != nil && SameAnswer(r.Captured, r.Live, cfg.Volatile)
		out = append(out, r)
		if err != nil && !errors.Is(err, ErrNoAnswer) {
			return out, fmt.Errorf("replay: the INVITE of frame %d to %s: %w; %d of %d INVITEs replayed", r.Frame, cfg.Server, err, len(out), len(invites))
		}
	}
	if len(out) < len(invites) {
		return out, fmt.Errorf("replay interrupted: %w; %d of %d INVITEs replayed", ctx.Err(), len(out), len(invites))
	}
	return out, nil
}

// replayOne sends one INVITE from local and waits for its final answer.
func replayOne(ctx context.Context, conn *net.UDPConn, local netip.AddrPort, orig *gosip.Request, n int, timeout time.Duration) (ReplayAnswer, error) {
	req := orig.Clone()
	via := req.Via()
	branch := fmt.Sprintf("z9hG4bK-replay-%d-%d", n, time.Now().UnixNano())
	via.Transport, via.Host, via.Port = "UDP", local.Addr().String(), int(local.Port())
	via.Params = gosip.NewParams()
	via.Params.Add("branch", branch)
	via.Params.Add("rport", "")
	wire := []byte(req.String())
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// Retransmit as the client transaction would (Timer A: T1, doubling)
	// until a response arrives.
	p := gosip.NewParser()
	buf := make([]byte, 65535)
	interval, provisional := 500*time.Millisecond, false
	next := time.Now()
	for {
		now := time.Now()
		if !now.Before(deadline) {
			return ReplayAnswer{}, fmt.Errorf("%w within %s", ErrNoAnswer, timeout)
		}
		if !provisional && !now.Before(next) {
			if _, err := conn.Write(wire); err != nil {
				return ReplayAnswer{}, err
			}
			next, interval = now.Add(interval), interval*2
		}
		wait := deadline
		if !provisional && next.Before(wait) {
			wait = next
		}
		if err := conn.SetReadDeadline(wait); err != nil {
			return ReplayAnswer{}, err
		}
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return ReplayAnswer{}, err
		}
		msg, err := p.ParseSIP(buf[:n])
		res, ok := msg.(*gosip.Response)
		if err != nil || !ok || res.Via() == nil {
			continue
		}
		if b, _ := res.Via().Params.Get("branch"); b != branch {
			continue // an answer to an earlier INVITE, retransmitted
		}
		if res.StatusCode < 200 {
			provisional = true // the server has it: no more retransmissions
			continue
		}
		if res.StatusCode >= 300 {
			if _, err := conn.Write(ackFor(req, res)); err != nil {
				return ReplayAnswer{}, err
			}
		}
		return answerOf(res), nil
	}
}

// ackFor is the ACK of a non-2xx final answer res to req (RFC 3261
// §17.1.1.3): the INVITE's Request-URI, top Via, From, Call-ID and CSeq
// number, the answer's To (with its tag).
func ackFor(req *gosip.Request, res *gosip.Response) []byte {
	var b strings.Builder
	b.WriteString("ACK " + req.Recipient.String() + " SIP/2.0\r\n")
	b.WriteString("Via: " + req.Via().Value() + "\r\n")
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("From: " + req.From().Value() + "\r\n")
	b.WriteString("To: " + res.To().Value() + "\r\n")
	b.WriteString("Call-ID: " + req.CallID().Value() + "\r\n")
	b.WriteString("CSeq: " + strconv.FormatUint(uint64(req.CSeq().SeqNo), 10) + " ACK\r\n")
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// SameAnswer reports whether two final answers agree: the same status
// code and, for a 3xx, the same Contact URIs in order, their screening
// tokens saying the same, the values of the volatile URI parameters
// blanked.
func SameAnswer(a, b *ReplayAnswer, volatile []string) bool {
	if a.Status != b.Status {
		return false
	}
	if a.Status < 300 || a.Status >= 400 {
		return true
	}
	if len(a.Contacts) != len(b.Contacts) {
		return false
	}
	for i := range a.Contacts {
		ka, _ := contactKey(a.Contacts[i], volatile)
		kb, _ := contactKey(b.Contacts[i], volatile)
		if ka != kb {
			return false
		}
	}
	return true
}

// contactKey returns a Contact value as answers are compared: its
// screening token (the cgt parameter) replaced by what it says (its
// claims less the expiry, or the token as written when it does not read),
// the values of the volatile parameters blanked; and what the token says,
// "" when there is none.
func contactKey(c string, volatile []string) (string, string) {
	parts := strings.Split(c, ";")
	says := ""
	for i := 1; i < len(parts); i++ {
		name, val, ok := strings.Cut(parts[i], "=")
		if !ok {
			continue
		}
		end := "" // the name-addr's closing '>' or the headers, and what follows
		if j := strings.IndexAny(val, ">?"); j >= 0 {
			val, end = val[:j], val[j:]
		}
		switch n := strings.TrimSpace(name); {
		case strings.EqualFold(n, token.URIParam):
			says = "unreadable token " + val
			if cl, err := token.Inspect(val); err == nil {
				says = describeClaims(&cl)
			}
			parts[i] = name + "={" + says + "}" + end
		case slices.ContainsFunc(volatile, func(v string) bool { return strings.EqualFold(n, v) }):
			parts[i] = name + "=" + end
		}
	}
	return strings.Join(parts, ";"), says
}

// describeClaims says what a token says, less its expiry.
func describeClaims(c *token.Claims) string {
	s := fmt.Sprintf("%s for subscriber %d, %s -> %s", c.Action, c.Subscriber, numberOr(c.Calling), numberOr(c.Called))
	if c.OriginalCalled != 0 {
		s += " (forwarded from " + c.OriginalCalled.String() + ")"
	}
	if c.Presentation != 0 {
		s += ", presentation " + c.Presentation.String()
	}
	if c.Announcement != 0 {
		s += ", announcement " + strconv.FormatUint(uint64(c.Announcement), 10)
	}
	if c.PINAllowed {
		s += ", PIN allowed"
	}
	if c.Voicemail != "" {
		s += ", voicemail " + c.Voicemail
	}
	return s
}

func numberOr(n e164.Number) string {
	if n == 0 {
		return "anonymous"
	}
	return n.String()
}
