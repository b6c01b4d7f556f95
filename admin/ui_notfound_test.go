package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callgate/store"
)

// TestWebForeignAnswersAsNonexistent: the web UI's pages and forms aimed
// at another tenant's subscriber or provider, or at a sibling subscriber,
// answer as for a name nothing has (the status and the page, the name
// aside), as the API does (TestForeignAnswersAsNonexistent): the delete
// form of another provider's subscriber is 404 as its confirmation page
// is, not the store's 403.
func TestWebForeignAnswersAsNonexistent(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	if _, err := f.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "carol", Provider: "acme", Numbers: []string{"+12025550101"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.PINFailed(mustSub(t, f, "bob").ID, store.PINFailure{Prompt: store.PINPromptIVR, Actor: store.Operator.By("ivr", "ivr"),
		Policy: store.PINLockPolicy{MaxFailures: 1, Window: time.Hour, Period: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	type row struct {
		method, path string
		form         url.Values
	}
	subRows := []row{
		{"GET", "/ui/s/{X}", nil},
		{"POST", "/ui/s/{X}/pin", url.Values{"pin": {"1234"}, "pin2": {"1234"}}},
		{"POST", "/ui/s/{X}/treatments", url.Values{"anonymous": {"block"}}},
		{"POST", "/ui/s/{X}/permissions", url.Values{"perm": {"vip"}}},
		{"POST", "/ui/s/{X}/numbers", url.Values{"numbers": {"+13035550161"}}},
		{"POST", "/ui/s/{X}/numbers", url.Values{"action": {"unassign"}, "number": {"+13035550100"}}},
		{"GET", "/ui/s/{X}/lists/blocked", nil},
		{"POST", "/ui/s/{X}/lists/blocked", url.Values{"action": {"add"}, "numbers": {"+19005550199"}}},
		{"POST", "/ui/s/{X}/lists/blocked", url.Values{"action": {"remove"}, "number": {"+19005550100"}}},
		{"GET", "/ui/s/{X}/calls", nil},
		{"GET", "/ui/s/{X}/delete", nil},
		{"POST", "/ui/s/{X}/delete", url.Values{}},
		{"POST", "/ui/pin-lockouts/{X}/unlock", url.Values{}},
		{"POST", "/ui/subscribers", url.Values{"name": {"mole"}, "provider": {"{X}"}, "numbers": {"+13035550160"}}},
	}
	provRows := []row{
		{"GET", "/ui/p/{X}", nil},
		{"POST", "/ui/p/{X}", url.Values{"action": {"defaults"}, "anonymous": {"block"}}},
		{"POST", "/ui/p/{X}", url.Values{"action": {"permissions"}, "perm": {"vip"}}},
		{"GET", "/ui/p/{X}/delete", nil},
		{"POST", "/ui/p/{X}/delete", url.Values{}},
		{"GET", "/ui/subscribers?provider={X}", nil},
		{"POST", "/ui/subscribers", url.Values{"name": {"mole"}, "provider": {"{X}"}, "numbers": {"+13035550160"}}},
	}
	type pair struct{ real, none string }
	cases := []struct {
		who   string
		rows  []row
		pairs []pair
	}{
		{"acme", subRows, []pair{{"bob", "zed"}, {lineBob, "+13035550177"}}},
		{"alice", subRows, []pair{{"bob", "zed"}, {"carol", "zelda"}}},
		{"acme", provRows, []pair{{"globex", "nobody"}}},
		{"alice", provRows, []pair{{"globex", "nobody"}, {"acme", "nobo"}}},
	}
	for _, tc := range cases {
		b := newBrowser(t, f.srv.URL)
		b.login(tc.who, "password-"+tc.who)
		b.get("/ui/")
		ask := func(r row, x string) (int, string) {
			path := strings.ReplaceAll(r.path, "{X}", x)
			// The name as sent and as the page escapes it.
			unname := strings.NewReplacer(x, "{X}", strings.ReplaceAll(x, "+", "&#43;"), "{X}").Replace
			if r.method == "GET" {
				st, body := b.get(path)
				return st, unname(body)
			}
			form := url.Values{"csrf": {b.csrf}}
			for k, vs := range r.form {
				for _, v := range vs {
					form.Add(k, strings.ReplaceAll(v, "{X}", x))
				}
			}
			st, body, loc := b.post(path, form)
			return st, unname(body + loc)
		}
		for _, r := range tc.rows {
			for _, p := range tc.pairs {
				rs, rb := ask(r, p.real)
				ns, nb := ask(r, p.none)
				if rs != ns || rb != nb {
					t.Errorf("%s %s as %s: %s's answers %d, a nonexistent one %d:\n%s\n----\n%s", r.method, r.path, tc.who, p.real, rs, ns, rb, nb)
				} else if rs < 400 && rs != http.StatusOK {
					t.Errorf("%s %s as %s: %d, want a refusal", r.method, r.path, tc.who, rs)
				}
			}
		}
	}
	if s := mustSub(t, f, "bob"); s.HasPIN || s.Permissions != store.PermAll || len(s.Numbers) != 1 {
		t.Errorf("bob after the attempts: %+v", s)
	}
}
