package admin

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"callgate/e164"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// The web UI: server-rendered pages under /ui/ on the API's listener, for
// the three roles. Every page works without JavaScript; one small script
// (ui/subimport.js) adds the subscriber import's live progress and bad
// rows (ui_subimport.go). A browser session (session.go)
// becomes the same store.Actor as an API token (actorOf), so the store
// decides what each page may read and change; another tenant's page is
// not found (404) or refused (403), exactly as on the API. Every POST
// carries the session's CSRF token.

//go:embed ui
var uiFiles embed.FS

var uiTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"permsOf": func(legend string, boxes []permBox) any {
		return struct {
			Legend string
			Boxes  []permBox
		}{legend, boxes}
	},
}).ParseFS(uiFiles, "ui/*.html"))

// uiPage is what every page template gets.
type uiPage struct {
	Title  string
	User   *store.WebUser
	Role   string
	CSRF   string
	Flash  string
	Error  string
	Errors []store.RowError
	Data   any
	// Refused is the form the store refused, shown again (ui_forms.go).
	Refused formRefusal
}

// uiCall is one request of a logged-in user.
type uiCall struct {
	w     http.ResponseWriter
	r     *http.Request
	t     *Tier
	sess  *session
	actor store.Actor
}

// uiRoutes adds the web UI's handlers to mux.
func (t *Tier) uiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /ui/login", t.uiLoginForm)
	mux.HandleFunc("POST /ui/login", t.uiLogin)
	static := func(name, ctype string) {
		mux.HandleFunc("GET /ui/"+name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			b, _ := uiFiles.ReadFile("ui/" + name)
			w.Write(b)
		})
	}
	static("style.css", "text/css")
	static("subimport.js", "text/javascript; charset=utf-8")
	page := func(pattern string, h func(*uiCall) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Frame-Options", "DENY")
			w.Header().Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
			ck, err := r.Cookie(sessionCookie)
			var s *session
			ok := false
			if err == nil {
				s, ok = t.sessions.get(ck.Value)
			}
			if ok {
				// The session's user may have been deleted (or its
				// tenant) since the login: its session ends now, not
				// when it goes idle.
				if herr := t.st.WebUserHolds(s.user); errors.Is(herr, store.ErrForbidden) {
					t.sessions.end(s.id)
					ok = false
				} else if herr != nil {
					t.log.Error("ui session", "user", s.user.Name, "err", herr)
					renderPage(w, http.StatusServiceUnavailable, "error.html", uiPage{Title: "Unavailable",
						Error: "The store cannot be read right now, so nothing was changed. Try again in a moment."})
					return
				}
			}
			if !ok {
				// No session: never logged in (no cookie), or it ended
				// (idle, logged out, the daemon restarted), or the browser
				// did not send the cookie (SameSite=Strict: a form posted
				// from another site). Nothing is done; log in.
				if r.Method == http.MethodGet {
					to := "/ui/login?next=" + url.QueryEscape(r.URL.Path)
					if err == nil {
						to += "&ended=1"
					}
					http.Redirect(w, r, to, http.StatusSeeOther)
					return
				}
				t.loginPage(w, http.StatusUnauthorized, refererPage(r), "", sessionEnded)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, t.uiBodyLimit(pattern))
			u := s.user
			c := &uiCall{w: w, r: r, t: t, sess: s, actor: actorOf(principal{user: &u})}
			if !c.readForm() {
				return
			}
			if r.Method == http.MethodPost && !s.validCSRF(r) {
				c.render(http.StatusForbidden, "error.html", uiPage{Title: "Refused: the form did not come from this page",
					Error: "The form's security token (CSRF) is missing or wrong, so nothing was changed. Reload the page and try again."})
				return
			}
			if err := h(c); err != nil {
				c.fail(err)
			}
		})
	}
	page("POST /ui/logout", func(c *uiCall) error {
		t.sessions.end(c.sess.id)
		http.SetCookie(c.w, t.cookie("", -1))
		http.Redirect(c.w, c.r, "/ui/login", http.StatusSeeOther)
		return nil
	})
	page("GET /ui/{$}", uiHome)
	page("GET /ui/s/{sub}", uiSubscriber)
	page("POST /ui/s/{sub}/pin", uiSetPIN)
	page("POST /ui/s/{sub}/treatments", uiSetTreatments)   // ui_treatments.go
	page("POST /ui/s/{sub}/permissions", uiSetPermissions) // ui_treatments.go
	page("POST /ui/s/{sub}/numbers", uiAssignNumbers)
	page("GET /ui/s/{sub}/lists/{list}", uiList)
	page("POST /ui/s/{sub}/lists/{list}", uiListChange)
	page("GET /ui/s/{sub}/calls", uiCalls)
	page("GET /ui/calls/{at}", uiCallStory)
	page("GET /ui/subscribers", uiSubscribers)
	page("POST /ui/subscribers", uiCreateSubscriber)
	page("GET /ui/subscribers/import", uiSubscriberImportForm) // ui_subimport.go
	page("POST /ui/subscribers/import", uiSubscriberImport)
	page("GET /ui/import", uiImportForm)
	page("POST /ui/import", uiImport)
	page("GET /ui/p/{prov}", uiProvider)
	page("POST /ui/p/{prov}", uiProviderChange)
	page("GET /ui/providers", uiProviders)
	page("POST /ui/providers", uiCreateProvider)
	page("GET /ui/routes", uiRoutesPage)
	page("POST /ui/routes", uiSetRoute)
	page("GET /ui/s/{sub}/delete", uiDeleteSubscriberForm) // ui_delete.go: a confirmation page
	page("POST /ui/s/{sub}/delete", uiDeleteSubscriber)
	page("GET /ui/p/{prov}/delete", uiDeleteProviderForm)
	page("POST /ui/p/{prov}/delete", uiDeleteProvider)
	page("GET /ui/routes/{route}/delete", uiDeleteRouteForm)
	page("POST /ui/routes/{route}/delete", uiDeleteRoute)
	page("GET /ui/health", uiHealth)
	page("GET /ui/pin-lockouts", uiPINLockouts)             // ui_pinlock.go
	page("POST /ui/pin-lockouts/{sub}/unlock", uiPINUnlock) // ui_pinlock.go
}

