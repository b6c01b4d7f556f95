package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"callgate/internal/demo"
	"callgate/store"
)

// TestAdminBootstrap: the first platform-owner token is printed once, is
// accepted by the store as the operator, and a second bootstrap is refused
// unless asked for.
func TestAdminBootstrap(t *testing.T) {
	c := newCLI(t)
	c.ok("demo")
	var out struct{ ID, Role, Token string }
	jsonOf(t, c.ok("admin", "bootstrap", "--json"), &out)
	if out.Role != "operator" || !strings.HasPrefix(out.Token, store.TokenPrefix+out.ID+"_") {
		t.Fatalf("bootstrap printed %+v", out)
	}
	c.fails(1, "a platform-owner token exists already", "admin", "bootstrap")
	text := c.ok("admin", "bootstrap", "--another")
	if !strings.Contains(text, "shown only now") || strings.Contains(text, out.Token) {
		t.Fatalf("second bootstrap:\n%s", text)
	}
	st, err := store.Open(filepath.Join(c.dir, "callgate.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := st.Authenticate(out.Token)
	if err != nil || rec.Actor() != store.Operator {
		t.Fatalf("the printed token: %+v %v", rec, err)
	}
	if _, err := st.Authenticate(out.Token + "x"); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
}

// TestAdminAPIThroughTheDaemon: with api: enabled, `callgate admin
// bootstrap` runs in the daemon that holds the store, and the token it
// prints works on the API at once: a number blocked through the API is
// blocked in the engine's next decision.
func TestAdminAPIThroughTheDaemon(t *testing.T) {
	dir := t.TempDir()
	seed := &cli{t: t, dir: dir}
	seed.ok("demo")
	r := startDaemonWith(t, dir, `
admin: {listen: "127.0.0.1:0"}
api: {enabled: true, listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {enabled: false}
`, "")
	c := &cli{t: t}
	var out struct{ Token string }
	jsonOf(t, c.ok("admin", "bootstrap", "--json", "--config", r.cliCfg), &out)
	var base string
	for _, tier := range r.d.Tiers() {
		if tier.Name() == "api" {
			base = tier.Describe()
		}
	}
	if base == "" {
		t.Fatal("no api tier running")
	}
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+out.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	caller := "+13125550177"
	if code, body := call("POST", "/lists/"+demo.Alice+"/blocked", `{"numbers":["`+caller+`"]}`); code != 200 {
		t.Fatalf("block through the API: %d %s", code, body)
	}
	alice, _ := call("GET", "/subscribers/"+demo.Alice, "")
	if alice != 200 {
		t.Fatalf("get %s: %d", demo.Alice, alice)
	}
	_, sub := call("GET", "/subscribers/"+demo.Alice, "")
	var s struct{ Numbers []string }
	jsonOf(t, sub, &s)
	code, body := call("POST", "/decide", `{"calling":"`+caller+`","called":"`+s.Numbers[0]+`"}`)
	if code != 200 || !strings.Contains(body, `"action": "block"`) {
		t.Fatalf("decide after blocking: %d %s", code, body)
	}
	// Both paths leave audit records: the API's change names the token,
	// a CLI change through the daemon's socket names the user (cli:USER) and cli; the
	// CLI's search goes through the daemon too.
	c.ok("list", "remove", "--owner", demo.Alice, "--list", "blocked", caller, "--config", r.cliCfg)
	var recs []store.AuditRecord
	jsonOf(t, c.ok("audit", "search", "--object", "list/subscriber/"+demo.Alice+"/blocked", "--since", "1h", "--json", "--config", r.cliCfg), &recs)
	if len(recs) < 2 { // the demo's own setup is older
		t.Fatalf("audit records: %+v", recs)
	}
	if recs[0].Via != "cli" || recs[0].Op != "list.remove" || !strings.HasPrefix(recs[0].Principal, "cli:") ||
		!strings.Contains(string(recs[0].Before), `"count"`) || !strings.Contains(string(recs[0].After), caller) {
		t.Errorf("the CLI's record: %+v %s %s", recs[0], recs[0].Before, recs[0].After)
	}
	if recs[1].Via != "api" || recs[1].Op != "list.add" || !strings.HasPrefix(recs[1].Principal, "token ") || !strings.Contains(string(recs[1].After), caller) {
		t.Errorf("the API's record: %+v %s", recs[1], recs[1].After)
	}
	code, body = call("GET", "/audit?object=list/subscriber/"+demo.Alice, "")
	if code != 200 || !strings.Contains(body, `"via": "cli"`) || !strings.Contains(body, `"via": "api"`) {
		t.Errorf("GET /audit: %d %s", code, body)
	}
}

// TestAuditSearchLocal: without a daemon the CLI writes and searches the
// store itself; the text output names who, the path and before/after.
func TestAuditSearchLocal(t *testing.T) {
	c := newCLI(t)
	c.ok("demo")
	c.ok("pin", "set", demo.Carol, "--pin", "97531")
	out := c.ok("audit", "search", "--object", "subscriber/"+demo.Carol)
	if !strings.Contains(out, "subscriber.pin.set") || !strings.Contains(out, "via cli") || !strings.Contains(out, `after:  {"pin":"set"}`) ||
		strings.Contains(out, "97531") {
		t.Errorf("audit search:\n%s", out)
	}
	c.fails(2, "--since", "audit", "search", "--since", "yesterday-ish")
}
