package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// Two INVITEs diago does not send: one without SDP (a late offer, RFC 3261
// §13.2.1) and a SIP-T gateway's, whose body is the SDP and the ISUP IAM
// (sipt.go). diago's Invite always sends its own offer as the whole body,
// so for these the phone does diago's part itself, on the dialog diago
// made (so that diago still routes the far end's BYE, INFO and re-INVITE
// to it): it opens the media session, sends the INVITE with the body the
// call needs, starts early media on a 183 with SDP, and on the 200 applies
// the answer, or for a late offer answers the 200's offer in its ACK.

// inviteOwn sends the INVITE of a late-offer or SIP-T call on d and waits
// for its final answer. The media it returns is set up on a 200 (and on a
// 183 with SDP, then started as early media).
func (c *outCall) inviteOwn(ctx context.Context, d *diago.DialogClientSession, headers []gosip.Header, listen bool) (*diago.DialogMedia, error) {
	if c.p.cfg.SRTP {
		return nil, errors.New("a late offer or a SIP-T INVITE is sent with RTP only (no --srtp)")
	}
	sess := &media.MediaSession{Codecs: slices.Clone(c.p.codecs), Laddr: net.UDPAddr{IP: net.ParseIP(c.p.host)}, Mode: sdp.ModeSendrecv}
	if err := sess.Init(); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	med := &diago.DialogMedia{}
	med.InitMediaSession(sess, nil, nil)
	var offer []byte
	if !c.cfg.LateOffer {
		offer = sess.LocalSDP(false)
	}
	body, hs, err := inviteBody(offer, c.cfg.SIPT, d.InviteRequest.Recipient.User)
	if err != nil {
		med.Close()
		return nil, err
	}
	req := d.InviteRequest
	for _, h := range append(headers, hs...) {
		req.AppendHeader(h)
	}
	req.AppendHeader(&d.UA.ContactHDR)
	req.SetBody(body)
	if f := req.From(); f != nil {
		f.Params.Add("tag", gosip.GenerateTagN(16))
	}
	if err := sipgo.ClientRequestBuild(d.UA.Client, req); err != nil {
		med.Close()
		return nil, err
	}
	// The request is built: sipgo's Invite adds nothing more.
	if err := d.DialogClientSession.Invite(ctx, func(*sipgo.Client, *gosip.Request) error { return nil }); err != nil {
		med.Close()
		return nil, err
	}
	err = d.DialogClientSession.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(r *gosip.Response) error {
		_ = c.onResponse(r)
		if r.StatusCode == 183 && offer != nil && med.RTPPacketReader == nil && isSDP(r) {
			if err := c.startRTP(med, sess, r.Body(), true); err != nil {
				c.tl.note("early media: %v", err)
			} else if err := c.s.startMedia(med, true, listen, r.Body()); err != nil {
				c.tl.note("early media: %v", err)
			}
		}
		return nil
	}})
	if err != nil {
		return med, err
	}
	if offer == nil {
		return med, c.answerInAck(ctx, d, med, sess)
	}
	if med.RTPPacketReader != nil {
		// Early media ran: the 200's SDP applies to it in place (as
		// diago does; see awaitAnswerAfterEarly).
		if b := d.InviteResponse.Body(); len(b) > 0 && isSDP(d.InviteResponse) {
			if err := sess.RemoteSDP(b, true); err != nil {
				return med, c.refuseAnswer(d, fmt.Errorf("the answer's SDP: %w", err))
			}
		}
		return med, nil
	}
	if !isSDP(d.InviteResponse) {
		return med, c.refuseAnswer(d, errors.New("the 200 has no SDP answer"))
	}
	if err := c.startRTP(med, sess, d.InviteResponse.Body(), true); err != nil {
		return med, c.refuseAnswer(d, fmt.Errorf("the answer's SDP: %w", err))
	}
	return med, nil
}

// answerInAck answers the offer of a late-offer call's 200 in the ACK.
func (c *outCall) answerInAck(ctx context.Context, d *diago.DialogClientSession, med *diago.DialogMedia, sess *media.MediaSession) error {
	res := d.InviteResponse
	if !isSDP(res) {
		return c.refuseAnswer(d, errors.New("a late offer's 200 carries no SDP offer"))
	}
	if err := c.startRTP(med, sess, res.Body(), false); err != nil {
		return c.refuseAnswer(d, fmt.Errorf("the 200's offer: %w", err))
	}
	target := d.InviteRequest.Recipient
	if h := res.Contact(); h != nil {
		target = h.Address
	}
	ack := gosip.NewRequest(gosip.ACK, target)
	ack.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody(sess.LocalSDP(true))
	if err := d.DialogClientSession.WriteAck(ctx, ack); err != nil {
		return fmt.Errorf("ACK: %w", err)
	}
	c.acked = true
	c.tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Method: "ACK", Detail: "with the SDP answer"})
	return nil
}

// startRTP applies the far end's SDP to sess (an answer, or with answered
// false the offer of a late-offer call's 200) and starts its RTP session
// under med.
func (c *outCall) startRTP(med *diago.DialogMedia, sess *media.MediaSession, remote []byte, answered bool) error {
	if err := sess.RemoteSDP(remote, answered); err != nil {
		return err
	}
	rtp := media.NewRTPSession(sess)
	med.InitMediaSession(sess, media.NewRTPPacketReaderSession(rtp), media.NewRTPPacketWriterSession(rtp))
	med.OnClose(rtp.Close)
	return rtp.MonitorBackground()
}

// refuseAnswer ends an answered call whose SDP cannot be used: ACK, then
// BYE (RFC 3261 §13.2.1: an ACK must go out for every 200).
func (c *outCall) refuseAnswer(d *diago.DialogClientSession, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.acked = true
	return errors.Join(err, d.Ack(ctx), d.Bye(ctx))
}

func isSDP(r *gosip.Response) bool {
	ct := r.ContentType()
	return ct != nil && ct.Value() == "application/sdp" && len(r.Body()) > 0
}

// bodyNote says in the timeline what the INVITE carries, when it is not
// the usual SDP offer.
func (c *outCall) bodyNote() string {
	switch {
	case c.cfg.SIPT != nil && c.cfg.LateOffer:
		return " (SIP-T: ISUP IAM, no SDP)"
	case c.cfg.SIPT != nil:
		return " (SIP-T: SDP and ISUP IAM)"
	case c.cfg.LateOffer:
		return " (late offer: no SDP)"
	}
	return ""
}
