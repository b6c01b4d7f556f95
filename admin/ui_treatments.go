package admin

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"callgate/store"
)

// Treatment settings in the web UI: the subscriber's own (within what its
// permissions open; the store refuses the rest), what a provider lets each
// subscriber change, and the provider's defaults and default permissions.
// Every setting is one labelled control with its value in effect beside
// it; a setting the subscriber may not change is shown, disabled, with who
// sets it.

// settingRow is one treatment setting in a form.
type settingRow struct {
	Field   string // form field and id suffix
	Label   string
	Help    string
	Kind    string // "select", "text" or "number"
	Options []settingOption
	Value   string // text and number fields
	Effect  string // the value in effect
	Source  string // where the value in effect comes from ("": not told)
	Locked  bool   // the viewer may not change it
	// Aria describes the control (its help, the value in effect, and the
	// error when its form was refused); ui_forms.go.
	Aria template.HTMLAttr
}

type settingOption struct {
	Value, Text string
	Selected    bool
}

// treatmentTexts explain each treatment in the forms.
var treatmentTexts = map[store.Treatment]string{
	store.TreatAllow:             "let it ring",
	store.TreatScreen:            "screen: the caller says their name, you decide",
	store.TreatAnnounceVoicemail: "announcement, then voicemail",
	store.TreatBlock:             "block",
	store.TreatChallenge:         "challenge: the caller must key digits",
}

func treatmentText(t store.Treatment) string {
	if s, ok := treatmentTexts[t]; ok {
		return t.String() + " (" + s + ")"
	}
	return t.String()
}

// settingPerms are the permissions that open each setting to a subscriber.
var settingPerms = map[string]store.Permission{
	"unknown": store.PermUnknown, "anonymous": store.PermAnonymous, "reject_with_media": store.PermRejectWithMedia,
	"voicemail": store.PermVoicemail, "announcement": store.PermAnnouncement,
}

// settingRows builds the rows of a settings form: own are the settings
// being edited, effect the values in effect, above names the level an
// unset value falls back to, may says whether the viewer may change a
// setting (nil: all).
func settingRows(own store.Settings, effect store.Settings, above string, may func(store.Permission) bool) []settingRow {
	return settingRowsFrom(own, effect, above, may, nil, false)
}

// settingRowsFrom is settingRows for a subscriber's page: src says where
// each value in effect comes from (nil: not told); you, that the viewer
// is the subscriber.
func settingRowsFrom(own store.Settings, effect store.Settings, above string, may func(store.Permission) bool, src *store.SettingSources, you bool) []settingRow {
	treat := func(cur store.Treatment) []settingOption {
		opts := []settingOption{{Value: "unset", Text: "not set here: " + above, Selected: cur == store.TreatUnset}}
		for _, t := range []store.Treatment{store.TreatAllow, store.TreatScreen, store.TreatAnnounceVoicemail, store.TreatBlock, store.TreatChallenge} {
			opts = append(opts, settingOption{Value: t.String(), Text: treatmentText(t), Selected: cur == t})
		}
		return opts
	}
	toggle := func(cur store.Toggle) []settingOption {
		return []settingOption{{Value: "unset", Text: "not set here: " + above, Selected: cur == store.ToggleUnset},
			{Value: "off", Text: "off: blocked callers are released", Selected: cur == store.ToggleOff},
			{Value: "on", Text: "on: blocked callers hear a recording first", Selected: cur == store.ToggleOn}}
	}
	ann := ""
	if own.Announcement != 0 {
		ann = strconv.FormatUint(uint64(own.Announcement), 10)
	}
	effAnn := "none"
	if effect.Announcement != 0 {
		effAnn = strconv.FormatUint(uint64(effect.Announcement), 10)
	}
	effVM := effect.Voicemail
	if effVM == "" || effVM == store.VoicemailNone {
		effVM = "none"
	}
	rows := []settingRow{
		{Field: "unknown", Label: "Callers on none of your lists", Kind: "select", Options: treat(own.Unknown), Effect: treatmentText(effect.Unknown)},
		{Field: "anonymous", Label: "Callers who hide their number", Kind: "select", Options: treat(own.Anonymous), Effect: treatmentText(effect.Anonymous)},
		{Field: "reject_with_media", Label: "Blocked callers hear a recording", Kind: "select", Options: toggle(own.RejectWithMedia), Effect: effect.RejectWithMedia.String()},
		{Field: "voicemail", Label: "Voicemail", Kind: "text", Value: own.Voicemail, Effect: effVM,
			Help: `a number (+13035550100), a sip: address, or "none"; empty: ` + above},
		{Field: "announcement", Label: "Announcement played", Kind: "number", Value: ann, Effect: effAnn,
			Help: "the recording's number; empty: " + above},
	}
	for i := range rows {
		rows[i].Locked = may != nil && !may(settingPerms[rows[i].Field])
		rows[i].Aria = rows[i].aria(false, false)
	}
	if src != nil {
		ownSet := [...]bool{own.Unknown != store.TreatUnset, own.Anonymous != store.TreatUnset,
			own.RejectWithMedia != store.ToggleUnset, own.Voicemail != "", own.Announcement != 0}
		for i, from := range [...]store.Source{src.Unknown, src.Anonymous, src.RejectWithMedia, src.Voicemail, src.Announcement} {
			rows[i].Source = sourceText(from, ownSet[i], you)
		}
	}
	return rows
}

