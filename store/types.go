package store

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"callgate/e164"
)

// List names one of a subscriber's or a provider's lists. A provider's
// lists apply to every subscriber of the provider (see policy.Engine for
// their place in the decision chain).
type List uint8

// Lists.
const (
	ListVIP     List = 1 // always allowed through
	ListBlocked List = 2 // always rejected
)

// String returns "vip" or "blocked".
func (l List) String() string {
	switch l {
	case ListVIP:
		return "vip"
	case ListBlocked:
		return "blocked"
	}
	return fmt.Sprintf("list(%d)", uint8(l))
}

// ParseList accepts "vip" or "blocked" (any case).
func ParseList(s string) (List, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "vip":
		return ListVIP, nil
	case "blocked":
		return ListBlocked, nil
	}
	return 0, fmt.Errorf("list %q: %w (want vip or blocked)", s, ErrInvalid)
}

func (l List) valid() bool { return l == ListVIP || l == ListBlocked }

// MarshalText implements encoding.TextMarshaler.
func (l List) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *List) UnmarshalText(b []byte) error {
	v, err := ParseList(string(b))
	if err == nil {
		*l = v
	}
	return err
}

// MarshalText implements encoding.TextMarshaler ("screen", ...).
func (t Treatment) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Treatment) UnmarshalText(b []byte) error {
	v, ok := ParseTreatment(string(b))
	if !ok {
		return fmt.Errorf("treatment %q: %w (want one of %s)", b, ErrInvalid, strings.Join(treatmentNames[:], ", "))
	}
	*t = v
	return nil
}

func (t Treatment) valid() bool { return int(t) < len(treatmentNames) }

// Toggle is an on/off setting that can also be left to the level above.
type Toggle uint8

// Toggle values.
const (
	ToggleUnset Toggle = iota // inherit
	ToggleOff
	ToggleOn
)

var toggleNames = [...]string{"unset", "off", "on"}

// String returns "unset", "off" or "on".
func (t Toggle) String() string {
	if int(t) < len(toggleNames) {
		return toggleNames[t]
	}
	return fmt.Sprintf("toggle(%d)", uint8(t))
}

// ParseToggle accepts unset/off/on (and false/true).
func ParseToggle(s string) (Toggle, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "unset", "":
		return ToggleUnset, nil
	case "off", "false", "no":
		return ToggleOff, nil
	case "on", "true", "yes":
		return ToggleOn, nil
	}
	return 0, fmt.Errorf("toggle %q: %w (want on, off or unset)", s, ErrInvalid)
}

// MarshalText implements encoding.TextMarshaler.
func (t Toggle) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Toggle) UnmarshalText(b []byte) error {
	v, err := ParseToggle(string(b))
	if err == nil {
		*t = v
	}
	return err
}

// Permission is a set of things a subscriber may change about itself. The
// provider (or the operator) sets it per subscriber; new subscribers get the
// provider's DefaultPermissions.
type Permission uint16

// Permissions.
const (
	PermUnknown         Permission = 1 << iota // unknown-caller treatment
	PermAnonymous                              // anonymous-caller treatment
	PermRejectWithMedia                        // Reject with Media on/off
	PermVoicemail                              // voicemail target
	PermAnnouncement                           // announcement ID
	PermPIN                                    // override PIN
	PermVIP                                    // edit the VIP list
	PermBlocked                                // edit the Blocked list

	PermNone Permission = 0
	PermAll             = PermUnknown | PermAnonymous | PermRejectWithMedia | PermVoicemail |
		PermAnnouncement | PermPIN | PermVIP | PermBlocked
)

var permNames = [...]string{"unknown", "anonymous", "reject-with-media", "voicemail", "announcement", "pin", "vip", "blocked"}

// String lists the permissions comma-separated ("all", "none").
func (p Permission) String() string {
	switch p {
	case PermAll:
		return "all"
	case PermNone:
		return "none"
	}
	var b []string
	for i, n := range permNames {
		if p&(1<<i) != 0 {
			b = append(b, n)
		}
	}
	return strings.Join(b, ",")
}

// ParsePermissions parses "all", "none" or a comma-separated list of
// unknown, anonymous, reject-with-media, voicemail, announcement, pin, vip,
// blocked.
func ParsePermissions(s string) (Permission, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "all":
		return PermAll, nil
	case "none", "":
		return PermNone, nil
	}
	var p Permission
next:
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		for i, n := range permNames {
			if f == n {
				p |= 1 << i
				continue next
			}
		}
		return 0, fmt.Errorf("permission %q: %w (want all, none or some of %s)", f, ErrInvalid, strings.Join(permNames[:], ", "))
	}
	return p, nil
}

