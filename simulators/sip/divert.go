package sip

import (
	"fmt"
	"strings"
)

// Redirection headers. A TDM gateway that received an AIN forwardCall
// sends its INVITE to the routing number with the original called number
// in Diversion (RFC 5806; the newest entry first, so the original is the
// last) or History-Info (RFC 7044; the original target is the first entry,
// the retargeted ones follow with a cause). A voicemail platform picks the
// mailbox from them.

// DiversionHeader returns a Diversion header value for a number (or passes
// a value already in header form, starting with '<' or a URI scheme).
func DiversionHeader(v string) string {
	v = strings.TrimSpace(v)
	if isHeaderForm(v) {
		return v
	}
	return "<tel:" + v + ">;reason=unconditional;counter=1"
}

// HistoryInfoHeader returns a History-Info header value: one entry per
// value in order (numbers become tel: URIs; values in header form are
// kept), indexed 1, 1.1, 1.1.1, ..., followed by the Request-URI the
// request goes to, retargeted with cause=302 (RFC 4458) unless it is the
// last value already.
func HistoryInfoHeader(values []string, requestURI string) string {
	var b strings.Builder
	index := "1"
	last := ""
	for i, v := range values {
		v = strings.TrimSpace(v)
		if i > 0 {
			b.WriteString(", ")
			index += ".1"
		}
		if isHeaderForm(v) {
			b.WriteString(v)
		} else {
			fmt.Fprintf(&b, "<tel:%s>;index=%s", v, index)
		}
		last = v
	}
	if requestURI != "" && last != requestURI {
		if b.Len() > 0 {
			b.WriteString(", ")
			index += ".1"
		}
		fmt.Fprintf(&b, "<%s;cause=302>;index=%s", requestURI, index)
	}
	return b.String()
}

func isHeaderForm(v string) bool {
	l := strings.ToLower(v)
	return strings.HasPrefix(l, "<") || strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:") ||
		strings.HasPrefix(l, "tel:") || strings.HasPrefix(l, "\"")
}

// Mailbox is the voicemail box a platform would pick for a call.
type Mailbox struct {
	Number string `json:"number"`
	// Source is where it came from: "Diversion" (the oldest entry),
	// "History-Info" (the first entry) or "To" (no redirection header).
	Source string `json:"source"`
}

// PickMailbox picks the mailbox from a request's Diversion values (each
// header's value, in order), History-Info values and To URI: the oldest
// Diversion entry, else the first History-Info entry when there are two or
// more (one entry is no retargeting), else the To user.
func PickMailbox(diversion, historyInfo []string, to string) Mailbox {
	var div []string
	for _, v := range diversion {
		div = append(div, SplitHeaderEntries(v)...)
	}
	if len(div) > 0 {
		if n := EntryNumber(div[len(div)-1]); n != "" {
			return Mailbox{Number: n, Source: "Diversion"}
		}
	}
	var hist []string
	for _, v := range historyInfo {
		hist = append(hist, SplitHeaderEntries(v)...)
	}
	if len(hist) > 1 {
		if n := EntryNumber(hist[0]); n != "" {
			return Mailbox{Number: n, Source: "History-Info"}
		}
	}
	return Mailbox{Number: EntryNumber(to), Source: "To"}
}

// maxHeaderValue bounds the header values SplitHeaderEntries splits.
const maxHeaderValue = 8192

// SplitHeaderEntries splits a header value into its comma-separated
// entries, ignoring commas inside <...> and quoted strings. Entries are
// trimmed; empty ones dropped; an unterminated < or quote ends the value.
func SplitHeaderEntries(v string) []string {
	if len(v) > maxHeaderValue {
		v = v[:maxHeaderValue]
	}
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '<':
			depth++
		case c == '>':
			if depth > 0 {
				depth--
			}
		case c == ',' && depth == 0:
			if e := strings.TrimSpace(v[start:i]); e != "" {
				out = append(out, e)
			}
			start = i + 1
		}
	}
	if start < len(v) {
		if e := strings.TrimSpace(v[start:]); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// EntryNumber returns the user part of the URI in a header entry (name-addr
// or addr-spec: `"Name" <sip:+1303...@host;user=phone>;reason=x`,
// `tel:+1303...;npdi`), with URI parameters cut; "" when there is none.
func EntryNumber(entry string) string {
	e := strings.TrimSpace(entry)
	if i := strings.IndexByte(e, '<'); i >= 0 {
		e = e[i+1:]
		if j := strings.IndexByte(e, '>'); j >= 0 {
			e = e[:j]
		}
	} else if j := strings.IndexByte(e, ';'); j >= 0 && !strings.HasPrefix(strings.ToLower(e), "tel:") {
		e = e[:j] // header parameters of an addr-spec
	}
	scheme, rest, ok := strings.Cut(e, ":")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "tel":
		user, _, _ := strings.Cut(rest, ";")
		return user
	case "sip", "sips":
		user, _, ok := strings.Cut(rest, "@")
		if !ok {
			return ""
		}
		user, _, _ = strings.Cut(user, ";")
		user, _, _ = strings.Cut(user, ":") // user:password
		return user
	}
	return ""
}
