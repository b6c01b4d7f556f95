package sip

import (
	"bytes"
	"mime"
	"mime/multipart"
	"testing"

	"callgate/sipcall"
	"callgate/sipcall/isup"
)

// What a SIP-T INVITE carries reads back as the IAM it was made from,
// beside the SDP and alone, in both variants; the SDP part is the offer.
func TestInviteBodySIPT(t *testing.T) {
	offer := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n")
	for _, v := range []isup.Variant{isup.ANSI, isup.ITU} {
		for _, sdp := range [][]byte{offer, nil} {
			s := &SIPT{Variant: v, Calling: "+17195551212", Restricted: true, OriginalCalled: "+13035550100", Redirecting: "+442079460000", Required: sdp == nil}
			body, hs, err := inviteBody(sdp, s, "+13035550999")
			if err != nil {
				t.Fatal(err)
			}
			ct := hs[0].Value()
			m, err := sipcall.BodyIAM(ct, body)
			if err != nil {
				t.Fatalf("%s, offer %v: %v", v, sdp != nil, err)
			}
			if m.Called.Digits != "3035550999" || m.Called.Nature != isup.NatureNational || m.Calling.Digits != "7195551212" ||
				m.Calling.Presentation != isup.PresentationRestricted || m.OriginalCalled.Digits != "3035550100" ||
				m.Redirecting.Digits != "442079460000" || m.Redirecting.Nature != isup.NatureInternational || !m.HasRedirection {
				t.Errorf("%s, offer %v: IAM %+v", v, sdp != nil, m)
			}
			if sdp == nil {
				if len(hs) != 2 || hs[1].Value() != "signal;handling=required" {
					t.Errorf("%s alone: headers %v, want Content-Disposition signal;handling=required", v, hs)
				}
				continue
			}
			_, params, _ := mime.ParseMediaType(ct)
			p, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).NextPart()
			if err != nil || p.Header.Get("Content-Type") != "application/sdp" {
				t.Fatalf("%s: first part %v %v, want the SDP", v, p, err)
			}
			var got bytes.Buffer
			_, _ = got.ReadFrom(p)
			if !bytes.Equal(got.Bytes(), offer) {
				t.Errorf("%s: SDP part %q, want %q", v, got.Bytes(), offer)
			}
		}
	}
	if _, _, err := inviteBody(offer, &SIPT{Calling: "12"}, "+13035550999"); err == nil {
		t.Error("a calling number that is not E.164 was taken")
	}
}