// MarshalText implements encoding.TextMarshaler.
func (p Permission) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Permission) UnmarshalText(b []byte) error {
	v, err := ParsePermissions(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// Settings are treatment settings at one level (provider defaults or a
// subscriber's own values). Zero values mean "not set here": the effective
// value then comes from the level above. A subscriber's own value counts
// when its provider (or the platform owner) set it, or when the subscriber
// set it and its Permission still allows it; otherwise the provider
// default applies (locking a setting hands the subscriber's choice back to
// the provider: setby.go). Platform defaults, used when neither level sets
// a value: see PlatformDefaults.
type Settings struct {
	Unknown         Treatment `json:"unknown,omitempty"`
	Anonymous       Treatment `json:"anonymous,omitempty"`
	RejectWithMedia Toggle    `json:"reject_with_media,omitempty"`
	Voicemail       string    `json:"voicemail,omitempty"`    // "+E.164", sip:/sips: URI, or VoicemailNone
	Announcement    uint32    `json:"announcement,omitempty"` // announcement ID
}

// PlatformDefaults are the effective settings when neither the subscriber
// nor its provider sets a value. Unknown and anonymous callers are screened
// (the caller records a name and the subscriber decides): that is what a
// subscriber to a call-intercept service signed up for, and it never loses a
// wanted call the way blocking would. Reject with Media is off (a blocked
// caller is simply released), there is no voicemail target and no
// announcement.
var PlatformDefaults = Settings{
	Unknown:         TreatScreen,
	Anonymous:       TreatScreen,
	RejectWithMedia: ToggleOff,
}

// SettingsUpdate changes some settings: nil fields are left as they are; a
// field pointing at the zero value (TreatUnset, ToggleUnset, "", 0) clears
// it so the level above applies again.
type SettingsUpdate struct {
	Unknown         *Treatment `json:"unknown,omitempty"`
	Anonymous       *Treatment `json:"anonymous,omitempty"`
	RejectWithMedia *Toggle    `json:"reject_with_media,omitempty"`
	Voicemail       *string    `json:"voicemail,omitempty"`
	Announcement    *uint32    `json:"announcement,omitempty"`
}

// Touched returns the permissions a subscriber needs to apply u: the
// settings u changes.
func (u SettingsUpdate) Touched() Permission { return u.touched() }

// touched returns the permissions a subscriber needs to apply u.
func (u SettingsUpdate) touched() Permission {
	var p Permission
	if u.Unknown != nil {
		p |= PermUnknown
	}
	if u.Anonymous != nil {
		p |= PermAnonymous
	}
	if u.RejectWithMedia != nil {
		p |= PermRejectWithMedia
	}
	if u.Voicemail != nil {
		p |= PermVoicemail
	}
	if u.Announcement != nil {
		p |= PermAnnouncement
	}
	return p
}

// apply validates u and returns s with u applied.
func (u SettingsUpdate) apply(s Settings) (Settings, error) {
	if u.Unknown != nil {
		if !u.Unknown.valid() {
			return s, fmt.Errorf("unknown-caller treatment %d: %w", *u.Unknown, ErrInvalid)
		}
		s.Unknown = *u.Unknown
	}
	if u.Anonymous != nil {
		if !u.Anonymous.valid() {
			return s, fmt.Errorf("anonymous-caller treatment %d: %w", *u.Anonymous, ErrInvalid)
		}
		s.Anonymous = *u.Anonymous
	}
	if u.RejectWithMedia != nil {
		if *u.RejectWithMedia > ToggleOn {
			return s, fmt.Errorf("reject-with-media %d: %w", *u.RejectWithMedia, ErrInvalid)
		}
		s.RejectWithMedia = *u.RejectWithMedia
	}
	if u.Voicemail != nil {
		v, err := normaliseVoicemail(*u.Voicemail)
		if err != nil {
			return s, err
		}
		s.Voicemail = v
	}
	if u.Announcement != nil {
		s.Announcement = *u.Announcement
	}
	return s, nil
}

// validate checks settings given whole (at creation).
func (s Settings) validate() (Settings, error) {
	return SettingsUpdate{Unknown: &s.Unknown, Anonymous: &s.Anonymous,
		RejectWithMedia: &s.RejectWithMedia, Voicemail: &s.Voicemail,
		Announcement: &s.Announcement}.apply(Settings{})
}

// VoicemailNone, as a voicemail setting, means "no voicemail" explicitly:
// a subscriber (or provider) turns off a voicemail target the level above
// sets, where "" would inherit it.
const VoicemailNone = "none"

// normaliseVoicemail accepts "", VoicemailNone (any case), a telephone
// number (stored as +E.164) or a sip:/sips: URI.
func normaliseVoicemail(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	lv := strings.ToLower(v)
	if lv == VoicemailNone {
		return VoicemailNone, nil
	}
	if strings.HasPrefix(lv, "sip:") || strings.HasPrefix(lv, "sips:") {
		if err := checkSIPURI(v); err != nil {
			return "", fmt.Errorf("voicemail target: %w", err)
		}
		return v, nil
	}
	n, err := e164.Parse(v)
	if err != nil {
		return "", fmt.Errorf("voicemail target (want a number or sip: URI): %w: %w", ErrInvalid, err)
	}
	return n.String(), nil
}

// checkSIPURI does the checks that matter for a URI we only store and hand
// to the SIP tier: scheme, a host part, no whitespace or control characters.
func checkSIPURI(u string) error {
	lu := strings.ToLower(u)
	rest, ok := strings.CutPrefix(lu, "sip:")
	if !ok {
		rest, ok = strings.CutPrefix(lu, "sips:")
	}
	if !ok {
		return fmt.Errorf("SIP URI %q: %w (must start with sip: or sips:)", u, ErrInvalid)
	}
	if len(u) > 256 {
		return fmt.Errorf("SIP URI %q: %w (longer than 256 characters)", u, ErrInvalid)
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' || u[i] == 0x7f || u[i] == '"' || u[i] == '<' || u[i] == '>' {
			return fmt.Errorf("SIP URI %q: %w (character %q at position %d)", u, ErrInvalid, u[i], i+1)
		}
	}
	host := rest
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if host == "" || host[0] == ';' || host[0] == ':' {
		return fmt.Errorf("SIP URI %q: %w (no host)", u, ErrInvalid)
	}
	return nil
}

// Role is the kind of principal performing a write.
type Role uint8

// Roles. The zero Role is invalid so a forgotten Actor is refused, not
// treated as the operator.
const (
	RoleOperator   Role = iota + 1 // platform owner: may do anything
	RoleProvider                   // a service provider: its own subscribers and lists
	RoleSubscriber                 // one subscriber: its own lists and unlocked settings
)

// Actor is who asks for a write or a scoped read. Every tenant write and
// every read of one tenant's data takes one; the store enforces scope and
// the provider's locks (authz.go); authentication is the caller's business
// (admin/).
type Actor struct {
	Role Role
	Name string // provider name for RoleProvider, subscriber name for RoleSubscriber
	// IfRevision, when not zero, makes a write of one object (provider,
	// subscriber, enterprise, list) fail with ErrStale unless the object is
	// still at this revision (its Revision field, ListPage.Revision): two
	// editors cannot overwrite each other silently.
	IfRevision int64
	// ifRevisionIn, when not nil, is the precondition of an If-Match
	// naming several entity tags (RFC 9110 §13.1.1: the condition holds
	// when any of them is the current one): the write fails with ErrStale
	// unless the object is at one of these revisions. At and AtAny set
	// one or the other, never both. A pointer, not a slice, so that Actor
	// stays comparable.
	ifRevisionIn *[]int64
	// Principal is who acts, for the audit log: an API token ("token
	// ID (label)"), a web user ("user NAME"), an OS user on the CLI.
	Principal string
	// Via is the path the change came by: api, web, cli, ivr.
	Via string
}

// By returns a with the principal and path the audit log names.
func (a Actor) By(principal, via string) Actor { a.Principal, a.Via = principal, via; return a }

// At returns a with the precondition that the object is at revision rev.
func (a Actor) At(rev int64) Actor { a.IfRevision, a.ifRevisionIn = rev, nil; return a }

// AtAny returns a with the precondition that the object is at one of revs
// (none: no precondition).
func (a Actor) AtAny(revs []int64) Actor {
	if len(revs) <= 1 {
		var rev int64
		if len(revs) == 1 {
			rev = revs[0]
		}
		return a.At(rev)
	}
	revs = slices.Clone(revs)
	a.IfRevision, a.ifRevisionIn = 0, &revs
	return a
}

// Operator is the platform owner's actor.
var Operator = Actor{Role: RoleOperator}

// ProviderActor returns the actor of service provider name.
func ProviderActor(name string) Actor { return Actor{Role: RoleProvider, Name: name} }

// SubscriberActor returns the actor of subscriber name.
func SubscriberActor(name string) Actor { return Actor{Role: RoleSubscriber, Name: name} }

// String describes the actor for errors and logs.
func (a Actor) String() string {
	switch a.Role {
	case RoleOperator:
		return "operator"
	case RoleProvider:
		return "provider " + a.Name
	case RoleSubscriber:
		return "subscriber " + a.Name
	}
	return "no actor"
}

// Range is an inclusive range of numbers; First == Last for one number.
type Range struct {
	First e164.Number `json:"first"`
	Last  e164.Number `json:"last"`
}

// ParseRange accepts one number or "FIRST..LAST" (both in any form Parse
// accepts; '-' cannot separate them because it is a digit separator).
func ParseRange(s string) (Range, error) {
	a, b, isRange := strings.Cut(s, "..")
	first, err := e164.Parse(strings.TrimSpace(a))
	if err != nil {
		return Range{}, fmt.Errorf("range %q: %w", s, err)
	}
	last := first
	if isRange {
		if last, err = e164.Parse(strings.TrimSpace(b)); err != nil {
			return Range{}, fmt.Errorf("range %q: %w", s, err)
		}
	}
	r := Range{first, last}
	if last < first {
		return Range{}, fmt.Errorf("range %q: %w (last number below first)", s, ErrInvalid)
	}
	if d := e164.Number(1e6); last-first >= d {
		return Range{}, fmt.Errorf("range %q: %w (more than %d numbers in one range)", s, ErrInvalid, d)
	}
	return r, nil
}

// Contains reports whether n lies in r.
func (r Range) Contains(n e164.Number) bool { return n >= r.First && n <= r.Last }

// String returns "+FIRST..+LAST" (or one number).
func (r Range) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + ".." + r.Last.String()
}

