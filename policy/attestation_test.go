package policy

import (
	"context"
	"testing"

	"callgate/store"
)

// TestAttestationPolicy: the provider's STIR/SHAKEN policy applies after
// the subscriber's lists and before the treatments, and tags allowed calls.
func TestAttestationPolicy(t *testing.T) {
	v := fixture()
	dave := v.subs[nDave] // allows unknown callers
	dave.Stir = store.StirPolicy{OnC: store.StirScreen, OnFailed: store.StirReject, Tag: true, VerifiedTag: "verified", UnknownTag: "unknown"}
	v.subs[nDave] = dave
	alice := v.subs[nAlice]
	alice.Stir = store.StirPolicy{OnC: store.StirBlock, OnFailed: store.StirBlock}
	v.subs[nAlice] = alice
	e := New(v)
	ctx := context.Background()
	lists := "provider-vip=no vip=no blocked=no provider-blocked=no "
	for _, c := range []struct {
		name string
		call Call
		want want
		tag  string
		rej  bool
	}{
		{"A verified, tagged", Call{Calling: nStranger, Called: nDave, Attestation: AttestationA},
			want{action: ActionAllow, subscriber: 4, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply"}, "verified", false},
		{"B verified, tagged", Call{Calling: nStranger, Called: nDave, Attestation: AttestationB},
			want{action: ActionAllow, subscriber: 4, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply"}, "verified", false},
		{"no Identity, tagged unknown", Call{Calling: nStranger, Called: nDave},
			want{action: ActionAllow, subscriber: 4, trace: "subscriber=yes " + lists + "anonymous=no unknown=apply"}, "unknown", false},
		{"C screened", Call{Calling: nStranger, Called: nDave, Attestation: AttestationC},
			want{action: ActionScreen, subscriber: 4, route: routeEast, voicemail: "+13035558888", trace: "subscriber=yes " + lists + "attestation=apply route=yes pin=no"}, "", false},
		{"failed rejected with the RFC 8224 code", Call{Calling: nStranger, Called: nDave, Attestation: AttestationFailed},
			want{action: ActionBlock, subscriber: 4, trace: "subscriber=yes " + lists + "attestation=apply"}, "", true},
		{"C blocked", Call{Calling: nStranger, Called: nAlice, Attestation: AttestationC},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes " + lists + "attestation=apply"}, "", false},
		{"VIP wins over a failed verification", Call{Calling: nFriend, Called: nAlice, Attestation: AttestationFailed},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=yes"}, "", false},
		{"non-subscriber: no policy", Call{Calling: nStranger, Called: nNobody, Attestation: AttestationFailed},
			want{action: ActionAllow, trace: "subscriber=no"}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := e.Decide(ctx, c.call)
			check(t, d, c.want)
			if d.Tag != c.tag || d.RejectIdentity != c.rej {
				t.Fatalf("tag %q reject %v, want %q %v", d.Tag, d.RejectIdentity, c.tag, c.rej)
			}
		})
	}
}
