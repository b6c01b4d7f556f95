package admin

import (
	"bytes"
	"mime/multipart"
	"strconv"

	"callgate/store"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestWebFormsKeepEntries: a new subscriber or numbers to assign that
// the store refuses show the form again, with what was typed and the
// error naming the value, not an error page that loses the entries.
func TestWebFormsKeepEntries(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	b := newBrowser(t, f.srv.URL)
	b.login("acme", "password-acme")
	b.get("/ui/subscribers")
	for _, c := range []struct {
		name, numbers string
		status        int
		says          string
	}{
		{"carol", "+1 303 555 0111", http.StatusUnprocessableEntity, "not in any allocation of provider acme"}, // another provider's number, as one of none
		{"alice", "+1 202 555 0111", http.StatusConflict, "alice"},                                             // the name is taken
		{"carol", "+1 202 555 0100", http.StatusConflict, "alice"},                                             // the number is alice's
	} {
		st, body, _ := b.post("/ui/subscribers", url.Values{"name": {c.name}, "numbers": {c.numbers}, "csrf": {b.csrf}})
		body = strings.ReplaceAll(body, "&#43;", "+")
		if st != c.status || !strings.Contains(body, `id="error"`) || !strings.Contains(body, c.says) ||
			!strings.Contains(body, `id="sname" name="name" required value="`+c.name+`"`) ||
			!strings.Contains(body, `name="numbers" inputmode="tel" required value="`+c.numbers+`"`) {
			t.Errorf("new subscriber %s %s: %d, want %d with the form as entered and the error naming %q:\n%s", c.name, c.numbers, st, c.status, c.says, body)
		}
	}
	st, body, _ := b.post("/ui/s/alice/numbers", url.Values{"numbers": {"(303) 555-0112"}, "csrf": {b.csrf}})
	if st != http.StatusUnprocessableEntity || strings.Contains(body, "globex") || !strings.Contains(body, "not in any allocation of provider acme") || !strings.Contains(body, `value="(303) 555-0112"`) ||
		!strings.Contains(body, `<h1>Subscriber alice</h1>`) {
		t.Errorf("assign another provider's number: %d, want alice's page with the entry and the error:\n%s", st, body)
	}
}

// TestWebEveryFormKeepsEntries: every form of every role that the store
// refuses (a bad or taken value, a change made meanwhile) shows its page
// again with what was typed, the error at the top, and the refused
// form's controls described by it (the one at fault aria-invalid); a PIN
// is never typed back. Before, an error page replaced the form.
func TestWebEveryFormKeepsEntries(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	sub, _ := f.st.GetSubscriber(store.Operator, "alice")
	prov, _ := f.st.GetProvider(store.Operator, "acme")
	stale := func(rev int64) string { return strconv.FormatInt(rev-1, 10) } // an earlier revision than the page's
	browsers := map[string]*browser{}
	for _, c := range []struct {
		who, path string
		form      url.Values
		status    int
		want      []string // in the page shown again
		not       []string // never in it
	}{
		// The platform owner: routes, providers, a provider's range, defaults and permissions.
		{"operator", "/ui/routes", url.Values{"name": {"west"}, "routing_number": {"12"}, "sip_uri": {"sip:b2bua.example"}, "default": {"on"}}, http.StatusUnprocessableEntity,
			[]string{`<h1>Routes</h1>`, `id="error"`, `"12"`, `id="rname" name="name" required value="west" aria-describedby="error">`,
				`id="rn" name="routing_number" inputmode="tel" value="12" aria-describedby="error" aria-invalid="true">`,
				`value="sip:b2bua.example" aria-describedby="error">`, `name="default" checked>`}, nil},
		{"operator", "/ui/routes", url.Values{"name": {"west"}, "sip_uri": {"http://b2bua.example"}}, http.StatusUnprocessableEntity,
			[]string{`id="error"`, `value="west"`, `value="http://b2bua.example" aria-describedby="error">`}, []string{`name="default" checked>`}},
		{"operator", "/ui/providers", url.Values{"name": {"acme"}}, http.StatusConflict,
			[]string{`<h1>Providers</h1>`, `id="error"`, `id="pname" name="name" required value="acme" aria-describedby="error" aria-invalid="true">`}, nil},
		{"operator", "/ui/p/acme", url.Values{"action": {"allocate"}, "range": {"+13035550150..+13035550160"}}, http.StatusConflict,
			[]string{`<h1>Provider acme</h1>`, `id="error"`, `value="&#43;13035550150..&#43;13035550160" aria-describedby="error" aria-invalid="true">`}, nil},
		{"operator", "/ui/p/acme", url.Values{"action": {"allocate"}, "range": {"+1303555..+1"}}, http.StatusUnprocessableEntity,
			[]string{`id="error"`, `value="&#43;1303555..&#43;1" aria-describedby="error" aria-invalid="true">`}, nil},
		{"operator", "/ui/p/acme", url.Values{"action": {"defaults"}, "voicemail": {"nonsense"}, "rev": {strconv.FormatInt(prov.Revision, 10)}}, http.StatusUnprocessableEntity,
			[]string{`id="error"`, `voicemail`, `id="set-voicemail" name="voicemail" value="nonsense" aria-describedby="help-voicemail eff-voicemail error" aria-invalid="true">`,
				`id="set-unknown" name="unknown" aria-describedby="eff-unknown error">`}, nil},
		{"operator", "/ui/p/acme", url.Values{"action": {"permissions"}, "perm": {"vip"}, "rev": {stale(prov.Revision)}}, http.StatusPreconditionFailed,
			[]string{`id="error"`, `Someone else changed this`, `value="vip" checked>`, `name="rev" value="` + strconv.FormatInt(prov.Revision, 10) + `"`},
			[]string{`value="blocked" checked>`}},
		// The provider: a subscriber's numbers, treatments, permissions, PIN; a list; a new subscriber.
		{"acme", "/ui/s/alice/numbers", url.Values{"numbers": {"+1 303 555 0111"}}, http.StatusUnprocessableEntity,
			[]string{`<h1>Subscriber alice</h1>`, `not in any allocation of provider acme`, `value="&#43;1 303 555 0111" aria-describedby="error" aria-invalid="true">`}, nil},
		{"acme", "/ui/s/alice/treatments", url.Values{"voicemail": {"sip:"}, "rev": {strconv.FormatInt(sub.Revision, 10)}}, http.StatusUnprocessableEntity,
			[]string{`id="error"`, `id="set-voicemail" name="voicemail" value="sip:" aria-describedby="help-voicemail eff-voicemail error" aria-invalid="true">`}, nil},
		{"acme", "/ui/s/alice/permissions", url.Values{"perm": {"pin", "vip"}, "rev": {stale(sub.Revision)}}, http.StatusPreconditionFailed,
			[]string{`Someone else changed this`, `value="pin" checked>`, `value="vip" checked>`}, []string{`value="blocked" checked>`}},
		{"acme", "/ui/s/alice/pin", url.Values{"pin": {"2468"}, "pin2": {"2469"}}, http.StatusUnprocessableEntity,
			[]string{`the two PINs differ`, `id="pin2" name="pin2" type="password" inputmode="numeric" pattern="[0-9]{4,8}" required autocomplete="new-password" aria-describedby="error" aria-invalid="true">`},
			[]string{"2468", "2469"}},
		{"acme", "/ui/s/alice/lists/vip", url.Values{"action": {"add"}, "numbers": {"555-01, +13125550100"}, "note": {"from the gym"}}, http.StatusUnprocessableEntity,
			[]string{`<h1>Vip list of alice</h1>`, `555-01`, `aria-describedby="numbers-help error" aria-invalid="true">555-01, &#43;13125550100</textarea>`,
				`value="from the gym" aria-describedby="error">`}, nil},
		{"acme", "/ui/subscribers", url.Values{"name": {"carol"}, "numbers": {"+1 202 555 0100"}}, http.StatusConflict,
			[]string{`value="carol" aria-describedby="error">`, `value="&#43;1 202 555 0100" aria-describedby="error">`}, nil},
		// The subscriber: her treatments, PIN and lists.
		{"alice", "/ui/s/alice/treatments", url.Values{"announcement": {"seven"}, "unknown": {"block"}, "rev": {strconv.FormatInt(sub.Revision, 10)}}, http.StatusUnprocessableEntity,
			[]string{`announcement &#34;seven&#34;`, `id="set-announcement" name="announcement" value="seven" aria-describedby="help-announcement eff-announcement error" aria-invalid="true"`,
				`<option value="block" selected>`}, nil},
		{"alice", "/ui/s/alice/pin", url.Values{"pin": {"12"}, "pin2": {"12"}}, http.StatusUnprocessableEntity,
			[]string{`4 to 8 digits`, `autocomplete="new-password" aria-describedby="error" aria-invalid="true">`}, []string{`value="12"`}},
		{"alice", "/ui/s/alice/lists/blocked", url.Values{"action": {"add"}, "numbers": {"+13125550100"}, "note": {"bad\x01note"}}, http.StatusUnprocessableEntity,
			[]string{`control character`, `aria-describedby="numbers-help error">&#43;13125550100</textarea>`, `aria-describedby="error" aria-invalid="true">`}, nil},
	} {
		b := browsers[c.who]
		if b == nil {
			b = newBrowser(t, f.srv.URL)
			b.login(c.who, "password-"+c.who)
			browsers[c.who] = b
		}
		b.get(map[string]string{"operator": "/ui/providers", "acme": "/ui/subscribers", "alice": "/ui/s/alice"}[c.who]) // the session's CSRF token
		c.form.Set("csrf", b.csrf)
		st, body, _ := b.post(c.path, c.form)
		if st != c.status {
			t.Errorf("%s posts %s %v: %d, want %d:\n%s", c.who, c.path, c.form, st, c.status, body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s posts %s %v: the page shown again lacks %s:\n%s", c.who, c.path, c.form, w, body)
			}
		}
		for _, n := range c.not {
			if strings.Contains(body, n) {
				t.Errorf("%s posts %s %v: the page shown again has %s", c.who, c.path, c.form, n)
			}
		}
	}
	// Nothing refused was written.
	if rs, _ := f.st.Routes(); len(rs) != 1 {
		t.Errorf("routes after refusals: %v", rs)
	}
	if p, _ := f.st.ListEntries(store.Operator, "alice", store.ListVIP, 0, 10); p.Total != 0 {
		t.Errorf("alice's VIP list after a refused addition: %v", p.Entries)
	}
}

// TestWebImportsKeepOptions: an import refused for bad rows answers with
// its page, whose options stay as chosen (replace the lists; check only),
// so importing the corrected file again needs no re-ticking. The file
// itself cannot be given back: no page may set a file control's value.
func TestWebImportsKeepOptions(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	b := newBrowser(t, f.srv.URL)
	b.login("acme", "password-acme")
	b.get("/ui/subscribers/import")
	st, body := b.postFile("name,provider,numbers\ncarol,acme,call me\n", true)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="dry_run" name="dry_run" checked>`) {
		t.Errorf("a subscriber import checked only, with a bad row: %d, want the option kept:\n%s", st, body)
	}
	if _, body := b.get("/ui/subscribers/import"); strings.Contains(body, `name="dry_run" checked>`) {
		t.Errorf("the import page checks only before anything was posted")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", b.csrf)
	mw.WriteField("replace", "on")
	fw, _ := mw.CreateFormFile("file", "lists.csv")
	fw.Write([]byte("owner,list,number\nalice,blocked,not-a-number\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+"/ui/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if st, body := b.send(req); st != http.StatusUnprocessableEntity || !strings.Contains(body, `name="replace" checked>`) {
		t.Errorf("a list import replacing, with a bad row: %d, want the option kept:\n%s", st, body)
	}
}
