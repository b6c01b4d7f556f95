package admin

import (
	"net/http"

	"callgate/store"
)

// A subscriber's treatment: its own settings, the effective ones (own,
// else its provider's defaults, else the platform's), where each
// effective one comes from, and what it may change. An own value its
// provider or the platform owner set applies whatever the permissions;
// one the subscriber set, only while it holds the permission
// (store/setby.go). Changes go through PATCH
// /api/v1/subscribers/{subscriber}.

type effectiveView struct {
	Unknown         store.Treatment `json:"unknown"`
	Anonymous       store.Treatment `json:"anonymous"`
	RejectWithMedia bool            `json:"reject_with_media"`
	HasPIN          bool            `json:"has_pin"`
	Voicemail       string          `json:"voicemail,omitempty"`
	Announcement    uint32          `json:"announcement,omitempty"`
}

type treatmentView struct {
	Subscriber    string               `json:"subscriber"`
	Own           store.Settings       `json:"own"`
	SetByProvider store.Permission     `json:"set_by_provider"`
	Effective     effectiveView        `json:"effective"`
	Sources       store.SettingSources `json:"sources"`
	Permissions   store.Permission     `json:"permissions"`
}

func getTreatment(c *call) (int, any, error) {
	s, err := c.t.st.GetSubscriber(c.actor, c.r.PathValue("subscriber"))
	if err != nil {
		return 0, nil, fieldErr("subscriber", err)
	}
	v, err := c.t.st.EffectiveSettings(c.actor, s.Name)
	if err != nil {
		return 0, nil, fieldErr("subscriber", err)
	}
	src, err := c.t.st.SettingSources(c.actor, s.Name)
	if err != nil {
		return 0, nil, fieldErr("subscriber", err)
	}
	c.setETag(s.Revision)
	return http.StatusOK, treatmentView{Subscriber: s.Name, Own: s.Settings, SetByProvider: s.SetByProvider, Permissions: s.Permissions,
		Sources: src, Effective: effectiveView{Unknown: v.Unknown, Anonymous: v.Anonymous, RejectWithMedia: v.RejectWithMedia,
			HasPIN: v.HasPIN, Voicemail: v.Voicemail, Announcement: v.Announcement}}, nil
}