// uiBodyLimit is the request body limit of a page: a subscriber import's
// file may be as large as the API's (Config.MaxImport).
func (t *Tier) uiBodyLimit(pattern string) int64 {
	if pattern == "POST /ui/subscribers/import" {
		return t.cfg.MaxImport
	}
	return t.cfg.MaxBody
}

// uiFormMemory is how much of a multipart form (an uploaded CSV file) is
// held in memory; the rest goes to a temporary file, removed when the
// request ends.
const uiFormMemory = 1 << 20

// readForm reads a multipart form before the CSRF check looks in it,
// keeping at most uiFormMemory in memory. A form too large or unreadable
// is answered here, naming the limit; it reports whether to go on.
func (c *uiCall) readForm() bool {
	if c.r.Method != http.MethodPost || !isMultipart(c.r) {
		return true
	}
	err := c.r.ParseMultipartForm(uiFormMemory)
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		c.render(http.StatusRequestEntityTooLarge, "error.html", uiPage{Title: "The file is too large",
			Error: fmt.Sprintf("The form is larger than %d MiB, so nothing was changed. Split the file, or use the API or the CLI.", mbe.Limit>>20)})
		return false
	}
	c.render(http.StatusBadRequest, "error.html", uiPage{Title: "The form could not be read",
		Error: fmt.Sprintf("The form could not be read (%v), so nothing was changed. Reload the page and try again.", err)})
	return false
}

// isMultipart says whether the request's body is a multipart form (a
// file upload).
func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// cookie is the session cookie (maxAge < 0 deletes it).
func (t *Tier) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/ui/", HttpOnly: true, Secure: t.cfg.TLSCert != "",
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge}
}

// render writes a page with status.
func (c *uiCall) render(status int, name string, p uiPage) {
	u := c.sess.user
	p.User, p.Role, p.CSRF = &u, store.RoleName(u.Role), c.sess.csrf
	if p.Flash == "" {
		p.Flash = c.r.URL.Query().Get("ok")
	}
	renderPage(c.w, status, name, p)
}