// sourceText says where a value in effect comes from, for the subscriber
// (you) or its manager; ownSet: the subscriber has an own value, which a
// default in effect then overrides because the subscriber set it and has
// lost the permission (store/setby.go).
func sourceText(from store.Source, ownSet, you bool) string {
	who, whose := "the subscriber", "the provider's"
	if you {
		who, whose = "you", "your provider's"
	}
	switch from {
	case store.SourceProvider:
		if you {
			return "set for you by your provider"
		}
		return "set for this subscriber by its provider or the platform owner; applies whatever its permissions"
	case store.SourceSubscriber:
		if you {
			return "your own choice"
		}
		return "the subscriber's own choice"
	}
	text := whose + " default"
	if from == store.SourcePlatform {
		text = "the platform's default"
	}
	if ownSet {
		text += "; the choice " + who + " made no longer applies: the provider manages this setting now"
	}
	return text
}

// aria is the row's ARIA attributes: described by its help and the value
// in effect, and by the error when refused; invalid when at fault.
func (r settingRow) aria(refused, invalid bool) template.HTMLAttr {
	if r.Kind == "select" {
		return ariaAttrs(refused, invalid, "eff-"+r.Field)
	}
	return ariaAttrs(refused, invalid, "help-"+r.Field, "eff-"+r.Field)
}

// enteredSettings shows rows as their form posted them, when ref refused
// that form (form: "treatments" or "defaults"): each control with the
// value sent (a disabled one is not sent and keeps its own), described
// by the error, the one at fault (ref.Field, "set-"+field) invalid.
func enteredSettings(rows []settingRow, ref *formRefusal, form string) []settingRow {
	if ref == nil || ref.Form != form {
		return rows
	}
	for i := range rows {
		r := &rows[i]
		r.Aria = r.aria(true, ref.Field == "set-"+r.Field)
		if !ref.Entered.Has(r.Field) {
			continue
		}
		v := ref.Entered.Get(r.Field)
		r.Value = v
		for j := range r.Options {
			r.Options[j].Selected = r.Options[j].Value == v
		}
	}
	return rows
}

// enteredPerms checks the boxes as their form posted them, when ref
// refused that form.
func enteredPerms(boxes []permBox, ref *formRefusal, form string) []permBox {
	if ref == nil || ref.Form != form || ref.Entered == nil {
		return boxes
	}
	for i := range boxes {
		boxes[i].Checked = slices.Contains(ref.Entered["perm"], boxes[i].Name)
	}
	return boxes
}

// settingField is the id of the settings control err is about: the
// field settingsUpdate named, or the one setting the update changed (the
// store's refusal can then only be about it); "" when not known.
func settingField(u store.SettingsUpdate, err error) string {
	if f := fieldOf(err); f != "" {
		return "set-" + f
	}
	changed := map[string]bool{"unknown": u.Unknown != nil, "anonymous": u.Anonymous != nil,
		"reject_with_media": u.RejectWithMedia != nil, "voicemail": u.Voicemail != nil, "announcement": u.Announcement != nil}
	field := ""
	for f, ok := range changed {
		if ok {
			if field != "" {
				return ""
			}
			field = "set-" + f
		}
	}
	return field
}

// settingsUpdate reads a settings form: only the settings that are in the
// form and differ from cur, so a form with a setting the viewer may not
// change (disabled, not sent; or sent unchanged) asks nothing of it.
func settingsUpdate(r *http.Request, cur store.Settings) (store.SettingsUpdate, error) {
	var u store.SettingsUpdate
	if err := r.ParseForm(); err != nil {
		return u, fmt.Errorf("the form: %w: %v", store.ErrInvalid, err)
	}
	f := r.PostForm
	for field, dst := range map[string]**store.Treatment{"unknown": &u.Unknown, "anonymous": &u.Anonymous} {
		if !f.Has(field) {
			continue
		}
		t, ok := store.ParseTreatment(f.Get(field))
		if !ok {
			return u, fieldErr(field, fmt.Errorf("%s treatment %q: %w (one of the choices offered)", field, f.Get(field), store.ErrInvalid))
		}
		*dst = &t
	}
	if u.Unknown != nil && *u.Unknown == cur.Unknown {
		u.Unknown = nil
	}
	if u.Anonymous != nil && *u.Anonymous == cur.Anonymous {
		u.Anonymous = nil
	}
	if f.Has("reject_with_media") {
		t, err := store.ParseToggle(f.Get("reject_with_media"))
		if err != nil {
			return u, fieldErr("reject_with_media", err)
		}
		if t != cur.RejectWithMedia {
			u.RejectWithMedia = &t
		}
	}
	if f.Has("voicemail") {
		if v := strings.TrimSpace(f.Get("voicemail")); v != cur.Voicemail {
			u.Voicemail = &v
		}
	}
	if f.Has("announcement") {
		var a uint32
		if s := strings.TrimSpace(f.Get("announcement")); s != "" {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return u, fieldErr("announcement", fmt.Errorf("announcement %q: %w (a whole number, or empty)", s, store.ErrInvalid))
			}
			a = uint32(n)
		}
		if a != cur.Announcement {
			u.Announcement = &a
		}
	}
	return u, nil
}

