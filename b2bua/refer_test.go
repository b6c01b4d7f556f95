package b2bua

import (
	"errors"
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// referStatus is the final status of a REFER diago sent (its error).
func referStatus(t *testing.T, err error) int {
	t.Helper()
	var de sipgo.ErrDialogResponse
	if !errors.As(err, &de) {
		t.Fatalf("REFER: %v", err)
	}
	return de.Res.StatusCode
}

// A REFER from either phone of a bridged call is refused with 403 and
// recorded; the two still hear each other and nothing is dialled.
func TestReferRefused(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t)
	c, sd, sub := h.bridgedByPIN(ctx)

	target := sip.Uri{Scheme: "sip", User: "+19005550100", Host: "127.0.0.1", Port: h.vm.port}
	if code := referStatus(t, c.d.Refer(ctx, target)); code != 403 {
		t.Errorf("the caller's REFER got %d, want 403", code)
	}
	if code := referStatus(t, sd.Refer(ctx, target)); code != 403 {
		t.Errorf("the subscriber's REFER got %d, want 403", code)
	}
	before, cBefore := sub.framesOf("caller-voice"), c.pm.framesOf("subscriber-voice")
	waitFor(t, "both voices after the refused transfers", func() bool {
		return sub.framesOf("caller-voice") > before+10 && c.pm.framesOf("subscriber-voice") > cBefore+10
	})
	if h.vmIn.Load() != nil {
		t.Error("the Refer-To target was called")
	}
	_ = c.d.Hangup(ctx)
	steps := h.waitStep("end", "caller-hangup")
	var details []string
	for _, s := range steps {
		if s.Name == "transfer" {
			details = append(details, s.Outcome+" "+s.Detail)
		}
	}
	want := []string{"refused by the caller to <sip:+19005550100@", "refused by the subscriber to <sip:+19005550100@"}
	if len(details) != 2 || !strings.HasPrefix(details[0], want[0]) || !strings.HasPrefix(details[1], want[1]) {
		t.Errorf("transfer steps %q, want %q...", details, want)
	}
}

// A REFER outside any call is 481; one without a single Refer-To is 400
// (RFC 3515 §2.4.2).
func TestReferOutsideCall(t *testing.T) {
	h := newHarness(t, nil)
	cli, err := sipgo.NewClient(h.call.ua, sipgo.WithClientLogger(testQuiet))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		referTo []string
		code    int
	}{
		{"no call", []string{"<sip:+19005550100@127.0.0.1>"}, 481},
		{"no Refer-To", nil, 400},
		{"two Refer-To", []string{"<sip:a@127.0.0.1>", "<sip:b@127.0.0.1>"}, 400},
	} {
		req := sip.NewRequest(sip.REFER, sip.Uri{Scheme: "sip", User: "screen", Host: "127.0.0.1", Port: h.port()})
		req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: nCaller.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
		req.From().Params.Add("tag", sip.GenerateTagN(8))
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: nSub.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: h.call.port}})
		for _, r := range tc.referTo {
			req.AppendHeader(sip.NewHeader("Refer-To", r))
		}
		res, err := cli.Do(testCtx(t), req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.StatusCode != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, res.StatusCode, res.Reason, tc.code)
		}
	}
}
