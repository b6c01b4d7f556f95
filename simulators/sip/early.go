package sip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media/sdp"
	"github.com/emiago/sipgo"
)

// awaitAnswerAfterEarly waits for the final answer to an INVITE whose early
// media is playing, and carries the call on in that media.
//
// diago's WaitAnswer would apply the answer's SDP to the live media session
// in place (DialogMedia.checkEarlyMedia, diago v0.42.1): it rewrites the
// remote address, codecs and direction that our RTP writer and diago's own
// RTCP goroutines read without a lock, a data race on every answered call
// that had early media. (diago forks the session for a re-INVITE; not
// here.) A UAS that plays early media answers with the SDP of its 183, and
// then there is nothing to apply: waiting on the SIP dialog alone (sipgo's
// WaitAnswer) leaves the media untouched. Only an answer that moves the
// media is applied, as diago would, and noted in the timeline.
func (c *outCall) awaitAnswerAfterEarly(ctx context.Context, d *diago.DialogClientSession, med *diago.DialogMedia) error {
	early := d.InviteResponse.Body() // the 183 diago started the media with
	if err := d.DialogClientSession.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: c.onResponse}); err != nil {
		return err
	}
	answer := d.InviteResponse.Body()
	switch {
	case len(answer) == 0:
		c.tl.note("the answer has no SDP: the early media goes on")
		return nil
	case sameMedia(early, answer):
		return nil
	}
	c.tl.note("the answer's SDP differs from the early media's: applied to the media session in place (as diago does; see awaitAnswerAfterEarly)")
	if err := med.MediaSession().RemoteSDP(answer, true); err != nil {
		// The call is answered: ACK it, then hang up (as diago does).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return errors.Join(fmt.Errorf("the answer's SDP: %w", err), d.Ack(ctx), d.Bye(ctx))
	}
	return nil
}

// sameMedia reports whether two SDP bodies describe the same media: the
// same connection, media and attribute lines (the origin's version may
// differ).
func sameMedia(a, b []byte) bool {
	sa, sb := sdp.SessionDescription{}, sdp.SessionDescription{}
	if sdp.Unmarshal(a, &sa) != nil || sdp.Unmarshal(b, &sb) != nil {
		return false
	}
	for _, k := range []string{"c", "m", "a"} {
		if !slices.Equal(sa.Values(k), sb.Values(k)) {
			return false
		}
	}
	return true
}