func renderPage(w http.ResponseWriter, status int, name string, p uiPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := uiTemplates.ExecuteTemplate(w, name, p); err != nil {
		fmt.Fprintf(w, "<p>page error: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}

// fail answers a page with the store's error and its status (404 for what
// the actor may not see, 403 for what it may not do).
func (c *uiCall) fail(err error) {
	status := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		c.t.log.Error("ui", "path", c.r.URL.Path, "err", err)
		msg = "internal error (logged)"
	}
	c.render(status, "error.html", uiPage{Title: http.StatusText(status), Error: msg})
}

// back redirects to the page the form was on with a message.
func (c *uiCall) back(path, msg string) error {
	http.Redirect(c.w, c.r, path+"?ok="+url.QueryEscape(msg), http.StatusSeeOther)
	return nil
}

// ---- login ----

type loginData struct{ Next, Name string }

// sessionEnded tells a user why the login form is back.
const sessionEnded = "Your session has ended (unused for too long, or logged out), so nothing was changed: log in again."

func (t *Tier) uiLoginForm(w http.ResponseWriter, r *http.Request) {
	msg := ""
	if r.URL.Query().Get("ended") != "" {
		msg = sessionEnded
	}
	t.loginPage(w, http.StatusOK, r.URL.Query().Get("next"), "", msg)
}

// refererPage is the page a form was posted from, if it is one of ours:
// where to go back after logging in again.
func refererPage(r *http.Request) string {
	if u, err := url.Parse(r.Referer()); err == nil && u.Host == r.Host && strings.HasPrefix(u.Path, "/ui/") {
		return u.Path
	}
	return "/ui/"
}

// loginPage renders the login form with a fresh pre-login CSRF token
// (double submit: cookie and form must match).
func (t *Tier) loginPage(w http.ResponseWriter, status int, next, name, msg string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: "callgate_login", Value: tok, Path: "/ui/login", HttpOnly: true,
		Secure: t.cfg.TLSCert != "", SameSite: http.SameSiteStrictMode})
	w.Header().Set("Cache-Control", "no-store")
	renderPage(w, status, "login.html", uiPage{Title: "Log in", CSRF: tok, Error: msg, Data: loginData{Next: next, Name: name}})
}

func (t *Tier) uiLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") {
		next = "/ui/"
	}
	name := r.PostFormValue("name")
	ck, err := r.Cookie("callgate_login")
	if err != nil || r.PostFormValue("csrf") == "" || ck.Value != r.PostFormValue("csrf") {
		t.loginPage(w, http.StatusForbidden, next, name, "The form expired: try again.")
		return
	}
	if ok, wait := t.limiter.allow(r); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		t.loginPage(w, http.StatusTooManyRequests, next, name, fmt.Sprintf("Too many login attempts from your address: wait %d seconds.", int(wait.Seconds())+1))
		return
	}
	u, err := t.st.CheckWebLogin(name, r.PostFormValue("password"))
	if err != nil {
		status, msg := http.StatusUnauthorized, "Wrong user name or password."
		if errors.Is(err, store.ErrLockedOut) {
			status, msg = http.StatusTooManyRequests, "Too many failed logins: this user is locked for a while."
		} else if !errors.Is(err, store.ErrForbidden) {
			status, msg = http.StatusServiceUnavailable, "Login is unavailable right now."
			t.log.Error("ui login", "err", err)
		}
		t.loginPage(w, status, next, name, msg)
		return
	}
	s := t.sessions.start(u)
	http.SetCookie(w, t.cookie(s.id, 0))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// ---- home ----

func uiHome(c *uiCall) error {
	switch c.actor.Role {
	case store.RoleSubscriber:
		http.Redirect(c.w, c.r, "/ui/s/"+url.PathEscape(c.actor.Name), http.StatusSeeOther)
	case store.RoleProvider:
		http.Redirect(c.w, c.r, "/ui/subscribers", http.StatusSeeOther)
	default:
		http.Redirect(c.w, c.r, "/ui/providers", http.StatusSeeOther)
	}
	return nil
}

// ---- a subscriber ----

type subscriberData struct {
	Sub       store.Subscriber
	Effective store.SubscriberView
	Settings  []settingRow // ui_treatments.go
	Perms     []permBox    // what the subscriber may change (for its manager)
	MayChange map[string]bool
	Manager   bool       // the provider or the platform: numbers and permissions
	PINLock   pinLockRow // ui_pinlock.go: read-only for the subscriber
}

func uiSubscriber(c *uiCall) error {
	return c.showSubscriber(nil)
}

