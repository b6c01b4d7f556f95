package b2bua

import (
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// What the B2BUA answers to each method outside a call: OPTIONS says what
// it takes, a method it does not handle gets 405 with Allow (RFC 3261
// §21.4.6), a BYE, NOTIFY or PRACK for no dialog 481.
func TestOtherMethods(t *testing.T) {
	h := newHarness(t, nil)
	cli, err := sipgo.NewClient(h.call.ua, sipgo.WithClientLogger(testQuiet))
	if err != nil {
		t.Fatal(err)
	}
	const allow = "ACK, BYE, CANCEL, INFO, INVITE, NOTIFY, OPTIONS, PRACK, REFER, UPDATE"
	for _, tc := range []struct {
		method       sip.RequestMethod
		toTag        bool
		code         int
		allow, accpt string
	}{
		{sip.OPTIONS, false, 200, allow, acceptTypes},
		{sip.OPTIONS, true, 200, allow, acceptTypes},
		{sip.MESSAGE, false, 405, allow, ""},
		{sip.SUBSCRIBE, false, 405, allow, ""},
		{sip.PUBLISH, false, 405, allow, ""},
		{sip.REGISTER, false, 405, allow, ""},
		{sip.PRACK, true, 481, "", ""}, // for no INVITE of ours (prack.go)
		{"FOO", false, 405, allow, ""},
		{sip.BYE, false, 481, "", ""},
		{sip.BYE, true, 481, "", ""},
		{sip.NOTIFY, false, 481, "", ""},
		{sip.INFO, true, 481, "", ""},
		{sip.UPDATE, true, 481, "", ""},
	} {
		req := sip.NewRequest(tc.method, sip.Uri{Scheme: "sip", User: "screen", Host: "127.0.0.1", Port: h.port()})
		req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: nCaller.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
		req.From().Params.Add("tag", sip.GenerateTagN(8))
		to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: nSub.String(), Host: "127.0.0.1"}, Params: sip.NewParams()}
		if tc.toTag {
			to.Params.Add("tag", sip.GenerateTagN(8))
		}
		req.AppendHeader(to)
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: h.call.port}})
		if tc.method == sip.SUBSCRIBE || tc.method == sip.NOTIFY || tc.method == sip.PUBLISH {
			req.AppendHeader(sip.NewHeader("Event", "presence"))
		}
		res, err := cli.Do(testCtx(t), req)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		hdr := func(name string) string {
			if h := res.GetHeader(name); h != nil {
				return h.Value()
			}
			return ""
		}
		if res.StatusCode != tc.code || hdr("Allow") != tc.allow || hdr("Accept") != tc.accpt {
			t.Errorf("%s (To tag %v): %d %s, Allow %q, Accept %q; want %d, Allow %q, Accept %q",
				tc.method, tc.toTag, res.StatusCode, res.Reason, hdr("Allow"), hdr("Accept"), tc.code, tc.allow, tc.accpt)
		}
		if tc.method == sip.OPTIONS && hdr("Supported") != "100rel" {
			t.Errorf("OPTIONS: Supported %q, want 100rel (RFC 3261 §11.2)", hdr("Supported"))
		}
	}
}
