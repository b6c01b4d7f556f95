package admin

import (
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
		{"carol", "+1 303 555 0111", http.StatusUnprocessableEntity, "globex"}, // another provider's number
		{"alice", "+1 202 555 0111", http.StatusConflict, "alice"},             // the name is taken
		{"carol", "+1 202 555 0100", http.StatusConflict, "alice"},             // the number is alice's
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
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "globex") || !strings.Contains(body, `value="(303) 555-0112"`) ||
		!strings.Contains(body, `<h1>Subscriber alice</h1>`) {
		t.Errorf("assign another provider's number: %d, want alice's page with the entry and the error:\n%s", st, body)
	}
}