// permBox is one permission checkbox.
type permBox struct {
	Name, Label string
	Checked     bool
}

var permLabels = []struct {
	name  string
	perm  store.Permission
	label string
}{
	{"unknown", store.PermUnknown, "treatment of callers on no list"},
	{"anonymous", store.PermAnonymous, "treatment of anonymous callers"},
	{"reject-with-media", store.PermRejectWithMedia, "recording for blocked callers"},
	{"voicemail", store.PermVoicemail, "voicemail"},
	{"announcement", store.PermAnnouncement, "announcement"},
	{"pin", store.PermPIN, "override PIN"},
	{"vip", store.PermVIP, "VIP list"},
	{"blocked", store.PermBlocked, "Blocked list"},
}

func permBoxes(p store.Permission) []permBox {
	out := make([]permBox, len(permLabels))
	for i, l := range permLabels {
		out[i] = permBox{Name: l.name, Label: l.label, Checked: p&l.perm != 0}
	}
	return out
}

// permissionsForm reads the checked permissions of a form.
func permissionsForm(r *http.Request) (store.Permission, error) {
	if err := r.ParseForm(); err != nil {
		return 0, fmt.Errorf("the form: %w: %v", store.ErrInvalid, err)
	}
	if len(r.PostForm["perm"]) == 0 {
		return store.PermNone, nil // no box checked
	}
	return store.ParsePermissions(strings.Join(r.PostForm["perm"], ","))
}

func viewSettings(v store.SubscriberView) store.Settings {
	rwm := store.ToggleOff
	if v.RejectWithMedia {
		rwm = store.ToggleOn
	}
	return store.Settings{Unknown: v.Unknown, Anonymous: v.Anonymous, RejectWithMedia: rwm, Voicemail: v.Voicemail, Announcement: v.Announcement}
}

// providerEffect is what a provider's defaults make of the platform's.
func providerEffect(d store.Settings) store.Settings {
	p := store.PlatformDefaults
	if d.Unknown != store.TreatUnset {
		p.Unknown = d.Unknown
	}
	if d.Anonymous != store.TreatUnset {
		p.Anonymous = d.Anonymous
	}
	if d.RejectWithMedia != store.ToggleUnset {
		p.RejectWithMedia = d.RejectWithMedia
	}
	if d.Voicemail != "" {
		p.Voicemail = d.Voicemail
	}
	if d.Announcement != 0 {
		p.Announcement = d.Announcement
	}
	return p
}

// uiSetTreatments saves a subscriber's own settings; settings the store
// refuses (a bad voicemail target, a change made meanwhile) show the page
// again with what was entered.
func uiSetTreatments(c *uiCall) error {
	sub := c.r.PathValue("sub")
	cur, err := c.t.st.GetSubscriber(c.actor, sub)
	if err != nil {
		return err
	}
	u, err := settingsUpdate(c.r, cur.Settings)
	if err == nil && u == (store.SettingsUpdate{}) {
		return c.back("/ui/s/"+url.PathEscape(sub), "Nothing changed.")
	}
	if err == nil {
		_, err = c.t.st.SetTreatments(c.actor.At(formRevision(c.r)), sub, u)
	}
	if err != nil {
		if refusable(err) {
			return c.showSubscriber(c.refused("treatments", settingField(u, err), err))
		}
		return err
	}
	return c.back("/ui/s/"+url.PathEscape(sub), "Treatments saved.")
}

// uiSetPermissions saves what a subscriber may change (its provider or
// the platform owner); a refusal (a change made meanwhile) shows the page
// again with the boxes as they were sent.
func uiSetPermissions(c *uiCall) error {
	sub := c.r.PathValue("sub")
	perm, err := permissionsForm(c.r)
	if err == nil {
		_, err = c.t.st.SetPermissions(c.actor.At(formRevision(c.r)), sub, perm)
	}
	if err != nil {
		if refusable(err) {
			return c.showSubscriber(c.refused("permissions", "", err))
		}
		return err
	}
	return c.back("/ui/s/"+url.PathEscape(sub), "Permissions saved.")
}

// formRevision is the revision of the object as the form showed it (its
// hidden "rev" field; 0: none, no precondition): a change made meanwhile
// by someone else is then refused (412), not overwritten.
func formRevision(r *http.Request) int64 {
	rev, err := strconv.ParseInt(r.PostFormValue("rev"), 10, 64)
	if err != nil || rev < 0 {
		return 0
	}
	return rev
}
