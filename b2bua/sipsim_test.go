package b2bua

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"

	"callgate/e164"
	"callgate/policy"
	"callgate/simulators/sip"
	"callgate/sipcall/isup"
)

// sipsim's late offer: the INVITE has no SDP, the B2BUA offers in its 200,
// sipsim answers in the ACK, and the call is bridged to the subscriber
// with audio both ways (sipsim hears the subscriber's voice, the
// subscriber sipsim's probe tone).
func TestSipsimLateOffer(t *testing.T) {
	h := newHarness(t, nil)
	heard := make(chan *phoneMedia, 1)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		if pm := answerAndListen(t, d); pm != nil {
			pm.speak(subscriberVoice)
			heard <- pm
			<-d.Context().Done()
		}
	})
	hangup, err := sip.ParseCue("@tone+500ms=hangup")
	if err != nil {
		t.Fatal(err)
	}
	u := h.inviteURI(h.token(policy.Decision{Action: policy.ActionAllow}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := sip.Call(ctx, sip.CallConfig{
		Target: u.String(), To: "sip:" + nSub.String() + "@127.0.0.1", From: nCaller.String(),
		LateOffer: true, MaxDuration: 20 * time.Second,
		Behaviour: sip.Behaviour{Probe: sip.Probe{SendHz: callerVoice, ExpectHz: subscriberVoice}, Script: sip.Script{Cues: []sip.Cue{hangup}}},
		Phone:     sip.PhoneConfig{Listen: "127.0.0.1:0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != sip.OutcomeAnswered || res.EarlyMedia || !res.Probe.Heard || res.EndedBy != "local" {
		t.Fatalf("outcome %s, early media %v, heard the subscriber %v, ended by %s; want answered, no early media, the subscriber heard\n%s",
			res.Outcome, res.EarlyMedia, res.Probe.Heard, res.EndedBy, res)
	}
	if tl := res.String(); !strings.Contains(tl, "late offer: no SDP") || !strings.Contains(tl, "with the SDP answer") {
		t.Errorf("the timeline does not show the late offer and the ACK's answer:\n%s", tl)
	}
	if pm := <-heard; !pm.heardAny("caller-voice") {
		t.Errorf("the subscriber did not hear sipsim's probe: heard %v", pm.heardList())
	}
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); got != "token=ok subscriber=ringing subscriber=answered bridge=connected end=caller-hangup" {
		t.Errorf("steps %q", got)
	}
}

// listDecider blocks the callers on its list and allows the rest, and
// tells what it was asked.
type listDecider struct {
	blocked map[e164.Number]bool
	asked   chan policy.Call
}

func (l *listDecider) Decide(_ context.Context, c policy.Call) policy.Decision {
	l.asked <- c
	if l.blocked[c.Calling] {
		return policy.Decision{Action: policy.ActionBlock}
	}
	return policy.Decision{Action: policy.ActionAllow}
}

// sipsim as a SIP-T gateway after an AIN forwardCall: the INVITE to the
// route's routing number has an anonymous From and no Diversion; the IAM
// beside the SDP (or alone, with a late offer) carries the caller's
// number, restricted, and the subscriber as Original Called Number. The
// B2BUA takes both from the IAM (sipcall's rules: what the headers lack),
// so the engine screens the call for the subscriber on the caller's real
// number, which is on the block list: 603, in ANSI and ITU.
func TestSipsimSIPT(t *testing.T) {
	dec := &listDecider{blocked: map[e164.Number]bool{nCaller: true}, asked: make(chan policy.Call, 1)}
	h := newHarness(t, nil, WithGuard(policy.NewGuard(dec, testQuiet)))
	target := "sip:" + nRouting.String() + "@127.0.0.1:" + strconv.Itoa(h.port()) + ";user=phone"
	for _, tc := range []struct {
		name    string
		variant isup.Variant
		late    bool
	}{{"ansi", isup.ANSI, false}, {"itu", isup.ITU, false}, {"ansi-late-offer", isup.ANSI, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := sip.Call(ctx, sip.CallConfig{
				Target: target, From: "anonymous", Privacy: "id", LateOffer: tc.late, MaxDuration: 10 * time.Second,
				SIPT:  &sip.SIPT{Variant: tc.variant, Calling: nCaller.String(), Restricted: true, OriginalCalled: nSub.String()},
				Phone: sip.PhoneConfig{Listen: "127.0.0.1:0"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != sip.OutcomeRejected || res.Status != 603 {
				t.Fatalf("outcome %s %d %s, want rejected 603 (the IAM's caller is blocked)\n%s", res.Outcome, res.Status, res.Reason, res)
			}
			q := <-dec.asked
			if q.Calling != nCaller || q.Called != nSub || q.Presentation != policy.PresentationRestricted || q.Origin != policy.OriginAIN {
				t.Errorf("engine asked %+v, want %s (restricted) -> %s as AIN", q, nCaller, nSub)
			}
			steps := h.waitStep("end", "rejected")
			want := "calling " + nCaller.String() + ", original called " + nSub.String()
			if len(steps) == 0 || steps[0].Name != "isup" || steps[0].Detail != want {
				t.Errorf("steps %+v, want first isup mapped %q", steps, want)
			}
		})
	}
}

// A SIP-T caller whose number only the IAM gives (anonymous From, no
// P-Asserted-Identity) reaches the subscriber with it: the subscriber's
// leg asserts it (P-Asserted-Identity, RFC 3325) with Privacy: id, as a
// gateway mapping the IAM in full would have (RFC 3398), whether the
// INVITE said Privacy: id itself or left the restriction in the IAM. The
// IAM is not passed on.
func TestSipsimSIPTIdentityOnward(t *testing.T) {
	dec := &listDecider{blocked: map[e164.Number]bool{}, asked: make(chan policy.Call, 1)}
	h := newHarness(t, nil, WithGuard(policy.NewGuard(dec, testQuiet)))
	answeringSubscriber(t, h)
	hangup, err := sip.ParseCue("@answer+300ms=hangup")
	if err != nil {
		t.Fatal(err)
	}
	target := "sip:" + nRouting.String() + "@127.0.0.1:" + strconv.Itoa(h.port()) + ";user=phone"
	for _, privacy := range []string{"id", ""} {
		t.Run("privacy="+privacy, func(t *testing.T) {
			h.subIn.Store(nil)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := sip.Call(ctx, sip.CallConfig{
				Target: target, From: "anonymous", Privacy: privacy, MaxDuration: 10 * time.Second,
				SIPT:      &sip.SIPT{Calling: nCaller.String(), Restricted: true, OriginalCalled: nSub.String()},
				Behaviour: sip.Behaviour{Script: sip.Script{Cues: []sip.Cue{hangup}}, Probe: sip.Probe{Off: true}},
				Phone:     sip.PhoneConfig{Listen: "127.0.0.1:0"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != sip.OutcomeAnswered {
				t.Fatalf("outcome %s %d %s, want answered\n%s", res.Outcome, res.Status, res.Reason, res)
			}
			<-dec.asked
			in := h.subIn.Load()
			if in == nil {
				t.Fatal("no INVITE reached the subscriber")
			}
			pai, priv := in.GetHeaders("P-Asserted-Identity"), in.GetHeaders("Privacy")
			if len(pai) != 1 || pai[0].Value() != "<tel:"+nCaller.String()+">" || len(priv) != 1 || priv[0].Value() != "id" {
				t.Errorf("subscriber's INVITE: P-Asserted-Identity %v, Privacy %v; want <tel:%s> and id once each", pai, priv, nCaller)
			}
			if f := in.From(); f == nil || f.Address.User != "anonymous" {
				t.Errorf("subscriber's INVITE: From %v, want the caller's anonymous From", f)
			}
			if ct := in.ContentType(); ct == nil || ct.Value() != "application/sdp" {
				t.Errorf("subscriber's INVITE: Content-Type %v, want application/sdp alone (the IAM is not passed on)", ct)
			}
			h.waitStep("end", "caller-hangup")
		})
	}
}