// Provider is a service provider as stored.
type Provider struct {
	ID                 uint32     `json:"id"`
	Name               string     `json:"name"`
	Defaults           Settings   `json:"defaults"`            // its subscribers' defaults
	DefaultPermissions Permission `json:"default_permissions"` // given to new subscribers
	Route              string     `json:"route,omitempty"`     // egress route name; "" = platform default
	Created            time.Time  `json:"created"`
	Allocations        []Range    `json:"-"` // filled by GetProvider
	Revision           int64      `json:"-"` // filled on read: mod revision of its record

	Stir StirPolicy `json:"stir"` // STIR/SHAKEN policy for its subscribers' calls
	// Signals: what reputation bands and missing call keys do to its
	// subscribers' calls (provider_signals.go); unset = the platform's.
	Signals ProviderSignals `json:"signals,omitzero"`
}

// Subscriber is a subscriber as stored (its own settings, not the effective
// ones: see SubscriberView for those). The PIN hash is never returned.
type Subscriber struct {
	ID          uint32        `json:"id"`
	Name        string        `json:"name"`
	ProviderID  uint32        `json:"provider_id"`
	Provider    string        `json:"-"` // filled on read
	Numbers     []e164.Number `json:"numbers"`
	Settings    Settings      `json:"settings"`
	Permissions Permission    `json:"permissions"`
	// SetByProvider marks the own settings (PermSettings bits) its
	// provider or the platform owner set: those apply whatever
	// Permissions says; the others only while Permissions opens them
	// (setby.go). Absent in records from before the mark: none marked.
	SetByProvider Permission `json:"set_by_provider,omitempty"`
	HasPIN        bool       `json:"-"` // filled on read
	Revision      int64      `json:"-"` // filled on read: mod revision of its record
	Created       time.Time  `json:"created"`
}

