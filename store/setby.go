package store

import "fmt"

// Who set a subscriber's own settings. A subscriber's permissions govern
// what it may change itself; they do not veto what its provider (or the
// platform owner) sets for it. So each own value carries a mark: set by
// the subscriber's manager (Subscriber.SetByProvider) or by the
// subscriber. A value its manager set applies whatever the permissions; a
// value the subscriber set applies only while the subscriber still holds
// the permission, so withdrawing a permission hands the setting back to
// the provider's default at once (the subscriber's choice stays stored
// and applies again if the permission is given back).
//
// Records written before the mark existed have none: their own values
// behave as they always did (in effect only with the permission) until a
// manager sets them again.

// PermSettings are the permissions that open the treatment settings (the
// bits a SetByProvider mark can hold).
const PermSettings = PermUnknown | PermAnonymous | PermRejectWithMedia | PermVoicemail | PermAnnouncement

// Source says where the value in effect of one setting comes from.
type Source uint8

// Sources, from the lowest level up.
const (
	SourcePlatform        Source = iota // PlatformDefaults
	SourceProviderDefault               // the provider's Defaults
	SourceSubscriber                    // the subscriber's own choice (it holds the permission)
	SourceProvider                      // set for this subscriber by its provider or the platform owner
)

var sourceNames = [...]string{"platform-default", "provider-default", "subscriber", "provider"}

// String returns "platform-default", "provider-default", "subscriber" or
// "provider".
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (a client reading the
// API's sources).
func (s *Source) UnmarshalText(b []byte) error {
	for i, n := range sourceNames {
		if n == string(b) {
			*s = Source(i)
			return nil
		}
	}
	return fmt.Errorf("setting source %q: %w (want one of %v)", b, ErrInvalid, sourceNames)
}

// SettingSources says, per setting, where the subscriber's value in
// effect comes from (Store.SettingSources).
type SettingSources struct {
	Unknown         Source `json:"unknown"`
	Anonymous       Source `json:"anonymous"`
	RejectWithMedia Source `json:"reject_with_media"`
	Voicemail       Source `json:"voicemail"`
	Announcement    Source `json:"announcement"`
}

// setHere returns the settings s sets at its level (not left to the one
// above), as permission bits.
func (s Settings) setHere() Permission {
	var p Permission
	if s.Unknown != TreatUnset {
		p |= PermUnknown
	}
	if s.Anonymous != TreatUnset {
		p |= PermAnonymous
	}
	if s.RejectWithMedia != ToggleUnset {
		p |= PermRejectWithMedia
	}
	if s.Voicemail != "" {
		p |= PermVoicemail
	}
	if s.Announcement != 0 {
		p |= PermAnnouncement
	}
	return p
}

// markSetBy returns a subscriber's SetByProvider mark after role applied
// u, leaving after as its own settings: the settings u touched are the
// subscriber's own choice when the subscriber wrote them, its manager's
// when anyone else did (a cleared value carries no mark).
func markSetBy(mark Permission, u SettingsUpdate, after Settings, role Role) Permission {
	touched := u.touched()
	mark &^= touched
	if role != RoleSubscriber {
		mark |= touched & after.setHere()
	}
	return mark
}

// sources says where each of sub's settings in effect comes from, under
// provider prov: its own value if its manager set it, or if it set it
// itself and holds the permission; else the provider's default if set;
// else the platform's.
func sources(sub *Subscriber, prov *Provider) SettingSources {
	own, def := sub.Settings.setHere(), prov.Defaults.setHere()
	from := func(bit Permission) Source {
		switch {
		case own&bit == 0:
		case sub.SetByProvider&bit != 0:
			return SourceProvider
		case sub.Permissions&bit != 0:
			return SourceSubscriber
		}
		if def&bit != 0 {
			return SourceProviderDefault
		}
		return SourcePlatform
	}
	return SettingSources{Unknown: from(PermUnknown), Anonymous: from(PermAnonymous),
		RejectWithMedia: from(PermRejectWithMedia), Voicemail: from(PermVoicemail), Announcement: from(PermAnnouncement)}
}

// SettingSources returns where each of a subscriber's settings in effect
// comes from (see EffectiveSettings for the values), by name or number.
func (s *Store) SettingSources(actor Actor, ref string) (SettingSources, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	st, err := s.ix.findSubscriberAs(actor, ref)
	if err != nil {
		return SettingSources{}, err
	}
	p := s.ix.prov(st.rec.ProviderID)
	if p == nil {
		return SettingSources{}, fmt.Errorf("subscriber %q: provider %d: %w", ref, st.rec.ProviderID, ErrNotFound)
	}
	return sources(&st.rec, &p.rec), nil
}
