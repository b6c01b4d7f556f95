package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"callgate/store"
)

// settingsFlags are the treatment flags shared by provider create/defaults,
// subscriber create and treatment set. Only flags the operator gave are
// applied; "unset" (or "" for text) hands the setting back to the level
// above.
type settingsFlags struct {
	unknown, anonymous, rwm, voicemail, announcement string
	cmd                                              *cobra.Command
}

func addSettingsFlags(c *cobra.Command) *settingsFlags {
	f := &settingsFlags{cmd: c}
	fl := c.Flags()
	fl.StringVar(&f.unknown, "unknown", "", "unknown-caller treatment: screen, announce-voicemail, block, allow, challenge, or unset")
	fl.StringVar(&f.anonymous, "anonymous", "", "anonymous-caller treatment (same values as --unknown)")
	fl.StringVar(&f.rwm, "reject-with-media", "", "blocked callers hear an announcement: on, off or unset")
	fl.StringVar(&f.voicemail, "voicemail", "", "voicemail target: a number or sip: URI; none = no voicemail even if the provider sets one (\"\" clears: inherit)")
	fl.StringVar(&f.announcement, "announcement", "", "announcement ID for Reject with Media and announce-voicemail (0 clears)")
	return f
}

// update builds the SettingsUpdate of the flags given; any reports whether
// there was one.
func (f *settingsFlags) update() (u store.SettingsUpdate, any bool, err error) {
	fl := f.cmd.Flags()
	treat := func(name, v string) (*store.Treatment, error) {
		t, ok := store.ParseTreatment(strings.ToLower(strings.TrimSpace(v)))
		if !ok {
			return nil, usagef("--%s %q: want screen, announce-voicemail, block, allow, challenge or unset", name, v)
		}
		return &t, nil
	}
	if fl.Changed("unknown") {
		if u.Unknown, err = treat("unknown", f.unknown); err != nil {
			return u, false, err
		}
		any = true
	}
	if fl.Changed("anonymous") {
		if u.Anonymous, err = treat("anonymous", f.anonymous); err != nil {
			return u, false, err
		}
		any = true
	}
	if fl.Changed("reject-with-media") {
		t, err := store.ParseToggle(f.rwm)
		if err != nil {
			return u, false, usagef("--reject-with-media %q: want on, off or unset", f.rwm)
		}
		u.RejectWithMedia = &t
		any = true
	}
	if fl.Changed("voicemail") {
		v := f.voicemail
		u.Voicemail = &v
		any = true
	}
	if fl.Changed("announcement") {
		n, err := strconv.ParseUint(strings.TrimSpace(f.announcement), 10, 32)
		if err != nil {
			return u, false, usagef("--announcement %q: want a number (0 clears)", f.announcement)
		}
		a := uint32(n)
		u.Announcement = &a
		any = true
	}
	return u, any, nil
}

// settings returns the flags as whole Settings (for creation).
func (f *settingsFlags) settings() (store.Settings, error) {
	u, _, err := f.update()
	if err != nil {
		return store.Settings{}, err
	}
	var s store.Settings
	if u.Unknown != nil {
		s.Unknown = *u.Unknown
	}
	if u.Anonymous != nil {
		s.Anonymous = *u.Anonymous
	}
	if u.RejectWithMedia != nil {
		s.RejectWithMedia = *u.RejectWithMedia
	}
	if u.Voicemail != nil {
		s.Voicemail = *u.Voicemail
	}
	if u.Announcement != nil {
		s.Announcement = *u.Announcement
	}
	return s, nil
}

// writeSettings prints settings at one level, "inherit" for unset ones.
func writeSettings(w io.Writer, indent string, s store.Settings) {
	t := func(v store.Treatment) string {
		if v == store.TreatUnset {
			return "inherit"
		}
		return v.String()
	}
	rwm := "inherit"
	if s.RejectWithMedia != store.ToggleUnset {
		rwm = s.RejectWithMedia.String()
	}
	vm, ann := "inherit", "inherit"
	if s.Voicemail != "" {
		vm = s.Voicemail
	}
	if s.Announcement != 0 {
		ann = strconv.FormatUint(uint64(s.Announcement), 10)
	}
	fmt.Fprintf(w, "%sunknown callers:    %s\n", indent, t(s.Unknown))
	fmt.Fprintf(w, "%sanonymous callers:  %s\n", indent, t(s.Anonymous))
	fmt.Fprintf(w, "%sreject with media:  %s\n", indent, rwm)
	fmt.Fprintf(w, "%svoicemail:          %s\n", indent, vm)
	fmt.Fprintf(w, "%sannouncement:       %s\n", indent, ann)
}

// effectiveJSON is the JSON shape of a store.SubscriberView.
type effectiveJSON struct {
	Unknown         store.Treatment `json:"unknown"`
	Anonymous       store.Treatment `json:"anonymous"`
	RejectWithMedia bool            `json:"reject_with_media"`
	HasPIN          bool            `json:"has_pin"`
	Voicemail       string          `json:"voicemail,omitempty"`
	Announcement    uint32          `json:"announcement,omitempty"`
}

func newEffective(v store.SubscriberView) effectiveJSON {
	return effectiveJSON{Unknown: v.Unknown, Anonymous: v.Anonymous, RejectWithMedia: v.RejectWithMedia,
		HasPIN: v.HasPIN, Voicemail: v.Voicemail, Announcement: v.Announcement}
}

func writeEffective(w io.Writer, indent string, v effectiveJSON) {
	onOff := map[bool]string{true: "on", false: "off"}
	fmt.Fprintf(w, "%sunknown callers:    %s\n", indent, v.Unknown)
	fmt.Fprintf(w, "%sanonymous callers:  %s\n", indent, v.Anonymous)
	fmt.Fprintf(w, "%sreject with media:  %s\n", indent, onOff[v.RejectWithMedia])
	fmt.Fprintf(w, "%svoicemail:          %s\n", indent, orDash(v.Voicemail))
	ann := "-"
	if v.Announcement != 0 {
		ann = strconv.FormatUint(uint64(v.Announcement), 10)
	}
	fmt.Fprintf(w, "%sannouncement:       %s\n", indent, ann)
	fmt.Fprintf(w, "%soverride PIN:       %s\n", indent, map[bool]string{true: "set", false: "none"}[v.HasPIN])
}