// showSubscriber renders a subscriber's page, with ref (if not nil) one
// of its forms refused: numbers, treatments, permissions or pin.
func (c *uiCall) showSubscriber(ref *formRefusal) error {
	sub, err := c.t.st.GetSubscriber(c.actor, c.r.PathValue("sub"))
	if err != nil {
		return err
	}
	eff, err := c.t.st.EffectiveSettings(c.actor, sub.Name)
	if err != nil {
		return err
	}
	src, err := c.t.st.SettingSources(c.actor, sub.Name)
	if err != nil {
		return err
	}
	lock, err := pinLockOfSubscriber(c, sub.Name)
	if err != nil {
		return err
	}
	may := map[string]bool{}
	for _, p := range []struct {
		name string
		perm store.Permission
	}{{"unknown", store.PermUnknown}, {"anonymous", store.PermAnonymous}, {"pin", store.PermPIN}, {"vip", store.PermVIP}, {"blocked", store.PermBlocked}} {
		may[p.name] = c.actor.Role != store.RoleSubscriber || sub.Permissions&p.perm != 0
	}
	var mayChange func(store.Permission) bool
	above := "your provider's default"
	if c.actor.Role == store.RoleSubscriber {
		mayChange = func(p store.Permission) bool { return sub.Permissions&p != 0 }
	} else {
		above = "the provider's default"
	}
	c.show(ref, "subscriber.html", uiPage{Title: "Subscriber " + sub.Name, Data: subscriberData{Sub: sub, Effective: eff,
		Settings:  enteredSettings(settingRowsFrom(sub.Settings, viewSettings(eff), above, mayChange, &src, c.actor.Role == store.RoleSubscriber), ref, "treatments"),
		Perms:     enteredPerms(permBoxes(sub.Permissions), ref, "permissions"),
		MayChange: may, Manager: c.actor.Role != store.RoleSubscriber, PINLock: lock}})
	return nil
}

// uiSetPIN sets the subscriber's PIN; a refused one (the two differ, not
// 4 to 8 digits) shows the page again with the error tied to the PIN,
// which is not typed back.
func uiSetPIN(c *uiCall) error {
	sub := c.r.PathValue("sub")
	pin := c.r.PostFormValue("pin")
	if pin != c.r.PostFormValue("pin2") {
		return c.showSubscriber(c.refused("pin", "pin2", fmt.Errorf("the two PINs differ: %w: type the same PIN twice", store.ErrInvalid)).secret())
	}
	if err := c.t.st.SetPIN(c.actor, sub, pin); err != nil {
		if refusable(err) {
			return c.showSubscriber(c.refused("pin", "pin", err).secret())
		}
		return err
	}
	return c.back("/ui/s/"+url.PathEscape(sub), "PIN changed.")
}

func uiAssignNumbers(c *uiCall) error {
	sub := c.r.PathValue("sub")
	if c.r.PostFormValue("action") == "unassign" {
		n := c.r.PostFormValue("number")
		if _, err := c.t.st.UnassignNumbers(c.actor, sub, n); err != nil {
			return err
		}
		return c.back("/ui/s/"+url.PathEscape(sub), "Number "+n+" unassigned.")
	}
	nums := formNumbers(c.r.PostFormValue("numbers"))
	if _, err := c.t.st.AssignNumbers(c.actor, sub, nums...); err != nil {
		if refusable(err) {
			return c.showSubscriber(c.refused("numbers", "numbers", err))
		}
		return err
	}
	return c.back("/ui/s/"+url.PathEscape(sub), "Numbers assigned.")
}

// ---- lists ----

type listData struct {
	Sub   string
	List  string
	Page  store.ListPage
	Pages pageLinks // ui_paging.go
	// Locked: the viewer is the subscriber and its provider does not let
	// it change this list; it is shown, not offered for change.
	Locked bool
}

func parseList(s string) (store.List, error) {
	switch s {
	case "vip":
		return store.ListVIP, nil
	case "blocked":
		return store.ListBlocked, nil
	}
	return 0, fmt.Errorf("list %q: %w (vip or blocked)", s, store.ErrNotFound)
}

// uiListPageSize is how many entries a page of a list shows.
const uiListPageSize = 200

func uiList(c *uiCall) error {
	return c.showList(nil)
}

