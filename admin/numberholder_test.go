package admin

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestOperatorToldNumberHolder: a number acme may not give alice is
// refused with one status to everyone, but the platform owner, who can
// move it, reads whose allocation (provider and range) and subscriber
// hold it, through the API (create, assign, import rows) and the web UI
// (the same forms and the import page); acme reads the words for a
// number of no allocation (TestForeignAnswersAsNonexistent), and nothing
// of globex's.
func TestOperatorToldNumberHolder(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	const globexRange = "+13035550100..+13035550199"
	blind := "not in any allocation of provider acme; allocate it first"
	cases := []struct {
		number   string
		operator []string
	}{
		{lineBob, []string{"allocated to provider globex in " + globexRange + ", not to acme, held by subscriber bob of provider globex",
			"unassign it from bob and release " + globexRange + " from globex first"}},
		{"+13035550177", []string{"allocated to provider globex in " + globexRange + ", not to acme; release " + globexRange + " from globex first"}},
		{"+14045550100", []string{blind}},
	}
	api := []struct{ method, path, body string }{
		{"POST", "/api/v1/subscribers", `{"name":"mole","provider":"acme","numbers":["{X}"]}`},
		{"POST", "/api/v1/subscribers/alice/numbers", `{"numbers":["{X}"]}`},
		{"POST", "/api/v1/subscribers:import?dry_run=true", "name,provider,numbers\nmole,acme,{X}\n"},
	}
	web := []struct {
		path string
		form url.Values
	}{
		{"/ui/subscribers", url.Values{"name": {"mole"}, "provider": {"acme"}, "numbers": {"{X}"}}},
		{"/ui/s/alice/numbers", url.Values{"numbers": {"{X}"}}},
	}
	browsers := map[string]*browser{}
	for _, who := range []string{"operator", "acme"} {
		b := newBrowser(t, f.srv.URL)
		b.login(who, "password-"+who)
		b.get("/ui/subscribers") // the session's CSRF token
		browsers[who] = b
	}
	// ask returns who's answer to each way of giving alice's provider n.
	ask := func(who, n string) (statuses []int, bodies []string) {
		for _, r := range api {
			var body any = strings.ReplaceAll(r.body, "{X}", n)
			if strings.HasPrefix(r.body, "{") {
				body = json.RawMessage(body.(string))
			}
			st, out, _ := f.do(t, who, r.method, r.path, body)
			statuses, bodies = append(statuses, st), append(bodies, r.path+": "+string(out))
		}
		b := browsers[who]
		for _, r := range web {
			form := url.Values{"csrf": {b.csrf}}
			for k, vs := range r.form {
				form.Set(k, strings.ReplaceAll(vs[0], "{X}", n))
			}
			st, out, _ := b.post(r.path, form)
			statuses, bodies = append(statuses, st), append(bodies, "web "+r.path+": "+out)
		}
		st, out := b.postFile("name,provider,numbers\nmole,acme,"+n+"\n", true)
		statuses, bodies = append(statuses, st), append(bodies, "web import: "+out)
		for i := range bodies {
			bodies[i] = strings.ReplaceAll(bodies[i], "&#43;", "+")
		}
		return statuses, bodies
	}
	for _, c := range cases {
		ops, obodies := ask("operator", c.number)
		as, abodies := ask("acme", c.number)
		for i := range obodies {
			if ops[i] != as[i] || ops[i] < 400 && !strings.Contains(obodies[i], "import") {
				t.Errorf("%s: the operator answered %d, acme %d; want one refusal", obodies[i][:strings.Index(obodies[i], ":")], ops[i], as[i])
			}
			for _, m := range c.operator {
				if !strings.Contains(obodies[i], m) {
					t.Errorf("%s as operator: does not say %q:\n%s", c.number, m, obodies[i])
				}
			}
			if !strings.Contains(abodies[i], blind) {
				t.Errorf("%s as acme: does not say %q:\n%s", c.number, blind, abodies[i])
			}
			for _, secret := range []string{"globex", "bob", globexRange} {
				if strings.Contains(abodies[i], secret) {
					t.Errorf("%s as acme: names %q:\n%s", c.number, secret, abodies[i])
				}
			}
		}
	}
}