// Enterprise is a tenant that places outbound calls and (later) registers
// them for spoof protection. Its numbers are the calling numbers it enrols.
type Enterprise struct {
	ID         uint32        `json:"id"`
	Name       string        `json:"name"`
	ProviderID uint32        `json:"provider_id,omitempty"` // 0 = directly under the platform
	Provider   string        `json:"-"`                     // filled on read
	Revision   int64         `json:"-"`                     // filled on read: mod revision of its record
	Numbers    []e164.Number `json:"numbers"`
	Created    time.Time     `json:"created"`
	// Signals: brand, API token hash, SIP enrolment (enterprise_signals.go).
	Signals EnterpriseSignals `json:"signals,omitzero"`
}

// validName checks a tenant or route name: 1-64 characters, a letter first,
// then letters, digits, '.', '_' or '-'. Starting with a letter means no
// name ever parses as a telephone number, so "subscriber name or number"
// arguments are unambiguous.
func validName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s name: %w (empty)", what, ErrInvalid)
	}
	if len(s) > 64 {
		return fmt.Errorf("%s name %q: %w (longer than 64 characters)", what, s, ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !letter {
			return fmt.Errorf("%s name %q: %w (must start with a letter)", what, s, ErrInvalid)
		}
		if !letter && !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("%s name %q: %w (character %q at position %d; use letters, digits, '.', '_', '-')", what, s, ErrInvalid, c, i+1)
		}
	}
	return nil
}