// showList renders a page of a list, with ref (if not nil) its add form
// refused.
func (c *uiCall) showList(ref *formRefusal) error {
	sub, ls := c.r.PathValue("sub"), c.r.PathValue("list")
	l, err := parseList(ls)
	if err != nil {
		return err
	}
	at, err := readPager(c.r.URL.Query(), func(s string) error {
		if _, err := e164.Parse(s); err != nil {
			return fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var after e164.Number
	if at.after != "" {
		after, _ = e164.Parse(at.after)
	}
	pg, err := c.t.st.ListEntries(c.actor, sub, l, after, uiListPageSize)
	if err != nil {
		return err
	}
	next := ""
	if pg.Next != 0 {
		next = pg.Next.String()
	}
	pages := at.links(next, func(v url.Values) string {
		u := "/ui/s/" + url.PathEscape(sub) + "/lists/" + url.PathEscape(ls)
		if len(v) == 0 {
			return u
		}
		return u + "?" + v.Encode()
	})
	locked := false
	if c.actor.Role == store.RoleSubscriber {
		s, err := c.t.st.GetSubscriber(c.actor, sub)
		if err != nil {
			return err
		}
		perm := store.PermBlocked
		if l == store.ListVIP {
			perm = store.PermVIP
		}
		locked = s.Permissions&perm == 0
	}
	c.show(ref, "list.html", uiPage{Title: strings.ToUpper(ls[:1]) + ls[1:] + " list of " + sub,
		Data: listData{Sub: sub, List: ls, Page: pg, Pages: pages, Locked: locked}})
	return nil
}

// uiListChange adds (action=add, numbers as formNumbers splits them) or
// removes (action=remove, number) numbers. A refused addition shows the
// form again with what was entered and the error naming it.
func uiListChange(c *uiCall) error {
	sub, ls := c.r.PathValue("sub"), c.r.PathValue("list")
	l, err := parseList(ls)
	if err != nil {
		return err
	}
	switch c.r.PostFormValue("action") {
	case "add":
		nums := formNumbers(c.r.PostFormValue("numbers"))
		if len(nums) == 0 {
			return c.showList(c.refused("add", "numbers", fmt.Errorf("enter at least one number: %w", store.ErrInvalid)))
		}
		n, err := c.t.st.AddToList(c.actor, sub, l, nums, c.r.PostFormValue("note"))
		if err != nil {
			if refusable(err) {
				return c.showList(c.refused("add", addField(err), err))
			}
			return err
		}
		return c.back(c.r.URL.Path, fmt.Sprintf("Added %d number(s).", n))
	case "remove":
		n, err := c.t.st.RemoveFromList(c.actor, sub, l, []string{c.r.PostFormValue("number")})
		if err != nil {
			if refusable(err) {
				return c.showList(c.refused("remove", "", err))
			}
			return err
		}
		return c.back(c.r.URL.Path, fmt.Sprintf("Removed %d number(s).", -n))
	}
	return fmt.Errorf("action %q: %w (add or remove)", c.r.PostFormValue("action"), store.ErrInvalid)
}

// addField is the control of the add form an error is about: the note
// when the store refused it (store/lists.go checkNote names it first),
// else the numbers.
func addField(err error) string {
	if m := err.Error(); strings.Contains(m, "note: ") || strings.Contains(m, "note \"") {
		return "note"
	}
	return "numbers"
}

// ---- calls: "why was this call blocked?" ----

type callsData struct {
	Sub   string
	Calls []decisionView
	// Damaged: part of the decision log could not be read, so calls may
	// be missing from the list (the operator's metrics count it).
	Damaged bool
}

func uiCalls(c *uiCall) error {
	sub, err := c.t.st.GetSubscriber(c.actor, c.r.PathValue("sub"))
	if err != nil {
		return err
	}
	if c.t.dlog == nil {
		return fmt.Errorf("the decision log is off (decision_log.enabled): %w", store.ErrNotFound)
	}
	// Records still queued are not searchable: write them first, so the
	// call just made is there (as the CLI's log search does).
	if err := c.t.dlog.Flush(); err != nil {
		return err
	}
	var views []decisionView
	damaged := false
	cl := &call{t: c.t, actor: c.actor}
	for _, n := range sub.Numbers {
		res, err := c.t.dlog.Find(decisionlog.Query{Number: n, From: time.Now().Add(-7 * 24 * time.Hour), Limit: 50})
		if err != nil {
			return err
		}
		recs, pos := res.Records, res.Pos
		if res.Damage.Missing() {
			damaged = true
		}
		for i := range recs {
			if recs[i].Called == n && c.t.st.MaySee(c.actor, recs[i].Subscriber) {
				views = append(views, cl.viewAt(&recs[i], pos[i]))
			}
		}
	}
	slices.SortFunc(views, func(a, b decisionView) int { return b.Time.Compare(a.Time) })
	c.render(http.StatusOK, "calls.html", uiPage{Title: "Calls to " + sub.Name, Data: callsData{Sub: sub.Name, Calls: views, Damaged: damaged}})
	return nil
}

func uiCallStory(c *uiCall) error {
	if c.t.dlog == nil {
		return fmt.Errorf("the decision log is off: %w", store.ErrNotFound)
	}
	p, ok := parseDecisionID(c.r.PathValue("at"))
	if !ok {
		return fmt.Errorf("call %q: %w", c.r.PathValue("at"), store.ErrNotFound)
	}
	v, found, err := findDecision(c.t, c.actor, p)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("call %q: %w", c.r.PathValue("at"), store.ErrNotFound)
	}
	c.render(http.StatusOK, "call.html", uiPage{Title: "Why this call got its answer", Data: v})
	return nil
}

// ---- provider pages ----

// uiPageSize is how many subscribers a page of the subscribers list or
// of a search shows.
const uiPageSize = 50

type subscribersData struct {
	Query    string
	Subs     []store.Subscriber
	Provider string
	Count    int       // the subscribers the user may see (of Provider): the store's count, not this page's
	Pages    pageLinks // ui_paging.go
}

// uiSubscribers lists a page of subscribers, or of those matching a
// search (store.SubscriberQuery: part of a name, digits of a number, or a
// whole number), with how many there are: a provider with a million
// subscribers gets its first page and its count without the store
// copying out the rest.
func uiSubscribers(c *uiCall) error {
	return c.showSubscribers(nil)
}

// showSubscribers renders a page of subscribers, with ref (if not nil)
// the new-subscriber form refused.
func (c *uiCall) showSubscribers(ref *formRefusal) error {
	prov := c.r.URL.Query().Get("provider")
	if c.actor.Role == store.RoleProvider {
		prov = c.actor.Name
	}
	if c.actor.Role == store.RoleSubscriber {
		return fmt.Errorf("%s: %w (subscribers are managed by their provider)", c.actor, store.ErrForbidden)
	}
	pg, err := readPager(c.r.URL.Query(), func(s string) error {
		if _, err := strconv.ParseUint(s, 10, 32); err != nil {
			return store.ErrInvalid
		}
		return nil
	})
	if err != nil {
		return err
	}
	after, _ := strconv.ParseUint(pg.after, 10, 32)
	q := strings.TrimSpace(c.r.URL.Query().Get("q"))
	subs, more, err := c.t.st.SearchSubscribers(c.actor, store.SubscriberQuery{Provider: prov, Text: q, After: uint32(after), Limit: uiPageSize})
	if err != nil {
		return err
	}
	n, err := c.t.st.CountSubscribers(c.actor, prov)
	if err != nil {
		return err
	}
	d := subscribersData{Query: q, Subs: subs, Provider: prov, Count: n}
	next := ""
	if more {
		next = strconv.FormatUint(uint64(subs[len(subs)-1].ID), 10)
	}
	d.Pages = pg.links(next, func(v url.Values) string {
		if q != "" {
			v.Set("q", q)
		}
		if prov != "" && c.actor.Role == store.RoleOperator {
			v.Set("provider", prov)
		}
		if len(v) == 0 {
			return "/ui/subscribers"
		}
		return "/ui/subscribers?" + v.Encode()
	})
	c.show(ref, "subscribers.html", uiPage{Title: "Subscribers", Data: d})
	return nil
}

func uiCreateSubscriber(c *uiCall) error {
	f := c.r.PostFormValue
	prov := f("provider")
	if c.actor.Role == store.RoleProvider {
		prov = c.actor.Name
	}
	spec := store.SubscriberSpec{Name: strings.TrimSpace(f("name")), Provider: prov, Numbers: formNumbers(f("numbers"))}
	if _, err := c.t.st.CreateSubscriber(c.actor, spec); err != nil {
		if refusable(err) {
			return c.showSubscribers(c.refused("new", "", err))
		}
		return err
	}
	return c.back("/ui/subscribers", "Subscriber "+spec.Name+" created.")
}

type importData struct {
	Report *store.ImportReport
}

func uiImportForm(c *uiCall) error {
	if c.actor.Role == store.RoleSubscriber {
		return fmt.Errorf("%s: %w (bulk import is for providers)", c.actor, store.ErrForbidden)
	}
	c.render(http.StatusOK, "import.html", uiPage{Title: "Import list entries"})
	return nil
}

// uiImport imports an uploaded CSV (all or nothing) and shows every bad
// row.
func uiImport(c *uiCall) error {
	if c.actor.Role == store.RoleSubscriber {
		return fmt.Errorf("%s: %w (bulk import is for providers)", c.actor, store.ErrForbidden)
	}
	var src io.Reader
	if f, _, err := c.r.FormFile("file"); err == nil {
		defer f.Close()
		src = f
	} else {
		src = strings.NewReader(c.r.PostFormValue("csv"))
	}
	// All or nothing, as the API: a dry run names every bad row; only a
	// clean file is imported.
	body, err := io.ReadAll(src)
	if err != nil {
		return fmt.Errorf("read the file: %w: %v", store.ErrInvalid, err)
	}
	opts := store.ImportOptions{Actor: c.actor, Replace: c.r.PostFormValue("replace") == "on", DryRun: true, MaxErrors: 1000}
	rep, err := c.t.st.Import(strings.NewReader(string(body)), opts)
	if err == nil && rep.ErrorCount == 0 {
		opts.DryRun = false
		rep, err = c.t.st.Import(strings.NewReader(string(body)), opts)
	}
	status := http.StatusOK
	p := uiPage{Title: "Import list entries", Data: importData{Report: &rep}, Refused: c.posted("import")}
	if rep.ErrorCount > 0 {
		status = http.StatusUnprocessableEntity
		p.Error = fmt.Sprintf("%d row(s) are wrong: nothing was imported. Fix them and import again.", rep.ErrorCount)
		p.Errors = rep.Errors
	} else if err != nil {
		return err
	} else {
		p.Flash = fmt.Sprintf("Imported %d row(s): %d added, %d updated.", rep.Valid, rep.Added, rep.Updated)
	}
	c.render(status, "import.html", p)
	return nil
}

type providerData struct {
	Prov     store.Provider
	Settings []settingRow  // its defaults (ui_treatments.go)
	Perms    []permBox     // its default permissions
	Routes   []store.Route // the platform owner's choice of egress route
	Default  string        // the platform's default route
}

func uiProvider(c *uiCall) error {
	return c.showProvider(nil)
}

// showProvider renders a provider's page, with ref (if not nil) one of
// its forms refused: allocate, route, defaults or permissions.
func (c *uiCall) showProvider(ref *formRefusal) error {
	p, err := c.t.st.GetProvider(c.actor, c.r.PathValue("prov"))
	if err != nil {
		return err
	}
	d := providerData{Prov: p, Settings: enteredSettings(settingRows(p.Defaults, providerEffect(p.Defaults), "the platform's default", nil), ref, "defaults"),
		Perms: enteredPerms(permBoxes(p.DefaultPermissions), ref, "permissions")}
	if c.actor.Role == store.RoleOperator {
		d.Routes, d.Default = c.t.st.Routes()
	}
	c.show(ref, "provider.html", uiPage{Title: "Provider " + p.Name, Data: d})
	return nil
}

// uiProviderChange saves one of a provider's forms (action); one the
// store refuses shows the page again with what was entered.
func uiProviderChange(c *uiCall) error {
	name := c.r.PathValue("prov")
	form := c.r.PostFormValue("action")
	field, err := providerChange(c, name, form)
	if err != nil {
		if refusable(err) {
			return c.showProvider(c.refused(form, field, err))
		}
		return err
	}
	return c.back("/ui/p/"+url.PathEscape(name), "Saved.")
}

// providerChange makes the change of one of a provider's forms; field is
// the id of the control an error is about, if known.
func providerChange(c *uiCall, name, form string) (field string, err error) {
	f := c.r.PostFormValue
	switch form {
	case "defaults":
		p, err := c.t.st.GetProvider(c.actor, name)
		if err != nil {
			return "", err
		}
		u, err := settingsUpdate(c.r, p.Defaults)
		if err == nil {
			_, err = c.t.st.SetProviderDefaults(c.actor.At(formRevision(c.r)), name, u)
		}
		return settingField(u, err), err
	case "permissions":
		perm, err := permissionsForm(c.r)
		if err == nil {
			_, err = c.t.st.SetProviderDefaultPermissions(c.actor.At(formRevision(c.r)), name, perm)
		}
		return "", err
	case "route":
		_, err := c.t.st.SetProviderRoute(c.actor, name, f("route"))
		return "route", err
	case "allocate":
		r, err := store.ParseRange(f("range"))
		if err != nil {
			return "range", fmt.Errorf("range: %w", err)
		}
		return "range", c.t.st.AllocateNumbers(c.actor, name, r)
	}
	return "", fmt.Errorf("action %q: %w", form, store.ErrInvalid)
}

// ---- platform pages ----

func uiProviders(c *uiCall) error {
	return c.showProviders(nil)
}

// showProviders renders the providers page, with ref (if not nil) its
// new-provider form refused.
func (c *uiCall) showProviders(ref *formRefusal) error {
	if c.actor.Role != store.RoleOperator {
		if c.actor.Role == store.RoleProvider {
			http.Redirect(c.w, c.r, "/ui/p/"+url.PathEscape(c.actor.Name), http.StatusSeeOther)
			return nil
		}
		return fmt.Errorf("%s: %w (the platform owner's page)", c.actor, store.ErrForbidden)
	}
	c.show(ref, "providers.html", uiPage{Title: "Providers", Data: c.t.st.VisibleProviders(c.actor)})
	return nil
}

func uiCreateProvider(c *uiCall) error {
	name := strings.TrimSpace(c.r.PostFormValue("name"))
	if _, err := c.t.st.CreateProvider(c.actor, store.ProviderSpec{Name: name}); err != nil {
		if refusable(err) {
			return c.showProviders(c.refused("new", "pname", err))
		}
		return err
	}
	return c.back("/ui/providers", "Provider "+name+" created.")
}

type routesData struct {
	Routes  []store.Route
	Default string
}

func uiRoutesPage(c *uiCall) error {
	return c.showRoutes(nil)
}

// showRoutes renders the routes page, with ref (if not nil) its route
// form refused.
func (c *uiCall) showRoutes(ref *formRefusal) error {
	if c.actor.Role != store.RoleOperator {
		return fmt.Errorf("%s: %w (the platform owner's page)", c.actor, store.ErrForbidden)
	}
	rs, def := c.t.st.Routes()
	c.show(ref, "routes.html", uiPage{Title: "Routes", Data: routesData{rs, def}})
	return nil
}

// uiSetRoute creates or replaces a route; one the store refuses (a bad
// name, routing number or SIP URI) shows the form again as entered.
func uiSetRoute(c *uiCall) error {
	f := c.r.PostFormValue
	spec := store.RouteSpec{Name: strings.TrimSpace(f("name")), RoutingNumber: f("routing_number"), SIPURI: f("sip_uri")}
	_, err := c.t.st.SetRoute(c.actor, spec)
	if err == nil && f("default") == "on" {
		err = c.t.st.SetDefaultRoute(c.actor, spec.Name)
	}
	if err != nil {
		if refusable(err) {
			field := ""
			if badNumber(err) {
				field = "rn" // the only number of the form
			}
			return c.showRoutes(c.refused("route", field, err))
		}
		return err
	}
	return c.back("/ui/routes", "Route "+spec.Name+" saved.")
}

type healthData struct {
	Revision   int64
	FeedErrors int
	LastFeed   string
	DecisionOn bool
	Ready      string
}

func uiHealth(c *uiCall) error {
	if c.actor.Role != store.RoleOperator {
		return fmt.Errorf("%s: %w (the platform owner's page)", c.actor, store.ErrForbidden)
	}
	n, last := c.t.st.FeedErrors()
	h := healthData{Revision: c.t.st.Revision(), FeedErrors: n, DecisionOn: c.t.dlog != nil, Ready: "ready"}
	if last != nil {
		h.LastFeed = last.Error()
	}
	if err := c.t.Ready(); err != nil {
		h.Ready = err.Error()
	}
	c.render(http.StatusOK, "health.html", uiPage{Title: "Health", Data: h})
	return nil
}
